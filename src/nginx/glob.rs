//! nginx's `include` patterns, expanded exactly as glob(3) expands them:
//! nginx calls `glob(pattern, 0, NULL, &g)` for a name with `*`, `?` or `[`
//! in it, and reads what it returns in order.
//!
//! That is glibc's glob without flags: the pattern is matched one path
//! component at a time, so `**` is two `*` in one name (there is no
//! recursion, and a link to `.` cannot make the walk grow); `*`, `?` and
//! bracket expressions never match a leading `.`; a backslash quotes the
//! next byte; names are bytes (nginx runs in the C locale), and the whole
//! result is sorted by those bytes. Components without a wildcard are
//! taken as they are; directories are listed where a component has one,
//! following symbolic links, inside the server's tree when it is mirrored.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::sysroot::Sysroot;

/// Whether nginx expands `pattern` with glob(3) at all.
pub fn is_pattern(pattern: &[u8]) -> bool {
    pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// What glob(3) returns for `pattern` (a host path), sorted.
pub fn expand(pattern: &Path, sysroot: &Sysroot) -> Vec<PathBuf> {
    let bytes = pattern.as_os_str().as_bytes();
    // glob(3) without a wildcard: the name itself, if anything is there.
    if !has_magic(bytes) {
        let name = PathBuf::from(OsString::from_vec(unescape(bytes)));
        return if sysroot.exists(&name) {
            vec![name]
        } else {
            Vec::new()
        };
    }
    // In a mirror, the walk starts at the mirror's directory: what is above
    // it is this machine's, not the server's.
    let (start, rest) = match sysroot.dir() {
        Some(dir) => match pattern.strip_prefix(dir) {
            Ok(inside) => (
                dir.as_os_str().as_bytes().to_vec(),
                inside.as_os_str().as_bytes(),
            ),
            Err(_) => return Vec::new(),
        },
        None => (Vec::new(), bytes),
    };
    let components: Vec<&[u8]> = rest.split(|b| *b == b'/').collect();
    let count = components.len();
    // Paths so far, as glob(3) writes them: the pattern's own text up to
    // here, doubled slashes kept.
    let mut partial: Vec<Vec<u8>> = vec![start.clone()];
    for (index, component) in components.into_iter().enumerate() {
        let last = index + 1 == count;
        let separator: &[u8] = if index == 0 && start.is_empty() {
            b""
        } else {
            b"/"
        };
        if component.is_empty() {
            if last && index > 0 {
                // A trailing slash: only directories, which keep it.
                partial.retain(|p| sysroot.is_dir(as_path(p)));
            }
            for path in &mut partial {
                path.extend_from_slice(separator);
            }
            continue;
        }
        let mut next = Vec::new();
        for base in &partial {
            let joined = |name: &[u8]| [base.as_slice(), separator, name].concat();
            // A directory on the way must be one; a last name written
            // without a wildcard must exist (a dangling link does, to
            // glob(3), which looks with lstat).
            let keep = |path: &[u8]| {
                if last {
                    sysroot.exists(as_path(path))
                } else {
                    sysroot.is_dir(as_path(path))
                }
            };
            if !has_magic(component) {
                let path = joined(&unescape(component));
                if keep(&path) {
                    next.push(path);
                }
                continue;
            }
            let dir: &[u8] = if base.is_empty() { b"." } else { base };
            let Ok(mut names) = sysroot.read_dir(as_path(dir)) else {
                continue;
            };
            // glob(3) lists `.` and `..` too, for a pattern that names them.
            names.push(OsString::from("."));
            names.push(OsString::from(".."));
            for name in names {
                let name = name.as_bytes();
                if !matches(component, name) {
                    continue;
                }
                let path = joined(name);
                if last || sysroot.is_dir(as_path(&path)) {
                    next.push(path);
                }
            }
        }
        partial = next;
    }
    partial.sort();
    partial
        .into_iter()
        .map(|p| PathBuf::from(OsString::from_vec(p)))
        .collect()
}

fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// Whether a component holds a wildcard glob(3) expands: `*`, `?`, or a
/// `[` that a `]` closes; not when a backslash quotes it.
fn has_magic(pattern: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = pattern.get(i) {
        match b {
            b'\\' => i += 2,
            b'*' | b'?' => return true,
            b'[' => {
                if bracket_end(pattern, i).is_some() {
                    return true;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    false
}

/// The component with each backslash's quoting undone.
fn unescape(pattern: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut bytes = pattern.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            match bytes.next() {
                Some(&quoted) => out.push(quoted),
                None => out.push(b'\\'),
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Where the bracket expression opening at `open` ends (the index of its
/// `]`), as fnmatch reads it: a `]` right after `[` or `[!`/`[^` is a
/// member, `[:class:]` is one member, a backslash quotes.
fn bracket_end(pattern: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if matches!(pattern.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    if pattern.get(i) == Some(&b']') {
        i += 1;
    }
    while let Some(&b) = pattern.get(i) {
        match b {
            b']' => return Some(i),
            b'\\' => i += 2,
            b'[' if pattern.get(i + 1) == Some(&b':') => {
                // A class runs to `:]`; without one, `[` is itself.
                let rest = pattern.get(i + 2..)?;
                match rest.windows(2).position(|w| w == b":]") {
                    Some(end) => i += 2 + end + 2,
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// fnmatch(3) with FNM_PERIOD, on bytes: whether `name` matches `pattern`.
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    // A leading `.` is matched only by a `.` written as such.
    if name.first() == Some(&b'.') {
        match pattern.first() {
            Some(b'.') => {}
            Some(b'\\') if pattern.get(1) == Some(&b'.') => {}
            _ => return false,
        }
    }
    // Backtracking over the last `*` only: linear in practice, and
    // quadratic at worst, never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(&c) = pattern.get(p) {
            match c {
                b'*' => {
                    star = Some((p + 1, n));
                    p += 1;
                    continue;
                }
                b'?' if n < name.len() => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' if bracket_end(pattern, p).is_some() => {
                    if let (Some(end), Some(&byte)) = (bracket_end(pattern, p), name.get(n))
                        && in_bracket(&pattern[p + 1..end], byte)
                    {
                        p = end + 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' => {
                    let literal = pattern.get(p + 1).copied().unwrap_or(b'\\');
                    if name.get(n) == Some(&literal) {
                        p += 2.min(pattern.len() - p);
                        n += 1;
                        continue;
                    }
                }
                literal if name.get(n) == Some(&literal) && literal != b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        } else if n == name.len() {
            return true;
        }
        // Mismatch: let the last `*` take one more byte.
        match star {
            Some((after, taken)) if taken < name.len() => {
                star = Some((after, taken + 1));
                p = after;
                n = taken + 1;
            }
            _ => return false,
        }
    }
}

/// Whether `byte` is a member of the bracket expression `set` (what lies
/// between `[` and its `]`).
fn in_bracket(set: &[u8], byte: u8) -> bool {
    let (negated, set) = match set.first() {
        Some(b'!' | b'^') => (true, &set[1..]),
        _ => (false, set),
    };
    let mut i = 0;
    let mut found = false;
    while i < set.len() {
        // One member: a class, a quoted byte, or a byte; then maybe `-` and
        // the end of a range.
        let (low, next) = if set[i] == b'[' && set.get(i + 1) == Some(&b':') {
            if let Some(end) = set[i + 2..].windows(2).position(|w| w == b":]") {
                let class = &set[i + 2..i + 2 + end];
                found |= in_class(class, byte);
                i += 2 + end + 2;
                continue;
            }
            (b'[', i + 1)
        } else if set[i] == b'\\' && i + 1 < set.len() {
            (set[i + 1], i + 2)
        } else {
            (set[i], i + 1)
        };
        if set.get(next) == Some(&b'-') && next + 1 < set.len() {
            let (high, after) = if set[next + 1] == b'\\' && next + 2 < set.len() {
                (set[next + 2], next + 3)
            } else {
                (set[next + 1], next + 2)
            };
            found |= low <= byte && byte <= high;
            i = after;
        } else {
            found |= low == byte;
            i = next;
        }
    }
    found != negated
}

/// The C locale's character classes.
fn in_class(class: &[u8], byte: u8) -> bool {
    match class {
        b"alnum" => byte.is_ascii_alphanumeric(),
        b"alpha" => byte.is_ascii_alphabetic(),
        b"blank" => byte == b' ' || byte == b'\t',
        b"cntrl" => byte.is_ascii_control(),
        b"digit" => byte.is_ascii_digit(),
        b"graph" => byte.is_ascii_graphic(),
        b"lower" => byte.is_ascii_lowercase(),
        b"print" => byte.is_ascii_graphic() || byte == b' ',
        b"punct" => byte.is_ascii_punctuation(),
        b"space" => matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"upper" => byte.is_ascii_uppercase(),
        b"xdigit" => byte.is_ascii_hexdigit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_as_glob_uses_it() {
        assert!(matches(b"*.conf", b"a.conf"));
        assert!(!matches(b"*.conf", b".hidden.conf"));
        assert!(matches(b".*", b".hidden"));
        assert!(matches(b"**", b"abc"));
        assert!(matches(b"a?c", b"abc"));
        assert!(!matches(b"a?c", b"ac"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[!a-c]x", b"bx"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"[[:digit:]]*", b"9z"));
        assert!(matches(b"\\*", b"*"));
        assert!(!matches(b"\\*", b"x"));
        assert!(matches(b"[", b"["), "an unclosed bracket is itself");
        assert!(!matches(b"[.]x", b".x"), "a leading dot needs a dot");
        assert!(matches(b"*\xff*", b"a\xffb"));
        assert!(!matches(b"*a*a*a*a*a*b", &[b'a'; 40][..]));
    }

    #[test]
    fn links_to_dot_do_not_multiply_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(dir.path()).unwrap();
        let d = top.join("d");
        std::fs::create_dir(&d).unwrap();
        for i in 0..8 {
            std::os::unix::fs::symlink(".", d.join(format!("l{i}"))).unwrap();
        }
        std::fs::write(d.join("a.conf"), "").unwrap();
        std::fs::write(d.join(".b.conf"), "").unwrap();
        std::fs::write(d.join(OsStr::from_bytes(b"\xff.conf")), "").unwrap();
        let pattern = d.join("**/*.conf");
        let found = expand(&pattern, &Sysroot::none());
        // `**` is `*`: one level, through each link.
        assert_eq!(found.len(), 16, "{found:?}");
        assert!(found.windows(2).all(|w| w[0] < w[1]), "sorted");
        let flat = expand(&d.join("*.conf"), &Sysroot::none());
        assert_eq!(
            flat,
            [d.join("a.conf"), d.join(OsStr::from_bytes(b"\xff.conf"))]
        );
    }
}
