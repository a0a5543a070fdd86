//! What the host offers a uWSGI: its plugin directory and the Python
//! plugins in it. Read once by discovery; rules and planning read this, not
//! the disk.

use std::path::{Path, PathBuf};

use super::python::PythonVersion;
use crate::sysroot::Sysroot;

/// Where Debian's uwsgi-core keeps plugins.
pub const PLUGIN_DIR: &str = "/usr/lib/uwsgi/plugins";

/// A uWSGI plugin installed on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plugin {
    /// The name `plugins =` takes: `python3` for `python3_plugin.so`.
    pub name: String,
    /// The file it resolves to (Debian's `python3_plugin.so` is an
    /// alternative pointing at `python311_plugin.so`).
    pub file: PathBuf,
}

impl Plugin {
    /// The Python this plugin embeds, when its file name says
    /// (`python311_plugin.so` → 3.11; `python_plugin.so`, Debian's old
    /// Python 2 package, → 2.7).
    pub fn python(&self) -> Option<PythonVersion> {
        let stem = self
            .file
            .file_name()?
            .to_str()?
            .strip_suffix("_plugin.so")?;
        python_of_plugin_name(stem)
    }
}

/// The Python a plugin name stands for: `python311` → 3.11, `python27` →
/// 2.7, `python` (Debian's Python 2 plugin) → 2.7; `python3` and `python2`
/// give only the major version's usual minor (unknown: `None`).
pub fn python_of_plugin_name(name: &str) -> Option<PythonVersion> {
    let digits = name.strip_prefix("python")?;
    match digits {
        "" | "2" | "27" => Some(PythonVersion { major: 2, minor: 7 }),
        _ if digits.len() >= 2 && digits.chars().all(|c| c.is_ascii_digit()) => {
            let (major, minor) = digits.split_at(1);
            Some(PythonVersion {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
            })
        }
        _ => None,
    }
}

/// Whether a `plugins =` value loads a Python 3 plugin (`python3`,
/// `python311`, in a comma list).
pub fn loads_python3(plugins: &str) -> bool {
    plugins.split(',').any(|p| {
        let p = p.trim();
        p == "python3" || python_of_plugin_name(p).is_some_and(|v| v.major == 3)
    })
}

/// The host, as far as mgdeploy needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    /// The directory listed, when it exists.
    pub plugin_dir: Option<PathBuf>,
    /// Every `*_plugin.so` there whose name starts with `python`.
    pub python_plugins: Vec<Plugin>,
    /// The name of every plugin there (`python3`, `router_redirect` …).
    pub plugins: Vec<String>,
}

impl Host {
    /// Reads the plugin directory (absent: no plugins).
    pub fn read(sysroot: &Sysroot, plugin_dir: &Path) -> Self {
        let Ok(names) = sysroot.read_dir(plugin_dir) else {
            return Host::default();
        };
        let mut plugins: Vec<String> = names
            .iter()
            .filter_map(|file_name| file_name.to_str()?.strip_suffix("_plugin.so"))
            .map(str::to_string)
            .collect();
        plugins.sort();
        let python_plugins: Vec<Plugin> = plugins
            .iter()
            .filter(|name| name.starts_with("python"))
            .map(|name| {
                let path = plugin_dir.join(format!("{name}_plugin.so"));
                let file = sysroot.resolve(&sysroot.server(&path)).unwrap_or(path);
                Plugin {
                    name: name.clone(),
                    file,
                }
            })
            .collect();
        Host {
            plugin_dir: Some(plugin_dir.to_path_buf()),
            python_plugins,
            plugins,
        }
    }

    /// Whether `NAME_plugin.so` is there.
    pub fn has_plugin(&self, name: &str) -> bool {
        self.plugins.iter().any(|p| p == name)
    }

    pub fn plugin(&self, name: &str) -> Option<&Plugin> {
        self.python_plugins.iter().find(|p| p.name == name)
    }

    /// The plugin that runs `version`: the generic name (`python3`) when it
    /// is that version, else the versioned one (`python311`, `python27`),
    /// else Debian's old Python 2 `python`.
    pub fn plugin_for(&self, version: PythonVersion) -> Option<&Plugin> {
        let generic = format!("python{}", version.major);
        let exact = format!("python{}{}", version.major, version.minor);
        let runs = |p: &&Plugin| p.python() == Some(version);
        self.plugin(&generic)
            .filter(runs)
            .or_else(|| self.plugin(&exact))
            .or_else(|| {
                version
                    .is_python2()
                    .then(|| self.plugin("python"))
                    .flatten()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_say_their_python() {
        let v = |major, minor| Some(PythonVersion { major, minor });
        assert_eq!(python_of_plugin_name("python311"), v(3, 11));
        assert_eq!(python_of_plugin_name("python27"), v(2, 7));
        assert_eq!(python_of_plugin_name("python"), v(2, 7));
        assert_eq!(python_of_plugin_name("python3"), None);
        assert_eq!(python_of_plugin_name("php"), None);
        assert!(loads_python3("python3"));
        assert!(loads_python3("http, python311"));
        assert!(!loads_python3("python"));
        assert!(!loads_python3("python27"));
    }

    #[test]
    fn the_plugin_for_a_python_follows_debian_alternatives() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path();
        std::fs::write(plugins.join("python311_plugin.so"), "").unwrap();
        std::os::unix::fs::symlink("python311_plugin.so", plugins.join("python3_plugin.so"))
            .unwrap();
        std::fs::write(plugins.join("php_plugin.so"), "").unwrap();
        let host = Host::read(&Sysroot::none(), plugins);
        assert_eq!(host.python_plugins.len(), 2);
        let v311 = PythonVersion {
            major: 3,
            minor: 11,
        };
        assert_eq!(
            host.plugin_for(v311).map(|p| p.name.as_str()),
            Some("python3")
        );
        let v39 = PythonVersion { major: 3, minor: 9 };
        assert_eq!(host.plugin_for(v39), None, "the 3.11 plugin cannot run 3.9");
        let v27 = PythonVersion { major: 2, minor: 7 };
        assert_eq!(host.plugin_for(v27), None);
        std::fs::write(plugins.join("python27_plugin.so"), "").unwrap();
        let host = Host::read(&Sysroot::none(), plugins);
        assert_eq!(
            host.plugin_for(v27).map(|p| p.name.as_str()),
            Some("python27")
        );
        assert_eq!(
            Host::read(&Sysroot::none(), &plugins.join("missing")),
            Host::default()
        );
    }
}
