//! Rules about the site as MediaGoblin sees it: static URLs nginx does not
//! serve, an upload limit below MediaGoblin's, and celery with nobody to
//! run its tasks.

use super::finding;
use super::registry::RuleInfo;
use crate::deploy::locations::{PassLocation, Selection};
use crate::deploy::{Deployment, configobj_unquote, view};
use crate::diagnostic::{Diagnostic, Severity};
use crate::ini::typed::MediaGoblinSettings;
use crate::service::Role;

pub fn all(deployment: &Deployment, selection: &Selection<'_>, out: &mut Vec<Diagnostic>) {
    let locations: Vec<&PassLocation<'_>> =
        selection.uwsgi.iter().chain(&selection.fastcgi).collect();
    if let Some(location) = locations.first() {
        static_urls(deployment, out);
        upload_limit(deployment, location, out);
    }
    celery(deployment, out);
}

/// MG016: a static or media URL of mediagoblin.ini that nginx does not serve.
pub const STATIC_NOT_SERVED: RuleInfo = RuleInfo {
    code: "MG016",
    name: "static-not-served",
    severity: Severity::Warning,
    security_severity: None,
    summary: "a static or media URL of mediagoblin.ini that nginx does not serve",
    explanation: "MediaGoblin builds URLs for its static files, theme and plugin files and uploads from \
        mediagoblin.ini (direct_remote_path, theme_web_path, plugin_web_path, [storage:publicstore] \
        base_url). They do not follow SCRIPT_NAME. When no nginx location serves them, they reach \
        MediaGoblin itself, which serves them slowly or not at all.",
    fix: None,
};

fn static_urls(deployment: &Deployment, out: &mut Vec<Diagnostic>) {
    let locations = super::nginx::locations(&deployment.nginx.loaded);
    let urls = &deployment.static_urls;
    let named = [
        ("mediagoblin", "direct_remote_path", &urls.static_files),
        ("storage:publicstore", "base_url", &urls.media),
        ("mediagoblin", "theme_web_path", &urls.theme),
        ("mediagoblin", "plugin_web_path", &urls.plugin),
    ];
    for (section, key, url) in named {
        let served = locations.iter().any(|(config, location)| {
            let [uri] = location.args.as_slice() else {
                return false;
            };
            let uri = config.value(uri);
            let serves_files = location
                .directives()
                .any(|d| matches!(config.bytes(d.name.span), b"alias" | b"root"));
            let passes = location.directives().any(|d| {
                matches!(
                    config.bytes(d.name.span),
                    b"uwsgi_pass" | b"fastcgi_pass" | b"proxy_pass"
                )
            });
            serves_files && !passes && url.starts_with(&uri)
        });
        if served {
            continue;
        }
        let message = format!(
            "no nginx location serves {url}, where MediaGoblin puts its {}",
            match key {
                "direct_remote_path" => "static files",
                "base_url" => "uploaded media",
                "theme_web_path" => "theme files",
                _ => "plugin files",
            }
        );
        let help = format!(
            "add `location {url} {{ alias /path/to/the/files/; }}` to MediaGoblin's server"
        );
        let entry = deployment.mediagoblin_ini.as_ref().and_then(|file| {
            file.document
                .section(section)
                .and_then(|s| s.get(key))
                .map(|e| (file, e))
        });
        out.push(match entry {
            Some((file, entry)) => finding(&STATIC_NOT_SERVED, message)
                .at(
                    &file.document.source,
                    entry.value_span(),
                    "MediaGoblin builds URLs from this",
                )
                .with_help(help),
            None => {
                let diagnostic = finding(
                    &STATIC_NOT_SERVED,
                    format!("{message} (MediaGoblin's default)"),
                );
                // The section the setting would go in, else nginx's file.
                let header = deployment.mediagoblin_ini.as_ref().and_then(|file| {
                    let span = file.document.section(section)?.header_span?;
                    Some((&file.document.source, span))
                });
                match header {
                    Some((source, span)) => diagnostic.at(source, span, "not set here"),
                    None => diagnostic.in_file(&deployment.nginx.main),
                }
                .with_help(help)
            }
        });
    }
}

/// MediaGoblin's own upload limit in bytes, and the setting that makes it.
fn mediagoblin_limit(deployment: &Deployment) -> Option<(u64, String)> {
    let settings =
        view::<MediaGoblinSettings>(deployment.mediagoblin_ini.as_ref()?, "mediagoblin")?;
    [
        ("upload_limit", settings.upload_limit),
        ("max_file_size", settings.max_file_size),
    ]
    .into_iter()
    .filter_map(|(key, value)| {
        let megabytes: u64 = configobj_unquote(value?.trim()).parse().ok()?;
        Some((megabytes.saturating_mul(1024 * 1024), key.to_string()))
    })
    .max()
}

/// MG017: `client_max_body_size` is below what MediaGoblin accepts.
pub const UPLOAD_LIMIT: RuleInfo = RuleInfo {
    code: "MG017",
    name: "upload-limit",
    severity: Severity::Warning,
    security_severity: None,
    summary: "`client_max_body_size` is below what MediaGoblin accepts",
    explanation: "nginx refuses request bodies larger than client_max_body_size (1m unless set) with 413 \
        before MediaGoblin sees them, so uploads MediaGoblin would accept (upload_limit, max_file_size in \
        mediagoblin.ini; no limit by default) fail.",
    fix: None,
};

fn upload_limit(deployment: &Deployment, location: &PassLocation<'_>, out: &mut Vec<Diagnostic>) {
    let nginx_limit = crate::nginx::semantics::effective(
        &deployment.nginx.loaded,
        location.config,
        location.location,
        location.server,
        b"client_max_body_size",
    );
    let (limit, place) = match nginx_limit {
        Some((config, d)) => match d
            .args
            .first()
            .and_then(|a| crate::nginx::semantics::size(&config.value(a)))
        {
            // 0 means no limit.
            Some(0) | None => return,
            Some(bytes) => (bytes, Some((config, d))),
        },
        None => (1024 * 1024, None),
    };
    let wanted = mediagoblin_limit(deployment);
    let too_small = match &wanted {
        Some((bytes, _)) => limit < *bytes,
        None => place.is_none(),
    };
    if !too_small {
        return;
    }
    let what = match &wanted {
        Some((bytes, key)) => format!(
            "MediaGoblin accepts uploads up to {} MB ({key})",
            bytes / (1024 * 1024)
        ),
        None => "MediaGoblin sets no upload limit".to_string(),
    };
    let message = format!(
        "nginx refuses request bodies over {} KiB; {what}",
        limit / 1024
    );
    out.push(match place {
        Some((config, d)) => finding(&UPLOAD_LIMIT, message)
            .at(&config.source, d.span(), "uploads larger than this fail with 413")
            .with_help("raise client_max_body_size to MediaGoblin's limit"),
        None => finding(&UPLOAD_LIMIT, format!("{message} (1m is nginx's default)"))
            .at(&location.config.source, location.location.name.span, "no client_max_body_size applies here")
            .with_help("set client_max_body_size in MediaGoblin's server block, e.g. `client_max_body_size 100m;`"),
    });
}

/// MG018: background tasks are not eager and no celery worker is set up.
pub const NO_CELERY_WORKER: RuleInfo = RuleInfo {
    code: "MG018",
    name: "no-celery-worker",
    severity: Severity::Warning,
    security_severity: None,
    summary: "background tasks are not eager and no celery worker is set up",
    explanation: "MediaGoblin processes uploads in celery. It runs them in the web process only when the \
        environment has CELERY_ALWAYS_EAGER=true (lazyserver.sh exports it; under uWSGI: `env = \
        CELERY_ALWAYS_EAGER=true`). Otherwise a worker must run (lazycelery.sh, or a mediagoblin-celeryd \
        service), or uploads wait forever.",
    fix: None,
};

fn celery(deployment: &Deployment, out: &mut Vec<Diagnostic>) {
    if deployment.celery.is_eager() || deployment.services.iter().any(|s| s.role == Role::Celery) {
        return;
    }
    // Where CELERY_ALWAYS_EAGER would be set: the uWSGI ini's [uwsgi], else
    // paste.ini's application.
    let file = deployment.uwsgi.as_ref().unwrap_or(&deployment.paste);
    let header = ["uwsgi", "app:mediagoblin", "composite:main"]
        .iter()
        .find_map(|name| file.document.section(name)?.header_span);
    let diagnostic = finding(
        &NO_CELERY_WORKER,
        "background tasks are not eager, and no celery worker service was found",
    );
    let diagnostic = match header {
        Some(span) => diagnostic.at(&file.document.source, span, "the site starts here"),
        None => diagnostic.in_file(&file.path),
    };
    out.push(
        diagnostic
            .with_note(deployment.celery.reason().to_string())
            .with_note(format!(
                "no systemd unit, init script or supervisor program that names {} runs celery",
                deployment.root.display()
            ))
            .with_help("run a worker (./lazycelery.sh, or a mediagoblin-celeryd service), or set `env = CELERY_ALWAYS_EAGER=true` in the uWSGI ini"),
    );
}
