//! What a uWSGI ini says, option by option, as uWSGI reads it.

use super::IniFile;
use crate::ini::Entry;

pub struct Settings<'a> {
    pub file: &'a IniFile,
    entries: Vec<&'a Entry>,
}

/// uWSGI's flags take `false`, `off`, `no` and `0` as false; anything
/// else, an empty value included, as true.
pub fn is_true(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "false" | "off" | "no" | "0"
    )
}

impl<'a> Settings<'a> {
    pub fn of(file: &'a IniFile) -> Self {
        Settings {
            file,
            entries: file.document.entries("uwsgi").collect(),
        }
    }

    pub fn entries(&self) -> &[&'a Entry] {
        &self.entries
    }

    pub fn all(&self, key: &str) -> Vec<&'a Entry> {
        self.entries
            .iter()
            .copied()
            .filter(|e| e.key == key)
            .collect()
    }

    pub fn first(&self, key: &str) -> Option<&'a Entry> {
        self.entries.iter().copied().find(|e| e.key == key)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.first(key).is_some_and(|e| is_true(&e.value))
    }

    /// Plugins the ini loads (`plugins`, `plugin`, `need-plugin(s)`).
    pub fn plugins(&self) -> Vec<(String, &'a Entry)> {
        self.entries
            .iter()
            .filter(|e| {
                matches!(
                    e.key.as_str(),
                    "plugins" | "plugin" | "need-plugin" | "need-plugins"
                )
            })
            .flat_map(|e| {
                e.value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(move |p| (p.to_string(), *e))
            })
            .collect()
    }

    /// The sockets that speak the uwsgi protocol.
    pub fn uwsgi_sockets(&self) -> Vec<&'a Entry> {
        self.entries
            .iter()
            .copied()
            .filter(|e| matches!(e.key.as_str(), "socket" | "uwsgi-socket"))
            .collect()
    }

    /// `mount = MOUNTPOINT=APP` entries, split.
    pub fn mounts(&self) -> Vec<(String, String, &'a Entry)> {
        self.all("mount")
            .into_iter()
            .filter_map(|e| {
                let (point, app) = e.value.split_once('=')?;
                Some((point.trim().to_string(), app.trim().to_string(), e))
            })
            .collect()
    }

    /// `route-run = fixpathinfo:` (or a `route` whose action it is).
    pub fn fixes_path_info(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.key.starts_with("route") && e.value.contains("fixpathinfo:"))
    }

    pub fn manages_script_name(&self) -> bool {
        self.flag("manage-script-name")
    }

    pub fn buffer_size(&self) -> Option<usize> {
        self.first("buffer-size")
            .and_then(|e| e.value.trim().parse().ok())
    }
}
