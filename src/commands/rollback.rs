//! `mgdeploy rollback`: undo the last applied or interrupted change.

use super::{Failure, Status, proceed, say, write_stdout};
use crate::apply::journal::State;
use crate::apply::{rollback as restore, rollback_plan};
use crate::cli::RollbackArgs;
use crate::report::diff::{FileDiff, unified};

pub fn rollback(args: &RollbackArgs) -> Result<Status, Failure> {
    let root = &args.discovery.root;
    let Some(plan) = rollback_plan(root)? else {
        say(&format!(
            "Nothing to roll back: no applied change is recorded in {}.",
            root.join(crate::apply::journal::DIR).display()
        ));
        return Ok(Status::Clean);
    };
    let interrupted = plan.transaction.journal.state == State::Prepared;
    if !plan.changes_anything() {
        // Interrupted before any file was replaced: only clean up.
        restore(root, &plan)?;
        say(&format!(
            "No file needed restoring; the interrupted change {} is cleaned up.",
            plan.transaction.journal.id
        ));
        return Ok(Status::Clean);
    }
    let diffs: Vec<FileDiff<'_>> = plan
        .files
        .iter()
        .map(|f| FileDiff {
            path: &f.shown,
            old: f.now.as_deref(),
            new: f.restored.as_deref(),
        })
        .collect();
    write_stdout(unified(&diffs, true).as_bytes())?;
    for file in plan.files.iter().filter(|f| f.edited_since) {
        say(&format!(
            "warning: {} was changed after mgdeploy wrote it; rolling back discards those changes too.",
            file.shown.display()
        ));
    }
    let what = if interrupted {
        "interrupted"
    } else {
        "applied"
    };
    let question = format!(
        "Roll back the {what} change {}?",
        plan.transaction.journal.id
    );
    if !proceed(args.confirm.yes, &question, "roll back") {
        return Ok(Status::Attention);
    }
    restore(root, &plan)?;
    say(&format!(
        "Rolled back: every file is as it was before change {}.",
        plan.transaction.journal.id
    ));
    Ok(Status::Clean)
}
