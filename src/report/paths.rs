//! How paths appear in what mgdeploy prints for tools and reviewers: as
//! git shows them, relative to the work tree's root when the current
//! directory is inside one (found by its `.git`, whatever the directory
//! mgdeploy runs from), else relative to the current directory when the
//! file is under it, else absolute. A patch made anywhere in a repository
//! then applies with `git apply` at its root, and SARIF, GitHub annotations
//! and JSON name the same files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The root of the git work tree around `dir`, if any.
pub fn work_tree_of(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

fn cwd() -> Option<&'static Path> {
    static CWD: OnceLock<Option<PathBuf>> = OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().ok()).as_deref()
}

/// The work tree mgdeploy runs in (from the current directory).
pub fn work_tree() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| cwd().and_then(work_tree_of)).as_deref()
}

/// `path` as shown: relative to the work tree or the current directory
/// when it is inside them, absolute otherwise.
pub fn shown(path: &Path) -> PathBuf {
    let absolute = match cwd() {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    for base in [work_tree(), cwd()].into_iter().flatten() {
        if let Ok(relative) = absolute.strip_prefix(base) {
            return relative.to_path_buf();
        }
    }
    absolute
}

/// `shown` for a path in text.
pub fn shown_str(path: &Path) -> String {
    shown(path).display().to_string()
}

/// Text (a summary, a message) with the work tree's absolute paths made
/// relative to it, as `shown` makes them; not inside `code spans`, which
/// hold commands to run, where a relative path would mean another file.
pub fn relative_text(text: &str) -> String {
    let Some(base) = work_tree().or(cwd()) else {
        return text.to_string();
    };
    let prefix = format!("{}/", base.display());
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 0 {
                part.replace(&prefix, "")
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_tree_is_found_from_below() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        std::fs::create_dir_all(top.join(".git")).unwrap();
        std::fs::create_dir_all(top.join("ops/etc/nginx")).unwrap();
        assert_eq!(
            work_tree_of(&top.join("ops/etc/nginx")).as_deref(),
            Some(top)
        );
        assert_eq!(work_tree_of(Path::new("/")), None);
    }
}
