//! Rules about how nginx reaches MediaGoblin: still on FastCGI, passing to
//! an address uWSGI does not listen on, and prefix handling that cannot
//! work (SCRIPT_NAME never stripped, stripped twice, modifier1 30 on
//! Python 3), and FastCGI or HTTP leftovers in a uWSGI location.

use super::finding;
use super::registry::RuleInfo;
use crate::deploy::Deployment;
use crate::deploy::host::loads_python3;
use crate::deploy::locations::{PassLocation, Selection};
use crate::deploy::uwsgi::Settings;
use crate::diagnostic::{Applicability, Diagnostic, Severity};
use crate::nginx::syntax::Directive;
use crate::nginx::syntax::walk;
use crate::protocol::Address;
use crate::protocol::directives::{Fate, fate};
use crate::protocol::{Protocol, fastcgi, http};

/// Every directive inside a location, nested `if` blocks included.
fn inside<'d>(location: &PassLocation<'d>) -> Vec<&'d Directive> {
    let mut out = Vec::new();
    walk(location.location.children(), |d, _| out.push(d));
    out
}

/// MG004: MediaGoblin is still served over FastCGI.
pub const STILL_FASTCGI: RuleInfo = RuleInfo {
    code: "MG004",
    name: "still-fastcgi",
    severity: Severity::Warning,
    security_severity: None,
    summary: "MediaGoblin is still served over FastCGI",
    explanation: "MediaGoblin's location passes requests to flup's FastCGI server, which needs Python 2 and \
        `paster`. MediaGoblin stopped documenting FastCGI in 0.10.0. `mgdeploy migrate` moves the \
        location to uWSGI, writes the uWSGI ini and patches lazystarter.sh.",
    fix: None,
};

/// MG032: MediaGoblin is served by paster's HTTP server.
pub const STILL_PASTER_HTTP: RuleInfo = RuleInfo {
    code: "MG032",
    name: "still-paster-http",
    severity: Severity::Info,
    security_severity: None,
    summary: "MediaGoblin is served by paster's HTTP server",
    explanation: "MediaGoblin's location proxies requests to the HTTP server of paste.ini (`paster serve`, \
        waitress), as MediaGoblin's docs describe from 0.10.0 on. Nothing is wrong with that; \
        `mgdeploy migrate --from http` moves the location to uWSGI (one process tree, the binary uwsgi \
        protocol instead of a second HTTP hop), writes the uWSGI ini and patches lazystarter.sh, \
        keeping the request headers MediaGoblin builds its URLs from.",
    fix: None,
};

/// MG024: nginx passes MediaGoblin's requests over uwsgi, but no uWSGI ini of the site was found.
pub const UWSGI_INI_NOT_FOUND: RuleInfo = RuleInfo {
    code: "MG024",
    name: "uwsgi-ini-not-found",
    severity: Severity::Warning,
    security_severity: None,
    summary: "nginx passes MediaGoblin's requests over uwsgi, but no uWSGI ini of the site was found",
    explanation: "mgdeploy looks for the uWSGI ini at <root>/mediagoblin-uwsgi.ini (or --uwsgi-ini, or \
        mgdeploy.toml's uwsgi-ini), at the ini the last `migrate` wrote, and for an ini that names the \
        checkout in /etc/uwsgi/apps-enabled, /etc/uwsgi-emperor/vassals and /etc/uwsgi/apps-available. Without \
        it nothing can say whether anything listens where nginx sends requests, and the uWSGI rules do not \
        run. Name it with --uwsgi-ini FILE.",
    fix: None,
};

pub fn all(deployment: &Deployment, selection: &Selection<'_>, out: &mut Vec<Diagnostic>) {
    for location in &selection.fastcgi {
        out.push(
            finding(
                &STILL_FASTCGI,
                format!(
                    "MediaGoblin is still served over FastCGI at {}",
                    location.uri()
                ),
            )
            .at(
                &location.config.source,
                location.pass.span(),
                "FastCGI (flup, Python 2)",
            )
            .with_help("`mgdeploy migrate` moves this location to uWSGI"),
        );
    }
    for location in &selection.http {
        out.push(
            finding(
                &STILL_PASTER_HTTP,
                format!(
                    "MediaGoblin is served by paster's HTTP server at {}",
                    location.uri()
                ),
            )
            .at(
                &location.config.source,
                location.pass.span(),
                "HTTP (paster serve, waitress)",
            )
            .with_help("`mgdeploy migrate --from http` moves this location to uWSGI"),
        );
    }
    let settings = deployment.uwsgi.as_ref().map(Settings::of);
    let python3 = settings.as_ref().and_then(|s| runs_python3(deployment, s));
    for location in &selection.uwsgi {
        address(location, settings.as_ref(), out);
        leftovers(location, out);
        proxy_leftovers(location, out);
        prefix(location, settings.as_ref(), python3, out);
        script_name_sent(deployment, location, settings.as_ref(), out);
    }
    if settings.is_none()
        && let Some(location) = selection.uwsgi.first()
    {
        out.push(
            finding(&UWSGI_INI_NOT_FOUND, format!(
                    "nginx passes MediaGoblin's requests to {} over uwsgi, but no uWSGI ini of this site was found",
                    location.address
                ))
            .at(
                &location.config.source,
                location.pass.span(),
                "nothing says what listens here",
            )
            .with_note(format!(
                "looked for {}, and for an ini naming {} in /etc/uwsgi/apps-enabled, /etc/uwsgi-emperor/vassals and /etc/uwsgi/apps-available",
                deployment.uwsgi_path.display(),
                deployment.root.display()
            ))
            .with_help("name the uWSGI ini with --uwsgi-ini FILE"),
        );
    }
}

/// Whether the uWSGI of this ini runs Python 3: its plugin says, and a
/// uWSGI without a plugin line has the virtualenv's Python built in.
pub fn runs_python3(deployment: &Deployment, settings: &Settings<'_>) -> Option<bool> {
    let plugins = settings.plugins();
    if plugins.iter().any(|(p, _)| p.starts_with("python")) {
        return Some(plugins.iter().any(|(p, _)| loads_python3(p)));
    }
    deployment
        .python
        .as_ref()
        .and_then(|venv| venv.version)
        .map(|version| version.major == 3)
}

/// MG005: nginx passes to an address the uWSGI ini does not listen on.
pub const ADDRESS_MISMATCH: RuleInfo = RuleInfo {
    code: "MG005",
    name: "address-mismatch",
    severity: Severity::Error,
    security_severity: None,
    summary: "nginx passes to an address the uWSGI ini does not listen on",
    explanation: "The `uwsgi_pass` address of MediaGoblin's location must be one of the `socket`s in the uWSGI \
        ini; otherwise nginx answers 502 Bad Gateway (connection refused) for every page.",
    fix: None,
};

fn address(
    location: &PassLocation<'_>,
    settings: Option<&Settings<'_>>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(settings) = settings else { return };
    let sockets = settings.uwsgi_sockets();
    if sockets.is_empty() {
        return;
    }
    let listens = sockets
        .iter()
        .filter_map(|s| Address::parse_uwsgi(&s.value))
        .any(|address| location.reaches(&address));
    if !listens {
        let mut diagnostic = finding(
            &ADDRESS_MISMATCH,
            format!(
                "nginx passes MediaGoblin's requests to {}, where uWSGI does not listen",
                location.address_text
            ),
        )
        .at(
            &location.config.source,
            location
                .pass
                .args
                .first()
                .map_or(location.pass.span(), |a| a.span),
            "nginx sends requests here",
        )
        .with_help("make the `uwsgi_pass` address and the uWSGI ini's `socket` the same");
        for socket in sockets {
            diagnostic = diagnostic.with_related(
                &settings.file.document.source,
                socket.value_span(),
                "uWSGI listens here",
            );
        }
        out.push(diagnostic);
    }
}

/// MG012: `fastcgi_*` directives or `$fastcgi_*` variables in a uWSGI location.
pub const FASTCGI_LEFTOVER: RuleInfo = RuleInfo {
    code: "MG012",
    name: "fastcgi-leftover",
    severity: Severity::Warning,
    security_severity: None,
    summary: "`fastcgi_*` directives or `$fastcgi_*` variables in a uWSGI location",
    explanation: "`fastcgi_*` directives do nothing for requests passed with `uwsgi_pass`, and \
        $fastcgi_script_name / $fastcgi_path_info depend on FastCGI settings (fastcgi_index, \
        fastcgi_split_path_info). Use the uwsgi_* twins, and $uri or $document_uri.",
    fix: Some(
        "drops the FastCGI-only directives the table says have no uWSGI twin (safe); renames the others to their `uwsgi_` twin (unsafe: the setting starts to apply)",
    ),
};

fn leftovers(location: &PassLocation<'_>, out: &mut Vec<Diagnostic>) {
    for d in inside(location) {
        let directive = String::from_utf8_lossy(location.config.name_of(d)).into_owned();
        if directive.starts_with("fastcgi_") {
            let source = &location.config.source;
            let leftover = finding(
                &FASTCGI_LEFTOVER,
                format!("`{directive}` in a location that passes to uWSGI"),
            )
            .at(source, d.name.span, "does nothing for uwsgi_pass");
            let leftover = match directive.as_str() {
                // Two passes in one location: nginx refuses the second.
                "fastcgi_pass" => leftover.with_help("drop it: the location passes to uWSGI"),
                // What becomes of it is the table's to say, as for migrate.
                _ => with_table_fix(leftover, d, source, fate(Protocol::FastCgi, &directive)),
            };
            out.push(leftover);
        }
        for arg in &d.args {
            let raw = location.config.raw(arg);
            let Some(replaced) = fastcgi::without_variables(&raw) else {
                continue;
            };
            let source = &location.config.source;
            out.push(
                finding(&FASTCGI_LEFTOVER, "a FastCGI variable in a location that passes to uWSGI")
                .at(source, arg.span, "depends on FastCGI settings")
                .with_help("use $uri: what the variable holds without fastcgi_split_path_info and fastcgi_index")
                .with_fix(
                    format!("write `{replaced}`"),
                    source,
                    arg.span,
                    replaced,
                    // It held more when fastcgi_index or split_path_info applied.
                    Applicability::Unsafe,
                ),
            );
        }
    }
}

/// The help and fix for a leftover FastCGI or HTTP directive, as the
/// directive table says (what migrate does with it): drop it (safe), or
/// write its `uwsgi_` twin (unsafe: the setting starts to take effect).
fn with_table_fix(
    leftover: Diagnostic,
    d: &Directive,
    source: &std::sync::Arc<crate::source::SourceFile>,
    fate: Option<Fate>,
) -> Diagnostic {
    let directive = source.text(d.name.span).into_owned();
    match fate {
        Some(Fate::Drop(why)) => leftover.with_help(format!("drop it: {why}")).with_fix(
            format!("drop `{directive}`"),
            source,
            crate::lines::removal(source.bytes(), d.span()),
            "",
            Applicability::Safe,
        ),
        Some(Fate::Rename(twin)) => leftover
            .with_help(format!("use `{twin}` if the setting is still wanted"))
            .with_fix(
                format!("write `{twin}`"),
                source,
                d.name.span,
                twin,
                Applicability::Unsafe,
            ),
        None => leftover.with_help("nginx has no such directive in a location: drop it"),
    }
}

/// MG033: `proxy_*` directives in a uWSGI location.
pub const PROXY_LEFTOVER: RuleInfo = RuleInfo {
    code: "MG033",
    name: "proxy-leftover",
    severity: Severity::Warning,
    security_severity: None,
    summary: "`proxy_*` directives in a uWSGI location",
    explanation: "`proxy_*` directives do nothing for requests passed with `uwsgi_pass`: a \
        `proxy_set_header` no longer reaches MediaGoblin (it reads headers as `HTTP_*` variables, which \
        `uwsgi_param` sets), and a timeout or buffering setting no longer applies. Use the uwsgi_* twins.",
    fix: Some(
        "drops the HTTP-only directives the table says have no uWSGI twin (safe); renames the others to their `uwsgi_` twin and writes `proxy_set_header` as `uwsgi_param HTTP_*` (unsafe: the setting starts to apply)",
    ),
};

/// MG033: `proxy_*` directives in a location that passes to uWSGI (after
/// a move from paster's HTTP server, by hand or half done).
fn proxy_leftovers(location: &PassLocation<'_>, out: &mut Vec<Diagnostic>) {
    let config = location.config;
    let source = &config.source;
    for d in inside(location) {
        let directive = String::from_utf8_lossy(config.name_of(d)).into_owned();
        if !directive.starts_with("proxy_") {
            continue;
        }
        let leftover = finding(
            &PROXY_LEFTOVER,
            format!("`{directive}` in a location that passes to uWSGI"),
        )
        .at(source, d.name.span, "does nothing for uwsgi_pass");
        let leftover = match directive.as_str() {
            // Two passes in one location: nginx refuses the second.
            "proxy_pass" => leftover.with_help("drop it: the location passes to uWSGI"),
            "proxy_set_header" => {
                let name = config.arg(d, 0).unwrap_or_default();
                let value = d.args.get(1).map(|a| config.raw(a).into_owned());
                match (http::header_variable(&name), value) {
                    (Some(variable), Some(value)) => {
                        let param = http::header_param(&variable, &value);
                        leftover
                            .with_help(format!(
                                "MediaGoblin reads the header as {variable}: `{param}` sends it"
                            ))
                            .with_fix(
                                format!("write `{param}`"),
                                source,
                                d.span(),
                                param,
                                // It starts to take effect.
                                Applicability::Unsafe,
                            )
                    }
                    _ => leftover
                        .with_help("drop it, or send the header as `uwsgi_param HTTP_NAME VALUE`"),
                }
            }
            _ => with_table_fix(leftover, d, source, fate(Protocol::Http, &directive)),
        };
        out.push(leftover);
    }
}

/// MG007: nginx sends SCRIPT_NAME but nothing takes it off PATH_INFO.
pub const PREFIX_NOT_STRIPPED: RuleInfo = RuleInfo {
    code: "MG007",
    name: "prefix-not-stripped",
    severity: Severity::Error,
    security_severity: None,
    summary: "nginx sends SCRIPT_NAME but nothing takes it off PATH_INFO",
    explanation: "With `uwsgi_param SCRIPT_NAME /prefix;` nginx still sends the whole URI as PATH_INFO \
        (uwsgi_params sets it from $document_uri), so MediaGoblin sees /prefix twice and answers 404. \
        Something must strip it: `route-run = fixpathinfo:` in the uWSGI ini, or (better) drop the param \
        and use `mount = /prefix=config:/abs/paste.ini` with `manage-script-name = true`.",
    fix: None,
};

/// MG008: the prefix is taken off PATH_INFO twice.
pub const PREFIX_STRIPPED_TWICE: RuleInfo = RuleInfo {
    code: "MG008",
    name: "prefix-stripped-twice",
    severity: Severity::Error,
    security_severity: None,
    summary: "the prefix is taken off PATH_INFO twice",
    explanation: "Two mechanisms each remove the prefix length from PATH_INFO (`route-run = fixpathinfo:`, \
        `manage-script-name` with a mountpoint, `uwsgi_modifier1 30` on Python 2); the second one cuts \
        into the real path. Keep one.",
    fix: None,
};

/// MG009: `uwsgi_modifier1 30` with uWSGI's Python 3 plugin.
pub const MODIFIER1_PYTHON3: RuleInfo = RuleInfo {
    code: "MG009",
    name: "modifier1-python3",
    severity: Severity::Error,
    security_severity: None,
    summary: "`uwsgi_modifier1 30` with uWSGI's Python 3 plugin",
    explanation: "modifier1 30 asks uWSGI to remove SCRIPT_NAME from PATH_INFO. The Python 3 plugin checks for \
        byte strings where it has text and silently does nothing (unbit/uwsgi#876), so MediaGoblin gets \
        PATH_INFO with the prefix still on it. uWSGI's own docs call the trick deprecated. Use \
        `mount` + `manage-script-name`, or `route-run = fixpathinfo:`.",
    fix: Some(
        "drops `uwsgi_modifier1 30` and adds `route-run = fixpathinfo:` to the uWSGI ini, where nginx sends SCRIPT_NAME (unsafe: two files, new routing)",
    ),
};

fn prefix(
    location: &PassLocation<'_>,
    settings: Option<&Settings<'_>>,
    python3: Option<bool>,
    out: &mut Vec<Diagnostic>,
) {
    let directives = inside(location);
    let script_name = directives.iter().find(|d| {
        location.config.name_of(d) == b"uwsgi_param"
            && d.args
                .first()
                .is_some_and(|a| location.config.value(a) == "SCRIPT_NAME")
            && d.args
                .get(1)
                .is_some_and(|v| !location.config.value(v).is_empty())
    });
    let modifier1 = directives.iter().find(|d| {
        location.config.name_of(d) == b"uwsgi_modifier1"
            && d.args
                .first()
                .is_some_and(|a| location.config.value(a) == "30")
    });
    if let Some(modifier) = modifier1 {
        let (severity, why) = match python3 {
            Some(true) => (
                Severity::Error,
                "the uWSGI ini loads the python3 plugin, which ignores it",
            ),
            Some(false) => (
                Severity::Info,
                "it works only with uWSGI's Python 2 plugin, and uWSGI calls it deprecated",
            ),
            None => (
                Severity::Warning,
                "every current MediaGoblin runs on Python 3, whose uWSGI plugin ignores it",
            ),
        };
        let mut diagnostic = finding(&MODIFIER1_PYTHON3, "`uwsgi_modifier1 30` does not take the prefix off PATH_INFO here")
.with_severity(severity)
            .at(&location.config.source, modifier.span(), why)
            .with_help("drop it, and use `mount` + `manage-script-name` (or `route-run = fixpathinfo:`) in the uWSGI ini");
        // With nginx sending SCRIPT_NAME, uWSGI's fixpathinfo does what the
        // modifier was meant to: both files change, or neither.
        if python3 != Some(false)
            && script_name.is_some()
            && let Some(settings) = settings
            && !settings.fixes_path_info()
            && !settings.manages_script_name()
            && let Some(route) = super::fix::uwsgi_option(settings, "route-run", "fixpathinfo:")
        {
            diagnostic = diagnostic.with_fix_edits(
                "drop `uwsgi_modifier1 30`; uWSGI takes SCRIPT_NAME off PATH_INFO (`route-run = fixpathinfo:`)",
                vec![super::fix::remove(&location.config.source, modifier.span()), route],
                Applicability::Unsafe,
            );
        }
        out.push(diagnostic);
    }
    let Some(settings) = settings else { return };
    let fix = settings.fixes_path_info();
    let mount = settings.manages_script_name() && !settings.mounts().is_empty();
    let modifier_strips = modifier1.is_some() && python3 == Some(false);
    let strippers = [fix, mount, modifier_strips].iter().filter(|s| **s).count();
    if strippers >= 2 {
        let mut diagnostic = finding(&PREFIX_STRIPPED_TWICE, "the prefix is taken off PATH_INFO twice")
            .at(&location.config.source, location.location.name.span, "MediaGoblin's location")
            .with_help("keep one of `route-run = fixpathinfo:`, `mount` + `manage-script-name`, `uwsgi_modifier1 30`");
        for key in ["route-run", "manage-script-name"] {
            if let Some(entry) = settings.first(key) {
                diagnostic = diagnostic.with_related(
                    &settings.file.document.source,
                    entry.span(),
                    "strips it",
                );
            }
        }
        out.push(diagnostic);
    } else if let Some(param) = script_name
        && strippers == 0
        && !(modifier1.is_some() && python3 != Some(false))
    {
        out.push(
            finding(&PREFIX_NOT_STRIPPED, "nginx sends SCRIPT_NAME, but nothing takes it off PATH_INFO")
                .at(&location.config.source, param.span(), "MediaGoblin will see the prefix twice")
                .with_help("add `route-run = fixpathinfo:` to the uWSGI ini, or drop this and use `mount` + `manage-script-name`"),
        );
    }
}

/// MG022: MediaGoblin gets no SCRIPT_NAME.
pub const SCRIPT_NAME_MISSING: RuleInfo = RuleInfo {
    code: "MG022",
    name: "script-name-missing",
    severity: Severity::Error,
    security_severity: None,
    summary: "MediaGoblin gets no SCRIPT_NAME",
    explanation: "MediaGoblin's app.py reads environ['SCRIPT_NAME'], and so does Paste's urlmap (the paste.ini \
        of MediaGoblin up to 0.4); without it every page is a 502 (KeyError). nginx's uwsgi_params sends no \
        SCRIPT_NAME, and uWSGI adds none for an app at /. At / send it empty: `uwsgi_param SCRIPT_NAME \"\";`. \
        Under a prefix, uWSGI's `mount` + `manage-script-name` sets it, or nginx sends the prefix.",
    fix: Some(
        "adds `uwsgi_param SCRIPT_NAME \"\";` after the `uwsgi_pass` of a location at `/` (safe)",
    ),
};

/// MG022: MediaGoblin reads `environ['SCRIPT_NAME']`; it must come from
/// nginx (a `uwsgi_param SCRIPT_NAME`) or from uWSGI's mount.
fn script_name_sent(
    deployment: &Deployment,
    location: &PassLocation<'_>,
    settings: Option<&Settings<'_>>,
    out: &mut Vec<Diagnostic>,
) {
    let sent = crate::nginx::semantics::params(
        &deployment.nginx.loaded,
        location.file,
        location.config,
        location.location,
        location.server,
        b"uwsgi_param",
    )
    .iter()
    .any(|(name, _)| name == "SCRIPT_NAME");
    let uwsgi_sets = settings.is_some_and(|s| s.manages_script_name() && !s.mounts().is_empty());
    if sent || uwsgi_sets {
        return;
    }
    let at_root = location.uri().trim_end_matches('/').is_empty();
    let (severity, help) = match (settings, at_root) {
        (Some(_), true) => (
            Severity::Error,
            "add `uwsgi_param SCRIPT_NAME \"\";` to this location".to_string(),
        ),
        (Some(_), false) => (
            Severity::Error,
            format!(
                "add `mount = {}=config:/path/to/paste.ini` and `manage-script-name = true` to the uWSGI ini",
                location.uri().trim_end_matches('/')
            ),
        ),
        // Without the ini, uWSGI might still mount it.
        (None, _) => (
            Severity::Warning,
            "send it from nginx (`uwsgi_param SCRIPT_NAME \"\";` at /), or make sure the uWSGI ini mounts the app with `manage-script-name`".to_string(),
        ),
    };
    let mut diagnostic = finding(
        &SCRIPT_NAME_MISSING,
        "MediaGoblin gets no SCRIPT_NAME: uwsgi_params sends none, and uWSGI adds none here",
    )
    .with_severity(severity)
    .at(
        &location.config.source,
        location.location.name.span,
        "every page of this location would be a 502 (KeyError: 'SCRIPT_NAME')",
    )
    .with_help(help);
    if at_root && settings.is_some() {
        diagnostic = diagnostic.with_fix_edits(
            "send `uwsgi_param SCRIPT_NAME \"\";`",
            super::fix::line_after(
                &location.config.source,
                location.pass.span().end,
                "uwsgi_param SCRIPT_NAME \"\";",
            )
            .into_iter()
            .collect(),
            Applicability::Safe,
        );
    }
    out.push(diagnostic);
}
