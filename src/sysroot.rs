//! Where the server's files are on this machine, and the one way mgdeploy
//! reads them. On the server itself that is `/`; for code review,
//! `--sysroot DIR` names a mirror of the server's tree (an ops repository
//! with `etc/nginx/…`, `srv/mediagoblin/…`).
//!
//! Two kinds of path meet here. A *server path* is what the server's own
//! configuration says (`/etc/nginx/uwsgi_params`) and what mgdeploy writes
//! into files and commands. A *host path* is where that file is read or
//! written on this machine (`DIR/etc/nginx/uwsgi_params`).
//!
//! A mirror is a jail: every file in it is opened by the kernel with
//! `openat2(RESOLVE_IN_ROOT)` from the mirror's directory, so symbolic links
//! are followed as the server would follow them (an absolute target such as
//! `/etc/nginx/sites-available/x` stays inside the mirror, `..` stops at its
//! top) and nothing outside it is ever opened: not `/proc/self/environ`
//! behind a link a pull request added, not a path that names the reviewing
//! machine. A host path outside the mirror is refused before anything is
//! opened. On the server, files are read where they are.
//!
//! Reads are bounded as nginx bounds them: a file yields at most the size
//! `stat` gives it (so `/proc` files, whose size is 0, read as empty, as
//! nginx reads them) and at most `MAX_FILE` bytes; nginx's files stop after
//! the first NUL byte (its reader refuses one there, and a sparse file of
//! zeros then costs one block, not its size).

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// The largest file mgdeploy reads (a fleet's nginx.conf is tens of MB).
pub const MAX_FILE: u64 = 256 * 1024 * 1024;

/// How much is read at a time, looking for a NUL byte.
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Debug, Default)]
pub struct Sysroot(Option<Arc<Mirror>>);

/// The mirror's directory, opened once: every read starts from it.
#[derive(Debug)]
struct Mirror {
    dir: PathBuf,
    fd: OwnedFd,
}

impl PartialEq for Sysroot {
    fn eq(&self, other: &Self) -> bool {
        self.dir() == other.dir()
    }
}

impl Eq for Sysroot {}

fn outside(host: &Path, dir: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{} is outside the server's tree {}; a mirror is read only inside",
            host.display(),
            dir.display()
        ),
    )
}

impl Sysroot {
    /// This machine is the server.
    pub fn none() -> Self {
        Sysroot(None)
    }

    /// The server's tree is mirrored at `dir`, which is opened now.
    pub fn mirror(dir: &Path) -> io::Result<Self> {
        let dir = std::fs::canonicalize(dir)?;
        let fd = rustix::fs::open(
            &dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // The jail needs openat2 (Linux 5.6): say so now, not at the first read.
        match rustix::fs::openat2(
            &fd,
            ".",
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT,
        ) {
            Err(rustix::io::Errno::NOSYS) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "reading a mirror safely needs Linux 5.6 or later (openat2)",
                ));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        Ok(Sysroot(Some(Arc::new(Mirror { dir, fd }))))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.0.as_deref().map(|m| m.dir.as_path())
    }

    pub fn is_mirror(&self) -> bool {
        self.0.is_some()
    }

    /// Where a server path is on this machine.
    pub fn host(&self, server: &Path) -> PathBuf {
        match self.dir() {
            None => server.to_path_buf(),
            Some(dir) => dir.join(server.strip_prefix("/").unwrap_or(server)),
        }
    }

    /// The server path of a file on this machine (unchanged when it lies
    /// outside the mirror).
    pub fn server(&self, host: &Path) -> PathBuf {
        match self.dir() {
            None => host.to_path_buf(),
            Some(dir) => match host.strip_prefix(dir) {
                Ok(inside) => Path::new("/").join(inside),
                Err(_) => host.to_path_buf(),
            },
        }
    }

    /// Whether a host path lies inside the mirror (always, without one).
    pub fn contains(&self, host: &Path) -> bool {
        self.dir().is_none_or(|dir| host.starts_with(dir))
    }

    /// `path` as given on the command line, as a host path: with a mirror,
    /// an absolute path is the server's (resolved under the mirror) and a
    /// relative one is this machine's, from the working directory.
    pub fn from_command_line(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            self.host(path)
        } else {
            std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
        }
    }

    /// Opens a host path inside the mirror: `flags` plus `O_CLOEXEC`,
    /// resolved by the kernel in the mirror's root.
    fn open_in(mirror: &Mirror, host: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let inside = host
            .strip_prefix(&mirror.dir)
            .map_err(|_| outside(host, &mirror.dir))?;
        let relative = if inside.as_os_str().is_empty() {
            Path::new(".")
        } else {
            inside
        };
        Ok(rustix::fs::openat2(
            &mirror.fd,
            relative,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )?)
    }

    /// Opens a host path for reading, without blocking (a FIFO with no
    /// writer); links are followed, inside the mirror when there is one.
    pub fn open(&self, host: &Path) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        match &self.0 {
            None => Ok(File::from(rustix::fs::open(
                host,
                flags | OFlags::CLOEXEC,
                Mode::empty(),
            )?)),
            Some(mirror) => Ok(File::from(Self::open_in(mirror, host, flags)?)),
        }
    }

    /// What `host` is, links followed (inside the mirror).
    pub fn metadata(&self, host: &Path) -> io::Result<Metadata> {
        match &self.0 {
            None => std::fs::metadata(host),
            Some(mirror) => File::from(Self::open_in(mirror, host, OFlags::PATH)?).metadata(),
        }
    }

    /// What `host` itself is: a link is not followed.
    pub fn symlink_metadata(&self, host: &Path) -> io::Result<Metadata> {
        match &self.0 {
            None => std::fs::symlink_metadata(host),
            Some(mirror) => File::from(Self::open_in(
                mirror,
                host,
                OFlags::PATH | OFlags::NOFOLLOW,
            )?)
            .metadata(),
        }
    }

    pub fn is_file(&self, host: &Path) -> bool {
        self.metadata(host).is_ok_and(|m| m.is_file())
    }

    pub fn is_dir(&self, host: &Path) -> bool {
        self.metadata(host).is_ok_and(|m| m.is_dir())
    }

    /// Whether anything is at `host` (a dangling link counts).
    pub fn exists(&self, host: &Path) -> bool {
        self.symlink_metadata(host).is_ok()
    }

    /// What is at `host`, for messages: "a file", "a directory", "a FIFO",
    /// "a symbolic link to nothing" ...; `None` when nothing is.
    pub fn what_is_at(&self, host: &Path) -> Option<&'static str> {
        use std::os::unix::fs::FileTypeExt;
        let kind = self.symlink_metadata(host).ok()?.file_type();
        Some(if kind.is_symlink() {
            match self.metadata(host) {
                Ok(target) if target.is_file() => "a symbolic link to a file",
                Ok(_) => "a symbolic link to something that is not a file",
                Err(_) => "a symbolic link to nothing",
            }
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_file() {
            "a file"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        })
    }

    /// A path one of the server's files names (`config = …` in paste.ini),
    /// as a host path: a relative one from `dir` (a host directory), an
    /// absolute one is the server's, unless it already lies in the mirror
    /// (`%(here)s` says where the file is on this machine).
    pub fn named_in_file(&self, value: &Path, dir: &Path) -> PathBuf {
        if !value.is_absolute() {
            return dir.join(value);
        }
        match self.dir() {
            Some(mirror) if !value.starts_with(mirror) => self.host(value),
            _ => value.to_path_buf(),
        }
    }

    /// The target of the link at `host`, as written in it.
    pub fn read_link(&self, host: &Path) -> io::Result<PathBuf> {
        match &self.0 {
            None => std::fs::read_link(host),
            Some(mirror) => {
                let fd = Self::open_in(mirror, host, OFlags::PATH | OFlags::NOFOLLOW)?;
                let target = rustix::fs::readlinkat(&fd, "", Vec::new())?;
                Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
            }
        }
    }

    /// The names in the directory `host` (not `.` and `..`), as bytes the
    /// file system holds them, in the order it lists them.
    pub fn read_dir(&self, host: &Path) -> io::Result<Vec<OsString>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        let fd = match &self.0 {
            None => rustix::fs::open(host, flags | OFlags::CLOEXEC, Mode::empty())?,
            Some(mirror) => Self::open_in(mirror, host, flags)?,
        };
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&fd)? {
            let name = entry?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                names.push(OsString::from_vec(name));
            }
        }
        Ok(names)
    }

    /// `server` with every symbolic link followed (inside the mirror), as a
    /// host path; an error when something on the way does not exist.
    pub fn resolve(&self, server: &Path) -> io::Result<PathBuf> {
        let Some(mirror) = &self.0 else {
            return std::fs::canonicalize(server);
        };
        let fd = Self::open_in(mirror, &self.host(server), OFlags::PATH)?;
        // The kernel knows where the descriptor leads.
        let real = std::fs::read_link(format!("/proc/self/fd/{}", fd_number(&fd)))?;
        if !real.starts_with(&mirror.dir) {
            return Err(outside(&real, &mirror.dir));
        }
        Ok(real)
    }

    /// The bytes of the regular file at `host` (links followed inside the
    /// mirror), bounded as the module says; anything else (a FIFO, a
    /// device, a directory) is refused before a byte is read.
    pub fn read(&self, host: &Path) -> io::Result<Vec<u8>> {
        read_bounded(self.open(host)?, MAX_FILE, Until::End)
    }
}

fn fd_number(fd: &impl AsFd) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_fd().as_raw_fd()
}

/// How far a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Its end (Python's and systemd's readers take NUL bytes).
    End,
    /// Its first NUL byte, included (nginx refuses one).
    Nul,
}

/// Reads an open regular file: at most its size and `limit`, and `until`.
pub fn read_bounded(mut file: File, limit: u64, until: Until) -> io::Result<Vec<u8>> {
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if metadata.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is {} bytes; mgdeploy reads files of at most {} MiB",
                metadata.len(),
                limit / (1024 * 1024)
            ),
        ));
    }
    let size = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(size.min(CHUNK * 16));
    let mut chunk = vec![0; CHUNK];
    while bytes.len() < size {
        let want = (size - bytes.len()).min(CHUNK);
        let read = match file.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let got = &chunk[..read];
        if until == Until::Nul
            && let Some(nul) = memchr::memchr(0, got)
        {
            bytes.extend_from_slice(&got[..=nul]);
            break;
        }
        bytes.extend_from_slice(got);
    }
    Ok(bytes)
}

/// `path` without `.` and with each `..` taking off the name before it,
/// lexically (links are not looked at); `None` when `..` climbs above the
/// start of a relative path.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut names = 0usize;
    for component in path.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                out.push(component.as_os_str());
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if names == 0 {
                    if path.is_absolute() {
                        continue;
                    }
                    return None;
                }
                out.pop();
                names -= 1;
            }
            Component::Normal(name) => {
                out.push(name);
                names += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_links_stay_inside_the_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = std::fs::canonicalize(dir.path()).unwrap();
        let sysroot = Sysroot::mirror(&mirror).unwrap();
        std::fs::create_dir_all(mirror.join("etc/nginx/sites-available")).unwrap();
        std::fs::create_dir_all(mirror.join("etc/nginx/sites-enabled")).unwrap();
        std::fs::write(mirror.join("etc/nginx/sites-available/mg"), "server {}\n").unwrap();
        std::os::unix::fs::symlink(
            "/etc/nginx/sites-available/mg",
            mirror.join("etc/nginx/sites-enabled/mg"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../sites-available/mg",
            mirror.join("etc/nginx/sites-enabled/rel"),
        )
        .unwrap();
        let real = mirror.join("etc/nginx/sites-available/mg");
        assert_eq!(
            sysroot
                .resolve(Path::new("/etc/nginx/sites-enabled/mg"))
                .unwrap(),
            real
        );
        assert_eq!(
            sysroot
                .resolve(Path::new("/etc/nginx/sites-enabled/rel"))
                .unwrap(),
            real
        );
        assert_eq!(
            sysroot
                .read(&mirror.join("etc/nginx/sites-enabled/mg"))
                .unwrap(),
            b"server {}\n"
        );
        assert_eq!(
            sysroot.server(&real),
            Path::new("/etc/nginx/sites-available/mg")
        );
        assert_eq!(sysroot.host(Path::new("/srv/mg")), mirror.join("srv/mg"));
        // `..` cannot climb out of the mirror.
        std::os::unix::fs::symlink("../../../../../../etc/passwd", mirror.join("etc/escape"))
            .unwrap();
        assert!(
            sysroot.resolve(Path::new("/etc/escape")).is_err(),
            "no etc/passwd in the mirror"
        );
        std::fs::write(mirror.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        assert_eq!(
            sysroot.resolve(Path::new("/etc/escape")).unwrap(),
            mirror.join("etc/passwd")
        );
        // A loop ends.
        std::os::unix::fs::symlink("loop", mirror.join("loop")).unwrap();
        assert!(sysroot.resolve(Path::new("/loop")).is_err());
        // Nothing outside is opened, by a link or by a host path.
        std::os::unix::fs::symlink("/proc/self/environ", mirror.join("environ")).unwrap();
        assert!(sysroot.read(&mirror.join("environ")).is_err());
        let error = sysroot.read(Path::new("/proc/self/environ")).unwrap_err();
        assert!(error.to_string().contains("outside"), "{error}");
        assert_eq!(
            sysroot.read_link(&mirror.join("environ")).unwrap(),
            Path::new("/proc/self/environ")
        );
        let mut names = sysroot.read_dir(&mirror.join("etc/nginx")).unwrap();
        names.sort();
        assert_eq!(names, ["sites-available", "sites-enabled"]);
    }

    #[test]
    fn without_a_mirror_paths_are_this_machine_s() {
        let sysroot = Sysroot::none();
        assert_eq!(sysroot.host(Path::new("/etc/x")), Path::new("/etc/x"));
        assert_eq!(sysroot.server(Path::new("/etc/x")), Path::new("/etc/x"));
        assert!(!sysroot.is_mirror());
    }

    #[test]
    fn reads_are_bounded_as_nginx_bounds_them() {
        let dir = tempfile::tempdir().unwrap();
        let sparse = dir.path().join("sparse");
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(100 << 20)
            .unwrap();
        let open = || std::fs::File::open(&sparse).unwrap();
        let bytes = read_bounded(open(), MAX_FILE, Until::Nul).unwrap();
        assert_eq!(bytes, [0], "stops after the first NUL");
        assert_eq!(Sysroot::none().read(&sparse).unwrap().len(), 100 << 20);
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        let error = Sysroot::none().read(&huge).unwrap_err();
        assert!(error.to_string().contains("at most 256 MiB"), "{error}");
        // /proc files say they are empty: nginx reads nothing from them.
        assert_eq!(
            Sysroot::none()
                .read(Path::new("/proc/self/pagemap"))
                .unwrap(),
            b""
        );
        let error = read_bounded(open(), 1024, Until::End).unwrap_err();
        assert!(error.to_string().contains("at most"), "{error}");
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("a/./b/../c")).unwrap(),
            Path::new("a/c")
        );
        assert_eq!(normalize(Path::new("/../x")).unwrap(), Path::new("/x"));
        assert!(normalize(Path::new("../x")).is_none());
        assert!(normalize(Path::new("a/../../x")).is_none());
    }
}
