//! Writing a plan to disk, every file or none, and undoing it.
//!
//! A transaction first writes a backup of every file it will replace and the
//! new version of each next to its target (same directory, so the rename is
//! atomic), fsyncs them, and records all of it in a journal. Only then does
//! it swap the new versions into place, checking at the moment of each swap
//! that the file still holds what the plan was made from (an edit saved
//! meanwhile is swapped back and stops the transaction), fsyncing each
//! directory. If any step fails, the files already replaced are put back;
//! if the process dies, the journal tells the next `mgdeploy rollback` what
//! to put back. Symlinks are resolved when the plan is read, so the file a
//! link points to is what gets replaced and the link stays a link; a file
//! with several hard links is refused, since the swap would leave its other
//! names behind.
//!
//! Every directory is reached without following a link and checked to be
//! the one the plan was read from, then written only through its
//! descriptor (`dir`): the checkout's owner cannot redirect a write, an
//! undo or a rollback by swapping a directory. A link that another account
//! made is followed only to a file that account owns. Files keep their
//! mode and owner; a new one belongs, with mode 0644, to the checkout's
//! owner inside the checkout and to the user running mgdeploy (root)
//! anywhere else.
//!
//! Backups and journals live in `<root>/.mgdeploy` (`statedir`), trusted only
//! when nobody but the running user controls it.

pub mod dir;
pub mod fsops;
pub mod journal;
pub mod statedir;

use std::path::{Path, PathBuf};

use dir::{Dir, DirId, Expect, ReplaceError};
use fsops::{Ownership, StepError, is_root, sibling};
use journal::{FileState, JournalFile, State, Transaction};
use statedir::{Lock, StateDir};

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
    /// The identity of `real`'s directory when it was read.
    pub dir: DirId,
    /// Its content now; `None` for a file the plan creates.
    pub before: Option<Vec<u8>>,
    pub before_ownership: Option<Ownership>,
    pub after: Vec<u8>,
    pub after_ownership: Ownership,
    /// The plan makes a symbolic link to this target (`after` holds it).
    pub link: Option<PathBuf>,
}

fn failure(error: &StepError) -> Diagnostic {
    Diagnostic::error(error.to_string()).in_file(&error.path)
}

/// Refuses a target reached through a symbolic link that an account other
/// than root or the running user made, unless that account owns what the
/// link leads to (`owner`): a link planted in the checkout must not make
/// root write someone else's file.
fn check_links(shown: &Path, real: &Path, owner: u32) -> Result<(), Diagnostic> {
    let me = rustix::process::geteuid().as_raw();
    let links = dir::links_on_the_way(shown).unwrap_or_default();
    for (link, uid) in links {
        if uid != 0 && uid != me && uid != owner {
            return Err(Diagnostic::error(format!(
                "{} leads through {}, a symbolic link that uid {uid} made, to {}, which uid {uid} does not own",
                shown.display(),
                link.display(),
                real.display()
            ))
            .in_file(shown)
            .with_note("nothing was written: mgdeploy follows another account's link only to that account's own files")
            .with_help("replace the link by the file, or name the file itself"));
        }
    }
    Ok(())
}

/// Reads every file of `plan` and computes its new content. Fails, before
/// anything is written, when a file changed since the plan was made, is not
/// a regular file, has other hard links, or is reached through a link it
/// should not be.
pub fn resolve(plan: &Plan) -> Result<Vec<Target>, Diagnostic> {
    let mut targets: Vec<Target> = Vec::new();
    let sysroot = &plan.sysroot;
    for file in &plan.files {
        let shown = file.path.clone();
        let target = match &file.change {
            Change::Modify { sha256, edits } => {
                // In a mirror, links are followed as the server would.
                let real = sysroot.resolve(&sysroot.server(&shown)).map_err(|e| {
                    Diagnostic::error(format!("cannot find {}: {e}", shown.display()))
                        .in_file(&shown)
                })?;
                let opened = Dir::open(dir::parent(&real)).map_err(|e| failure(&e))?;
                let name = dir::file_name(&real).map_err(|e| failure(&e))?;
                let stat = opened
                    .stat(name)
                    .map_err(|e| failure(&e))?
                    .filter(|s| {
                        rustix::fs::FileType::from_raw_mode(s.st_mode)
                            == rustix::fs::FileType::RegularFile
                    })
                    .ok_or_else(|| {
                        Diagnostic::error(format!("{} is not a regular file", shown.display()))
                            .in_file(&shown)
                    })?;
                if stat.st_nlink > 1 {
                    return Err(Diagnostic::error(format!(
                        "{} has {} hard links; replacing it would leave the other names with the old content",
                        real.display(),
                        stat.st_nlink
                    ))
                    .in_file(&shown)
                    .with_note("nothing was written")
                    .with_help(format!(
                        "make the name nginx reads the only one (for instance a symbolic link to {}), then run mgdeploy again",
                        real.display()
                    )));
                }
                if !sysroot.is_mirror() {
                    check_links(&shown, &real, stat.st_uid)?;
                }
                let (before, ownership) = opened
                    .read(name)
                    .map_err(|e| failure(&e))?
                    .ok_or_else(|| changed_since_planning(&shown))?;
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
                Target {
                    shown,
                    real,
                    dir: opened.id,
                    before: Some(before),
                    before_ownership: Some(ownership),
                    after,
                    after_ownership: ownership,
                    link: None,
                }
            }
            Change::Create { .. } | Change::Link { .. } => {
                if let Some(what) = sysroot.what_is_at(&shown) {
                    return Err(Diagnostic::error(format!(
                        "{} is {what} now; the plan was made when nothing was there",
                        shown.display()
                    ))
                    .in_file(&shown)
                    .with_help("move it away, or make the plan again"));
                }
                let parent = dir::parent(&shown);
                let real_dir = sysroot.resolve(&sysroot.server(parent)).map_err(|e| {
                    // Who owns a new directory under /etc, and with what
                    // mode, is the admin's call.
                    Diagnostic::error(format!(
                        "cannot find the directory of {}: {e}",
                        shown.display()
                    ))
                    .in_file(&shown)
                    .with_help(format!(
                        "mgdeploy creates files, not directories: create {} first (as the package that owns it would)",
                        parent.display()
                    ))
                })?;
                let opened = Dir::open(&real_dir).map_err(|e| failure(&e))?;
                let real = real_dir.join(shown.file_name().unwrap_or_default());
                if !sysroot.is_mirror() {
                    let dir_owner = opened.stat(".").ok().flatten().map_or(0, |s| s.st_uid);
                    check_links(parent, &real_dir, dir_owner)?;
                }
                let (after, link) = match &file.change {
                    Change::Link { target } => (
                        target.as_os_str().as_encoded_bytes().to_vec(),
                        Some(target.clone()),
                    ),
                    Change::Create { content } => (content.clone().into_bytes(), None),
                    Change::Modify { .. } => (Vec::new(), None),
                };
                Target {
                    after_ownership: new_file_ownership(plan, &real),
                    shown,
                    real,
                    dir: opened.id,
                    before: None,
                    before_ownership: None,
                    after,
                    link,
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

/// A new file gets mode 0644. Inside the checkout it belongs to the
/// checkout's owner, like the files around it; anywhere else (a unit under
/// /etc/systemd, an ini under /etc/uwsgi) to the user running mgdeploy:
/// root, never the account that owns the checkout, or that account could
/// edit what root runs. In a mirror, owners are this machine's and say
/// nothing: they are left as creating the file makes them.
fn new_file_ownership(plan: &Plan, real: &Path) -> Ownership {
    let root = plan
        .sysroot
        .resolve(&plan.sysroot.server(&plan.root))
        .unwrap_or_else(|_| plan.root.clone());
    let inside = real.starts_with(&root);
    let owner = (is_root() && inside && !plan.sysroot.is_mirror())
        .then(|| std::fs::metadata(&root).ok())
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

fn another_run(state: &StateDir) -> Diagnostic {
    Diagnostic::error("another mgdeploy is changing this site right now")
        .in_file(state.path())
        .with_help("wait for it to finish, then run this again")
}

/// `.mgdeploy`, created if needed, and its lock.
fn lock(root: &Path) -> Result<(StateDir, Lock), Diagnostic> {
    let state = StateDir::open(root, true)
        .map_err(|e| failure(&e))?
        .ok_or_else(|| Diagnostic::error("cannot create the state directory").in_file(root))?;
    match state.try_lock().map_err(|e| failure(&e))? {
        Some(lock) => Ok((state, lock)),
        None => Err(another_run(&state)),
    }
}

fn interrupted(root: &Path, transaction: &Transaction) -> Diagnostic {
    Diagnostic::error(format!(
        "an earlier run was interrupted while it changed files (transaction {})",
        transaction.journal.id
    ))
    .in_file(&transaction.dir)
    .with_help(format!(
        "run `mgdeploy rollback -C {}` to put those files back first",
        root.display()
    ))
}

/// Refuses to start while another run changes the site, or on top of a
/// transaction that was interrupted. Creates nothing.
pub fn check_no_unfinished(root: &Path) -> Result<(), Diagnostic> {
    let Some(state) = StateDir::open(root, false).map_err(|e| failure(&e))? else {
        return Ok(());
    };
    if state.locked_by_another().map_err(|e| failure(&e))? {
        return Err(another_run(&state));
    }
    match journal::unfinished(&state).map_err(|e| failure(&e))? {
        None => Ok(()),
        Some(transaction) => Err(interrupted(root, &transaction)),
    }
}

/// The uWSGI ini the newest applied change under `root` created or
/// changed, if it is still there: where `check` finds the ini `migrate`
/// wrote when it was told to write it elsewhere. A state directory that
/// cannot be trusted tells nothing.
pub fn last_written_uwsgi_ini(root: &Path) -> Option<PathBuf> {
    let state = StateDir::open(root, false).ok()??;
    let transactions = journal::transactions(&state).ok()?;
    transactions
        .iter()
        .rev()
        .filter(|t| t.journal.state == journal::State::Committed)
        .flat_map(|t| &t.journal.files)
        .find(|file| {
            file.target.extension().is_some_and(|e| e == "ini")
                && content_now(file).is_some_and(|bytes| {
                    String::from_utf8_lossy(&bytes)
                        .lines()
                        .any(|line| line.trim() == "[uwsgi]")
                })
        })
        .map(|file| file.target.clone())
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

/// Each target's directory, opened and checked to be the one it was read
/// from, and its file name.
fn open_dirs(targets: &[Target]) -> Result<Vec<(Dir, String)>, Diagnostic> {
    targets
        .iter()
        .map(|target| {
            let opened = Dir::open_expecting(dir::parent(&target.real), Some(target.dir))
                .map_err(|e| failure(&e).with_note("nothing was written"))?;
            let name = dir::file_name(&target.real).map_err(|e| failure(&e))?;
            Ok((opened, name.to_string()))
        })
        .collect()
}

/// Writes `targets` (from `resolve`) as one transaction under `root`.
pub fn commit(
    root: &Path,
    targets: &[Target],
    validate: Option<Validate<'_>>,
) -> Result<Applied, Diagnostic> {
    let (state, _lock) = lock(root)?;
    if let Some(transaction) = journal::unfinished(&state).map_err(|e| failure(&e))? {
        return Err(interrupted(root, &transaction));
    }
    let dirs = open_dirs(targets)?;
    for (target, (opened, name)) in targets.iter().zip(&dirs) {
        let unchanged = match &target.before {
            Some(before) => opened
                .read(name)
                .map_err(|e| failure(&e))?
                .is_some_and(|(now, _)| now == *before),
            None => opened.stat(name).map_err(|e| failure(&e))?.is_none(),
        };
        if !unchanged {
            return Err(changed_since_planning(&target.shown));
        }
    }
    let mut transaction = journal::begin(&state).map_err(|e| failure(&e))?;
    if let Err(error) = prepare(&mut transaction, targets, &dirs) {
        discard(&state, &transaction, &dirs);
        return Err(failure(&error).with_note("nothing was changed"));
    }
    let mut replaced = 0;
    let mut result: Result<(), ReplaceError> = Ok(());
    for (file, (opened, name)) in transaction.journal.files.iter().zip(&dirs) {
        let expect = match &file.before {
            Some(before) => Expect::Holds(&before.sha256),
            None => Expect::Absent,
        };
        let staged = staged_name(file);
        match opened.replace_checked(&staged, name, expect) {
            Ok(()) => replaced += 1,
            Err(error @ (ReplaceError::Changed(_) | ReplaceError::NotDone(_))) => {
                result = Err(error);
                break;
            }
            Err(error @ ReplaceError::Done(_)) => {
                // The new version took the name; only what came after
                // failed. It is put back with the others.
                replaced += 1;
                result = Err(error);
                break;
            }
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
            result = Err(ReplaceError::Done(error));
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
            let diagnostic = match error {
                ReplaceError::Changed(path) => Diagnostic::error(format!(
                    "{} changed while mgdeploy was applying the plan",
                    path.display()
                ))
                .in_file(&path)
                .with_note("it was left as it is, with that change")
                .with_help("make the plan again, so that it starts from the file as it is now"),
                ReplaceError::NotDone(error) | ReplaceError::Done(error) => failure(&error),
            };
            Err(match undone {
                Ok(()) => diagnostic.with_note("every other file was put back as it was"),
                Err(undo_error) => diagnostic
                    .with_note(format!("putting the files back failed too: {undo_error}"))
                    .with_help(format!("run `mgdeploy rollback -C {}`", root.display())),
            })
        }
    }
}

/// The staged new version's name in the target's directory.
fn staged_name(file: &JournalFile) -> String {
    file.staged
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Backups, the journal and the new versions, all fsynced; nothing replaced
/// yet. The journal is saved before the new versions are written, so that a
/// crash while writing them leaves a record of what to clean up.
fn prepare(
    transaction: &mut Transaction,
    targets: &[Target],
    dirs: &[(Dir, String)],
) -> Result<(), StepError> {
    let tag = transaction.journal.id.clone();
    for (index, target) in targets.iter().enumerate() {
        let before = match (&target.before, target.before_ownership) {
            (Some(bytes), Some(ownership)) => {
                let name = format!("backup-{index}");
                transaction.tx.write_new(&name, bytes)?;
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
            dir: Some(target.dir),
            backup: before.as_ref().map(|(name, _)| name.clone()),
            before: before.map(|(_, state)| state),
            after: FileState {
                sha256: Sha256Hex::of(&target.after),
                ownership: target.after_ownership,
            },
            staged: sibling(&target.real, &tag, index),
            link: target.link.clone(),
        });
    }
    transaction.save()?;
    for ((file, target), (opened, _)) in transaction.journal.files.iter().zip(targets).zip(dirs) {
        let staged = staged_name(file);
        match &target.link {
            Some(link) => opened.symlink(&staged, link)?,
            None => opened.write_new(&staged, &target.after, target.after_ownership)?,
        }
    }
    Ok(())
}

/// Removes what `prepare` wrote after a failure that replaced nothing.
fn discard(state: &StateDir, transaction: &Transaction, dirs: &[(Dir, String)]) {
    for (file, (opened, _)) in transaction.journal.files.iter().zip(dirs) {
        opened.discard(&staged_name(file));
    }
    state.remove_transaction(&transaction.tx);
}

/// Puts back the first `replaced` files of a transaction, newest first, and
/// marks it rolled back. Each directory is opened again and must be the
/// one the journal names.
fn undo(transaction: &mut Transaction, replaced: usize) -> Result<(), StepError> {
    let files: Vec<JournalFile> = transaction.journal.files.clone();
    for (index, file) in files.iter().enumerate().take(replaced).rev() {
        restore(transaction, index, file)?;
    }
    for file in &files {
        if let Ok(opened) = Dir::open_expecting(dir::parent(&file.target), file.dir) {
            let staged = staged_name(file);
            if opened.stat(&staged).ok().flatten().is_some() {
                opened.discard(&staged);
            }
        }
    }
    transaction.journal.state = State::RolledBack;
    transaction.save()
}

/// What a journal's file is now: a link's target, or a file's bytes;
/// `None` when nothing is there, or its directory is not the journal's.
fn content_now(file: &JournalFile) -> Option<Vec<u8>> {
    let opened = Dir::open_expecting(dir::parent(&file.target), file.dir).ok()?;
    opened.content(dir::file_name(&file.target).ok()?, file.link.is_some())
}

/// A backup, checked against the journal's checksum.
fn trusted_backup(
    transaction: &Transaction,
    name: &str,
    before: &FileState,
) -> Result<Vec<u8>, StepError> {
    let bytes = transaction.read_backup(name)?;
    if Sha256Hex::of(&bytes) != before.sha256 {
        return Err(StepError {
            step: "trust the backup",
            path: transaction.backup_path(name),
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "its checksum does not match the journal",
            ),
        });
    }
    Ok(bytes)
}

/// Puts one file back as the journal recorded it before the transaction.
fn restore(transaction: &Transaction, index: usize, file: &JournalFile) -> Result<(), StepError> {
    dir::within(&file.target, file.dir, |opened, name| {
        match (&file.before, &file.backup) {
            (Some(before), Some(backup)) => {
                let bytes = trusted_backup(transaction, backup, before)?;
                if opened
                    .read(name)
                    .ok()
                    .flatten()
                    .is_some_and(|(now, ownership)| now == bytes && ownership == before.ownership)
                {
                    return Ok(());
                }
                let staged = sibling(
                    &file.target,
                    &format!("{}-restore", transaction.journal.id),
                    index,
                );
                let staged = dir::file_name(&staged)?;
                opened.discard(staged);
                opened.write_new(staged, &bytes, before.ownership)?;
                opened.rename(staged, name)
            }
            _ => match opened.content(name, file.link.is_some()) {
                // Only the file (or link) this transaction wrote is removed.
                Some(now) if Sha256Hex::of(&now) == file.after.sha256 => opened.remove(name),
                _ => Ok(()),
            },
        }
    })
}

/// What `rollback` does with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    /// Put back what the backup holds.
    Restore,
    /// Remove the file the transaction created.
    Remove,
    /// Keep it: the transaction created it and someone changed it since.
    KeepEdited,
    /// Nothing to do: it is as it was before.
    Nothing,
}

/// One file as `rollback` would change it.
#[derive(Clone, Debug)]
pub struct Restoration {
    /// The path as the plan named it (maybe a symlink).
    pub shown: PathBuf,
    /// The file that is written: what `shown` resolved to.
    pub target: PathBuf,
    /// What it holds now (`None`: it does not exist).
    pub now: Option<Vec<u8>>,
    /// What it will hold (`None`: it will be removed).
    pub restored: Option<Vec<u8>>,
    pub undo: Undo,
    /// The transaction made it a symbolic link.
    pub link: bool,
    /// It was changed by something else after mgdeploy wrote it: that
    /// version is kept in the transaction's directory before rollback.
    pub edited_since: bool,
}

/// The transaction `rollback` would undo, and what it would do to each file.
#[derive(Clone, Debug)]
pub struct RollbackPlan {
    pub state: StateDir,
    pub transaction: Transaction,
    pub files: Vec<Restoration>,
}

impl RollbackPlan {
    pub fn changes_anything(&self) -> bool {
        self.files.iter().any(|f| f.now != f.restored)
    }

    /// Where the version of file `index` edited after the move is kept.
    pub fn edited_copy(&self, index: usize) -> PathBuf {
        self.transaction.tx.file_path(&format!("edited-{index}"))
    }
}

/// What undoing the newest applied or interrupted transaction would do;
/// `None` when nothing is recorded. Every backup is read and checked here,
/// before anything is touched. With a mirror (`jail`), a journal that names
/// a file outside it is refused.
pub fn rollback_plan(root: &Path, jail: Option<&Path>) -> Result<Option<RollbackPlan>, Diagnostic> {
    let Some(state) = StateDir::open(root, false).map_err(|e| failure(&e))? else {
        return Ok(None);
    };
    let Some(transaction) = journal::latest_open(&state).map_err(|e| failure(&e))? else {
        return Ok(None);
    };
    let mut files = Vec::new();
    for file in &transaction.journal.files {
        if let Some(jail) = jail
            && !file.target.starts_with(jail)
        {
            return Err(Diagnostic::error(format!(
                "the journal names {}, outside the server's tree {}",
                file.target.display(),
                jail.display()
            ))
            .in_file(&transaction.dir)
            .with_note("nothing was changed"));
        }
        // Where the journal says, or nowhere: a directory swapped since the
        // change stops the rollback before anything is touched.
        Dir::open_expecting(dir::parent(&file.target), file.dir).map_err(|e| {
            failure(&e).with_note(
                "nothing was changed: every file's directory is checked before any file is",
            )
        })?;
        let now = content_now(file);
        let (restored, undo) = match (&file.before, &file.backup) {
            (Some(before), Some(backup)) => {
                let bytes = trusted_backup(&transaction, backup, before).map_err(|e| {
                    failure(&e).with_note(
                        "nothing was changed: every backup is checked before any file is",
                    )
                })?;
                let undo = if now.as_deref() == Some(bytes.as_slice()) {
                    Undo::Nothing
                } else {
                    Undo::Restore
                };
                (Some(bytes), undo)
            }
            _ => match &now {
                // A created file is only removed if it is still what was written.
                Some(bytes) if Sha256Hex::of(bytes) != file.after.sha256 => {
                    (now.clone(), Undo::KeepEdited)
                }
                Some(_) => (None, Undo::Remove),
                None => (None, Undo::Nothing),
            },
        };
        let edited_since = transaction.journal.state == State::Committed
            && file.before.is_some()
            && now
                .as_ref()
                .is_some_and(|bytes| Sha256Hex::of(bytes) != file.after.sha256);
        files.push(Restoration {
            shown: file.shown_as.clone(),
            target: file.target.clone(),
            now,
            restored,
            undo,
            link: file.link.is_some(),
            edited_since,
        });
    }
    Ok(Some(RollbackPlan {
        state,
        transaction,
        files,
    }))
}

/// Undoes the transaction of `plan` (from `rollback_plan`). A version edited
/// after the move is first kept in the transaction's directory.
pub fn rollback(plan: &RollbackPlan) -> Result<(), Diagnostic> {
    let _lock = match plan.state.try_lock().map_err(|e| failure(&e))? {
        Some(lock) => lock,
        None => return Err(another_run(&plan.state)),
    };
    for (index, file) in plan.files.iter().enumerate() {
        if let (true, Some(now)) = (file.edited_since, &file.now) {
            let name = format!("edited-{index}");
            plan.transaction.tx.remove(&name);
            plan.transaction
                .tx
                .write_new(&name, now)
                .map_err(|e| failure(&e).with_note("nothing was changed"))?;
        }
    }
    let mut transaction = plan.transaction.clone();
    let count = transaction.journal.files.len();
    undo(&mut transaction, count).map_err(|error| {
        failure(&error)
            .with_help("fix the cause and run `mgdeploy rollback` again; it starts over safely")
    })
}
