//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod http;
pub mod pages;
pub mod servers;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `command` with nothing on its standard input; panics only when it
/// cannot be started.
pub fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// `git -C dir ARGS` with a fixed identity and no line-ending conversion;
/// a failing git fails the test.
pub fn git(dir: &Path, args: &[&str]) -> Output {
    let output = run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=mgdeploy",
            "-c",
            "user.email=tests@mgdeploy.invalid",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args));
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Copies what is in `from` into `to` (made if missing): files with their
/// permissions, directories, symbolic links as links.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("list") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&path).expect("link"), &target)
                .expect("symlink");
        } else if meta.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

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

/// Waits until the process strace (`tracer`) runs is held in one of the
/// system calls `numbers` (as /proc shows them, x86_64's numbering), by a
/// `delay_enter` injection: timing-free, however loaded the machine is.
pub fn held_in_syscall(tracer: u32, numbers: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let children = std::fs::read_to_string(format!("/proc/{tracer}/task/{tracer}/children"))
            .unwrap_or_default();
        let held = children.split_whitespace().any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| {
                let number = s.split_whitespace().next().unwrap_or_default();
                numbers.contains(&number)
            })
        });
        if held {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the traced process never reached system call {numbers:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// What nginx's directive table refuses in `config`, read from `path`.
pub fn refused_by_nginx(
    path: &Path,
    config: &mgdeploy::nginx::syntax::Config,
) -> Vec<mgdeploy::diagnostic::Diagnostic> {
    let loaded = mgdeploy::nginx::include::Loaded {
        files: vec![mgdeploy::nginx::include::LoadedFile {
            path: path.to_path_buf(),
            config: Ok(config.clone()),
            includes: Vec::new(),
            include_errors: Vec::new(),
            stock: None,
        }],
    };
    mgdeploy::nginx::analyze::analyze(&loaded, false)
}

/// The directive `name` with arguments nginx's table accepts in a location
/// (the first of a few that fit), as a line; `None` where nginx allows it
/// in no location (`fastcgi_cache_path` is http-level).
pub fn in_a_location(name: &str) -> Option<String> {
    ["on", "8k", "4 8k", "a b c"].iter().find_map(|args| {
        let line = format!("{name} {args};");
        let text = format!("server {{\n    location / {{\n        {line}\n    }}\n}}\n");
        let source = mgdeploy::source::SourceFile::new("/probe.conf", text);
        let config = mgdeploy::nginx::parse(&source).ok()?;
        refused_by_nginx(Path::new("/probe.conf"), &config)
            .is_empty()
            .then_some(line)
    })
}
