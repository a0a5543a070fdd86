//! `mgdeploy apply PLAN`: show a saved plan as a diff, ask, write it.

use std::path::Path;

use super::{Failure, Status, proceed, say, write_stdout};
use crate::apply::{commit, resolve};
use crate::cli::ApplyArgs;
use crate::diagnostic::Diagnostic;
use crate::plan::Plan;
use crate::report::diff::{FileDiff, unified};

/// Reads a plan from JSON: a bare plan, or the `plan` field of what
/// `migrate --format json` prints.
pub fn read_plan(path: &Path) -> Result<Plan, Failure> {
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
    let value = match value.get("plan") {
        Some(plan) => plan.clone(),
        None => value,
    };
    serde_json::from_value(value).map_err(|e| {
        Failure::from(
            Diagnostic::error(format!("{} is not an mgdeploy plan: {e}", path.display()))
                .in_file(path),
        )
    })
}

pub fn apply(args: &ApplyArgs) -> Result<Status, Failure> {
    let plan = read_plan(&args.plan)?;
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
        })
        .collect();
    write_stdout(unified(&diffs, true).as_bytes())?;
    let created = targets.iter().filter(|t| t.before.is_none()).count();
    let question = format!(
        "Apply: change {} file(s), create {created}?",
        targets.len() - created
    );
    if !proceed(args.confirm.yes, &question, "apply") {
        return Ok(Status::Attention);
    }
    let applied = commit(&plan.root, &targets, None)?;
    say(&format!(
        "Applied {} file(s). Backups and the journal are in {}; `mgdeploy rollback -C {}` undoes this.",
        applied.files,
        applied.dir.display(),
        plan.root.display()
    ));
    Ok(Status::Clean)
}
