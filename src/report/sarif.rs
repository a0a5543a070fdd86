//! Diagnostics as SARIF 2.1.0, for code scanning: one run, tool driver
//! `mgdeploy` with every rule, one result per finding.

use serde::Serialize;

use crate::check::registry::{RULES, Rule};
use crate::diagnostic::{Diagnostic, Label, Location, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
struct Text {
    text: String,
}

fn text(s: impl Into<String>) -> Text {
    Text { text: s.into() }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Text,
    default_configuration: Configuration,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<SarifLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
}

#[derive(Serialize)]
struct Run {
    tool: Tool,
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

/// A path as SARIF wants it: relative (to the current directory, where CI
/// runs) when the file is under it, else a `file://` URI.
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

fn location(label: &Label) -> SarifLocation {
    let (start, end) = (label.start(), label.end());
    SarifLocation {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uri(label.source.path()),
            },
            region: Some(Region {
                start_line: start.line,
                start_column: start.column,
                end_line: end.line,
                end_column: end.column.max(if end.line == start.line {
                    start.column
                } else {
                    1
                }),
            }),
        },
        message: (!label.message.is_empty()).then(|| text(label.message.clone())),
    }
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    ReportingDescriptor {
        id: rule.code,
        name: rule.name,
        short_description: text(rule.summary),
        full_description: text(rule.explanation),
        help: text(format!(
            "{} Run `mgdeploy check --explain {}` for more.",
            rule.explanation, rule.code
        )),
        default_configuration: Configuration {
            level: level(rule.severity),
        },
    }
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let results = diagnostics
        .iter()
        .filter_map(|d| {
            let code = d.code?;
            let rule_index = RULES.iter().position(|r| r.code == code)?;
            let rule = RULES.get(rule_index)?;
            let locations = match &d.location {
                Location::Span(label) => vec![location(label)],
                Location::File(path) => vec![SarifLocation {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: uri(path) },
                        region: None,
                    },
                    message: None,
                }],
                Location::None => Vec::new(),
            };
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(&format!(" (help: {help})"));
            }
            Some(SarifResult {
                rule_id: rule.code,
                rule_index,
                level: level(d.severity),
                message: text(message),
                locations,
                related_locations: d.related.iter().map(location).collect(),
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
                    rules: RULES.iter().map(descriptor).collect(),
                },
            },
            results,
        }],
    };
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}
