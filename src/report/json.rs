//! Diagnostics as one JSON document, for scripts and CI.

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Label, Location};

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct Related {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    code: Option<&'a str>,
    severity: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    notes: &'a [String],
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end: Option<Position>,
    related: Vec<Related>,
    /// What `check --fix` would do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixEntry>,
}

#[derive(Serialize)]
struct FixEntry {
    message: String,
    /// `safe`, or `unsafe` (made only with `--unsafe-fixes`).
    applicability: &'static str,
    edits: Vec<EditEntry>,
}

/// Replace from `line`:`column` up to `end` (exclusive) with `replacement`.
#[derive(Serialize)]
struct EditEntry {
    file: String,
    line: usize,
    column: usize,
    end: Position,
    replacement: String,
}

fn fix_entry(fix: &crate::diagnostic::Fix) -> FixEntry {
    FixEntry {
        message: fix.message.clone(),
        applicability: match fix.applicability {
            crate::diagnostic::Applicability::Safe => "safe",
            crate::diagnostic::Applicability::Unsafe => "unsafe",
        },
        edits: fix
            .edits
            .iter()
            .map(|r| {
                let (start, end) = (
                    r.source.line_col(r.span().start),
                    r.source.line_col(r.span().end),
                );
                EditEntry {
                    file: crate::report::paths::shown_str(r.source.path()),
                    line: start.line,
                    column: start.column,
                    end: Position {
                        line: end.line,
                        column: end.column,
                    },
                    replacement: r.edit.replacement.clone(),
                }
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    infos: usize,
}

#[derive(Serialize)]
struct Document<'a> {
    diagnostics: Vec<Entry<'a>>,
    summary: Summary,
}

fn related(label: &Label) -> Related {
    let start = label.start();
    Related {
        file: crate::report::paths::shown_str(label.source.path()),
        line: start.line,
        column: start.column,
        message: label.message.clone(),
    }
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let entries = diagnostics
        .iter()
        .map(|d| {
            let (line, column, end) = match &d.location {
                Location::Span(label) => {
                    let (start, end) = (label.start(), label.end());
                    (
                        Some(start.line),
                        Some(start.column),
                        Some(Position {
                            line: end.line,
                            column: end.column,
                        }),
                    )
                }
                _ => (None, None, None),
            };
            Entry {
                code: d.code,
                severity: d.severity.as_str(),
                message: &d.message,
                help: d.help.as_deref(),
                notes: &d.notes,
                file: d.path().map(crate::report::paths::shown_str),
                line,
                column,
                end,
                related: d.related.iter().map(related).collect(),
                fix: d.fix.as_ref().map(fix_entry),
            }
        })
        .collect();
    let (errors, warnings, infos) = crate::check::counts(diagnostics);
    let document = Document {
        diagnostics: entries,
        summary: Summary {
            errors,
            warnings,
            infos,
        },
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
