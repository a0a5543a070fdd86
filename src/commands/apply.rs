//! `mgdeploy apply PLAN`: show a saved plan as a diff, ask, write it.

use std::path::Path;

use super::{Failure, Status, confirm_and_commit, say, write_stdout};
use crate::apply::resolve;
use crate::cli::ApplyArgs;
use crate::diagnostic::Diagnostic;
use crate::migrate::notes::Notes;
use crate::plan::{Plan, PlanFile};
use crate::report::diff::{FileDiff, unified};
use crate::sysroot::Sysroot;

/// A saved plan, and what migrate said about it when it made it.
pub struct SavedPlan {
    pub plan: Plan,
    pub notes: Option<Notes>,
}

/// Reads a plan from JSON: a bare plan, or the `plan` field of what
/// `migrate --format json` prints (with its `notes`); its paths are the
/// server's, found in `sysroot` on this machine.
pub fn read_plan(path: &Path, sysroot: Sysroot) -> Result<SavedPlan, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::from(
            Diagnostic::error(format!("cannot read {}: {e}", path.display())).in_file(path),
        )
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::from(
            Diagnostic::error(format!(
                "{}:{}:{}: not JSON: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
            .in_file(path),
        )
    })?;
    let notes = value
        .get("notes")
        .and_then(|notes| serde_json::from_value::<Notes>(notes.clone()).ok());
    let value = match value.get("plan") {
        Some(plan) => plan.clone(),
        None => value,
    };
    let not_a_plan = |why: String| {
        Failure::from(
            Diagnostic::error(format!("{} is not an mgdeploy plan: {why}", path.display()))
                .in_file(path),
        )
    };
    let file: PlanFile = serde_json::from_value(value).map_err(|e| not_a_plan(e.to_string()))?;
    let plan = Plan::from_file(file, sysroot).map_err(not_a_plan)?;
    Ok(SavedPlan { plan, notes })
}

pub fn apply(args: &ApplyArgs) -> Result<Status, Failure> {
    let sysroot = match &args.sysroot {
        Some(dir) => Sysroot::mirror(dir).map_err(|e| {
            Failure::from(
                Diagnostic::error(format!(
                    "cannot use {} as the server's tree: {e}",
                    dir.display()
                ))
                .in_file(dir),
            )
        })?,
        None => Sysroot::none(),
    };
    let SavedPlan { plan, notes } = read_plan(&args.plan, sysroot)?;
    let targets = resolve(&plan)?;
    if targets.is_empty() {
        say("Nothing to do: the plan changes no file.");
        return Ok(Status::Clean);
    }
    let diffs: Vec<FileDiff<'_>> = targets
        .iter()
        .map(|t| FileDiff {
            path: &t.shown,
            old: t.before.as_deref(),
            new: Some(&t.after),
            symlink: t.link.is_some(),
        })
        .collect();
    let mut text = unified(&diffs, crate::report::diff::Reader::Person { color: true });
    // What migrate said when it made the plan: the same warnings and next
    // steps as applying it there.
    if let Some(notes) = &notes {
        text.push('\n');
        if super::verbosity() != super::Verbosity::Quiet {
            text.push_str(&crate::report::notes::text(notes));
        }
    }
    write_stdout(text.as_bytes())?;
    let created = targets.iter().filter(|t| t.before.is_none()).count();
    let question = format!(
        "Apply: change {} file(s), create {created}?",
        targets.len() - created
    );
    confirm_and_commit(&plan, &targets, args.confirm.yes, &question)
}
