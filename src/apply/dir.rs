//! A directory a transaction writes in: reached from `/` without following
//! a single symbolic link, known by its identity (device and inode), and
//! written only through its descriptor.
//!
//! The checkout belongs to the site's own user, who may swap a directory on
//! the way to a file mgdeploy changes (replace `scripts/` with a link to
//! `/etc/cron.d`, or with another directory) at any moment: between
//! planning and writing, or between writing and `rollback`. So the plan
//! records the identity of each file's directory when it reads the file,
//! the journal keeps it, and every later step opens the directory again
//! with `openat2(RESOLVE_NO_SYMLINKS)` and refuses when it is not the same
//! one. Once open, every name in it is created, swapped, read and removed
//! relative to that descriptor, with `O_NOFOLLOW`, so a swap made after
//! the check changes nothing mgdeploy touches.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags, ResolveFlags};
use serde::{Deserialize, Serialize};

use super::fsops::{Ownership, StepError};
use crate::checksum::Sha256Hex;

/// A directory's identity: which file system, which inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirId {
    pub dev: u64,
    pub ino: u64,
}

/// An open directory, reached without links.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
    pub id: DirId,
}

fn error(step: &'static str, path: &Path, error: impl Into<io::Error>) -> StepError {
    StepError {
        step,
        path: path.to_path_buf(),
        error: error.into(),
    }
}

fn refused(path: &Path, why: String) -> StepError {
    error(
        "trust",
        path,
        io::Error::new(io::ErrorKind::PermissionDenied, why),
    )
}

/// Opens `path` (absolute) as a directory, one name at a time from `/`,
/// refusing a symbolic link anywhere on the way.
fn open_no_links(path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::openat2(
        rustix::fs::CWD,
        path,
        flags,
        Mode::empty(),
        ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    ) {
        Err(rustix::io::Errno::NOSYS) => {}
        other => return Ok(other?),
    }
    // Before Linux 5.6: the same walk by hand.
    let mut fd = rustix::fs::open("/", flags, Mode::empty())?;
    for component in path.components() {
        match component {
            Component::RootDir => {}
            Component::Normal(name) => {
                fd = rustix::fs::openat(&fd, name, flags | OFlags::NOFOLLOW, Mode::empty())?;
            }
            _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }
    Ok(fd)
}

impl Dir {
    /// Opens the directory `path` (absolute, without `.` or `..`).
    pub fn open(path: &Path) -> Result<Dir, StepError> {
        let plain = path.is_absolute()
            && path
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !plain {
            return Err(refused(path, "it is not a plain absolute path".to_string()));
        }
        let fd = open_no_links(path).map_err(|e| {
            match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error()
                || code == rustix::io::Errno::NOTDIR.raw_os_error()
                || code == rustix::io::Errno::XDEV.raw_os_error() =>
            {
                refused(
                    path,
                    "a symbolic link (or something that is not a directory) is on the way to it now"
                        .to_string(),
                )
            }
            _ => error("open the directory", path, e),
        }
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| error("inspect", path, e))?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
            id: DirId {
                dev: stat.st_dev,
                ino: stat.st_ino,
            },
        })
    }

    /// Opens `path` and refuses it unless it is the directory `expected`
    /// was taken from (`None`: a journal older than identities, checked
    /// only for links).
    pub fn open_expecting(path: &Path, expected: Option<DirId>) -> Result<Dir, StepError> {
        let dir = Dir::open(path)?;
        match expected {
            Some(id) if id != dir.id => Err(refused(
                path,
                "it is not the directory mgdeploy planned in (it was replaced since)".to_string(),
            )),
            _ => Ok(dir),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn at(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// What `name` is, without following a link; `None` when nothing is.
    pub fn stat(&self, name: &str) -> Result<Option<rustix::fs::Stat>, StepError> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(stat)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(error("inspect", &self.at(name), e)),
        }
    }

    /// The bytes of the regular file `name` and its mode and owner; `None`
    /// when nothing is there. A link or anything else is an error.
    pub fn read(&self, name: &str) -> Result<Option<(Vec<u8>, Ownership)>, StepError> {
        let path = self.at(name);
        let fd = match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => {
                return Err(refused(&path, "it is a symbolic link now".to_string()));
            }
            Err(e) => return Err(error("open", &path, e)),
        };
        let stat = rustix::fs::fstat(&fd).map_err(|e| error("inspect", &path, e))?;
        if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(refused(&path, "it is not a regular file".to_string()));
        }
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|e| error("read", &path, e))?;
        let ownership = Ownership {
            mode: stat.st_mode & 0o7777,
            uid: Some(stat.st_uid),
            gid: Some(stat.st_gid),
        };
        Ok(Some((bytes, ownership)))
    }

    /// The target of the link `name`; `None` when it is not a link.
    pub fn read_link(&self, name: &str) -> Option<Vec<u8>> {
        rustix::fs::readlinkat(&self.fd, name, Vec::new())
            .ok()
            .map(|target| target.into_bytes())
    }

    /// What `name` holds now: a link's target, or a file's bytes.
    pub fn content(&self, name: &str, link: bool) -> Option<Vec<u8>> {
        if link {
            self.read_link(name)
        } else {
            self.read(name).ok().flatten().map(|(bytes, _)| bytes)
        }
    }

    /// Writes the new file `name` (it must not exist) with `ownership`, and
    /// fsyncs it. On failure it is removed.
    pub fn write_new(
        &self,
        name: &str,
        content: &[u8],
        ownership: Ownership,
    ) -> Result<(), StepError> {
        let path = self.at(name);
        let result = (|| {
            let fd = rustix::fs::openat(
                &self.fd,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::RUSR | Mode::WUSR,
            )
            .map_err(|e| error("create", &path, e))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(content)
                .map_err(|e| error("write", &path, e))?;
            if ownership.uid.is_some() || ownership.gid.is_some() {
                rustix::fs::fchown(
                    &file,
                    ownership.uid.map(rustix::fs::Uid::from_raw),
                    ownership.gid.map(rustix::fs::Gid::from_raw),
                )
                .map_err(|e| error("change the owner of", &path, e))?;
            }
            // After fchown, which may clear set-id bits.
            rustix::fs::fchmod(&file, Mode::from_raw_mode(ownership.mode))
                .map_err(|e| error("set the mode of", &path, e))?;
            file.sync_all().map_err(|e| error("fsync", &path, e))
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
        }
        result
    }

    /// Makes the new link `name` to `target`, durably.
    pub fn symlink(&self, name: &str, target: &Path) -> Result<(), StepError> {
        rustix::fs::symlinkat(target, &self.fd, name)
            .map_err(|e| error("create the link", &self.at(name), e))?;
        self.sync()
    }

    /// fsyncs the directory, so that a rename or unlink in it survives a
    /// crash.
    pub fn sync(&self) -> Result<(), StepError> {
        rustix::fs::fsync(&self.fd).map_err(|e| error("fsync the directory", &self.path, e))
    }

    /// Renames `from` over `to`, durably.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StepError> {
        rustix::fs::renameat(&self.fd, from, &self.fd, to)
            .map_err(|e| error("rename a new version over", &self.at(to), e))?;
        self.sync()
    }

    /// Removes `name`, durably.
    pub fn remove(&self, name: &str) -> Result<(), StepError> {
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
            .map_err(|e| error("remove", &self.at(name), e))?;
        self.sync()
    }

    /// Removes `name` if it is there; a failure is not worth stopping for.
    pub fn discard(&self, name: &str) {
        let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
    }

    /// Puts `staged` in `name`'s place, atomically, only if `name` still
    /// holds what `expect` says, and fsyncs the directory. The old file is
    /// swapped out with `renameat2(RENAME_EXCHANGE)` and checked after the
    /// swap, so an edit saved at any moment before is never lost: it is
    /// swapped back. Where the file system cannot exchange, the check comes
    /// right before a plain rename.
    pub fn replace_checked(
        &self,
        staged: &str,
        name: &str,
        expect: Expect<'_>,
    ) -> Result<(), ReplaceError> {
        let path = self.at(name);
        let not_done = |e: rustix::io::Errno| {
            ReplaceError::NotDone(error("rename a new version over", &path, e))
        };
        match expect {
            Expect::Absent => {
                match rustix::fs::renameat_with(
                    &self.fd,
                    staged,
                    &self.fd,
                    name,
                    RenameFlags::NOREPLACE,
                ) {
                    Ok(()) => {}
                    Err(rustix::io::Errno::EXIST) => return Err(ReplaceError::Changed(path)),
                    // Without renameat2 (some file systems): a hard link is
                    // made only where nothing is, just as atomically.
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                        match rustix::fs::linkat(&self.fd, staged, &self.fd, name, AtFlags::empty())
                        {
                            Ok(()) => self.discard(staged),
                            Err(rustix::io::Errno::EXIST) => {
                                return Err(ReplaceError::Changed(path));
                            }
                            Err(e) => return Err(not_done(e)),
                        }
                    }
                    Err(e) => return Err(not_done(e)),
                }
            }
            Expect::Holds(sha256) => {
                match rustix::fs::renameat_with(
                    &self.fd,
                    staged,
                    &self.fd,
                    name,
                    RenameFlags::EXCHANGE,
                ) {
                    Ok(()) => {
                        // `staged` now names what was in place.
                        let replaced = self.read(staged).ok().flatten().map(|(bytes, _)| bytes);
                        if replaced.is_none_or(|bytes| Sha256Hex::of(&bytes) != *sha256) {
                            rustix::fs::renameat_with(
                                &self.fd,
                                staged,
                                &self.fd,
                                name,
                                RenameFlags::EXCHANGE,
                            )
                            .map_err(|e| ReplaceError::Done(error("swap back", &path, e)))?;
                            self.discard(staged);
                            let _ = self.sync();
                            return Err(ReplaceError::Changed(path));
                        }
                        self.discard(staged);
                    }
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                        let now = self.read(name).map_err(ReplaceError::NotDone)?;
                        if now.is_none_or(|(bytes, _)| Sha256Hex::of(&bytes) != *sha256) {
                            return Err(ReplaceError::Changed(path));
                        }
                        rustix::fs::renameat(&self.fd, staged, &self.fd, name).map_err(not_done)?;
                    }
                    Err(e) => return Err(not_done(e)),
                }
            }
        }
        // The swap happened: a failure from here on leaves it done.
        self.sync().map_err(ReplaceError::Done)
    }
}

/// What a file must hold when a new version replaces it.
#[derive(Clone, Copy, Debug)]
pub enum Expect<'a> {
    /// Exactly these bytes (checksum).
    Holds(&'a Sha256Hex),
    /// Nothing: the file must not exist.
    Absent,
}

/// Why a replacement did not go as planned.
#[derive(Debug)]
pub enum ReplaceError {
    /// The target is not what the plan was made from any more; it was left
    /// as it is.
    Changed(PathBuf),
    /// It failed before the new version took the name: nothing changed.
    NotDone(StepError),
    /// The new version took the name, then a step failed (an fsync).
    Done(StepError),
}

/// The owner of every symbolic link met on the way to `path` on this
/// machine, resolved as the kernel resolves it; an error when something on
/// the way does not exist.
pub fn links_on_the_way(path: &Path) -> io::Result<Vec<(PathBuf, u32)>> {
    use std::collections::VecDeque;
    use std::os::unix::fs::MetadataExt;
    let mut links = Vec::new();
    let mut resolved = PathBuf::from("/");
    let mut queue: VecDeque<PathBuf> = path
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    while let Some(part) = queue.pop_front() {
        match part.components().next() {
            Some(Component::RootDir) => resolved = PathBuf::from("/"),
            Some(Component::ParentDir) => {
                resolved.pop();
            }
            Some(Component::Normal(name)) => {
                let candidate = resolved.join(name);
                let metadata = std::fs::symlink_metadata(&candidate)?;
                if !metadata.file_type().is_symlink() {
                    resolved = candidate;
                    continue;
                }
                links.push((candidate.clone(), metadata.uid()));
                if links.len() > 40 {
                    return Err(io::Error::other("too many levels of symbolic links"));
                }
                let target = std::fs::read_link(&candidate)?;
                for part in target.components().rev() {
                    queue.push_front(PathBuf::from(part.as_os_str()));
                }
            }
            _ => {}
        }
    }
    Ok(links)
}

/// `path`'s file name as text: mgdeploy only writes names it can say.
pub fn file_name(path: &Path) -> Result<&str, StepError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| refused(path, "its name is not UTF-8".to_string()))
}

/// The directory `path` is in.
pub fn parent(path: &Path) -> &Path {
    super::fsops::parent(path)
}

/// Runs `f` with `path`'s directory opened (and checked against
/// `expected`) and the file's name in it.
pub fn within<T>(
    path: &Path,
    expected: Option<DirId>,
    f: impl FnOnce(&Dir, &str) -> Result<T, StepError>,
) -> Result<T, StepError> {
    let dir = Dir::open_expecting(parent(path), expected)?;
    f(&dir, file_name(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_on_the_way_is_refused_and_a_swap_is_seen() {
        let top = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(top.path()).unwrap();
        let real = top.join("real");
        std::fs::create_dir(&real).unwrap();
        let dir = Dir::open(&real).unwrap();
        dir.write_new(
            "f",
            b"one",
            Ownership {
                mode: 0o644,
                uid: None,
                gid: None,
            },
        )
        .unwrap();
        assert_eq!(dir.read("f").unwrap().unwrap().0, b"one");

        std::os::unix::fs::symlink(&real, top.join("link")).unwrap();
        let error = Dir::open(&top.join("link")).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");

        // Replaced by another directory of the same name.
        std::fs::rename(&real, top.join("moved")).unwrap();
        std::fs::create_dir(&real).unwrap();
        let error = Dir::open_expecting(&real, Some(dir.id)).unwrap_err();
        assert!(error.to_string().contains("replaced since"), "{error}");
        // The open descriptor still writes where it was opened.
        dir.write_new(
            "g",
            b"two",
            Ownership {
                mode: 0o644,
                uid: None,
                gid: None,
            },
        )
        .unwrap();
        assert!(top.join("moved/g").exists() && !real.join("g").exists());

        let links = links_on_the_way(&top.join("link/x")).unwrap_err();
        assert_eq!(links.kind(), io::ErrorKind::NotFound);
        std::fs::write(real.join("x"), "").unwrap();
        let links = links_on_the_way(&top.join("link/x")).unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].0, top.join("link"));
    }
}
