//! A plan: the edits to existing files and the new files a migration makes,
//! and the one place where edits are applied to text.
//!
//! Edits touch only the bytes that must change; every other byte of a file
//! stays as it was, so a diff of the plan shows the migration and nothing
//! else. A plan records the checksum of every file it read, so that applying
//! it later can refuse when a file changed in between.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checksum::Sha256Hex;
use crate::source::Span;
use crate::sysroot::Sysroot;

/// Replace the bytes of `span` with `replacement` (an empty span inserts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

impl Edit {
    pub fn replace(span: Span, replacement: impl Into<String>) -> Self {
        Edit {
            start: span.start,
            end: span.end,
            replacement: replacement.into(),
        }
    }

    pub fn insert(offset: usize, text: impl Into<String>) -> Self {
        Edit::replace(Span::at(offset), text)
    }

    pub fn delete(span: Span) -> Self {
        Edit::replace(span, "")
    }

    pub fn span(&self) -> Span {
        Span::new(self.start, self.end)
    }

    /// The same edit with `from` at the start of its replacement's lines
    /// written as `to`.
    pub fn reindented(mut self, from: &str, to: &str) -> Self {
        if from != to {
            let lines: Vec<String> = self
                .replacement
                .split_inclusive('\n')
                .map(|line| match line.strip_prefix(from) {
                    Some(rest) => format!("{to}{rest}"),
                    None => line.to_string(),
                })
                .collect();
            self.replacement = lines.concat();
        }
        self
    }
}

/// Why a set of edits cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditError {
    /// Two edits claim the same bytes.
    Overlap { first: Span, second: Span },
    /// An edit reaches past the end of the text.
    OutOfBounds { span: Span, len: usize },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Overlap { first, second } => write!(
                f,
                "edits overlap: bytes {}..{} and {}..{}",
                first.start, first.end, second.start, second.end
            ),
            EditError::OutOfBounds { span, len } => write!(
                f,
                "edit at bytes {}..{} is outside the {len}-byte file",
                span.start, span.end
            ),
        }
    }
}

/// Applies `edits` to `original`. Edits are sorted by position (insertions
/// before a replacement at the same offset, and edits at the same place in
/// the order given), refused if any two overlap, then applied from the end so
/// that every span still points at the original bytes.
pub fn apply_edits(original: &[u8], edits: &[Edit]) -> Result<Vec<u8>, EditError> {
    let mut order: Vec<&Edit> = edits.iter().collect();
    order.sort_by_key(|e| (e.start, e.end));
    for edit in &order {
        if edit.start > edit.end || edit.end > original.len() {
            return Err(EditError::OutOfBounds {
                span: edit.span(),
                len: original.len(),
            });
        }
    }
    for pair in order.windows(2) {
        if let [a, b] = pair
            && a.end > b.start
        {
            return Err(EditError::Overlap {
                first: a.span(),
                second: b.span(),
            });
        }
    }
    let mut out = original.to_vec();
    for edit in order.iter().rev() {
        out.splice(edit.start..edit.end, edit.replacement.bytes());
    }
    Ok(out)
}

/// What happens to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Change {
    /// Edit an existing file; `sha256` is what it held when planned.
    Modify { sha256: Sha256Hex, edits: Vec<Edit> },
    /// Write a file that does not exist yet.
    Create { content: String },
    /// Make a symbolic link where nothing is yet, to `target` (as written in
    /// the link: Debian's `apps-enabled/x.ini -> ../apps-available/x.ini`).
    Link { target: PathBuf },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// The path as the user and nginx know it (it may be a symlink).
    pub path: PathBuf,
    #[serde(flatten)]
    pub change: Change,
}

/// Every file a migration touches, by where it is on this machine. `root`
/// is the MediaGoblin checkout; its `.mgdeploy/` directory keeps the backups
/// and journal of applied plans. Saved, a plan is a `PlanFile`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub root: PathBuf,
    pub files: Vec<FileChange>,
    /// How `nginx -t` tests the result, when the plan changes nginx's files
    /// (the server's paths).
    pub nginx_gate: Option<crate::nginx::binary::Gate>,
    /// Where the server's files are on this machine.
    pub sysroot: Sysroot,
}

/// The version of `PlanFile` this mgdeploy writes.
pub const PLAN_FORMAT: u32 = 2;

/// A plan as saved (`migrate --format json`) and applied elsewhere (`mgdeploy
/// apply`): every path is the server's, relative to its `/`, so the same
/// file applies on the server or on a mirror of it (`apply --sysroot DIR`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFile {
    /// `PLAN_FORMAT`.
    pub format: u32,
    pub root: PathBuf,
    pub files: Vec<FileChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_gate: Option<crate::nginx::binary::Gate>,
}

/// `/a/b` → `a/b`.
fn relative_to_slash(server: &Path) -> PathBuf {
    server.strip_prefix("/").unwrap_or(server).to_path_buf()
}

/// A saved path is plain: relative, without `.` or `..`.
fn plain(path: &Path) -> bool {
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

impl Plan {
    /// The plan as saved: the server's paths, relative to its `/`.
    pub fn to_file(&self) -> PlanFile {
        let server = |host: &Path| relative_to_slash(&self.sysroot.server(host));
        PlanFile {
            format: PLAN_FORMAT,
            root: server(&self.root),
            files: self
                .files
                .iter()
                .map(|f| FileChange {
                    path: server(&f.path),
                    change: f.change.clone(),
                })
                .collect(),
            nginx_gate: self.nginx_gate.clone(),
        }
    }

    /// A saved plan, on this machine (`sysroot`: where the server's files
    /// are). Refuses another format, and paths that are not plain.
    pub fn from_file(file: PlanFile, sysroot: Sysroot) -> Result<Plan, String> {
        if file.format != PLAN_FORMAT {
            return Err(format!(
                "it is a plan of format {}; this mgdeploy applies format {PLAN_FORMAT}: make the plan again",
                file.format
            ));
        }
        let host = |saved: &Path| -> Result<PathBuf, String> {
            if !plain(saved) {
                return Err(format!("{} is not a plain path", saved.display()));
            }
            Ok(sysroot.host(&Path::new("/").join(saved)))
        };
        let files = file
            .files
            .iter()
            .map(|f| {
                // A link's target is written into the link as it is: one
                // with a line break or NUL is not one mgdeploy makes.
                if let Change::Link { target } = &f.change {
                    let text = target.to_string_lossy();
                    if text.is_empty() || text.contains(['\0', '\n']) {
                        return Err(format!("{} is not a link target", target.display()));
                    }
                }
                Ok(FileChange {
                    path: host(&f.path)?,
                    change: f.change.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Plan {
            root: host(&file.root)?,
            files,
            nginx_gate: file.nginx_gate,
            sysroot,
        })
    }
}

impl Plan {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Plan {
            root: root.into(),
            files: Vec::new(),
            nginx_gate: None,
            sysroot: Sysroot::none(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Adds edits to a file read with content `original`.
    pub fn modify(&mut self, path: &Path, original: &[u8], edits: Vec<Edit>) {
        if edits.is_empty() {
            return;
        }
        self.files.push(FileChange {
            path: path.to_path_buf(),
            change: Change::Modify {
                sha256: Sha256Hex::of(original),
                edits,
            },
        });
    }

    /// A symbolic link at `path` to `target`.
    pub fn link(&mut self, path: &Path, target: &Path) {
        self.files.push(FileChange {
            path: path.to_path_buf(),
            change: Change::Link {
                target: target.to_path_buf(),
            },
        });
    }

    pub fn create(&mut self, path: &Path, content: impl Into<String>) {
        self.files.push(FileChange {
            path: path.to_path_buf(),
            change: Change::Create {
                content: content.into(),
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, text: &str) -> Edit {
        Edit::replace(Span::new(start, end), text)
    }

    #[test]
    fn edits_apply_from_the_end_against_original_offsets() {
        let out = apply_edits(
            b"fastcgi_pass a; fastcgi_param b;",
            &[edit(0, 7, "uwsgi"), edit(16, 23, "uwsgi")],
        )
        .unwrap();
        assert_eq!(out, b"uwsgi_pass a; uwsgi_param b;");
        // The order edits are given in does not matter for disjoint spans.
        let out = apply_edits(
            b"fastcgi_pass a; fastcgi_param b;",
            &[edit(16, 23, "uwsgi"), edit(0, 7, "uwsgi")],
        )
        .unwrap();
        assert_eq!(out, b"uwsgi_pass a; uwsgi_param b;");
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let error = apply_edits(b"0123456789", &[edit(2, 5, "x"), edit(4, 6, "y")]).unwrap_err();
        assert_eq!(
            error,
            EditError::Overlap {
                first: Span::new(2, 5),
                second: Span::new(4, 6)
            }
        );
        // The same bytes replaced twice is an overlap too.
        assert!(apply_edits(b"0123456789", &[edit(2, 5, "x"), edit(2, 5, "y")]).is_err());
        // An insertion inside a replaced range is.
        assert!(apply_edits(b"0123456789", &[edit(2, 5, "x"), edit(3, 3, "y")]).is_err());
    }

    #[test]
    fn edits_at_the_same_offset_keep_their_order() {
        let out = apply_edits(b"ab", &[edit(1, 1, "1"), edit(1, 1, "2"), edit(1, 1, "3")]).unwrap();
        assert_eq!(out, b"a123b");
        // An insertion at the start of a replacement goes before it, and one
        // at its end after it.
        let out = apply_edits(
            b"abcd",
            &[edit(1, 3, "X"), edit(1, 1, "<"), edit(3, 3, ">")],
        )
        .unwrap();
        assert_eq!(out, b"a<X>d");
    }

    #[test]
    fn out_of_bounds_edits_are_refused() {
        assert_eq!(
            apply_edits(b"abc", &[edit(2, 9, "")]),
            Err(EditError::OutOfBounds {
                span: Span::new(2, 9),
                len: 3
            })
        );
        assert!(apply_edits(b"abc", &[edit(2, 1, "")]).is_err());
    }

    #[test]
    fn deletion_and_no_edits() {
        assert_eq!(
            apply_edits(b"abc", &[Edit::delete(Span::new(0, 1))]).unwrap(),
            b"bc"
        );
        assert_eq!(apply_edits(b"abc", &[]).unwrap(), b"abc");
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn a_saved_plan_names_the_server_s_files() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = std::fs::canonicalize(dir.path()).unwrap();
        let mut plan = Plan::new(mirror.join("srv/mg"));
        plan.sysroot = Sysroot::mirror(&mirror).unwrap();
        plan.create(&mirror.join("srv/mg/uwsgi.ini"), "[uwsgi]\n");
        let saved = plan.to_file();
        assert_eq!(saved.root, Path::new("srv/mg"));
        assert_eq!(saved.files[0].path, Path::new("srv/mg/uwsgi.ini"));
        // On the server.
        let there = Plan::from_file(saved.clone(), Sysroot::none()).unwrap();
        assert_eq!(there.files[0].path, Path::new("/srv/mg/uwsgi.ini"));
        // Nothing outside the server's tree.
        let mut escaping = saved;
        escaping.files[0].path = PathBuf::from("../../etc/shadow");
        assert!(Plan::from_file(escaping, Sysroot::none()).is_err());
    }
}
