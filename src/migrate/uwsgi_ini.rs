//! The uWSGI ini, rendered from a tera template: the built-in one, embedded
//! in the binary, or `uwsgi.ini.tera` from `--templates DIR`.

use std::path::Path;

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::escape::{Unwritable, uwsgi_value};

const BUILT_IN: &str = include_str!("../../templates/uwsgi.ini.tera");
const TEMPLATE: &str = "uwsgi.ini.tera";

/// Everything the template can use. Absent values are `null`/`false`, so a
/// template can test them with `{% if name %}`.
#[derive(Clone, Debug, Serialize)]
pub struct IniValues {
    pub root: String,
    pub ini_path: String,
    /// The command that starts uWSGI on this ini.
    pub start_command: String,
    /// The Python plugin to load; `None` for a uWSGI with Python built in.
    pub plugin: Option<String>,
    /// Why this uWSGI, in a sentence.
    pub runtime_why: String,
    pub processes: u32,
    pub virtualenv: Option<String>,
    pub socket: String,
    pub unix_socket: bool,
    /// Bytes uWSGI reads a request's headers into: what nginx lets through.
    pub buffer_size: u64,
    pub nginx_user: String,
    pub nginx_group: String,
    pub chown_socket: String,
    pub uid: String,
    pub gid: String,
    /// `/mediagoblin` when MediaGoblin is mounted under a prefix with `mount`.
    pub mountpoint: Option<String>,
    /// The paste.ini uWSGI loads, absolute.
    pub paste: String,
    /// The prefix nginx sends as SCRIPT_NAME, with `--script-name fixpathinfo`.
    pub fixpathinfo: Option<String>,
    pub paste_logger: bool,
    /// Background tasks run in the web process.
    pub eager: bool,
    /// What says where background tasks run.
    pub celery_reason: String,
}

impl IniValues {
    /// Every text escaped for a uWSGI ini (`escape::uwsgi_value`), so that no
    /// template, built-in or the user's, can write a value that breaks out of
    /// its line or turns into a placeholder.
    fn escaped(&self) -> Result<IniValues, Unwritable> {
        let text = |value: &String| uwsgi_value(value);
        let optional = |value: &Option<String>| value.as_ref().map(text).transpose();
        Ok(IniValues {
            root: text(&self.root)?,
            ini_path: text(&self.ini_path)?,
            start_command: text(&self.start_command)?,
            plugin: optional(&self.plugin)?,
            runtime_why: text(&self.runtime_why)?,
            processes: self.processes,
            virtualenv: optional(&self.virtualenv)?,
            socket: text(&self.socket)?,
            unix_socket: self.unix_socket,
            buffer_size: self.buffer_size,
            nginx_user: text(&self.nginx_user)?,
            nginx_group: text(&self.nginx_group)?,
            chown_socket: text(&self.chown_socket)?,
            uid: text(&self.uid)?,
            gid: text(&self.gid)?,
            mountpoint: optional(&self.mountpoint)?,
            paste: text(&self.paste)?,
            fixpathinfo: optional(&self.fixpathinfo)?,
            paste_logger: self.paste_logger,
            eager: self.eager,
            celery_reason: text(&self.celery_reason)?,
        })
    }
}

pub fn render(values: &IniValues, templates: Option<&Path>) -> Result<String, Diagnostic> {
    let escaped = values.escaped().map_err(|e| {
        Diagnostic::error(format!("cannot write the uWSGI ini: {e}"))
            .with_help("a path or name that holds a line break or blanks at its ends cannot go into a uWSGI ini; rename it")
    })?;
    super::template::render(
        TEMPLATE,
        BUILT_IN,
        templates,
        super::template::Missing::Refused,
        &escaped,
        "the values a template can use are listed in `mgdeploy migrate --format json` under `uwsgi_ini_values`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> IniValues {
        IniValues {
            root: "/srv/mg".into(),
            ini_path: "/srv/mg/mediagoblin-uwsgi.ini".into(),
            start_command: "uwsgi --ini /srv/mg/mediagoblin-uwsgi.ini".into(),
            plugin: Some("python3".into()),
            runtime_why: "the host's python3 plugin runs the virtualenv's Python 3.11".into(),
            processes: 2,
            virtualenv: None,
            socket: "unix:/run/mg.sock".into(),
            unix_socket: true,
            buffer_size: 8192,
            nginx_user: "www-data".into(),
            nginx_group: "www-data".into(),
            chown_socket: "mediagoblin:www-data".into(),
            uid: "mediagoblin".into(),
            gid: "mediagoblin".into(),
            mountpoint: Some("/mediagoblin".into()),
            paste: "/srv/mg/paste.ini".into(),
            fixpathinfo: None,
            paste_logger: true,
            eager: true,
            celery_reason: "lazystarter.sh sets CELERY_ALWAYS_EAGER=true".into(),
        }
    }

    #[test]
    fn every_setting_line_is_commented() {
        let ini = render(&values(), None).unwrap();
        assert!(ini.contains("mount = /mediagoblin=config:/srv/mg/paste.ini\n"));
        assert!(ini.contains("chmod-socket = 660\nchown-socket = mediagoblin:www-data\n"));
        assert!(ini.contains("env = CELERY_ALWAYS_EAGER=true\n"));
        assert!(!ini.contains("virtualenv"));
        let lines: Vec<&str> = ini.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains(" = ") && !line.starts_with('#') {
                assert!(
                    i > 0 && lines[i - 1].starts_with('#') || lines[i - 1].contains(" = "),
                    "no comment above {line:?}"
                );
            }
        }
    }

    #[test]
    fn values_cannot_break_out_of_their_line() {
        let mut injected = values();
        injected.uid = "root\nexec-as-root = id".into();
        let error = render(&injected, None).unwrap_err();
        assert!(
            error.message.contains("cannot write the uWSGI ini"),
            "{}",
            error.message
        );
        let mut percent = values();
        percent.root = "/srv/100%".into();
        assert!(
            render(&percent, None)
                .unwrap()
                .contains("chdir = /srv/100%%\n")
        );
        let mut python2 = values();
        python2.plugin = None;
        python2.eager = false;
        let ini = render(&python2, None).unwrap();
        assert!(!ini.contains("plugins ="), "{ini}");
        assert!(ini.contains("env = CELERY_ALWAYS_EAGER=false\n"), "{ini}");
    }

    #[test]
    fn a_template_error_is_a_diagnostic() {
        let dir = std::env::temp_dir().join(format!("mgdeploy-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(TEMPLATE), "socket = {{ sockte }}\n").unwrap();
        let error = render(&values(), Some(&dir)).unwrap_err();
        assert!(
            error.message.contains("does not render"),
            "{}",
            error.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
