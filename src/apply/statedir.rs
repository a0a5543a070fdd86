//! `<root>/.mgdeploy`, where backups and journals live: opened so that
//! nothing in it can come from anyone but the user running mgdeploy.
//!
//! The checkout usually belongs to the site's own user, who could plant a
//! journal there that makes root's `rollback` write anywhere, or a symlink
//! that makes root create a file anywhere. So the directory is opened
//! without following symlinks and trusted only when it belongs to the
//! running user and no one else may write to it; every transaction
//! directory and file inside is reached through that open directory (never
//! by path again, so it cannot be swapped afterwards) and checked the same
//! way. Files are opened with `O_NOFOLLOW`, and created with `O_EXCL`.
//! A state directory that git tracks came with a repository (a pull
//! request can commit one, owned by whoever clones it): it records nothing
//! mgdeploy did, and is never trusted.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};

use super::fsops::StepError;

/// The directory under the checkout that holds every transaction.
pub const DIR: &str = ".mgdeploy";
const LOCK: &str = "lock";

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn step_error(step: &'static str, path: &Path, error: impl Into<io::Error>) -> StepError {
    StepError {
        step,
        path: path.to_path_buf(),
        error: error.into(),
    }
}

/// Refuses what the running user does not alone control.
fn trust(stat: &Stat, path: &Path, want: FileType) -> Result<(), StepError> {
    let untrusted = |why: String| {
        Err(step_error(
            "trust",
            path,
            io::Error::new(io::ErrorKind::PermissionDenied, why),
        ))
    };
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind != want {
        return untrusted(format!(
            "it is a {}, not a {}",
            describe(kind),
            describe(want)
        ));
    }
    if stat.st_uid != euid() {
        return untrusted(format!(
            "it belongs to uid {}, not to you (uid {}); someone else may have put it there",
            stat.st_uid,
            euid()
        ));
    }
    if stat.st_mode & 0o022 != 0 {
        return untrusted(format!(
            "others may write to it (mode {:o})",
            stat.st_mode & 0o7777
        ));
    }
    Ok(())
}

fn describe(kind: FileType) -> &'static str {
    match kind {
        FileType::Directory => "directory",
        FileType::RegularFile => "regular file",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        _ => "special file",
    }
}

/// Opens `name` in `dir` as a directory this user alone controls.
fn open_dir(dir: impl AsFd, name: &str, path: &Path) -> Result<OwnedFd, StepError> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => step_error(
            "trust",
            path,
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it is a symbolic link or not a directory",
            ),
        ),
        other => step_error("open", path, other),
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| step_error("inspect", path, e))?;
    trust(&stat, path, FileType::Directory)?;
    Ok(fd)
}

/// `.mgdeploy`, opened and trusted.
#[derive(Clone, Debug)]
pub struct StateDir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
}

/// An exclusive lock on `.mgdeploy/lock` for as long as it lives.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

impl StateDir {
    /// Opens `<root>/.mgdeploy`; creates it (mode 0700) when `create` and
    /// it is missing. `None`: missing and not created.
    pub fn open(root: &Path, create: bool) -> Result<Option<StateDir>, StepError> {
        let path = root.join(DIR);
        let root_fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| step_error("open", root, e))?;
        let exists = rustix::fs::statat(&root_fd, DIR, AtFlags::SYMLINK_NOFOLLOW).is_ok();
        if !exists {
            if !create {
                return Ok(None);
            }
            match rustix::fs::mkdirat(&root_fd, DIR, Mode::RWXU) {
                // Another run made it first: it is checked like any other.
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(step_error("create", &path, e)),
            }
            // The journal will live here: its entry must be durable before
            // any file is replaced.
            rustix::fs::fsync(&root_fd).map_err(|e| step_error("fsync the directory", root, e))?;
        }
        let fd = open_dir(&root_fd, DIR, &path)?;
        if crate::gitindex::tracks(&std::path::absolute(&path).unwrap_or_else(|_| path.clone())) {
            return Err(step_error(
                "trust",
                &path,
                io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "git tracks it: it came with the repository, and records nothing mgdeploy did here",
                ),
            ));
        }
        Ok(Some(StateDir {
            fd: Arc::new(fd),
            path,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock, creating its file; `None` when another run holds it.
    pub fn try_lock(&self) -> Result<Option<Lock>, StepError> {
        let path = self.path.join(LOCK);
        let fd = rustix::fs::openat(
            &*self.fd,
            LOCK,
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .map_err(|e| match e {
            rustix::io::Errno::LOOP => step_error(
                "trust",
                &path,
                io::Error::new(io::ErrorKind::PermissionDenied, "it is a symbolic link"),
            ),
            other => step_error("open", &path, other),
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| step_error("inspect", &path, e))?;
        trust(&stat, &path, FileType::RegularFile)?;
        let file = std::fs::File::from(fd);
        match file.try_lock() {
            Ok(()) => Ok(Some(Lock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(step_error("lock", &path, e)),
        }
    }

    /// Whether another run holds the lock right now (without creating it).
    pub fn locked_by_another(&self) -> Result<bool, StepError> {
        let exists = rustix::fs::statat(&*self.fd, LOCK, AtFlags::SYMLINK_NOFOLLOW).is_ok();
        if !exists {
            return Ok(false);
        }
        Ok(self.try_lock()?.is_none())
    }

    /// The transaction directories, by name, oldest first (names start with
    /// the time they were made).
    pub fn transactions(&self) -> Result<Vec<TxDir>, StepError> {
        let dir = Dir::read_from(&*self.fd).map_err(|e| step_error("list", &self.path, e))?;
        let mut names: Vec<String> = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| step_error("list", &self.path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." && name != LOCK {
                names.push(name);
            }
        }
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let path = self.path.join(&name);
                let fd = open_dir(&*self.fd, &name, &path)?;
                Ok(TxDir {
                    fd: Arc::new(fd),
                    path,
                })
            })
            .collect()
    }

    /// A new transaction directory (mode 0700).
    pub fn create_transaction(&self, name: &str) -> Result<TxDir, StepError> {
        let path = self.path.join(name);
        rustix::fs::mkdirat(&*self.fd, name, Mode::RWXU)
            .map_err(|e| step_error("create", &path, e))?;
        rustix::fs::fsync(&*self.fd)
            .map_err(|e| step_error("fsync the directory", &self.path, e))?;
        let fd = open_dir(&*self.fd, name, &path)?;
        Ok(TxDir {
            fd: Arc::new(fd),
            path,
        })
    }

    /// Removes a transaction directory and what is in it.
    pub fn remove_transaction(&self, tx: &TxDir) {
        if let Some(name) = tx.path.file_name().and_then(|n| n.to_str()) {
            if let Ok(dir) = Dir::read_from(&*tx.fd) {
                for entry in dir.flatten() {
                    let file = entry.file_name().to_string_lossy().into_owned();
                    if file != "." && file != ".." {
                        let _ = rustix::fs::unlinkat(&*tx.fd, file.as_str(), AtFlags::empty());
                    }
                }
            }
            let _ = rustix::fs::unlinkat(&*self.fd, name, AtFlags::REMOVEDIR);
        }
    }
}

/// One transaction's directory, trusted like `.mgdeploy`.
#[derive(Clone, Debug)]
pub struct TxDir {
    fd: Arc<OwnedFd>,
    pub path: PathBuf,
}

impl TxDir {
    /// The transaction's name (its directory's).
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn file_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Reads a file of the transaction; `None` when it does not exist. A
    /// file this user does not alone control is an error.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StepError> {
        let path = self.file_path(name);
        let fd = match rustix::fs::openat(
            &*self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => {
                return Err(step_error(
                    "trust",
                    &path,
                    io::Error::new(io::ErrorKind::PermissionDenied, "it is a symbolic link"),
                ));
            }
            Err(e) => return Err(step_error("open", &path, e)),
        };
        let stat = rustix::fs::fstat(&fd).map_err(|e| step_error("inspect", &path, e))?;
        trust(&stat, &path, FileType::RegularFile)?;
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|e| step_error("read", &path, e))?;
        Ok(Some(bytes))
    }

    /// Writes a new file (mode 0600) and fsyncs it; it must not exist.
    pub fn write_new(&self, name: &str, bytes: &[u8]) -> Result<(), StepError> {
        let path = self.file_path(name);
        let fd = rustix::fs::openat(
            &*self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .map_err(|e| step_error("create", &path, e))?;
        let mut file = std::fs::File::from(fd);
        let result = file
            .write_all(bytes)
            .map_err(|e| step_error("write", &path, e))
            .and_then(|()| file.sync_all().map_err(|e| step_error("fsync", &path, e)));
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&*self.fd, name, AtFlags::empty());
        }
        result
    }

    /// Renames `from` over `to` in this directory, durably.
    pub fn replace(&self, from: &str, to: &str) -> Result<(), StepError> {
        let path = self.file_path(to);
        rustix::fs::renameat(&*self.fd, from, &*self.fd, to)
            .map_err(|e| step_error("rename a new version over", &path, e))?;
        rustix::fs::fsync(&*self.fd).map_err(|e| step_error("fsync the directory", &self.path, e))
    }

    /// Removes a file of the transaction, if it is there.
    pub fn remove(&self, name: &str) {
        let _ = rustix::fs::unlinkat(&*self.fd, name, AtFlags::empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_planted_or_open_directory_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(StateDir::open(root, false).unwrap().is_none());
        let state = StateDir::open(root, true).unwrap().unwrap();
        let tx = state.create_transaction("1").unwrap();
        tx.write_new("journal.json", b"{}").unwrap();
        assert_eq!(
            tx.read("journal.json").unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        assert!(tx.write_new("journal.json", b"again").is_err(), "O_EXCL");
        assert_eq!(state.transactions().unwrap().len(), 1);
        assert!(state.try_lock().unwrap().is_some());

        // A symlink in the transaction's place.
        std::os::unix::fs::symlink("/etc", tx.file_path("backup-0")).unwrap();
        let error = tx.read("backup-0").unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");

        // Others may write to it.
        std::fs::set_permissions(root.join(DIR), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = StateDir::open(root, false).unwrap_err();
        assert!(
            error.to_string().contains("others may write to it"),
            "{error}"
        );

        // A symlink instead of the directory, even to a good one.
        std::fs::set_permissions(root.join(DIR), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::rename(root.join(DIR), root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join(DIR)).unwrap();
        let error = StateDir::open(root, true).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
    }

    #[test]
    fn a_symlink_at_the_lock_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let state = StateDir::open(root, true).unwrap().unwrap();
        let victim = root.join("victim");
        std::os::unix::fs::symlink(&victim, state.path().join(LOCK)).unwrap();
        assert!(state.try_lock().is_err());
        assert!(!victim.exists(), "the symlink's target was created");
    }
}
