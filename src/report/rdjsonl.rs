//! Diagnostics as reviewdog's Diagnostic JSON, one object per line
//! (`reviewdog -f=rdjsonl`), which reviewdog posts as review comments and,
//! where a fix exists, as suggested changes. Columns count UTF-8 bytes.

use serde::Serialize;

use super::rules::rule_url;
use crate::diagnostic::{Diagnostic, Label, Location, Severity};
use crate::source::SourceFile;

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct Range {
    start: Position,
    end: Position,
}

#[derive(Serialize)]
struct RdLocation {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<Range>,
}

#[derive(Serialize)]
struct Source {
    name: &'static str,
    url: &'static str,
}

#[derive(Serialize)]
struct Code {
    value: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Suggestion {
    range: Range,
    text: String,
}

#[derive(Serialize)]
struct RelatedLocation {
    message: String,
    location: RdLocation,
}

#[derive(Serialize)]
struct RdDiagnostic {
    message: String,
    location: RdLocation,
    severity: &'static str,
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<Code>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suggestions: Vec<Suggestion>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<RelatedLocation>,
}

/// The range of `start..end` bytes of `source`, end exclusive.
fn range(source: &SourceFile, start: usize, end: usize) -> Range {
    let position = |offset: usize| {
        let at = source.line_col(offset);
        Position {
            line: at.line,
            column: source.byte_column(offset),
        }
    };
    Range {
        start: position(start),
        end: position(end),
    }
}

fn location(label: &Label) -> RdLocation {
    RdLocation {
        path: super::paths::shown_str(label.source.path()),
        range: Some(range(&label.source, label.span.start, label.span.end)),
    }
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let place = match &d.location {
            Location::Span(label) => location(label),
            Location::File(path) => RdLocation {
                path: super::paths::shown_str(path),
                range: None,
            },
            Location::None => RdLocation {
                path: String::new(),
                range: None,
            },
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let suggestions = d
            .fix
            .iter()
            .flat_map(|fix| &fix.edits)
            .map(|r| Suggestion {
                range: range(&r.source, r.span().start, r.span().end),
                text: r.edit.replacement.clone(),
            })
            .collect();
        let entry = RdDiagnostic {
            message,
            location: place,
            severity: match d.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARNING",
                Severity::Info => "INFO",
            },
            source: Source {
                name: "mgdeploy",
                url: super::rules::HOMEPAGE,
            },
            code: d.code.map(|code| Code {
                value: code,
                url: rule_url(code),
            }),
            suggestions,
            related_locations: d
                .related
                .iter()
                .map(|label| RelatedLocation {
                    message: label.message.clone(),
                    location: location(label),
                })
                .collect(),
        };
        if let Ok(line) = serde_json::to_string(&entry) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Applicability;
    use crate::source::Span;

    #[test]
    fn columns_count_bytes_and_fixes_are_suggestions() {
        let text = "# é\nuWSGI_pass x; # é\n";
        let source = SourceFile::new("/x/a.conf", text.as_bytes().to_vec());
        let start = text.find("uWSGI").unwrap();
        let span = Span::new(start, start + 10);
        let d = Diagnostic::error("unknown directive")
            .with_code("MG002")
            .at(&source, span, "")
            .with_fix("write it", &source, span, "uwsgi_pass", Applicability::Safe);
        let line = render(&[d]);
        let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(value["location"]["range"]["start"]["line"], 2);
        assert_eq!(value["location"]["range"]["start"]["column"], 1);
        assert_eq!(value["location"]["range"]["end"]["column"], 11);
        assert_eq!(value["suggestions"][0]["text"], "uwsgi_pass");
        assert_eq!(value["code"]["value"], "MG002");

        let text = "é = x\n";
        let source = SourceFile::new("/x/a.ini", text.as_bytes().to_vec());
        let d = Diagnostic::error("m").at(&source, Span::new(5, 6), "");
        let value: serde_json::Value = serde_json::from_str(render(&[d]).trim()).unwrap();
        // `é` is two bytes: `x` is the 6th byte, the 5th character.
        assert_eq!(value["location"]["range"]["start"]["column"], 6);
    }
}
