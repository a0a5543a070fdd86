//! Where the server's files are on this machine. On the server itself that
//! is `/`; for code review, `--sysroot DIR` names a mirror of the server's
//! tree (an ops repository with `etc/nginx/…`, `srv/mediagoblin/…`).
//!
//! Two kinds of path meet here. A *server path* is what the server's own
//! configuration says (`/etc/nginx/uwsgi_params`) and what mgdeploy writes
//! into files and commands. A *host path* is where that file is read or
//! written on this machine (`DIR/etc/nginx/uwsgi_params`). Symbolic links in
//! the mirror are followed as the server would follow them: an absolute
//! target (`/etc/nginx/sites-available/x`) stays inside the mirror, never
//! reaching this machine's own `/etc`.

use std::collections::VecDeque;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Symbolic links followed before giving up, as the kernel does.
const MAX_LINKS: usize = 40;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sysroot(Option<PathBuf>);

impl Sysroot {
    /// This machine is the server.
    pub fn none() -> Self {
        Sysroot(None)
    }

    /// The server's tree is mirrored at `dir` (absolute, canonical).
    pub fn at(dir: PathBuf) -> Self {
        Sysroot(Some(dir))
    }

    pub fn dir(&self) -> Option<&Path> {
        self.0.as_deref()
    }

    pub fn is_mirror(&self) -> bool {
        self.0.is_some()
    }

    /// Where a server path is on this machine.
    pub fn host(&self, server: &Path) -> PathBuf {
        match &self.0 {
            None => server.to_path_buf(),
            Some(dir) => dir.join(server.strip_prefix("/").unwrap_or(server)),
        }
    }

    /// The server path of a file on this machine (unchanged when it lies
    /// outside the mirror).
    pub fn server(&self, host: &Path) -> PathBuf {
        match &self.0 {
            None => host.to_path_buf(),
            Some(dir) => match host.strip_prefix(dir) {
                Ok(inside) => Path::new("/").join(inside),
                Err(_) => host.to_path_buf(),
            },
        }
    }

    /// `server` with every symbolic link followed inside the mirror, as a
    /// host path; an error when something on the way does not exist.
    pub fn resolve(&self, server: &Path) -> io::Result<PathBuf> {
        let Some(dir) = &self.0 else {
            return std::fs::canonicalize(server);
        };
        // `resolved` is a server path; `queue` what is left to walk. A
        // link's target goes to the front of the queue: an absolute one
        // starts again at the mirror's root, a relative one from where the
        // link is.
        let mut resolved = PathBuf::from("/");
        let mut queue: VecDeque<PathBuf> = server
            .components()
            .map(|c| PathBuf::from(c.as_os_str()))
            .collect();
        let mut links = 0;
        while let Some(part) = queue.pop_front() {
            match part.components().next() {
                Some(Component::RootDir) => resolved = PathBuf::from("/"),
                Some(Component::ParentDir) => {
                    resolved.pop();
                }
                Some(Component::Normal(name)) => {
                    let candidate = resolved.join(name);
                    let host = self.host(&candidate);
                    if !std::fs::symlink_metadata(&host)?.file_type().is_symlink() {
                        resolved = candidate;
                        continue;
                    }
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "too many levels of symbolic links",
                        ));
                    }
                    let target = std::fs::read_link(&host)?;
                    for part in target.components().rev() {
                        queue.push_front(PathBuf::from(part.as_os_str()));
                    }
                }
                Some(Component::CurDir | Component::Prefix(_)) | None => {}
            }
        }
        Ok(dir.join(resolved.strip_prefix("/").unwrap_or(&resolved)))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_links_stay_inside_the_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = std::fs::canonicalize(dir.path()).unwrap();
        let sysroot = Sysroot::at(mirror.clone());
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
    }

    #[test]
    fn without_a_mirror_paths_are_this_machine_s() {
        let sysroot = Sysroot::none();
        assert_eq!(sysroot.host(Path::new("/etc/x")), Path::new("/etc/x"));
        assert_eq!(sysroot.server(Path::new("/etc/x")), Path::new("/etc/x"));
        assert!(!sysroot.is_mirror());
    }
}
