//! The file operations a transaction is made of, each durable before it
//! returns: write a temporary file next to its target with the right mode and
//! owner and fsync it; rename it into place and fsync the directory.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
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

/// Writes `content` to the new file `path` (which must not exist) with the
/// given ownership, and fsyncs it. On failure the file is removed.
pub fn write_new(path: &Path, content: &[u8], ownership: Ownership) -> Result<(), StepError> {
    let result = (|| {
        let mut file = step(
            "create",
            path,
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path),
        )?;
        step("write", path, file.write_all(content))?;
        if ownership.uid.is_some() || ownership.gid.is_some() {
            step(
                "change the owner of",
                path,
                std::os::unix::fs::fchown(&file, ownership.uid, ownership.gid),
            )?;
        }
        // After fchown, which may clear set-id bits.
        step(
            "set the mode of",
            path,
            file.set_permissions(Permissions::from_mode(ownership.mode)),
        )?;
        step("fsync", path, file.sync_all())
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

/// fsyncs a directory, so that a rename or unlink in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), StepError> {
    let file = step("open the directory", dir, File::open(dir))?;
    step("fsync the directory", dir, file.sync_all())
}

/// Renames `from` over `to` and fsyncs the directory holding them.
pub fn rename_durably(from: &Path, to: &Path) -> Result<(), StepError> {
    step("rename a new version over", to, fs::rename(from, to))?;
    sync_dir(parent(to))
}

/// Removes `path` and fsyncs its directory.
pub fn remove_durably(path: &Path) -> Result<(), StepError> {
    step("remove", path, fs::remove_file(path))?;
    sync_dir(parent(path))
}

pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `dir/.name.mgdeploy-<tag>`: a hidden name next to `target`, in the same
/// directory so that the rename is atomic.
pub fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent(target).join(format!(".{name}.mgdeploy-{tag}"))
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
