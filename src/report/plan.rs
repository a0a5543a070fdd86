//! A migration's plan as people and tools read it: the diff and summary,
//! the bare patch, a merge-request comment, or JSON with the plan
//! `mgdeploy apply` takes.

use serde::Serialize;

use super::diff::{Reader, of_targets as diff};
use super::{notes, paths};
use crate::apply::Target;
use crate::migrate::Migration;

/// How to show a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Patch,
    Markdown,
}

#[derive(Serialize)]
struct JsonFile {
    path: String,
    action: &'static str,
    diff: String,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    changes: bool,
    /// The plan as `mgdeploy apply` takes it.
    plan: crate::plan::PlanFile,
    files: Vec<JsonFile>,
    notes: crate::migrate::notes::Notes,
    uwsgi_ini_values: &'a Option<crate::migrate::uwsgi_ini::IniValues>,
    /// The command that starts the migrated site.
    start_command: &'a Option<Vec<String>>,
    /// Where nginx already passes to uWSGI, when there is nothing to move.
    already_on_uwsgi: &'a Option<String>,
}

/// The plan as `format` says, for `targets` (the plan's files, resolved).
/// `quiet` leaves the summary out of the text.
pub fn render(format: Format, migration: &Migration, targets: &[Target], quiet: bool) -> String {
    let nothing = match &migration.already_on_uwsgi {
        Some(place) => format!("MediaGoblin is already served by uWSGI ({place})."),
        None => "MediaGoblin is already served by uWSGI here.".to_string(),
    };
    let summary = if quiet {
        String::new()
    } else {
        notes::text(&migration.notes)
    };
    match format {
        Format::Text if targets.is_empty() => format!("Nothing to do: {nothing}\n{summary}"),
        Format::Text => format!(
            "{}\n{summary}",
            diff(targets, Reader::Person { color: true }, false)
        ),
        Format::Patch => diff(targets, Reader::Tool, true),
        Format::Markdown if targets.is_empty() => {
            notes::markdown_nothing(&paths::relative_text(&nothing))
        }
        Format::Markdown => {
            let files: Vec<notes::FileSection> = targets
                .iter()
                // The files themselves, as the patch and git name them.
                .map(|t| notes::FileSection {
                    path: paths::shown_str(&t.real),
                    created: t.before.is_none(),
                    diff: diff(std::slice::from_ref(t), Reader::Tool, true),
                })
                .collect();
            notes::markdown(&migration.notes, &files, &paths::relative_text)
        }
        Format::Json => {
            let files = targets
                .iter()
                .map(|t| JsonFile {
                    path: paths::shown_str(&t.real),
                    action: if t.before.is_some() {
                        "modify"
                    } else {
                        "create"
                    },
                    diff: diff(std::slice::from_ref(t), Reader::Tool, true),
                })
                .collect();
            let report = JsonReport {
                changes: !targets.is_empty(),
                plan: migration.plan.to_file(),
                files,
                notes: migration.notes.map_text(&paths::relative_text),
                uwsgi_ini_values: &migration.uwsgi_ini_values,
                start_command: &migration.start_command,
                already_on_uwsgi: &migration.already_on_uwsgi,
            };
            let mut json = serde_json::to_string_pretty(&report).unwrap_or_default();
            json.push('\n');
            json
        }
    }
}
