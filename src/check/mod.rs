//! `check`: rules that read the deployment model and report what is broken
//! or fragile, each finding with a stable code (`registry`), a severity, a
//! span and help. Rules are grouped by what they read.

pub mod mount;
pub mod nginx;
pub mod process;
pub mod registry;
pub mod site;
pub mod suppress;
pub mod tables;
pub mod uwsgi;

use std::path::Path;

use crate::deploy::Deployment;
use crate::deploy::discover::Problems;
use crate::diagnostic::{Diagnostic, Severity};

/// A finding of rule `code`.
pub fn finding(code: &'static str, severity: Severity, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(message)
        .with_code(code)
        .with_severity(severity)
}

/// Every finding for a deployment, in file order.
pub fn run(deployment: &Deployment, problems: &Problems) -> Vec<Diagnostic> {
    let mut out = nginx::all(&deployment.nginx.loaded, deployment.nginx.is_main_conf);
    out.extend(problems.other.iter().map(|d| d.clone().with_code("MG001")));
    mount::all(deployment, &mut out);
    uwsgi::all(deployment, Path::new(uwsgi::PLUGIN_DIR), &mut out);
    process::all(deployment, &mut out);
    site::all(deployment, &mut out);
    if let Ok(selection) = crate::deploy::locations::mediagoblin_locations(deployment, None) {
        let all: Vec<&crate::deploy::locations::PassLocation<'_>> = selection
            .fastcgi
            .iter()
            .chain(&selection.uwsgi)
            .chain(&selection.http)
            .collect();
        crate::deploy::locations::escalate_missing_includes(&mut out, &all);
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
