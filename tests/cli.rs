//! The command line itself: help, usage errors, completions, the manual page.

mod common;

use std::io::Read;
use std::process::Stdio;

#[test]
fn help_exits_0_and_usage_errors_exit_2() {
    let help = common::mgdeploy().arg("--help").output().expect("run");
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for command in [
        "migrate",
        "check",
        "parse",
        "apply",
        "rollback",
        "completions",
    ] {
        assert!(text.contains(command), "--help lists {command}: {text}");
    }
    assert!(!text.contains("manpage"), "the man page command is hidden");
    let bad = common::mgdeploy()
        .args(["migrate", "--no-such-flag"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    let bad = common::mgdeploy()
        .args(["migrate", "--script-name", "guess"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    let both = common::mgdeploy()
        .args(["migrate", "--dry-run", "--yes"])
        .output()
        .expect("run");
    assert_eq!(both.status.code(), Some(2), "--dry-run and --yes conflict");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = common::mgdeploy()
            .args(["completions", shell])
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("mgdeploy"),
            "{shell}"
        );
    }
    let man = common::mgdeploy().arg("manpage").output().expect("run");
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH mgdeploy"),
        "{page}"
    );
    assert!(page.contains("migrate"));
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    // Far more JSON than a pipe holds, so the write meets the closed end.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("big.conf");
    let config: String = (0..20_000)
        .map(|i| format!("set $v{i} value{i};\n"))
        .collect();
    std::fs::write(&path, format!("http {{\n{config}}}\n")).expect("write");
    let mut child = common::mgdeploy()
        .arg("parse")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    // Read one byte and hang up, as `| head -c1` does.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).expect("one byte");
    drop(stdout);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
