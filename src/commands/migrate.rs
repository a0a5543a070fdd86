//! `mgdeploy migrate`: plan the move to uWSGI, show it, and apply it.

use serde::Serialize;

use super::{Failure, Status, confirm_and_commit, write_stdout};
use crate::apply::{Target, check_no_unfinished, resolve};
use crate::cli::{MigrateArgs, PlanFormat};
use crate::deploy::discover::discover;
use crate::deploy::locations::{escalate_missing_includes, mediagoblin_locations};
use crate::diagnostic::{Diagnostic, Severity};
use crate::migrate::{Migration, plan};
use crate::report::diff::of_targets as diff;
use crate::report::{notes, paths};

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

fn render(format: PlanFormat, migration: &Migration, targets: &[Target]) -> String {
    let nothing = match &migration.already_on_uwsgi {
        Some(place) => format!("MediaGoblin is already served by uWSGI ({place})."),
        None => "MediaGoblin is already served by uWSGI here.".to_string(),
    };
    // -q: the diff alone.
    let summary = if super::verbosity() == super::Verbosity::Quiet {
        String::new()
    } else {
        notes::text(&migration.notes)
    };
    match format {
        PlanFormat::Text if targets.is_empty() => format!("Nothing to do: {nothing}\n{summary}"),
        PlanFormat::Text => format!("{}\n{summary}", diff(targets, true, false)),
        PlanFormat::Patch => diff(targets, false, true),
        PlanFormat::Markdown if targets.is_empty() => {
            notes::markdown_nothing(&paths::relative_text(&nothing))
        }
        PlanFormat::Markdown => {
            let files: Vec<notes::FileSection> = targets
                .iter()
                // The files themselves, as the patch and git name them.
                .map(|t| notes::FileSection {
                    path: paths::shown_str(&t.real),
                    created: t.before.is_none(),
                    diff: diff(std::slice::from_ref(t), false, true),
                })
                .collect();
            notes::markdown(&migration.notes, &files, &paths::relative_text)
        }
        PlanFormat::Json => {
            let files = targets
                .iter()
                .map(|t| JsonFile {
                    path: paths::shown_str(&t.real),
                    action: if t.before.is_some() {
                        "modify"
                    } else {
                        "create"
                    },
                    diff: diff(std::slice::from_ref(t), false, true),
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

pub fn migrate(
    args: &MigrateArgs,
    report: &mut dyn FnMut(&[Diagnostic]),
) -> Result<Status, Failure> {
    let config = super::load_config(&args.discovery)?;
    let (deployment, problems) = discover(&args.discovery.discovery(&config))?;
    super::describe_deployment(&deployment);
    check_no_unfinished(&deployment.root)?;
    let mut nginx_problems = problems.nginx;
    if let Ok(selection) = mediagoblin_locations(&deployment, None) {
        let ours: Vec<_> = selection.fastcgi.iter().collect();
        escalate_missing_includes(&mut nginx_problems, &ours);
    }
    // nginx would refuse what is an error here: nothing is planned on it.
    let (errors, mut warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = nginx_problems
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(Failure {
            diagnostics: errors,
        });
    }
    warnings.extend(
        problems
            .other
            .into_iter()
            .map(|d| d.with_severity(Severity::Warning)),
    );
    report(&warnings);
    let migration = plan(&deployment, &args.migration.options(&config))?;
    let targets = resolve(&migration.plan)?;
    let rendered = render(args.format, &migration, &targets);
    if args.format == PlanFormat::Text {
        write_stdout(rendered.as_bytes())?;
    } else {
        super::write_stdout_plain(rendered.as_bytes())?;
    }
    if targets.is_empty() {
        return Ok(Status::Clean);
    }
    let status = if args.dry_run {
        Status::Attention
    } else {
        confirm_and_commit(
            &migration.plan,
            &targets,
            args.confirm.yes,
            "Apply these changes?",
        )?
    };
    // A CI step that posts the plan must not fail on it.
    Ok(if args.exit_zero {
        Status::Clean
    } else {
        status
    })
}
