//! nginx's include patterns: mgdeploy's expansion against glob(3) itself
//! (glibc's, which nginx calls with no flags), on a tree the input builds
//! (names with odd bytes, links to `.`, `..` and each other, dangling
//! links) and a pattern the input writes over `*`, `?`, `[`, `]`, `!`,
//! `\`, `/`, `.` and a few names. Same paths, same order, every time.
#![no_main]

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use mgdeploy::nginx::glob::expand;
use mgdeploy::sysroot::Sysroot;

/// What glob(3) returns, sorted as it sorts.
fn libc_glob(pattern: &[u8]) -> Vec<PathBuf> {
    let Ok(pattern) = CString::new(pattern) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    // SAFETY: glob(3) with a NUL-terminated pattern and a zeroed glob_t,
    // read only on success, freed once.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(pattern.as_ptr(), 0, None, &mut g) == 0 {
            for i in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(i);
                found.push(PathBuf::from(OsStr::from_bytes(CStr::from_ptr(p).to_bytes())));
            }
        }
        libc::globfree(&mut g);
    }
    found
}

const NAMES: [&[u8]; 10] = [
    b"a", b"b.conf", b".h", b"a*b", b"[x]", b"\xff", b"a b", b"ab", b"\\", b"--",
];
const PIECES: [&[u8]; 14] = [
    b"*", b"?", b"[", b"]", b"!", b"\\", b"/", b".", b"a", b"b", b"conf", b"**", b"\xff", b"-",
];

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let Ok(top) = std::fs::canonicalize(dir.path()) else { return };
    let (tree, pattern) = data.split_at(data.len().min(24));
    let mut dirs: Vec<PathBuf> = vec![top.clone()];
    for pair in tree.chunks(2) {
        let (kind, pick) = (pair[0], *pair.get(1).unwrap_or(&0));
        let parent = dirs[usize::from(pick >> 4) % dirs.len()].clone();
        let name = NAMES[usize::from(pick & 0x0f) % NAMES.len()];
        let path = parent.join(OsStr::from_bytes(name));
        if std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        let _ = match kind % 6 {
            0 | 1 => std::fs::write(&path, ""),
            2 => std::fs::create_dir(&path).map(|()| dirs.push(path.clone())),
            3 => std::os::unix::fs::symlink(".", &path),
            4 => std::os::unix::fs::symlink("..", &path),
            _ => std::os::unix::fs::symlink("nowhere", &path),
        };
    }
    let mut full: Vec<u8> = top.as_os_str().as_bytes().to_vec();
    full.push(b'/');
    for byte in pattern.iter().take(12) {
        full.extend_from_slice(PIECES[usize::from(*byte) % PIECES.len()]);
    }
    // nginx calls glob(3) only for a name with `*`, `?` or `[`; one that
    // ends in `/` names directories, which nginx cannot include (glibc
    // then marks directories, and returns files too: not compared).
    if !mgdeploy::nginx::glob::is_pattern(&full) || full.ends_with(b"/") {
        return;
    }
    let path = PathBuf::from(OsString::from_vec(full.clone()));
    let ours = expand(&path, &Sysroot::none());
    let theirs = libc_glob(&full);
    assert_eq!(ours, theirs, "pattern {:?}", Path::new(OsStr::from_bytes(&full)));
});
