//! The journal of a transaction: what it changes, where the backups are, and
//! how far it got. It lives in `<root>/.mgdeploy/<id>/journal.json` and is
//! written before the first file is replaced, so the next run can finish the
//! undo of a transaction that was interrupted.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsops::{Ownership, StepError, rename_durably, step, sync_dir, write_new};
use crate::checksum::Sha256Hex;

/// The directory under the checkout that holds every transaction.
pub const DIR: &str = ".mgdeploy";
const FILE: &str = "journal.json";

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
    /// What it held before: `None` when the transaction created it.
    pub before: Option<FileState>,
    /// The backup of `before`, a file name in the transaction's directory.
    pub backup: Option<String>,
    pub after: FileState,
    /// The new version, written next to `target` before the rename.
    pub staged: PathBuf,
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
    pub journal: Journal,
}

impl Transaction {
    /// Writes the journal atomically (temporary file, fsync, rename, fsync).
    pub fn save(&self) -> Result<(), StepError> {
        let path = self.dir.join(FILE);
        let staged = self.dir.join(format!("{FILE}.new"));
        let _ = fs::remove_file(&staged);
        let json = serde_json::to_vec_pretty(&self.journal).unwrap_or_default();
        write_new(
            &staged,
            &json,
            Ownership {
                mode: 0o600,
                uid: None,
                gid: None,
            },
        )?;
        rename_durably(&staged, &path)
    }

    pub fn backup_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// A new, empty transaction directory under `root`.
pub fn begin(root: &Path) -> Result<Transaction, StepError> {
    let base = root.join(DIR);
    if !base.exists() {
        step("create", &base, fs::create_dir(&base))?;
        sync_dir(root)?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let id = format!(
        "{:011}.{:09}-{}",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    );
    let dir = base.join(&id);
    step("create", &dir, {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new().mode(0o700).create(&dir)
    })?;
    sync_dir(&base)?;
    Ok(Transaction {
        dir,
        journal: Journal {
            version: 1,
            id,
            state: State::Prepared,
            files: Vec::new(),
        },
    })
}

/// Every transaction recorded under `root`, oldest first. A directory whose
/// journal was never written (a crash before anything was replaced) is not a
/// transaction.
pub fn transactions(root: &Path) -> Result<Vec<Transaction>, StepError> {
    let base = root.join(DIR);
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in step("list", &base, fs::read_dir(&base))? {
        let dir = step("list", &base, entry)?.path();
        let path = dir.join(FILE);
        if !path.is_file() {
            continue;
        }
        let bytes = step("read", &path, fs::read(&path))?;
        let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| StepError {
            step: "read the journal",
            path: path.clone(),
            error: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        out.push(Transaction { dir, journal });
    }
    out.sort_by(|a, b| a.journal.id.cmp(&b.journal.id));
    Ok(out)
}

/// The newest transaction that is not rolled back: what `rollback` undoes.
pub fn latest_open(root: &Path) -> Result<Option<Transaction>, StepError> {
    Ok(transactions(root)?
        .into_iter()
        .rev()
        .find(|t| t.journal.state != State::RolledBack))
}

/// A transaction that was interrupted before it committed.
pub fn unfinished(root: &Path) -> Result<Option<Transaction>, StepError> {
    Ok(transactions(root)?
        .into_iter()
        .find(|t| t.journal.state == State::Prepared))
}
