//! Diagnostics as SARIF 2.1.0, for code scanning: one run, tool driver
//! `mgdeploy` with every rule (its help in Markdown and a link to it), one
//! result per finding. Every result has a region (line 1 for a finding
//! about a whole file), a fingerprint that survives lines moving, and the
//! fix when mgdeploy knows one. Columns count Unicode code points, as the
//! run says.

use serde::Serialize;

use super::fingerprint::fingerprints;
use super::rules::{HOMEPAGE, markdown, rule_url};
use crate::check::registry::{RULES, RuleInfo};
use crate::diagnostic::{Diagnostic, Fix, Label, Location, Severity};
use crate::source::{SourceFile, Span};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
struct Text {
    text: String,
}

fn text(s: impl Into<String>) -> Text {
    Text { text: s.into() }
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
    precision: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help_uri: String,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix {
    description: Text,
    artifact_changes: Vec<ArtifactChange>,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "mgdeploy/v1")]
    mgdeploy: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<SarifLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<SarifFix>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A path as SARIF wants it: relative to the work tree (GitHub's checkout)
/// or the current directory when the file is under it, else a `file://`
/// URI; percent-encoded.
fn uri(path: &std::path::Path) -> String {
    let shown = crate::report::paths::shown(path);
    let text = shown.to_string_lossy();
    let encoded: String = text
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    if shown.is_absolute() {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

/// The region of `span`; an empty span covers one column.
fn region(source: &SourceFile, span: Span) -> Region {
    let (start, end) = (source.line_col(span.start), source.line_col(span.end));
    Region {
        start_line: start.line,
        start_column: start.column,
        end_line: end.line,
        end_column: if end.line == start.line {
            end.column.max(start.column + 1)
        } else {
            end.column
        },
        snippet: None,
    }
}

/// Snippets longer than this are left out (a minified line, say).
const MAX_SNIPPET: usize = 2000;

/// `region`, with the text it covers.
fn with_snippet(source: &SourceFile, span: Span) -> Region {
    let covered = source.text(span);
    Region {
        snippet: (covered.len() <= MAX_SNIPPET).then(|| text(covered.into_owned())),
        ..region(source, span)
    }
}

/// The lines around `span` (two before and after), for viewers that do not
/// have the file.
fn context(source: &SourceFile, span: Span) -> Option<Region> {
    let (first, last) = (
        source.line_col(span.start).line,
        source.line_col(span.end).line,
    );
    let start = source.line_span(first.saturating_sub(2).max(1)).start;
    let last_line = source.line_col(source.bytes().len()).line;
    let end = source.line_span((last + 2).min(last_line)).end;
    let around = Span::new(start, end.max(start));
    let lines = source.text(around);
    (lines.len() <= MAX_SNIPPET).then(|| Region {
        snippet: Some(text(lines.into_owned())),
        ..region(source, around)
    })
}

/// Line 1, for a finding about a whole file.
fn first_line() -> Region {
    Region {
        start_line: 1,
        start_column: 1,
        end_line: 1,
        end_column: 1,
        snippet: None,
    }
}

fn location(label: &Label, id: Option<usize>) -> SarifLocation {
    SarifLocation {
        id,
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uri(label.source.path()),
            },
            region: with_snippet(&label.source, label.span),
            context_region: context(&label.source, label.span),
        },
        message: (!label.message.is_empty()).then(|| text(sentence(&label.message))),
    }
}

/// Messages end with a full stop, as SARIF viewers expect.
fn sentence(message: &str) -> String {
    let trimmed = message.trim_end();
    if trimmed.ends_with(['.', '!', '?']) {
        trimmed.to_string()
    } else {
        format!("{trimmed}.")
    }
}

fn fix(fix: &Fix) -> SarifFix {
    // One change per file, in the order the files come.
    let mut changes: Vec<ArtifactChange> = Vec::new();
    for r in &fix.edits {
        let replacement = Replacement {
            deleted_region: region(&r.source, r.span()),
            inserted_content: text(r.edit.replacement.clone()),
        };
        let file = uri(r.source.path());
        match changes.iter_mut().find(|c| c.artifact_location.uri == file) {
            Some(change) => change.replacements.push(replacement),
            None => changes.push(ArtifactChange {
                artifact_location: ArtifactLocation { uri: file },
                replacements: vec![replacement],
            }),
        }
    }
    SarifFix {
        description: text(sentence(&fix.message)),
        artifact_changes: changes,
    }
}

/// `unknown-directive` → `UnknownDirective`, the form SARIF asks of names.
fn pascal_case(kebab: &str) -> String {
    kebab
        .split('-')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

fn descriptor(rule: &RuleInfo) -> ReportingDescriptor {
    let mut tags = vec!["mediagoblin"];
    if rule.security_severity.is_some() {
        tags.push("security");
    }
    ReportingDescriptor {
        id: rule.code,
        name: pascal_case(rule.name),
        short_description: text(sentence(rule.summary)),
        full_description: text(sentence(rule.explanation)),
        help_uri: rule_url(rule.code),
        help: Help {
            text: format!(
                "{} Run `mgdeploy check --explain {}` for more.",
                sentence(rule.explanation),
                rule.code
            ),
            markdown: markdown(rule),
        },
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: RuleProperties {
            tags,
            security_severity: rule.security_severity,
            precision: "high",
        },
    }
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let prints = fingerprints(diagnostics);
    let results = diagnostics
        .iter()
        .zip(prints)
        .filter_map(|(d, fingerprint)| {
            let code = d.code?;
            let rule_index = RULES.iter().position(|r| r.code == code)?;
            let rule = RULES.get(rule_index)?;
            let primary = match &d.location {
                Location::Span(label) => location(label, None),
                Location::File(path) => SarifLocation {
                    id: None,
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: uri(path) },
                        region: first_line(),
                        context_region: None,
                    },
                    message: None,
                },
                // Findings always name a file; nothing to place otherwise.
                Location::None => return None,
            };
            let mut message = sentence(&d.message);
            for note in &d.notes {
                message.push(' ');
                message.push_str(&sentence(note));
            }
            if let Some(help) = &d.help {
                message.push_str(&format!(" Help: {}", sentence(help)));
            }
            Some(SarifResult {
                rule_id: rule.code,
                rule_index,
                level: level(d.severity),
                message: text(message),
                locations: vec![primary],
                related_locations: d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, label)| location(label, Some(i + 1)))
                    .collect(),
                partial_fingerprints: Fingerprints {
                    mgdeploy: fingerprint,
                },
                fixes: d.fix.iter().map(fix).collect(),
            })
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "mgdeploy",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: HOMEPAGE,
                    rules: RULES.iter().copied().map(descriptor).collect(),
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}
