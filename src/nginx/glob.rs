//! nginx's `include` patterns, expanded exactly as glob(3) expands them:
//! nginx calls `glob(pattern, 0, NULL, &g)` for a name with `*`, `?` or `[`
//! in it, and reads what it returns in order.
//!
//! That is glibc's glob without flags: the pattern is matched one path
//! component at a time, so `**` is two `*` in one name (there is no
//! recursion, and a link to `.` cannot make the walk grow); `*`, `?` and
//! bracket expressions never match a leading `.`; a backslash quotes the
//! next byte (a name with one is matched, not taken as written, and a
//! trailing one matches nothing); names are bytes (nginx runs in the C locale), and the whole
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
    // glob(3) without a wildcard or a backslash: the name itself, if
    // anything is there.
    if !has_magic(bytes) && !bytes.contains(&b'\\') {
        return if sysroot.exists(pattern) {
            vec![pattern.to_path_buf()]
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
    // A backslash before a `/` quotes it: the slash still separates.
    let mut components: Vec<&[u8]> = rest.split(|b| *b == b'/').collect();
    let count = components.len();
    for component in components.iter_mut().take(count.saturating_sub(1)) {
        let trailing = component.iter().rev().take_while(|b| **b == b'\\').count();
        if trailing % 2 == 1 {
            *component = &component[..component.len() - 1];
        }
    }
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
            // A name without a wildcard is taken as written; one with a
            // backslash is matched, as fnmatch reads it.
            if !has_magic(component) && !component.contains(&b'\\') {
                let path = joined(component);
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

/// Whether a component holds a wildcard glob(3) expands (glibc's
/// `__glob_pattern_type` is 1): `*`, `?`, or a `[` with a `]` anywhere
/// after it; a backslash quotes the byte after it.
fn has_magic(pattern: &[u8]) -> bool {
    let mut bracket = false;
    let mut i = 0;
    while let Some(&b) = pattern.get(i) {
        match b {
            b'*' | b'?' => return true,
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => bracket = true,
            b']' if bracket => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// What a bracket expression does with one byte (glibc's fnmatch, the C
/// locale).
enum Bracket {
    /// It matches; the pattern goes on at this index.
    Match(usize),
    /// No match here.
    NoMatch,
    /// The `[` is unterminated: it is a plain `[`.
    Literal,
}

/// The bracket expression at `pattern[open]` against `byte` (`at_start`
/// and a `.`: no match, FNM_PERIOD). A port of glibc's `[` case.
fn bracket(pattern: &[u8], open: usize, byte: u8, period: bool) -> Bracket {
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    if period && byte == b'.' {
        return Bracket::NoMatch;
    }
    let mut p = open + 1;
    let not = matches!(at(p), b'!' | b'^');
    if not {
        p += 1;
    }
    let mut c = at(p);
    p += 1;
    let matched = loop {
        // An escaped byte is a plain member, never `[:`, `[=` or `[.`.
        let mut escaped = false;
        if c == b'\\' {
            if at(p) == 0 {
                return Bracket::NoMatch;
            }
            c = at(p);
            p += 1;
            escaped = true;
        } else if c == b'[' && at(p) == b':' {
            // A class name: letters a to y, up to `:]`.
            let start = p;
            let mut name = Vec::new();
            let mut class = true;
            loop {
                if name.len() == 256 {
                    return Bracket::NoMatch;
                }
                p += 1;
                let d = at(p);
                if d == b':' && at(p + 1) == b']' {
                    p += 2;
                    break;
                }
                // glibc takes `a` to `y` (its bound excludes `z`).
                if !(b'a'..=b'y').contains(&d) {
                    class = false;
                    break;
                }
                name.push(d);
            }
            if class {
                let Some(member) = in_class(&name, byte) else {
                    return Bracket::NoMatch;
                };
                if member {
                    break true;
                }
                c = at(p);
                p += 1;
                if c == b']' {
                    break false;
                }
                continue;
            }
            // Not a class: a plain `[`.
            p = start;
            c = b'[';
        } else if c == b'[' && at(p) == b'=' {
            let start = p;
            let symbol = at(p + 1);
            if symbol != 0 && at(p + 2) == b'=' && at(p + 3) == b']' {
                p += 4;
                if byte == symbol {
                    break true;
                }
                c = at(p);
                p += 1;
                if c == b']' {
                    break false;
                }
                continue;
            }
            p = start;
            c = b'[';
        } else if c == 0 {
            return Bracket::Literal;
        }
        // One member, maybe a collating symbol `[.x.]`, maybe a range.
        let (low, symbol) = if !escaped && c == b'[' && at(p) == b'.' {
            match collating_symbol(pattern, p) {
                Some((symbol, next)) => {
                    p = next;
                    (symbol, true)
                }
                None => return Bracket::NoMatch,
            }
        } else {
            (c, false)
        };
        let is_range = at(p) == b'-' && at(p + 1) != 0 && (symbol || at(p + 1) != b']');
        if !is_range && low == byte {
            break true;
        }
        c = at(p);
        p += 1;
        if c == b'-' && at(p) != b']' {
            let mut high = at(p);
            p += 1;
            if high == b'[' && at(p) == b'.' {
                match collating_symbol(pattern, p) {
                    Some((symbol, next)) => {
                        p = next;
                        high = symbol;
                    }
                    None => return Bracket::NoMatch,
                }
            } else {
                if high == b'\\' {
                    high = at(p);
                    p += 1;
                }
                if high == 0 {
                    return Bracket::NoMatch;
                }
            }
            if low <= byte && byte <= high {
                break true;
            }
            c = at(p);
            p += 1;
        }
        if c == b']' {
            break false;
        }
    };
    if !matched {
        return if not {
            Bracket::Match(p)
        } else {
            Bracket::NoMatch
        };
    }
    // Skip the rest of the expression that already matched.
    loop {
        let c = at(p);
        p += 1;
        match c {
            b']' => break,
            0 => return Bracket::NoMatch,
            b'\\' => {
                if at(p) == 0 {
                    return Bracket::NoMatch;
                }
                p += 1;
            }
            b'[' if at(p) == b':' => {
                let start = p;
                let mut length = 0;
                loop {
                    p += 1;
                    length += 1;
                    if length == 256 {
                        return Bracket::NoMatch;
                    }
                    if at(p) == b':' && at(p + 1) == b']' {
                        break;
                    }
                    let d = at(p);
                    // glibc takes `a` to `y` (its bound excludes `z`).
                    if !(b'a'..=b'y').contains(&d) {
                        p = start - 1;
                        break;
                    }
                }
                p += 2;
            }
            b'[' if at(p) == b'=' => {
                if at(p + 1) == 0 || at(p + 2) != b'=' || at(p + 3) != b']' {
                    return Bracket::NoMatch;
                }
                p += 4;
            }
            b'[' if at(p) == b'.' => loop {
                p += 1;
                let d = at(p);
                if d == 0 {
                    return Bracket::NoMatch;
                }
                if d == b'.' && at(p + 1) == b']' {
                    p += 2;
                    break;
                }
            },
            _ => {}
        }
    }
    if not {
        Bracket::NoMatch
    } else {
        Bracket::Match(p)
    }
}

/// The collating symbol `[.x.]` whose `.` is at `pattern[dot]`: its byte
/// and where the pattern goes on; `None` when it is unterminated or names
/// more than one byte (the C locale has no other).
fn collating_symbol(pattern: &[u8], dot: usize) -> Option<(u8, usize)> {
    let end = dot
        + 1
        + pattern
            .get(dot + 1..)?
            .windows(2)
            .position(|w| w == b".]")?;
    (end == dot + 2).then(|| (pattern[dot + 1], end + 2))
}

/// fnmatch(3) with FNM_PERIOD, on bytes, as glibc matches in the C
/// locale: whether `name` matches `pattern`.
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    // Backtracking over the last `*` only: linear in practice, and
    // quadratic at worst, never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        let period = n == 0;
        if let Some(&c) = pattern.get(p) {
            match c {
                b'*' => {
                    if period && name.first() == Some(&b'.') {
                        return false;
                    }
                    star = Some((p + 1, n));
                    p += 1;
                    continue;
                }
                b'?' if name.get(n).is_some_and(|b| !(period && *b == b'.')) => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'?' => {}
                b'[' => match name.get(n).map(|&b| bracket(pattern, p, b, period)) {
                    Some(Bracket::Match(next)) => {
                        p = next;
                        n += 1;
                        continue;
                    }
                    Some(Bracket::Literal) if name.get(n) == Some(&b'[') => {
                        p += 1;
                        n += 1;
                        continue;
                    }
                    _ => {}
                },
                b'\\' => {
                    // A trailing backslash matches nothing, as in fnmatch.
                    let Some(&literal) = pattern.get(p + 1) else {
                        return false;
                    };
                    if name.get(n) == Some(&literal) {
                        p += 2;
                        n += 1;
                        continue;
                    }
                }
                literal if name.get(n) == Some(&literal) => {
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

/// The C locale's character classes; `None`: no such class.
fn in_class(class: &[u8], byte: u8) -> Option<bool> {
    Some(match class {
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
        _ => return None,
    })
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
