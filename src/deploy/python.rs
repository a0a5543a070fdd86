//! The site's Python: which virtualenv MediaGoblin is installed in, which
//! Python version it was made with, and whether a uWSGI is installed in it.
//!
//! Everything is read from the file system (`pyvenv.cfg`, `lib/pythonX.Y`,
//! the `bin/python` symlink); nothing in the checkout is ever run, because
//! mgdeploy runs as root and the checkout may be writable by others.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::sysroot::Sysroot;

/// A Python version, major and minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    /// `2.7`, `3.11`, `3.11.2`, `3.11.2.final.0`: the first two numbers.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()?;
        Some(PythonVersion { major, minor })
    }

    /// The version in a name such as `python2.7` or `python3.11`.
    fn from_name(name: &str) -> Option<Self> {
        PythonVersion::parse(name.strip_prefix("python")?)
    }

    pub fn is_python2(self) -> bool {
        self.major == 2
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A virtualenv MediaGoblin runs from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Virtualenv {
    /// Its directory, absolute (the checkout itself for MediaGoblin ≤ 0.9,
    /// whose docs ran `virtualenv .`).
    pub dir: PathBuf,
    /// The Python it was made with, when the files say.
    pub version: Option<PythonVersion>,
    /// What the version was read from, for messages (`pyvenv.cfg`,
    /// `lib/python2.7`, `bin/python -> python2.7`).
    pub version_from: Option<String>,
    /// `bin/uwsgi` in it: a uWSGI built against this Python.
    pub uwsgi: Option<PathBuf>,
}

impl Virtualenv {
    /// The virtualenv at `dir`, if `dir` is one (`bin/python` or `pyvenv.cfg`).
    pub fn at(sysroot: &Sysroot, dir: &Path) -> Option<Self> {
        let python = dir.join("bin/python");
        let is_venv = sysroot.exists(&python) || sysroot.is_file(&dir.join("pyvenv.cfg"));
        if !is_venv {
            return None;
        }
        let (version, version_from) = match version_of(sysroot, dir) {
            Some((version, from)) => (Some(version), Some(from)),
            None => (None, None),
        };
        let uwsgi = dir.join("bin/uwsgi");
        Some(Virtualenv {
            dir: dir.to_path_buf(),
            version,
            version_from,
            uwsgi: sysroot.is_file(&uwsgi).then_some(uwsgi),
        })
    }

    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    pub fn pip(&self) -> PathBuf {
        self.dir.join("bin/pip")
    }

    /// Where `pip install uwsgi` puts uWSGI.
    pub fn uwsgi_path(&self) -> PathBuf {
        self.dir.join("bin/uwsgi")
    }
}

/// The version of the virtualenv at `dir`, and what said so.
fn version_of(sysroot: &Sysroot, dir: &Path) -> Option<(PythonVersion, String)> {
    // `python -m venv` writes `version = 3.11.2`; virtualenv ≥ 20 writes
    // `version_info = 3.11.2.final.0`.
    if let Ok(bytes) = sysroot.read(&dir.join("pyvenv.cfg")) {
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if matches!(key.trim(), "version" | "version_info")
                && let Some(version) = PythonVersion::parse(value)
            {
                return Some((version, "pyvenv.cfg".to_string()));
            }
        }
    }
    // Every virtualenv has lib/pythonX.Y for its site-packages.
    let mut libs: Vec<PythonVersion> = sysroot
        .read_dir(&dir.join("lib"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|name| PythonVersion::from_name(&name.to_string_lossy()))
        .collect();
    libs.sort();
    libs.dedup();
    if let [version] = libs.as_slice() {
        return Some((*version, format!("lib/python{version}")));
    }
    // bin/python -> python2.7 (a link, possibly through python2).
    let mut link = dir.join("bin/python");
    for _ in 0..8 {
        let Ok(target) = sysroot.read_link(&link) else {
            break;
        };
        if let Some(version) = target
            .file_name()
            .and_then(|n| PythonVersion::from_name(&n.to_string_lossy()))
        {
            return Some((version, format!("bin/python -> {}", target.display())));
        }
        link = match link.parent() {
            Some(parent) => parent.join(target),
            None => break,
        };
    }
    None
}

/// Finds the virtualenv of a checkout: one named by an existing uWSGI ini
/// (`virtualenv`, `home`, `venv`, `pyhome`), else the checkout itself,
/// `.venv/` or `venv/` in it.
pub fn find(sysroot: &Sysroot, root: &Path, named_by_ini: Option<&Path>) -> Option<Virtualenv> {
    named_by_ini
        .into_iter()
        .map(Path::to_path_buf)
        .chain([root.to_path_buf(), root.join(".venv"), root.join("venv")])
        .find_map(|dir| Virtualenv::at(sysroot, &dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_written() {
        let v = |major, minor| Some(PythonVersion { major, minor });
        assert_eq!(PythonVersion::parse("2.7"), v(2, 7));
        assert_eq!(PythonVersion::parse(" 3.11.2"), v(3, 11));
        assert_eq!(PythonVersion::parse("3.11.2.final.0"), v(3, 11));
        assert_eq!(PythonVersion::from_name("python3.9"), v(3, 9));
        assert_eq!(PythonVersion::from_name("python3"), None);
        assert_eq!(PythonVersion::parse("x.y"), None);
    }

    #[test]
    fn a_virtualenv_says_its_version_without_being_run() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(find(&Sysroot::none(), root, None).is_none());
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::os::unix::fs::symlink("python2.7", root.join("bin/python")).unwrap();
        let venv = find(&Sysroot::none(), root, None).unwrap();
        assert_eq!(venv.version, Some(PythonVersion { major: 2, minor: 7 }));
        assert_eq!(
            venv.version_from.as_deref(),
            Some("bin/python -> python2.7")
        );
        assert!(venv.uwsgi.is_none());
        std::fs::create_dir_all(root.join("lib/python2.7/site-packages")).unwrap();
        assert_eq!(
            find(&Sysroot::none(), root, None)
                .unwrap()
                .version_from
                .as_deref(),
            Some("lib/python2.7")
        );
        std::fs::write(root.join("bin/uwsgi"), "").unwrap();
        assert_eq!(
            find(&Sysroot::none(), root, None).unwrap().uwsgi,
            Some(root.join("bin/uwsgi"))
        );

        let other = tempfile::tempdir().unwrap();
        std::fs::write(
            other.path().join("pyvenv.cfg"),
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
        )
        .unwrap();
        let venv = find(&Sysroot::none(), root, Some(other.path())).unwrap();
        assert_eq!(venv.dir, other.path());
        assert_eq!(
            venv.version,
            Some(PythonVersion {
                major: 3,
                minor: 11
            })
        );
    }
}
