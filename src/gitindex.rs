//! Which files a git work tree tracks, read from its index file without
//! running git: a pull request's repository can make git run commands
//! (`core.fsmonitor`, hooks), and mgdeploy runs nothing in review. Only
//! what mgdeploy asks is read: the tracked paths, from index versions 2, 3
//! and 4 (SHA-1 or SHA-256 object names).

use std::path::{Path, PathBuf};

/// The work tree around `dir` and its index file: `.git/index`, or for a
/// linked work tree or submodule (`.git` is a file saying `gitdir: …`)
/// the index there.
fn index_of(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let top = dir
        .ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())?;
    let dot_git = top.join(".git");
    let git_dir = if std::fs::symlink_metadata(&dot_git).ok()?.is_file() {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let named = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
        top.join(named)
    } else {
        dot_git
    };
    Some((top.to_path_buf(), git_dir.join("index")))
}

/// The length of an object name: SHA-256 repositories say so in their
/// config (`objectformat = sha256`).
fn hash_len(index: &Path) -> usize {
    let config = index.with_file_name("config");
    let sha256 = std::fs::read_to_string(config).is_ok_and(|text| {
        text.lines().any(|l| {
            l.replace([' ', '\t'], "")
                .eq_ignore_ascii_case("objectformat=sha256")
        })
    });
    if sha256 { 32 } else { 20 }
}

/// The paths in an index file, as bytes relative to the work tree; `None`
/// when it is not an index this reader knows.
pub fn tracked_paths(index: &[u8], hash: usize) -> Option<Vec<Vec<u8>>> {
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(index.get(at..at + 4)?.try_into().ok()?))
    };
    if index.get(..4)? != b"DIRC" {
        return None;
    }
    let version = be32(4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = be32(8)? as usize;
    let mut at = 12;
    let mut paths: Vec<Vec<u8>> = Vec::with_capacity(count.min(1 << 20));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = at;
        // ctime, mtime, dev, ino, mode, uid, gid, size: 40 bytes; then the
        // object name and 16 bits of flags.
        at += 40 + hash;
        let flags = u16::from_be_bytes(index.get(at..at + 2)?.try_into().ok()?);
        at += 2;
        if version >= 3 && flags & 0x4000 != 0 {
            at += 2;
        }
        let path = if version == 4 {
            // The number of bytes to drop from the previous path (git's
            // offset varint), then the rest, NUL-terminated.
            let mut strip: usize = 0;
            let mut byte = *index.get(at)?;
            at += 1;
            strip |= usize::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = *index.get(at)?;
                at += 1;
                strip = strip.checked_add(1)?.checked_shl(7)? | usize::from(byte & 0x7f);
            }
            let end = at + index.get(at..)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            let mut path = previous.get(..keep)?.to_vec();
            path.extend_from_slice(index.get(at..end)?);
            at = end + 1;
            path
        } else {
            let end = at + index.get(at..)?.iter().position(|b| *b == 0)?;
            let path = index.get(at..end)?.to_vec();
            // Padded with NULs to a multiple of eight bytes.
            let length = end - start;
            at = start + (length + 8) / 8 * 8;
            path
        };
        previous.clone_from(&path);
        paths.push(path);
    }
    Some(paths)
}

/// Whether git tracks anything at or under `path` (an absolute path in a
/// work tree). An index that cannot be read is taken to track it: the
/// question is asked to decide what not to trust.
pub fn tracks(path: &Path) -> bool {
    let Some((top, index)) = index_of(path) else {
        return false;
    };
    let Ok(relative) = path.strip_prefix(&top) else {
        return false;
    };
    let Ok(bytes) = std::fs::read(&index) else {
        // A repository without an index tracks nothing yet.
        return index.exists();
    };
    use std::os::unix::ffi::OsStrExt;
    let wanted = relative.as_os_str().as_bytes();
    match tracked_paths(&bytes, hash_len(&index)) {
        Some(paths) => paths.iter().any(|p| {
            p.as_slice() == wanted || (p.starts_with(wanted) && p.get(wanted.len()) == Some(&b'/'))
        }),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
            .args(args)
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn every_index_version_lists_what_git_tracks() {
        for version in ["2", "3", "4"] {
            let dir = tempfile::tempdir().unwrap();
            let top = std::fs::canonicalize(dir.path()).unwrap();
            git(&top, &["init", "-q"]);
            std::fs::create_dir_all(top.join("srv/mg/.mgdeploy/1")).unwrap();
            std::fs::write(top.join("srv/mg/.mgdeploy/1/journal.json"), "{}").unwrap();
            std::fs::write(top.join("srv/mg/paste.ini"), "").unwrap();
            std::fs::write(top.join("untracked"), "").unwrap();
            git(&top, &["add", "srv"]);
            git(&top, &["update-index", "--index-version", version]);
            assert!(tracks(&top.join("srv/mg/.mgdeploy")), "v{version}");
            assert!(tracks(&top.join("srv/mg/paste.ini")), "v{version}");
            assert!(!tracks(&top.join("untracked")), "v{version}");
            assert!(!tracks(&top.join("srv/m")), "v{version}: a prefix");
        }
        let outside = tempfile::tempdir().unwrap();
        assert!(!tracks(outside.path()));
        assert!(tracked_paths(b"DIRC\0\0\0\x09", 20).is_none());
    }
}
