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

/// Makes a new symbolic link at `path` to `target` (it must not exist),
/// and fsyncs its directory.
pub fn write_link(path: &Path, target: &Path) -> Result<(), StepError> {
    step(
        "create the link",
        path,
        std::os::unix::fs::symlink(target, path),
    )?;
    sync_dir(parent(path))
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

/// What a file must hold when a new version replaces it.
#[derive(Clone, Copy, Debug)]
pub enum Expect<'a> {
    /// Exactly these bytes (checksum).
    Holds(&'a crate::checksum::Sha256Hex),
    /// Nothing: the file must not exist.
    Absent,
}

/// Why a replacement did not happen.
#[derive(Debug)]
pub enum ReplaceError {
    /// The target is not what the plan was made from any more; it was left
    /// as it is.
    Changed(PathBuf),
    Io(StepError),
}

impl From<StepError> for ReplaceError {
    fn from(error: StepError) -> Self {
        ReplaceError::Io(error)
    }
}

/// Puts `staged` in `target`'s place, atomically, only if `target` still
/// holds what `expect` says, and fsyncs the directory. The old file is
/// swapped out with `renameat2(RENAME_EXCHANGE)` and checked after the
/// swap, so an edit saved at any moment before is never lost: it is
/// swapped back. Where the file system cannot exchange, the check comes
/// right before a plain rename.
pub fn replace_checked(
    staged: &Path,
    target: &Path,
    expect: Expect<'_>,
) -> Result<(), ReplaceError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let renamed = |e: rustix::io::Errno| StepError {
        step: "rename a new version over",
        path: target.to_path_buf(),
        error: e.into(),
    };
    match expect {
        Expect::Absent => match renameat_with(CWD, staged, CWD, target, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => {
                return Err(ReplaceError::Changed(target.to_path_buf()));
            }
            // Without renameat2 (some file systems): a hard link is made
            // only where nothing is, just as atomically.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                match rustix::fs::linkat(CWD, staged, CWD, target, rustix::fs::AtFlags::empty()) {
                    Ok(()) => step("remove the staged name", staged, fs::remove_file(staged))?,
                    Err(rustix::io::Errno::EXIST) => {
                        return Err(ReplaceError::Changed(target.to_path_buf()));
                    }
                    Err(e) => return Err(ReplaceError::Io(renamed(e))),
                }
            }
            Err(e) => return Err(ReplaceError::Io(renamed(e))),
        },
        Expect::Holds(sha256) => {
            match renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE) {
                Ok(()) => {
                    // `staged` now names what was in place.
                    let replaced = step("read what was replaced", staged, fs::read(staged))?;
                    if crate::checksum::Sha256Hex::of(&replaced) != *sha256 {
                        renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE)
                            .map_err(renamed)?;
                        let _ = fs::remove_file(staged);
                        sync_dir(parent(target))?;
                        return Err(ReplaceError::Changed(target.to_path_buf()));
                    }
                    step("remove the old version", staged, fs::remove_file(staged))?;
                }
                Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                    let now = step("read", target, fs::read(target))?;
                    if crate::checksum::Sha256Hex::of(&now) != *sha256 {
                        return Err(ReplaceError::Changed(target.to_path_buf()));
                    }
                    step(
                        "rename a new version over",
                        target,
                        fs::rename(staged, target),
                    )?;
                }
                Err(e) => return Err(ReplaceError::Io(renamed(e))),
            }
        }
    }
    sync_dir(parent(target))?;
    Ok(())
}
