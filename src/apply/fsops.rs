//! What a transaction's steps share: a file's mode and owner, an I/O
//! failure that says what mgdeploy was doing and where, and the names of
//! the files it stages beside its targets.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Mode and owner of a file. `uid`/`gid` of `None` leave what creating the
/// file gave (the user running mgdeploy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Ownership {
    pub fn of(metadata: &fs::Metadata) -> Self {
        Ownership {
            mode: metadata.mode() & 0o7777,
            uid: Some(metadata.uid()),
            gid: Some(metadata.gid()),
        }
    }
}

/// An I/O failure with what mgdeploy was doing and where.
#[derive(Debug)]
pub struct StepError {
    pub step: &'static str,
    pub path: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.step,
            self.path.display(),
            self.error
        )
    }
}

pub fn step<T>(step: &'static str, path: &Path, result: io::Result<T>) -> Result<T, StepError> {
    result.map_err(|error| StepError {
        step,
        path: path.to_path_buf(),
        error,
    })
}

pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Longest file name Linux file systems take.
const NAME_MAX: usize = 255;

/// `dir/.name.mgdeploy-<tag>-<index>`: a hidden name next to `target`, in
/// the same directory so that the rename is atomic. A long name is cut so
/// that the whole fits in a file name.
pub fn sibling(target: &Path, tag: &str, index: usize) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = format!(".mgdeploy-{tag}-{index}");
    let room = NAME_MAX.saturating_sub(1 + suffix.len());
    let mut cut = name.len().min(room);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    parent(target).join(format!(".{}{suffix}", &name[..cut]))
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
