//! Rules that read nginx's configuration alone: files that do not parse,
//! includes that do not resolve, unknown directives, parameters without a
//! pass, and aliases that let requests climb out of their directory.

use super::finding;
use super::registry::RuleInfo;
use super::tables::did_you_mean;
use crate::diagnostic::{Applicability, Diagnostic, Severity};
use crate::names::NameSet;
use crate::nginx::include::Loaded;
use crate::nginx::syntax::walk;
use crate::nginx::syntax::{Config, Directive};
use crate::nginx::vocabulary;

/// MG003: `include` names a file that does not exist, or includes itself.
pub const INCLUDE_PROBLEM: RuleInfo = RuleInfo {
    code: "MG003",
    name: "include-problem",
    severity: Severity::Error,
    security_severity: None,
    summary: "`include` names a file that does not exist, or includes itself",
    explanation: "A plain `include` path must name an existing file (nginx stops with `open() failed` \
        otherwise); relative paths start at nginx's configuration directory, and file names are \
        case-sensitive (`uWSGI_params` is not `uwsgi_params`). A glob that matches nothing is fine. A file \
        that includes itself, directly or through others, would be read forever. nginx's stock files \
        (`uwsgi_params`, `mime.types` ...) are known from mgdeploy's copies where nginx is not installed \
        (a note). Any other missing file is a warning, since the server may have it; it is an error when \
        MediaGoblin's location includes it, because what the location does then cannot be known.",
    fix: Some(
        "names the file in the case it exists with, beside it or as nginx's stock file (safe)",
    ),
};

/// MG026: a directive where nginx does not allow it, or with arguments nginx refuses.
pub const NGINX_REFUSES: RuleInfo = RuleInfo {
    code: "MG026",
    name: "nginx-refuses",
    severity: Severity::Error,
    security_severity: None,
    summary: "a directive where nginx does not allow it, or with arguments nginx refuses",
    explanation: "nginx knows, for each directive it ships, in which blocks it may stand, whether it opens a \
        block, and how many arguments it takes; it refuses to start otherwise (`invalid number of \
        arguments`, `is not allowed here`). A missing `;` is the usual cause: `fastcgi_pass \
        127.0.0.1:26543` followed by `include fastcgi_params;` on the next line is one directive with \
        three arguments. mgdeploy checks this from nginx's own table, also where nginx is not installed.",
    fix: None,
};

pub fn all(loaded: &Loaded, is_main_conf: bool) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = crate::nginx::analyze::analyze(loaded, is_main_conf)
        .into_iter()
        .map(|d| d.with_code(NGINX_REFUSES.code))
        .collect();
    for file in &loaded.files {
        match &file.config {
            Err(error) => out.push(error.clone().with_code(super::SYNTAX_ERROR.code)),
            // One walk for the three rules: a fleet's file has a million
            // directives.
            Ok(config) => {
                let known = vocabulary::known();
                directives(config, |d, _| {
                    unknown_directive(config, known, d, &mut out);
                    if config.name_of(d) == b"location" {
                        params_without_pass(config, d, &mut out);
                        alias_traversal(config, d, &mut out);
                    }
                });
            }
        }
        out.extend(
            file.include_errors
                .iter()
                .map(|e| e.clone().with_code(INCLUDE_PROBLEM.code)),
        );
    }
    out
}

/// Directives of a file that are not data, with their parents.
fn directives(config: &Config, mut visit: impl FnMut(&Directive, &[&Directive])) {
    walk(&config.children, |d, parents| {
        let in_data = parents
            .iter()
            .any(|p| vocabulary::is_data_block(config.name_of(p)));
        if !in_data {
            visit(d, parents);
        }
    });
}

/// MG002: an nginx directive nginx does not know.
pub const UNKNOWN_DIRECTIVE: RuleInfo = RuleInfo {
    code: "MG002",
    name: "unknown-directive",
    severity: Severity::Error,
    security_severity: None,
    summary: "an nginx directive nginx does not know",
    explanation: "nginx compares directive names byte for byte: `uWSGI_pass` is not `uwsgi_pass`, and nginx \
        stops with `unknown directive`. A name that differs from a known directive only in case, or by a \
        letter or two, is an error with the likely intended name. A name mgdeploy does not know at all may \
        belong to a third-party module; that is a warning, since nginx accepts it when the module is loaded.",
    fix: Some(
        "writes the directive's name in the case nginx knows (safe); a name a letter or two away is another directive's only probably (unsafe)",
    ),
};

fn unknown_directive(config: &Config, known: &NameSet, d: &Directive, out: &mut Vec<Diagnostic>) {
    if known.contains(config.value_ref(&d.name).as_ref()) {
        return;
    }
    let text = config.value(&d.name);
    let span = d.name.span;
    match did_you_mean(&text, known) {
        Some(meant) => {
            let only_case = meant.eq_ignore_ascii_case(&text);
            out.push(
                finding(&UNKNOWN_DIRECTIVE, format!("unknown directive `{text}`"))
                    .at(&config.source, span, format!("did you mean `{meant}`?"))
                    .with_help(if only_case {
                        format!("nginx directive names are case-sensitive: write `{meant}`")
                    } else {
                        format!("write `{meant}`")
                    })
                    .with_fix(
                        format!("write `{meant}`"),
                        &config.source,
                        span,
                        meant,
                        // Another letter may be another directive than meant.
                        if only_case {
                            Applicability::Safe
                        } else {
                            Applicability::Unsafe
                        },
                    ),
            )
        }
        None => out.push(
            finding(&UNKNOWN_DIRECTIVE, format!("unknown directive `{text}`"))
                .with_severity(Severity::Warning)
                .at(
                    &config.source,
                    span,
                    "not an nginx directive mgdeploy knows",
                )
                .with_help(
                    "if it comes from a third-party module, make sure nginx loads that module",
                ),
        ),
    }
}

/// MG006: a location sets `uwsgi_param` but does not `uwsgi_pass`.
pub const PARAM_WITHOUT_PASS: RuleInfo = RuleInfo {
    code: "MG006",
    name: "param-without-pass",
    severity: Severity::Error,
    security_severity: None,
    summary: "a location sets `uwsgi_param` but does not `uwsgi_pass`",
    explanation: "`uwsgi_param` only matters for requests the location passes to uWSGI. Without a `uwsgi_pass` \
        in the same location the parameters go nowhere; usually the pass was lost, or misspelt.",
    fix: None,
};

/// MG006, at a `location`.
fn params_without_pass(config: &Config, d: &Directive, out: &mut Vec<Diagnostic>) {
    let mut has_pass = false;
    walk(d.children(), |inner, _| {
        has_pass |= config.name_of(inner) == b"uwsgi_pass"
    });
    if has_pass {
        return;
    }
    if let Some(param) = d.directives().find(|c| config.name_of(c) == b"uwsgi_param") {
        out.push(
            finding(
                &PARAM_WITHOUT_PASS,
                "`uwsgi_param` in a location that does not `uwsgi_pass`",
            )
            .at(
                &config.source,
                param.name.span,
                "this parameter goes nowhere",
            )
            .with_related(
                &config.source,
                d.name.span,
                "this location passes nothing to uWSGI",
            )
            .with_help(
                "add the `uwsgi_pass` this location was meant to have, or remove the parameters",
            ),
        );
    }
}

/// MG015: a location and its `alias` disagree on the trailing slash.
pub const ALIAS_TRAVERSAL: RuleInfo = RuleInfo {
    code: "MG015",
    name: "alias-traversal",
    severity: Severity::Error,
    security_severity: Some("7.5"),
    summary: "a location and its `alias` disagree on the trailing slash",
    explanation: "`location /static { alias /srv/static/; }` maps `/static../secret` to `/srv/static/../secret`: \
        one directory up. `location /static/ { alias /srv/static; }` maps `/static/x` to `/srv/staticx`. \
        End both with `/`, or neither.",
    fix: None,
};

/// MG015, at a `location`.
fn alias_traversal(config: &Config, d: &Directive, out: &mut Vec<Diagnostic>) {
    let [uri] = d.args.as_slice() else { return };
    let uri_text = config.value(uri);
    for child in d.directives() {
        if config.name_of(child) != b"alias" {
            continue;
        }
        let Some(target) = child.args.first() else {
            continue;
        };
        let target_text = config.value(target);
        if target_text.contains('$') {
            continue;
        }
        let (uri_slash, alias_slash) = (uri_text.ends_with('/'), target_text.ends_with('/'));
        if !uri_slash && alias_slash {
            out.push(
                finding(&ALIAS_TRAVERSAL, format!("`location {uri_text}` without a trailing slash, aliased to a directory: `{uri_text}../` reaches the directory above"))
                .at(&config.source, uri.span, "no trailing slash here")
                .with_related(&config.source, target.span, "but one here")
                .with_help(format!("write `location {uri_text}/`")),
            );
        } else if uri_slash && !alias_slash && !target_text.is_empty() {
            out.push(
                finding(&ALIAS_TRAVERSAL, format!("`location {uri_text}` ends with `/` but its alias does not: `{uri_text}x` maps to `{target_text}x`"))
.with_severity(Severity::Warning)
                .at(&config.source, target.span, "no trailing slash here")
                .with_related(&config.source, uri.span, "but one here")
                .with_help(format!("write `alias {target_text}/;`")),
            );
        }
    }
}

/// Every `location` of the configuration's servers, for the static-file rule.
pub fn locations(loaded: &Loaded) -> Vec<(&Config, &Directive)> {
    let mut out = Vec::new();
    for config in loaded.configs() {
        walk(&config.children, |d, _| {
            if config.name_of(d) == b"location" {
                out.push((config, d));
            }
        });
    }
    out
}
