//! Rules about the processes that run the site: the uWSGI's Python against
//! the virtualenv's, lazyserver.sh starting uWSGI in a way uWSGI refuses,
//! and the services that start (or should start) it at boot.

use super::finding;
use super::registry::RuleInfo;
use crate::deploy::Deployment;
use crate::deploy::host::{loads_python3, python_of_plugin_name};
use crate::deploy::locations::Selection;
use crate::deploy::python::PythonVersion;
use crate::deploy::uwsgi::Settings;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Span;

pub fn all(deployment: &Deployment, selection: Option<&Selection<'_>>, out: &mut Vec<Diagnostic>) {
    if let Some(file) = &deployment.uwsgi {
        python_mismatch(deployment, &Settings::of(file), out);
    }
    lazyserver(deployment, out);
    // Services are judged only once MediaGoblin's location passes to uWSGI
    // (the move is made).
    if let Some(selection) = selection.filter(|s| s.fastcgi.is_empty() && !s.uwsgi.is_empty()) {
        services(deployment, selection.http.is_empty(), out);
    }
}

/// The `--ini` file a uWSGI command line names.
fn ini_of(command: &[String]) -> Option<&str> {
    command.iter().enumerate().find_map(|(i, word)| {
        word.strip_prefix("--ini=").or_else(|| {
            (word == "--ini")
                .then(|| command.get(i + 1).map(String::as_str))
                .flatten()
        })
    })
}

/// MG028: a service that starts paster (its FastCGI or HTTP server) is still enabled after the move to uWSGI.
pub const FASTCGI_SERVICE_ENABLED: RuleInfo = RuleInfo {
    code: "MG028",
    name: "fastcgi-service-enabled",
    severity: Severity::Error,
    security_severity: None,
    summary: "a service that starts paster's FastCGI or HTTP server is still enabled after the move to uWSGI",
    explanation: "nginx passes MediaGoblin's requests to uWSGI, but a systemd unit, init script or supervisor \
        program still starts `paster serve … --server-name=fcgi` (or, once no location proxies to paster's \
        HTTP server, `paster serve … --server-name=main`) at boot. After the next reboot paster \
        takes the address first (uWSGI then fails to bind) or loses it: one of the two is down, and the \
        site with it. `mgdeploy migrate` rewrites such a service to start uWSGI; otherwise disable it \
        (`systemctl disable --now mediagoblin-paster`, `update-rc.d NAME disable`, `autostart=false`).",
    fix: None,
};

/// MG029: a service starts a uWSGI that cannot load the site's Python.
pub const SERVICE_UWSGI_CANNOT_RUN_SITE: RuleInfo = RuleInfo {
    code: "MG029",
    name: "service-uwsgi-cannot-run-site",
    severity: Severity::Error,
    security_severity: None,
    summary: "a service starts a uWSGI that cannot load the site's Python",
    explanation: "A unit or script starts uWSGI for this site, but that uWSGI cannot run the virtualenv: the \
        host's uWSGI (/usr/bin/uwsgi) has no plugin for its Python (Debian has none for Python 2.7, which \
        MediaGoblin ≤ 0.9 needs), or the virtualenv's own uWSGI (bin/uwsgi) is not installed. The service \
        fails at every start. Install uWSGI into the virtualenv (`bin/pip install uwsgi`) and start that one.",
    fix: None,
};

/// MG030: nothing starts the site's uWSGI ini at boot.
pub const UWSGI_NOT_STARTED_AT_BOOT: RuleInfo = RuleInfo {
    code: "MG030",
    name: "uwsgi-not-started-at-boot",
    severity: Severity::Warning,
    security_severity: None,
    summary: "nothing starts the site's uWSGI ini at boot",
    explanation: "nginx passes MediaGoblin's requests to uWSGI, and the uWSGI ini is there, but no systemd unit, \
        init script or supervisor program starts it (directly or through lazyserver.sh), and it is neither \
        one of Debian's enabled apps (/etc/uwsgi/apps-enabled) nor an emperor's vassal. The site works until \
        the next reboot. `mgdeploy migrate --service-style systemd|debian-apps|emperor` sets one up.",
    fix: None,
};

/// `http_moved`: no location proxies to paster's
/// HTTP server any more, so a service that starts it is left over too.
fn services(deployment: &Deployment, http_moved: bool, out: &mut Vec<Diagnostic>) {
    let left_over = deployment.services.iter().filter(|s| {
        s.role == crate::service::Role::FastCgi
            || (http_moved && s.role == crate::service::Role::Http)
    });
    for service in left_over {
        if !service.enabled(&deployment.sysroot) {
            continue;
        }
        out.push(
            finding(&FASTCGI_SERVICE_ENABLED, format!(
                    "{} still starts {} at boot, but nginx passes MediaGoblin's requests to uWSGI",
                    service.name(),
                    match service.role {
                        crate::service::Role::Http => "paster's HTTP server",
                        _ => "paster's FastCGI server",
                    }
                ))
            .at(&service.source, service.command_span, "paster, at every boot")
            .with_note("after a reboot it takes the address first, or uWSGI does and it fails: either way one of them is down")
            .with_help("`mgdeploy migrate` rewrites it to start uWSGI; or disable it (`systemctl disable mediagoblin-paster`)"),
        );
    }
    let venv_python = deployment.python.as_ref().and_then(|v| v.version);
    for service in deployment
        .services
        .iter()
        .filter(|s| s.role == crate::service::Role::Uwsgi)
    {
        let Some(program) = service.command.iter().find(|w| {
            let name = w.rsplit('/').next().unwrap_or(w);
            name == "uwsgi" || name.starts_with("uwsgi_python")
        }) else {
            continue;
        };
        let in_virtualenv = deployment.python.as_ref().is_some_and(|venv| {
            std::path::Path::new(program).starts_with(deployment.server(&venv.dir))
        });
        let problem = if in_virtualenv {
            let on_host = deployment.sysroot.host(std::path::Path::new(program));
            (!deployment.sysroot.exists(&on_host)).then(|| {
                (
                    format!(
                        "{} starts {program}, which is not installed",
                        service.name()
                    ),
                    format!(
                        "install it: `{} install uwsgi`",
                        deployment
                            .python
                            .as_ref()
                            .map(|v| deployment.server(&v.pip()).display().to_string())
                            .unwrap_or_else(|| "pip".to_string())
                    ),
                )
            })
        } else {
            // The host's uWSGI runs the virtualenv's Python only through a
            // plugin for that version.
            venv_python
                .filter(|wanted| deployment.host.plugin_for(*wanted).is_none())
                .map(|wanted| {
                    (
                        format!(
                            "{} starts the host's uWSGI, which has no plugin for the virtualenv's Python {wanted}",
                            service.name()
                        ),
                        "start the virtualenv's own uWSGI (`bin/pip install uwsgi`, then `bin/uwsgi --ini …`)".to_string(),
                    )
                })
        };
        if let Some((message, help)) = problem {
            out.push(
                finding(&SERVICE_UWSGI_CANNOT_RUN_SITE, message)
                    .at(
                        &service.source,
                        service.command_span,
                        "this uWSGI cannot load the site",
                    )
                    .with_help(help),
            );
        }
    }
    let Some(file) = &deployment.uwsgi else {
        return;
    };
    let ini = deployment.server(&file.path);
    let started = deployment.services.iter().any(|s| {
        ini_of(&s.command).is_some_and(|named| std::path::Path::new(named) == ini)
            || s.runs_lazyserver()
    }) || started_by_debian_or_emperor(deployment, &file.path);
    if !started {
        let header = file
            .document
            .section("uwsgi")
            .and_then(|s| s.header_span)
            .unwrap_or_default();
        out.push(
            finding(&UWSGI_NOT_STARTED_AT_BOOT, "nothing starts this uWSGI ini at boot")
            .at(&file.document.source, header, "no service, Debian app or emperor vassal starts it")
            .with_help("`mgdeploy migrate --service-style systemd` (or debian-apps, emperor) makes something start it"),
        );
    }
}

/// The ini is one of Debian's enabled apps or an emperor's vassal (there,
/// or linked from there).
fn started_by_debian_or_emperor(deployment: &Deployment, ini: &std::path::Path) -> bool {
    let sysroot = &deployment.sysroot;
    let real = sysroot.resolve(&deployment.server(ini)).ok();
    ["etc/uwsgi/apps-enabled", "etc/uwsgi-emperor/vassals"]
        .iter()
        .map(|dir| sysroot.host(&std::path::Path::new("/").join(dir)))
        .flat_map(|dir| {
            sysroot
                .read_dir(&dir)
                .unwrap_or_default()
                .into_iter()
                .map(move |name| dir.join(name))
        })
        .any(|path| {
            path == ini
                || sysroot
                    .resolve(&deployment.server(&path))
                    .ok()
                    .is_some_and(|p| Some(p) == real)
        })
}

/// MG023: the uWSGI ini loads a Python plugin that cannot run the virtualenv's Python.
pub const PYTHON_MISMATCH: RuleInfo = RuleInfo {
    code: "MG023",
    name: "python-mismatch",
    severity: Severity::Error,
    security_severity: None,
    summary: "the uWSGI ini loads a Python plugin that cannot run the virtualenv's Python",
    explanation: "A uWSGI Python plugin embeds one Python. MediaGoblin up to 0.9 runs on Python 2.7, and \
        Debian ships only a Python 3 plugin: on a Python 2 virtualenv it dies at start with `No module named \
        'encodings'`. Install uWSGI into the virtualenv (`bin/pip install uwsgi`, built against its \
        Python), drop the `plugins` line and start that uWSGI, or load the plugin for the virtualenv's \
        Python.",
    fix: None,
};

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
            finding(&PYTHON_MISMATCH, format!(
                    "the `{plugin}` plugin embeds {embeds}, but the virtualenv {} is Python {wanted}",
                    venv.dir.display()
                ))
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

/// MG025: lazyserver.sh starts uWSGI in a way uWSGI refuses.
pub const LAZYSERVER_CANNOT_START: RuleInfo = RuleInfo {
    code: "MG025",
    name: "lazyserver-cannot-start",
    severity: Severity::Error,
    security_severity: None,
    summary: "lazyserver.sh starts uWSGI in a way uWSGI refuses",
    explanation: "Patched as old guides show, lazystarter.sh runs `uwsgi --ini-paste \"$ini_file\"`: paste.ini has \
        no [uwsgi] section, so uWSGI has no socket and exits (`The -s/--socket option is missing`). \
        paster's `--reload` is no uWSGI flag either (uWSGI's --reload takes a pidfile). Start uWSGI on its \
        own ini: `$starter --ini /path/to/mediagoblin-uwsgi.ini \"$@\"`.",
    fix: None,
};

fn lazyserver(deployment: &Deployment, out: &mut Vec<Diagnostic>) {
    let Some(starter) = &deployment.lazystarter else {
        return;
    };
    // Spans come from the text's offsets: only text that is UTF-8.
    let Ok(text) = std::str::from_utf8(starter.source.bytes()) else {
        return;
    };
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
                finding(&LAZYSERVER_CANNOT_START, message)
                    .at(&starter.source, span, label)
                    .with_help(format!(
                        "start uWSGI on its own ini: `$starter --ini {} \"$@\"` (mgdeploy migrate writes this line)",
                        deployment.uwsgi_path.display()
                    )),
            );
        }
    }
}
