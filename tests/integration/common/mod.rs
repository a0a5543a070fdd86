//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod http;
pub mod servers;

use std::path::{Path, PathBuf};

/// `../shared` beside the checkout (the corpus, real MediaGoblin builders).
pub fn shared() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(
        dir.is_dir(),
        "../shared is missing: expected it at {} (beside the checkout)",
        dir.display()
    );
    dir
}

/// `../shared/corpus` beside the checkout. Tests that need it fail loudly
/// when it is missing instead of passing without having run.
pub fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "the test corpus is missing: expected it at {} (the shared folder beside the checkout)",
        dir.display()
    );
    dir
}

/// Every regular file under `dir`, dot files included, sorted, skipping
/// directories named in `skip`.
pub fn files_under(dir: &Path, skip: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                if !skip.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The Python of `.venv` (made by `.ci/python-env`), or `MGDEPLOY_TEST_PYTHON`.
/// Fails with what to run when it is missing.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MGDEPLOY_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run .ci/python-env (it installs crossplane and flup into .venv)",
        python.display()
    );
    python
}

/// The mgdeploy binary under test.
pub fn mgdeploy() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_mgdeploy"))
}
