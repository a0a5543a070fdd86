//! Rules that read the uWSGI ini: the socket's exposure and permissions,
//! options uWSGI does not know, plugins the server lacks, the request
//! buffer against what nginx lets through, and mountpoints and Paste
//! applications uWSGI misreads.

use super::finding;
use super::registry::RuleInfo;
use super::tables::{did_you_mean, uwsgi_options};
use crate::deploy::Deployment;
use crate::deploy::locations::{PassLocation, Selection};
use crate::deploy::uwsgi::Settings;
use crate::diagnostic::{Applicability, Diagnostic, Severity};
use crate::protocol::{Address, UWSGI_BUFFER_DEFAULT, UWSGI_BUFFER_MAX, uwsgi_buffer_for};

pub fn all(deployment: &Deployment, selection: Option<&Selection<'_>>, out: &mut Vec<Diagnostic>) {
    let Some(file) = &deployment.uwsgi else {
        return;
    };
    let settings = Settings::of(file);
    public_sockets(&settings, out);
    socket_permissions(deployment, &settings, out);
    unknown_options(&settings, out);
    missing_plugins(deployment, &settings, out);
    mountpoints(&settings, out);
    if let Some(location) = selection.and_then(|s| s.uwsgi.first()) {
        buffer_size(deployment, location, &settings, out);
    }
}

/// MG013: uWSGI speaks the uwsgi protocol on a public or wildcard address.
pub const PUBLIC_UWSGI_SOCKET: RuleInfo = RuleInfo {
    code: "MG013",
    name: "public-uwsgi-socket",
    severity: Severity::Error,
    security_severity: Some("9.8"),
    summary: "uWSGI speaks the uwsgi protocol on a public or wildcard address",
    explanation: "The uwsgi protocol lets the client set variables such as UWSGI_FILE, which make uWSGI load \
        and run code. Its socket must only be reachable by nginx: a UNIX socket, or 127.0.0.1. `:3031` and \
        `0.0.0.0:3031` listen on every interface.",
    fix: None,
};

/// Whether a `socket` value only reaches this machine (one rule for
/// loopback, the one `Address` keeps).
fn public_sockets(settings: &Settings<'_>, out: &mut Vec<Diagnostic>) {
    for entry in settings.uwsgi_sockets() {
        let Some(address) = Address::parse_uwsgi(&entry.value) else {
            continue;
        };
        let shown = match &address {
            _ if address.is_local() => continue,
            _ if address.is_wildcard() => "every network interface".to_string(),
            Address::Tcp { host, .. } => host.clone(),
            other => other.to_string(),
        };
        out.push(
            finding(&PUBLIC_UWSGI_SOCKET, format!("uWSGI speaks the uwsgi protocol on {shown}"))
                .at(&settings.file.document.source, entry.value_span(), "reachable from outside this machine")
                .with_help("listen on a UNIX socket or 127.0.0.1; the uwsgi protocol lets a client make uWSGI load code"),
        );
    }
}

/// MG014: a UNIX socket anyone may write to, or that nginx cannot.
pub const SOCKET_PERMISSIONS: RuleInfo = RuleInfo {
    code: "MG014",
    name: "socket-permissions",
    severity: Severity::Error,
    security_severity: Some("8.8"),
    summary: "a UNIX socket anyone may write to, or that nginx cannot",
    explanation: "`chmod-socket = 666` lets every local user talk uwsgi to MediaGoblin (and load code, see \
        MG013). Without `chmod-socket`/`chown-socket` the socket belongs to the user uWSGI runs as and \
        nginx's workers get `Permission denied`: 502 for every page. Use `chmod-socket = 660` and \
        `chown-socket = <nginx's user>`.",
    fix: None,
};

fn socket_permissions(deployment: &Deployment, settings: &Settings<'_>, out: &mut Vec<Diagnostic>) {
    let source = &settings.file.document.source;
    let chmod = settings.first("chmod-socket");
    let world_writable = chmod.is_some_and(|e| {
        let v = e.value.trim();
        v.is_empty()
            || v == "1"
            || v.ends_with('6')
            || v.ends_with('7')
            || v.eq_ignore_ascii_case("true")
    });
    if let Some(entry) = chmod.filter(|_| world_writable) {
        out.push(
            finding(&SOCKET_PERMISSIONS, "the socket is world-writable")
                .at(
                    source,
                    entry.span(),
                    "every local user may send uwsgi requests",
                )
                .with_help("use `chmod-socket = 660` and `chown-socket` to nginx's user"),
        );
    }
    let unix = settings
        .uwsgi_sockets()
        .into_iter()
        .find(|e| e.value.trim().starts_with('/'));
    let Some(socket) = unix else { return };
    if world_writable {
        return;
    }
    let (nginx_user, nginx_group) = deployment.nginx_user();
    let chown = settings
        .first("chown-socket")
        .map(|e| e.value.trim().to_string());
    let runs_as = settings.first("uid").map(|e| e.value.trim().to_string());
    let writable = match &chown {
        Some(owner) => {
            let (user, group) = owner
                .split_once(':')
                .map_or((owner.as_str(), None), |(u, g)| (u, Some(g)));
            user == nginx_user || (group == Some(nginx_group.as_str()) && chmod.is_some())
        }
        // Without chown-socket, the socket belongs to whoever binds it.
        None => runs_as.as_deref() == Some(nginx_user.as_str()) && chmod.is_none(),
    };
    if !writable {
        out.push(
            finding(
                &SOCKET_PERMISSIONS,
                format!("nginx's workers ({nginx_user}) cannot write to the UNIX socket"),
            )
            .at(
                source,
                socket.value_span(),
                "nginx will answer 502 (permission denied)",
            )
            .with_help(format!(
                "add `chmod-socket = 660` and `chown-socket = {nginx_user}`"
            )),
        );
    }
}

/// MG019: a uWSGI option uWSGI does not know.
pub const UNKNOWN_UWSGI_OPTION: RuleInfo = RuleInfo {
    code: "MG019",
    name: "unknown-uwsgi-option",
    severity: Severity::Error,
    security_severity: None,
    summary: "a uWSGI option uWSGI does not know",
    explanation: "uWSGI option names are case-sensitive. With `strict = true` an unknown option stops uWSGI; \
        without it uWSGI silently treats it as a placeholder and the setting has no effect.",
    fix: None,
};

fn unknown_options(settings: &Settings<'_>, out: &mut Vec<Diagnostic>) {
    let known = uwsgi_options();
    let extra_plugins: Vec<String> = settings
        .plugins()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with("python"))
        .collect();
    for entry in settings.entries() {
        if known.contains(entry.key.as_str()) {
            continue;
        }
        let source = &settings.file.document.source;
        let diagnostic = match did_you_mean(&entry.key, known) {
            Some(meant) => finding(&UNKNOWN_UWSGI_OPTION, format!("unknown uWSGI option `{}`", entry.key))
                .at(source, entry.key_span, format!("did you mean `{meant}`?")),
            None if !extra_plugins.is_empty() => finding(&UNKNOWN_UWSGI_OPTION, format!("unknown uWSGI option `{}`", entry.key))
.with_severity(Severity::Warning)
                .at(source, entry.key_span, format!("not a core or python option; it may belong to {}", extra_plugins.join(", "))),
            None => finding(&UNKNOWN_UWSGI_OPTION, format!("unknown uWSGI option `{}`", entry.key))
                .at(source, entry.key_span, "uWSGI 2.0 has no such option")
                .with_help("with `strict = true` uWSGI refuses to start; without it, the line silently does nothing"),
        };
        out.push(diagnostic);
    }
}

/// MG020: the uWSGI ini loads a plugin this host does not have.
pub const UWSGI_PLUGIN_MISSING: RuleInfo = RuleInfo {
    code: "MG020",
    name: "uwsgi-plugin-missing",
    severity: Severity::Error,
    security_severity: None,
    summary: "the uWSGI ini loads a plugin this host does not have",
    explanation: "`plugins = python` looks for python_plugin.so, which only the Python 2 package provided; \
        Debian ships python3_plugin.so. In an ini file uWSGI only logs that the plugin did not load, then \
        treats its options as unknown and serves every request with an error. Use `plugins = python3`.",
    fix: None,
};

/// The server's plugins are what discovery read (in the mirror, under
/// `--sysroot`), never this machine's.
fn missing_plugins(deployment: &Deployment, settings: &Settings<'_>, out: &mut Vec<Diagnostic>) {
    let host = &deployment.host;
    let Some(plugin_dir) = &host.plugin_dir else {
        return;
    };
    let plugin_dir = deployment.server(plugin_dir);
    for (plugin, entry) in settings.plugins() {
        if host.has_plugin(&plugin) {
            continue;
        }
        let python3 = host.has_plugin("python3");
        let mut diagnostic = finding(
            &UWSGI_PLUGIN_MISSING,
            format!("uWSGI plugin `{plugin}` is not installed"),
        )
        .at(
            &settings.file.document.source,
            entry.value_span(),
            format!("no {plugin}_plugin.so in {}", plugin_dir.display()),
        );
        if plugin.starts_with("python") && python3 {
            diagnostic = diagnostic
                .with_help("this host has the Python 3 plugin: write `plugins = python3`");
        }
        out.push(diagnostic);
    }
}

/// MG021: uWSGI's request buffer is smaller than the headers nginx lets through.
pub const BUFFER_SIZE: RuleInfo = RuleInfo {
    code: "MG021",
    name: "buffer-size",
    severity: Severity::Info,
    security_severity: None,
    summary: "uWSGI's request buffer is smaller than the headers nginx lets through",
    explanation: "uWSGI reads a request's variables into `buffer-size` bytes (4096 by default) and drops the \
        request (`invalid request block size`) when they do not fit; nginx accepts request headers up to \
        large_client_header_buffers (8k by default). Long cookies or URLs then fail with 502. Set \
        `buffer-size = 8192` or more.",
    fix: Some("sets `buffer-size` to what nginx lets through (safe)"),
};

fn buffer_size(
    deployment: &Deployment,
    location: &PassLocation<'_>,
    settings: &Settings<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let buffer = settings
        .buffer_size()
        .map_or(UWSGI_BUFFER_DEFAULT, |size| size as u64);
    let headers = location.header_room(&deployment.nginx.loaded);
    let needed = uwsgi_buffer_for(headers);
    if needed > buffer {
        let source = &settings.file.document.source;
        let mut diagnostic = finding(
            &BUFFER_SIZE,
            format!(
                "uWSGI reads requests into {buffer} bytes; nginx lets request headers reach {headers}"
            ),
        );
        if headers > needed {
            diagnostic = diagnostic.with_note(format!(
                "a uwsgi packet holds at most {UWSGI_BUFFER_MAX} bytes: requests with longer headers fail whatever buffer-size says"
            ));
        }
        let value = needed.to_string();
        let fix = match settings.first("buffer-size") {
            Some(entry) if entry.value_spans.len() == 1 => Some(crate::diagnostic::FileEdit::new(
                source,
                crate::plan::Edit::replace(entry.value_span(), value.clone()),
            )),
            Some(_) => None,
            None => super::fix::uwsgi_option(settings, "buffer-size", &value),
        };
        let diagnostic = diagnostic.with_fix_edits(
            format!("set `buffer-size = {needed}`"),
            fix.into_iter().collect(),
            crate::diagnostic::Applicability::Safe,
        );
        out.push(
            match settings.first("buffer-size") {
                Some(entry) => diagnostic.at(
                    source,
                    entry.value_span(),
                    "too small for what nginx passes",
                ),
                None => match settings
                    .file
                    .document
                    .section("uwsgi")
                    .and_then(|s| s.header_span)
                {
                    Some(span) => diagnostic.at(
                        source,
                        span,
                        format!("no buffer-size: uWSGI reads {UWSGI_BUFFER_DEFAULT} bytes"),
                    ),
                    None => diagnostic.in_file(source.path()),
                },
            }
            .with_help(format!("set `buffer-size = {needed}` in the uWSGI ini")),
        );
    }
}

/// MG010: a uWSGI mountpoint ends with `/`.
pub const MOUNTPOINT_TRAILING_SLASH: RuleInfo = RuleInfo {
    code: "MG010",
    name: "mountpoint-trailing-slash",
    severity: Severity::Error,
    security_severity: None,
    summary: "a uWSGI mountpoint ends with `/`",
    explanation: "`mount = /mediagoblin/=...` makes SCRIPT_NAME `/mediagoblin/` and PATH_INFO lose its leading \
        slash (`u/x` instead of `/u/x`). Write the mountpoint without the trailing slash; nginx's location \
        keeps its own (`location /mediagoblin/`).",
    fix: Some("drops the trailing slash (safe)"),
};

fn mountpoints(settings: &Settings<'_>, out: &mut Vec<Diagnostic>) {
    let source = &settings.file.document.source;
    for (point, app, entry) in settings.mounts() {
        if point.len() > 1 && point.ends_with('/') {
            let fixed = format!("{}={app}", point.trim_end_matches('/'));
            let mut finding = finding(
                &MOUNTPOINT_TRAILING_SLASH,
                format!("the mountpoint `{point}` ends with `/`"),
            )
            .at(
                source,
                entry.value_span(),
                "uWSGI keeps the slash in SCRIPT_NAME and takes it off PATH_INFO",
            )
            .with_help(format!("write `mount = {fixed}`"));
            // Only where the value is written as read (no continuation lines).
            if source.text(entry.value_span()) == format!("{point}={app}") {
                finding = finding.with_fix(
                    "drop the trailing slash",
                    source,
                    entry.value_span(),
                    fixed,
                    Applicability::Safe,
                );
            }
            out.push(finding);
        }
        check_app(&app, entry, source, out);
    }
    for entry in settings.all("paste") {
        check_app(&entry.value, entry, source, out);
    }
}

/// MG011: `mount` or `paste` without `config:` or with a relative path.
pub const PASTE_APP_PATH: RuleInfo = RuleInfo {
    code: "MG011",
    name: "paste-app-path",
    severity: Severity::Error,
    security_severity: None,
    summary: "`mount` or `paste` without `config:` or with a relative path",
    explanation: "uWSGI hands `config:/abs/paste.ini` to PasteDeploy. A bare `/path/paste.ini` in `mount` is \
        silently not mounted (every request: 500, no Python application found), and PasteDeploy refuses a \
        relative `config:paste.ini`. Write `config:` and an absolute path.",
    fix: Some("puts `config:` before an absolute paste.ini path (safe)"),
};

fn check_app(
    app: &str,
    entry: &crate::ini::Entry,
    source: &std::sync::Arc<crate::source::SourceFile>,
    out: &mut Vec<Diagnostic>,
) {
    let path = app.strip_prefix("config:");
    let relative = path.is_some_and(|p| !p.starts_with('/') && !p.starts_with('%'));
    if path.is_none() && app.ends_with(".ini") {
        let mut diagnostic = finding(
            &PASTE_APP_PATH,
            format!("`{}` names a paste.ini without `config:`", entry.key),
        )
        .at(
            source,
            entry.value_span(),
            "uWSGI does not load this as a Paste application",
        )
        .with_help(format!("write `config:{app}`"));
        // An absolute path only: `config:` with a relative one is refused too.
        let written = source.text(entry.value_span());
        if app.starts_with('/')
            && let Some(before) = written.strip_suffix(app)
        {
            diagnostic = diagnostic.with_fix(
                format!("write `config:{app}`"),
                source,
                entry.value_span(),
                format!("{before}config:{app}"),
                Applicability::Safe,
            );
        }
        out.push(diagnostic);
    } else if relative {
        out.push(
            finding(&PASTE_APP_PATH, "a relative path after `config:`")
                .at(
                    source,
                    entry.value_span(),
                    "PasteDeploy refuses relative config: URIs",
                )
                .with_help("give the absolute path of paste.ini"),
        );
    }
}
