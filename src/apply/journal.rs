//! The journal of a transaction: what it changes, where the backups are, and
//! how far it got. It lives in `<root>/.mgdeploy/<id>/journal.json` and is
//! written before the first file is replaced, so the next run can finish the
//! undo of a transaction that was interrupted. Everything is read and
//! written through `statedir`, which trusts only what the running user alone
//! controls.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsops::{Ownership, StepError, sibling};
use super::statedir::{StateDir, TxDir};
use crate::checksum::Sha256Hex;

pub use super::statedir::DIR;

const FILE: &str = "journal.json";
const VERSION: u32 = 3;
/// Journals before directory identities: still rolled back, each directory
/// checked for links only.
const VERSION_WITHOUT_IDENTITIES: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Backups and new versions are written; files may be half replaced.
    Prepared,
    /// Every file was replaced.
    Committed,
    /// Every file is back as it was (or never changed).
    RolledBack,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub sha256: Sha256Hex,
    #[serde(flatten)]
    pub ownership: Ownership,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFile {
    /// The path as the plan named it (maybe a symlink).
    pub shown_as: PathBuf,
    /// The file actually replaced (symlinks resolved).
    pub target: PathBuf,
    /// The identity of `target`'s directory when the plan was read: every
    /// later step refuses another directory at that path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<super::dir::DirId>,
    /// What it held before: `None` when the transaction created it.
    pub before: Option<FileState>,
    /// The backup of `before`, a file name in the transaction's directory.
    pub backup: Option<String>,
    pub after: FileState,
    /// The new version, written next to `target` before the rename.
    pub staged: PathBuf,
    /// The transaction made `target` a symbolic link to this (`after` is
    /// the checksum of the link's target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub id: String,
    pub state: State,
    pub files: Vec<JournalFile>,
}

/// A journal and the directory it lives in.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub dir: PathBuf,
    pub tx: TxDir,
    pub journal: Journal,
}

impl Transaction {
    /// Writes the journal atomically (temporary file, fsync, rename, fsync).
    pub fn save(&self) -> Result<(), StepError> {
        let staged = format!("{FILE}.new");
        self.tx.remove(&staged);
        let json = serde_json::to_vec_pretty(&self.journal).map_err(|e| StepError {
            step: "write the journal",
            path: self.tx.file_path(FILE),
            error: std::io::Error::other(e),
        })?;
        self.tx.write_new(&staged, &json)?;
        self.tx.replace(&staged, FILE)
    }

    /// A backup's bytes.
    pub fn read_backup(&self, name: &str) -> Result<Vec<u8>, StepError> {
        self.tx.read(name)?.ok_or_else(|| StepError {
            step: "read the backup",
            path: self.tx.file_path(name),
            error: std::io::Error::new(std::io::ErrorKind::NotFound, "it is missing"),
        })
    }

    pub fn backup_path(&self, name: &str) -> PathBuf {
        self.tx.file_path(name)
    }
}

/// A new, empty transaction directory under `root`.
pub fn begin(state: &StateDir) -> Result<Transaction, StepError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let id = format!(
        "{:011}.{:09}-{}",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    );
    let tx = state.create_transaction(&id)?;
    Ok(Transaction {
        dir: tx.path.clone(),
        tx,
        journal: Journal {
            version: VERSION,
            id,
            state: State::Prepared,
            files: Vec::new(),
        },
    })
}

/// A path a journal may name: absolute, with no `.` or `..` in it.
fn plain_absolute(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// Refuses a journal that does not describe a plan mgdeploy made: paths
/// that are not plain and absolute, new versions not beside their target,
/// backups that are not files of the transaction.
fn check(journal: &Journal, path: &Path) -> Result<(), StepError> {
    let bad = |why: String| {
        Err(StepError {
            step: "trust the journal",
            path: path.to_path_buf(),
            error: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        })
    };
    if journal.version != VERSION && journal.version != VERSION_WITHOUT_IDENTITIES {
        return bad(format!("it is version {}, not {VERSION}", journal.version));
    }
    if journal.version == VERSION && journal.files.iter().any(|f| f.dir.is_none()) {
        return bad("a file's directory has no identity".to_string());
    }
    for (index, file) in journal.files.iter().enumerate() {
        if !plain_absolute(&file.target) || !plain_absolute(&file.shown_as) {
            return bad(format!(
                "{} is not a plain absolute path",
                file.target.display()
            ));
        }
        if file.staged != sibling(&file.target, &journal.id, index) {
            return bad(format!(
                "{} is not where mgdeploy puts the new version of {}",
                file.staged.display(),
                file.target.display()
            ));
        }
        let expected_backup = file.before.as_ref().map(|_| format!("backup-{index}"));
        if file.backup != expected_backup {
            return bad(format!(
                "the backup of {} is misnamed",
                file.target.display()
            ));
        }
    }
    Ok(())
}

/// Every transaction recorded under `root`, oldest first. A directory whose
/// journal was never written (a crash before anything was replaced) is not a
/// transaction.
pub fn transactions(state: &StateDir) -> Result<Vec<Transaction>, StepError> {
    let mut out = Vec::new();
    for tx in state.transactions()? {
        let Some(bytes) = tx.read(FILE)? else {
            continue;
        };
        let path = tx.file_path(FILE);
        let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| StepError {
            step: "read the journal",
            path: path.clone(),
            error: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        if journal.id != tx.name() {
            return Err(StepError {
                step: "trust the journal",
                path,
                error: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "it names another transaction than its directory",
                ),
            });
        }
        check(&journal, &path)?;
        out.push(Transaction {
            dir: tx.path.clone(),
            tx,
            journal,
        });
    }
    out.sort_by(|a, b| a.journal.id.cmp(&b.journal.id));
    Ok(out)
}

/// The newest transaction that is not rolled back: what `rollback` undoes.
pub fn latest_open(state: &StateDir) -> Result<Option<Transaction>, StepError> {
    Ok(transactions(state)?
        .into_iter()
        .rev()
        .find(|t| t.journal.state != State::RolledBack))
}

/// A transaction that was interrupted before it committed.
pub fn unfinished(state: &StateDir) -> Result<Option<Transaction>, StepError> {
    Ok(transactions(state)?
        .into_iter()
        .find(|t| t.journal.state == State::Prepared))
}
