//! Rules about the processes that run the site: the uWSGI's Python against
//! the virtualenv's, and lazyserver.sh starting uWSGI in a way uWSGI
//! refuses.

use super::finding;
use crate::deploy::Deployment;
use crate::deploy::host::{loads_python3, python_of_plugin_name};
use crate::deploy::python::PythonVersion;
use crate::deploy::uwsgi::Settings;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Span;

pub fn all(deployment: &Deployment, out: &mut Vec<Diagnostic>) {
    if let Some(file) = &deployment.uwsgi {
        python_mismatch(deployment, &Settings::of(file), out);
    }
    lazyserver(deployment, out);
}

/// MG023.
fn python_mismatch(deployment: &Deployment, settings: &Settings<'_>, out: &mut Vec<Diagnostic>) {
    let Some(venv) = &deployment.python else {
        return;
    };
    let Some(wanted) = venv.version else { return };
    for (plugin, entry) in settings.plugins() {
        if !plugin.starts_with("python") {
            continue;
        }
        let runs: Option<PythonVersion> = deployment
            .host
            .plugin(&plugin)
            .and_then(|p| p.python())
            .or_else(|| python_of_plugin_name(&plugin));
        let mismatch = match runs {
            Some(runs) => runs != wanted,
            None => loads_python3(&plugin) != (wanted.major == 3),
        };
        if !mismatch {
            continue;
        }
        let embeds = runs.map_or_else(|| "Python 3".to_string(), |v| format!("Python {v}"));
        out.push(
            finding(
                "MG023",
                Severity::Error,
                format!(
                    "the `{plugin}` plugin embeds {embeds}, but the virtualenv {} is Python {wanted}",
                    venv.dir.display()
                ),
            )
            .at(
                &settings.file.document.source,
                entry.value_span(),
                "uWSGI dies at start: No module named 'encodings'",
            )
            .with_note(format!(
                "the virtualenv's version is read from {}",
                venv.version_from.as_deref().unwrap_or("its files")
            ))
            .with_help(format!(
                "install uWSGI into the virtualenv (`{}/bin/pip install uwsgi`), remove the `plugins` line, and start `{}/bin/uwsgi --ini {}`",
                venv.dir.display(),
                venv.dir.display(),
                settings.file.path.display()
            )),
        );
    }
}

/// MG025.
fn lazyserver(deployment: &Deployment, out: &mut Vec<Diagnostic>) {
    let Some(starter) = &deployment.lazystarter else {
        return;
    };
    let bytes = starter.source.bytes();
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("starter_cmd=uwsgi") {
        return;
    }
    let paste_has_socket = deployment
        .paste
        .document
        .section("uwsgi")
        .is_some_and(|s| s.get("socket").is_some() || s.get("http-socket").is_some());
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let span = Span::new(offset, offset + line.trim_end().len());
        offset += line.len();
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"$starter") {
            continue;
        }
        let problem = if words.contains(&"--ini-paste") && !paste_has_socket {
            Some((
                "lazyserver.sh starts uWSGI on paste.ini, which has no [uwsgi] section with a socket",
                "uWSGI exits: The -s/--socket option is missing",
            ))
        } else if words.iter().any(|w| w.trim_end_matches(';') == "--reload") {
            Some((
                "lazyserver.sh passes paster's --reload to uWSGI",
                "uWSGI's --reload takes a pidfile: uWSGI refuses the line",
            ))
        } else {
            None
        };
        if let Some((message, label)) = problem {
            out.push(
                finding("MG025", Severity::Error, message)
                    .at(&starter.source, span, label)
                    .with_help(format!(
                        "start uWSGI on its own ini: `$starter --ini {} \"$@\"` (mgdeploy migrate writes this line)",
                        deployment.uwsgi_path.display()
                    )),
            );
        }
    }
}
