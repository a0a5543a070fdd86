//! Diagnostics as GitLab's Code Quality report (a JSON array, for
//! `artifacts:reports:codequality`), which the merge request shows beside
//! the diff. GitLab needs a description, a check name, a fingerprint that
//! is unique and stable, a severity and a path with a line.

use serde::Serialize;

use super::fingerprint::fingerprints;
use crate::diagnostic::{Diagnostic, Location, Severity};

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

#[derive(Serialize)]
struct IssueLocation {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: IssueLocation,
}

fn security(d: &Diagnostic) -> bool {
    d.code
        .and_then(crate::check::registry::rule)
        .is_some_and(|r| r.security_severity.is_some())
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let prints = fingerprints(diagnostics);
    let issues: Vec<Issue> = diagnostics
        .iter()
        .zip(prints)
        .map(|(d, fingerprint)| {
            let (path, begin, end) = match &d.location {
                Location::Span(label) => (
                    super::paths::shown_str(label.source.path()),
                    label.start().line,
                    label.end().line,
                ),
                Location::File(path) => (super::paths::shown_str(path), 1, 1),
                Location::None => (String::new(), 1, 1),
            };
            let mut description = match d.code {
                Some(code) => format!("{code}: {}", d.message),
                None => d.message.clone(),
            };
            if let Some(help) = &d.help {
                description.push_str(&format!(" (help: {help})"));
            }
            Issue {
                kind: "issue",
                description,
                check_name: d.code.and_then(crate::check::registry::rule).map_or_else(
                    || "mgdeploy".to_string(),
                    |r| format!("{} {}", r.code, r.name),
                ),
                fingerprint,
                severity: match d.severity {
                    // An error that lets an attacker in outranks the rest.
                    Severity::Error if security(d) => "critical",
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                    Severity::Info => "info",
                },
                location: IssueLocation {
                    path,
                    lines: Lines { begin, end },
                },
            }
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}
