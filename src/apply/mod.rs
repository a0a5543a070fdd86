//! Writing a plan to disk, every file or none, and undoing it.
//!
//! A transaction first writes a backup of every file it will replace and the
//! new version of each next to its target (same directory, so the rename is
//! atomic; same mode and owner as the file it replaces), fsyncs them, and
//! records all of it in a journal. Only then does it rename the new versions
//! into place, fsyncing each directory. If any step fails, the files already
//! replaced are put back; if the process dies, the journal tells the next
//! `mgdeploy rollback` what to put back. Symlinks are resolved, so the file
//! a link points to is what gets replaced and the link stays a link.

pub mod fsops;
pub mod journal;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use fsops::{
    Ownership, StepError, is_root, remove_durably, rename_durably, sibling, step, write_new,
};
use journal::{FileState, JournalFile, State, Transaction};

use crate::checksum::Sha256Hex;
use crate::diagnostic::Diagnostic;
use crate::plan::{Change, Plan, apply_edits};

/// Mode of files mgdeploy creates: configuration, readable by the services.
pub const NEW_FILE_MODE: u32 = 0o644;

/// One file of a plan, read and resolved: what it holds and what it will.
#[derive(Clone, Debug)]
pub struct Target {
    /// The path as the plan names it.
    pub shown: PathBuf,
    /// The file that is replaced: `shown` with symlinks resolved.
    pub real: PathBuf,
    /// Its content now; `None` for a file the plan creates.
    pub before: Option<Vec<u8>>,
    pub before_ownership: Option<Ownership>,
    pub after: Vec<u8>,
    pub after_ownership: Ownership,
}

fn failure(error: &StepError) -> Diagnostic {
    Diagnostic::error(error.to_string()).in_file(&error.path)
}

/// Reads every file of `plan` and computes its new content. Fails, before
/// anything is written, when a file changed since the plan was made.
pub fn resolve(plan: &Plan) -> Result<Vec<Target>, Diagnostic> {
    let mut targets: Vec<Target> = Vec::new();
    for file in &plan.files {
        let shown = file.path.clone();
        let target = match &file.change {
            Change::Modify { sha256, edits } => {
                let real =
                    step("find", &shown, fs::canonicalize(&shown)).map_err(|e| failure(&e))?;
                let metadata = step("read", &real, fs::metadata(&real)).map_err(|e| failure(&e))?;
                if !metadata.is_file() {
                    return Err(Diagnostic::error(format!(
                        "{} is not a regular file",
                        shown.display()
                    ))
                    .in_file(&shown));
                }
                let before = step("read", &real, fs::read(&real)).map_err(|e| failure(&e))?;
                if Sha256Hex::of(&before) != *sha256 {
                    return Err(changed_since_planning(&shown));
                }
                let after = apply_edits(&before, edits).map_err(|e| {
                    Diagnostic::error(format!(
                        "the plan's edits to {} do not fit the file: {e}",
                        shown.display()
                    ))
                    .in_file(&shown)
                })?;
                let ownership = Ownership::of(&metadata);
                Target {
                    shown,
                    real,
                    before: Some(before),
                    before_ownership: Some(ownership),
                    after,
                    after_ownership: ownership,
                }
            }
            Change::Create { content } => {
                if fs::symlink_metadata(&shown).is_ok() {
                    return Err(Diagnostic::error(format!(
                        "{} already exists; the plan was made when it did not",
                        shown.display()
                    ))
                    .in_file(&shown)
                    .with_help("move it away, or make the plan again"));
                }
                let dir = step(
                    "find the directory of",
                    &shown,
                    fs::canonicalize(fsops::parent(&shown)),
                )
                .map_err(|e| failure(&e))?;
                let real = dir.join(shown.file_name().unwrap_or_default());
                Target {
                    shown,
                    real,
                    before: None,
                    before_ownership: None,
                    after: content.clone().into_bytes(),
                    after_ownership: new_file_ownership(&plan.root),
                }
            }
        };
        if let Some(twin) = targets.iter().find(|t| t.real == target.real) {
            return Err(Diagnostic::error(format!(
                "the plan changes {} twice (as {} and {})",
                target.real.display(),
                twin.shown.display(),
                target.shown.display()
            )));
        }
        targets.push(target);
    }
    Ok(targets)
}

/// New files get mode 0644 and, when mgdeploy runs as root, the owner of the
/// checkout, like the files around them.
fn new_file_ownership(root: &Path) -> Ownership {
    let owner = is_root()
        .then(|| fs::metadata(root).ok())
        .flatten()
        .map(|m| Ownership::of(&m));
    Ownership {
        mode: NEW_FILE_MODE,
        uid: owner.and_then(|o| o.uid),
        gid: owner.and_then(|o| o.gid),
    }
}

fn changed_since_planning(path: &Path) -> Diagnostic {
    Diagnostic::error(format!(
        "{} changed after the plan was made",
        path.display()
    ))
    .in_file(path)
    .with_note("nothing was written")
    .with_help("make the plan again, so that it starts from the file as it is now")
}

/// An exclusive lock on `<root>/.mgdeploy/lock` for as long as it lives, so
/// that two runs cannot interleave their transactions.
struct Lock {
    _file: fs::File,
}

fn lock(root: &Path) -> Result<Lock, Diagnostic> {
    let dir = root.join(journal::DIR);
    if !dir.exists() {
        step("create", &dir, fs::create_dir(&dir)).map_err(|e| failure(&e))?;
        // The journal will live here: its directory entry must be durable
        // before any file is replaced.
        fsops::sync_dir(root).map_err(|e| failure(&e))?;
    }
    let path = dir.join("lock");
    let file = step(
        "open",
        &path,
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path),
    )
    .map_err(|e| failure(&e))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !locked {
        return Err(
            Diagnostic::error("another mgdeploy is changing this site right now")
                .in_file(&path)
                .with_help("wait for it to finish, then run this again"),
        );
    }
    Ok(Lock { _file: file })
}

/// Refuses to start on top of a transaction that was interrupted.
pub fn check_no_unfinished(root: &Path) -> Result<(), Diagnostic> {
    match journal::unfinished(root).map_err(|e| failure(&e))? {
        None => Ok(()),
        Some(transaction) => Err(Diagnostic::error(format!(
            "an earlier run was interrupted while it changed files (transaction {})",
            transaction.journal.id
        ))
        .in_file(&transaction.dir)
        .with_help(format!(
            "run `mgdeploy rollback -C {}` to put those files back first",
            root.display()
        ))),
    }
}

/// What a successful apply did.
#[derive(Clone, Debug)]
pub struct Applied {
    pub id: String,
    pub dir: PathBuf,
    pub files: usize,
}

/// A last check run with every new file in place, before the transaction
/// counts as done (e.g. `nginx -t`); failing it puts every file back.
pub type Validate<'a> = &'a dyn Fn() -> Result<(), Diagnostic>;

/// Writes `targets` (from `resolve`) as one transaction under `root`.
pub fn commit(
    root: &Path,
    targets: &[Target],
    validate: Option<Validate<'_>>,
) -> Result<Applied, Diagnostic> {
    let _lock = lock(root)?;
    check_no_unfinished(root)?;
    for target in targets {
        let now = fs::read(&target.real).ok();
        if now != target.before {
            return Err(changed_since_planning(&target.shown));
        }
    }
    let mut transaction = journal::begin(root).map_err(|e| failure(&e))?;
    let prepared = prepare(&mut transaction, targets);
    if let Err(error) = prepared {
        discard(&transaction);
        return Err(failure(&error).with_note("nothing was changed"));
    }
    let mut replaced = 0;
    let mut result = Ok(());
    for file in &transaction.journal.files {
        // A failed fsync after a successful rename leaves the file replaced,
        // so it counts as replaced either way; putting back a file that was
        // not replaced changes nothing.
        replaced += 1;
        if let Err(error) = rename_durably(&file.staged, &file.target) {
            result = Err(error);
            break;
        }
    }
    if result.is_ok()
        && let Some(validate) = validate
        && let Err(rejected) = validate()
    {
        transaction.journal.state = State::Prepared;
        return Err(match undo(&mut transaction, replaced) {
            Ok(()) => rejected.with_note("every file was put back as it was"),
            Err(undo_error) => rejected
                .with_note(format!("putting the files back failed: {undo_error}"))
                .with_help(format!("run `mgdeploy rollback -C {}`", root.display())),
        });
    }
    if result.is_ok() {
        transaction.journal.state = State::Committed;
        if let Err(error) = transaction.save() {
            replaced = transaction.journal.files.len();
            result = Err(error);
        }
    }
    match result {
        Ok(()) => Ok(Applied {
            id: transaction.journal.id.clone(),
            dir: transaction.dir.clone(),
            files: replaced,
        }),
        Err(error) => {
            transaction.journal.state = State::Prepared;
            let undone = undo(&mut transaction, replaced);
            Err(match undone {
                Ok(()) => failure(&error).with_note("every file was put back as it was"),
                Err(undo_error) => failure(&error)
                    .with_note(format!("putting the files back failed too: {undo_error}"))
                    .with_help(format!("run `mgdeploy rollback -C {}`", root.display())),
            })
        }
    }
}

/// Backups, the journal and the new versions, all fsynced; nothing replaced
/// yet. The journal is saved before the new versions are written, so that a
/// crash while writing them leaves a record of what to clean up.
fn prepare(transaction: &mut Transaction, targets: &[Target]) -> Result<(), StepError> {
    let tag = transaction.journal.id.clone();
    for (index, target) in targets.iter().enumerate() {
        let before = match (&target.before, target.before_ownership) {
            (Some(bytes), Some(ownership)) => {
                let name = format!("backup-{index}");
                write_new(
                    &transaction.backup_path(&name),
                    bytes,
                    Ownership {
                        mode: 0o600,
                        uid: None,
                        gid: None,
                    },
                )?;
                Some((
                    name,
                    FileState {
                        sha256: Sha256Hex::of(bytes),
                        ownership,
                    },
                ))
            }
            _ => None,
        };
        transaction.journal.files.push(JournalFile {
            shown_as: target.shown.clone(),
            target: target.real.clone(),
            backup: before.as_ref().map(|(name, _)| name.clone()),
            before: before.map(|(_, state)| state),
            after: FileState {
                sha256: Sha256Hex::of(&target.after),
                ownership: target.after_ownership,
            },
            staged: sibling(&target.real, &tag),
        });
    }
    transaction.save()?;
    for (file, target) in transaction.journal.files.iter().zip(targets) {
        write_new(&file.staged, &target.after, target.after_ownership)?;
    }
    Ok(())
}

/// Removes what `prepare` wrote after a failure that replaced nothing.
fn discard(transaction: &Transaction) {
    for file in &transaction.journal.files {
        let _ = fs::remove_file(&file.staged);
    }
    let _ = fs::remove_dir_all(&transaction.dir);
}

/// Puts back the first `replaced` files of a transaction, newest first, and
/// marks it rolled back.
fn undo(transaction: &mut Transaction, replaced: usize) -> Result<(), StepError> {
    let files: Vec<JournalFile> = transaction.journal.files.clone();
    for file in files.iter().take(replaced).rev() {
        restore(transaction, file)?;
    }
    for file in &files {
        if file.staged.exists() {
            let _ = fs::remove_file(&file.staged);
        }
    }
    transaction.journal.state = State::RolledBack;
    transaction.save()
}

/// What the file looks like on disk now.
fn current(path: &Path) -> Option<(Vec<u8>, Ownership)> {
    let metadata = fs::metadata(path).ok()?;
    let bytes = fs::read(path).ok()?;
    Some((bytes, Ownership::of(&metadata)))
}

/// Puts one file back as the journal recorded it before the transaction.
fn restore(transaction: &Transaction, file: &JournalFile) -> Result<(), StepError> {
    match (&file.before, &file.backup) {
        (Some(before), Some(backup)) => {
            let backup_path = transaction.backup_path(backup);
            let bytes = step("read the backup", &backup_path, fs::read(&backup_path))?;
            if Sha256Hex::of(&bytes) != before.sha256 {
                return Err(StepError {
                    step: "trust the backup",
                    path: backup_path,
                    error: io::Error::new(
                        io::ErrorKind::InvalidData,
                        "its checksum does not match the journal",
                    ),
                });
            }
            if current(&file.target)
                .is_some_and(|(now, ownership)| now == bytes && ownership == before.ownership)
            {
                return Ok(());
            }
            let staged = sibling(&file.target, &format!("{}-restore", transaction.journal.id));
            let _ = fs::remove_file(&staged);
            write_new(&staged, &bytes, before.ownership)?;
            rename_durably(&staged, &file.target)
        }
        _ => match current(&file.target) {
            // Only the file this transaction wrote is removed.
            Some((now, _)) if Sha256Hex::of(&now) == file.after.sha256 => {
                remove_durably(&file.target)
            }
            _ => Ok(()),
        },
    }
}

/// One file as `rollback` would change it.
#[derive(Clone, Debug)]
pub struct Restoration {
    pub shown: PathBuf,
    pub target: PathBuf,
    /// What it holds now (`None`: it does not exist).
    pub now: Option<Vec<u8>>,
    /// What it will hold (`None`: it will be removed).
    pub restored: Option<Vec<u8>>,
    /// It was changed by something else after mgdeploy wrote it.
    pub edited_since: bool,
}

/// The transaction `rollback` would undo, and what it would do to each file.
#[derive(Clone, Debug)]
pub struct RollbackPlan {
    pub transaction: Transaction,
    pub files: Vec<Restoration>,
}

impl RollbackPlan {
    pub fn changes_anything(&self) -> bool {
        self.files.iter().any(|f| f.now != f.restored)
    }
}

/// What undoing the newest applied or interrupted transaction would do;
/// `None` when nothing is recorded.
pub fn rollback_plan(root: &Path) -> Result<Option<RollbackPlan>, Diagnostic> {
    let Some(transaction) = journal::latest_open(root).map_err(|e| failure(&e))? else {
        return Ok(None);
    };
    let mut files = Vec::new();
    for file in &transaction.journal.files {
        let now = fs::read(&file.target).ok();
        let restored = match &file.backup {
            Some(backup) => {
                let path = transaction.backup_path(backup);
                Some(step("read the backup", &path, fs::read(&path)).map_err(|e| failure(&e))?)
            }
            None => match &now {
                // A created file is only removed if it is still what was written.
                Some(bytes) if Sha256Hex::of(bytes) != file.after.sha256 => now.clone(),
                _ => None,
            },
        };
        let edited_since = transaction.journal.state == State::Committed
            && now
                .as_ref()
                .is_some_and(|bytes| Sha256Hex::of(bytes) != file.after.sha256);
        files.push(Restoration {
            shown: file.shown_as.clone(),
            target: file.target.clone(),
            now,
            restored,
            edited_since,
        });
    }
    Ok(Some(RollbackPlan { transaction, files }))
}

/// Undoes the transaction of `plan` (from `rollback_plan`).
pub fn rollback(root: &Path, plan: &RollbackPlan) -> Result<(), Diagnostic> {
    let _lock = lock(root)?;
    let mut transaction = plan.transaction.clone();
    let count = transaction.journal.files.len();
    undo(&mut transaction, count).map_err(|error| {
        failure(&error)
            .with_help("fix the cause and run `mgdeploy rollback` again; it starts over safely")
    })
}
