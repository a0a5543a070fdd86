//! The uWSGI ini, rendered from a tera template: the built-in one, embedded
//! in the binary, or `uwsgi.ini.tera` from `--templates DIR`.

use std::path::Path;

use serde::Serialize;

use crate::diagnostic::Diagnostic;

const BUILT_IN: &str = include_str!("../../templates/uwsgi.ini.tera");
const TEMPLATE: &str = "uwsgi.ini.tera";

/// Everything the template can use. Absent values are `null`/`false`, so a
/// template can test them with `{% if name %}`.
#[derive(Clone, Debug, Serialize)]
pub struct IniValues {
    pub root: String,
    pub ini_path: String,
    pub plugin: String,
    pub processes: u32,
    pub virtualenv: Option<String>,
    pub socket: String,
    pub unix_socket: bool,
    /// Bytes uWSGI reads a request's headers into: what nginx lets through.
    pub buffer_size: u64,
    pub nginx_user: String,
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
    /// Why the site runs celery eagerly, when it does.
    pub eager: Option<String>,
}

pub fn render(values: &IniValues, templates: Option<&Path>) -> Result<String, Diagnostic> {
    let (name, text) = match templates {
        None => ("built-in uwsgi.ini.tera".to_string(), BUILT_IN.to_string()),
        Some(dir) => {
            let path = dir.join(TEMPLATE);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Diagnostic::error(format!("cannot read the template {}: {e}", path.display()))
                    .in_file(&path)
                    .with_help(format!("--templates names a directory holding {TEMPLATE}"))
            })?;
            (path.display().to_string(), text)
        }
    };
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    let failed = |error: tera::Error| {
        Diagnostic::error(format!("the template {name} does not render: {error}"))
            .with_help("the values a template can use are listed in `mgdeploy migrate --format json` under `uwsgi_ini_values`")
    };
    tera.add_raw_template(TEMPLATE, &text).map_err(failed)?;
    let context = tera::Context::from_serialize(values).map_err(failed)?;
    tera.render(TEMPLATE, &context).map_err(failed)
}

/// The name of a user id, as `uid =` wants it (the number if it has none).
pub fn user_name(uid: u32) -> String {
    let mut buffer = vec![0u8; 4096];
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `entry` and `buffer`, which outlive the
    // call, and sets `found` to `&entry` or null.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut found,
        )
    };
    if status == 0 && !found.is_null() && !entry.pw_name.is_null() {
        // SAFETY: pw_name points into `buffer` as a NUL-terminated string.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
        return name.to_string_lossy().into_owned();
    }
    uid.to_string()
}

/// The name of a group id (the number if it has none).
pub fn group_name(gid: u32) -> String {
    let mut buffer = vec![0u8; 4096];
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in `user_name`, for getgrgid_r.
    let status = unsafe {
        libc::getgrgid_r(
            gid,
            &mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut found,
        )
    };
    if status == 0 && !found.is_null() && !entry.gr_name.is_null() {
        // SAFETY: gr_name points into `buffer` as a NUL-terminated string.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.gr_name) };
        return name.to_string_lossy().into_owned();
    }
    gid.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> IniValues {
        IniValues {
            root: "/srv/mg".into(),
            ini_path: "/srv/mg/mediagoblin-uwsgi.ini".into(),
            plugin: "python3".into(),
            processes: 2,
            virtualenv: None,
            socket: "unix:/run/mg.sock".into(),
            unix_socket: true,
            buffer_size: 8192,
            nginx_user: "www-data".into(),
            chown_socket: "www-data".into(),
            uid: "mediagoblin".into(),
            gid: "mediagoblin".into(),
            mountpoint: Some("/mediagoblin".into()),
            paste: "/srv/mg/paste.ini".into(),
            fixpathinfo: None,
            paste_logger: true,
            eager: Some("lazystarter.sh sets CELERY_ALWAYS_EAGER=true".into()),
        }
    }

    #[test]
    fn every_setting_line_is_commented() {
        let ini = render(&values(), None).unwrap();
        assert!(ini.contains("mount = /mediagoblin=config:/srv/mg/paste.ini\n"));
        assert!(ini.contains("chmod-socket = 660\nchown-socket = www-data\n"));
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
