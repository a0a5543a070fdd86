//! `mgdeploy rollback`: undo the last applied or interrupted change.

use super::{Failure, Status, proceed, say, write_stdout};
use crate::apply::journal::State;
use crate::apply::{Undo, rollback as restore, rollback_plan};
use crate::cli::RollbackArgs;
use crate::report::diff::{FileDiff, unified};

pub fn rollback(args: &RollbackArgs) -> Result<Status, Failure> {
    let config = super::load_config(&args.discovery)?;
    let discovery = args.discovery.discovery(&config);
    let root = &discovery.host_root();
    let jail = match &discovery.sysroot {
        Some(dir) => Some(std::fs::canonicalize(dir).map_err(|e| {
            super::Failure::from(
                crate::diagnostic::Diagnostic::error(format!(
                    "cannot use {} as the server's tree: {e}",
                    dir.display()
                ))
                .in_file(dir),
            )
        })?),
        None => None,
    };
    let Some(plan) = rollback_plan(root, jail.as_deref())? else {
        say(&format!(
            "Nothing to roll back: no applied change is recorded in {}.",
            root.join(crate::apply::journal::DIR).display()
        ));
        return Ok(Status::Clean);
    };
    let id = plan.transaction.journal.id.clone();
    let interrupted = plan.transaction.journal.state == State::Prepared;
    if !plan.changes_anything() {
        // Interrupted before any file was replaced: only clean up.
        restore(&plan)?;
        say(&format!(
            "No file needed restoring; the interrupted change {id} is cleaned up."
        ));
        return Ok(Status::Clean);
    }
    // The diff names the files that are written: a symlink's target, not
    // the link the plan reached it through.
    let diffs: Vec<FileDiff<'_>> = plan
        .files
        .iter()
        .filter(|f| f.now != f.restored)
        .map(|f| FileDiff {
            path: &f.target,
            old: f.now.as_deref(),
            new: f.restored.as_deref(),
            symlink: f.link,
        })
        .collect();
    write_stdout(unified(&diffs, crate::report::diff::Reader::Person { color: true }).as_bytes())?;
    for file in plan.files.iter().filter(|f| f.shown != f.target) {
        say(&format!(
            "{} is the file behind {}.",
            file.target.display(),
            file.shown.display()
        ));
    }
    for (index, file) in plan.files.iter().enumerate() {
        if file.edited_since {
            say(&format!(
                "warning: {} was changed after mgdeploy wrote it; that version will be kept in {}.",
                file.target.display(),
                plan.edited_copy(index).display()
            ));
        }
        if file.undo == Undo::KeepEdited {
            say(&format!(
                "warning: {} was created by the change but edited since; it will be kept.",
                file.target.display()
            ));
        }
    }
    let what = if interrupted {
        "interrupted"
    } else {
        "applied"
    };
    let question = format!("Roll back the {what} change {id}?");
    if !proceed(args.confirm.yes, &question, "roll back") {
        return Ok(Status::Attention);
    }
    restore(&plan)?;
    let kept: Vec<String> = plan
        .files
        .iter()
        .filter(|f| f.undo == Undo::KeepEdited)
        .map(|f| {
            format!(
                "{} (created by the change, edited since: kept)",
                f.target.display()
            )
        })
        .collect();
    let copies: Vec<String> = plan
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.edited_since)
        .map(|(index, f)| {
            format!(
                "{}: its edited version is in {}",
                f.target.display(),
                plan.edited_copy(index).display()
            )
        })
        .collect();
    if kept.is_empty() && copies.is_empty() {
        say(&format!(
            "Rolled back: every file is as it was before change {id}."
        ));
    } else {
        say(&format!(
            "Rolled back change {id}; every other file is as it was before it."
        ));
        for line in kept.iter().chain(&copies) {
            say(&format!("  {line}"));
        }
    }
    Ok(Status::Clean)
}
