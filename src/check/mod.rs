//! `check`: rules that read the deployment model and report what is broken
//! or fragile, each finding with a stable code (`registry`), a severity, a
//! span and help. Rules are grouped by what they read.

pub mod fix;
pub mod mount;
pub mod nginx;
pub mod process;
pub mod registry;
pub mod site;
pub mod suppress;
pub mod tables;
pub mod uwsgi;

use registry::{Rule, RuleInfo};
use std::path::Path;

use crate::deploy::Deployment;
use crate::deploy::discover::Problems;
use crate::deploy::locations::{PassLocation, escalate_missing_includes, mediagoblin_locations};
use crate::diagnostic::{Diagnostic, Severity};
use crate::protocol::Address;

/// A finding of `rule`, at the rule's severity (`with_severity` where a
/// finding has a reason to differ).
pub fn finding(rule: Rule, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(message)
        .with_code(rule.code)
        .with_severity(rule.severity)
}

/// MG001: a configuration file does not parse.
pub const SYNTAX_ERROR: RuleInfo = RuleInfo {
    code: "MG001",
    name: "syntax-error",
    severity: Severity::Error,
    security_severity: None,
    summary: "a configuration file does not parse",
    explanation: "An nginx file, paste.ini, mediagoblin.ini or the uWSGI ini cannot be read the way nginx, \
        Python's configparser or uWSGI read it. nginx refuses to start (or reload) with a file it cannot \
        parse; paster and uWSGI's paste loader refuse a paste.ini configparser rejects. The message names \
        the line and column and what was expected there.",
    fix: None,
};

/// MG031: several FastCGI locations could be MediaGoblin's.
pub const AMBIGUOUS_LOCATION: RuleInfo = RuleInfo {
    code: "MG031",
    name: "ambiguous-location",
    severity: Severity::Warning,
    security_severity: None,
    summary: "several FastCGI locations could be MediaGoblin's",
    explanation: "More than one location passes to a FastCGI address that could be MediaGoblin's (none is PHP's, \
        and paste.ini's `[server:fcgi]` does not pick one out). mgdeploy does not guess: the rules about \
        MediaGoblin's location are not run, and `migrate` plans nothing. Name MediaGoblin's address with \
        `--fcgi-address ADDR` (or `fcgi-address` under `[migrate]` in mgdeploy.toml), for `check` and \
        `migrate` alike.",
    fix: None,
};

/// Every finding for a deployment, in file order. `fcgi_address` picks
/// MediaGoblin's FastCGI location where several could be it.
pub fn run(
    deployment: &Deployment,
    problems: &Problems,
    fcgi_address: Option<&Address>,
) -> Vec<Diagnostic> {
    let mut out = nginx::all(&deployment.nginx.loaded, deployment.nginx.is_main_conf);
    out.extend(
        problems
            .other
            .iter()
            .map(|d| d.clone().with_code(SYNTAX_ERROR.code)),
    );
    // Found once: every rule about MediaGoblin's location reads the same.
    let selection = match mediagoblin_locations(deployment, fcgi_address) {
        Ok(selection) => Some(selection),
        Err(error) => {
            out.push(
                error
                    .with_code(AMBIGUOUS_LOCATION.code)
                    .with_severity(Severity::Warning)
                    .with_note("the rules about MediaGoblin's location were not run"),
            );
            None
        }
    };
    if let Some(selection) = &selection {
        mount::all(deployment, selection, &mut out);
    }
    uwsgi::all(deployment, selection.as_ref(), &mut out);
    process::all(deployment, selection.as_ref(), &mut out);
    if let Some(selection) = &selection {
        site::all(deployment, selection, &mut out);
        let all: Vec<&PassLocation<'_>> = selection
            .fastcgi
            .iter()
            .chain(&selection.uwsgi)
            .chain(&selection.http)
            .collect();
        escalate_missing_includes(&mut out, &all);
    }
    sort(&mut out);
    out
}

/// Orders findings by file, line and column, then code.
pub fn sort(findings: &mut [Diagnostic]) {
    findings.sort_by_key(|d| {
        let (path, at) = match d.primary() {
            Some(label) => (label.source.path().to_path_buf(), label.start()),
            None => (
                d.path().map(Path::to_path_buf).unwrap_or_default(),
                crate::source::LineCol { line: 0, column: 0 },
            ),
        };
        (path, at, d.code.unwrap_or_default())
    });
}

/// How many findings of each severity.
pub fn counts(findings: &[Diagnostic]) -> (usize, usize, usize) {
    let of = |s: Severity| findings.iter().filter(|d| d.severity == s).count();
    (
        of(Severity::Error),
        of(Severity::Warning),
        of(Severity::Info),
    )
}
