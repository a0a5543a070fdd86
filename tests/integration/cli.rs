//! The command line itself: help, usage errors, completions, the manual page.

use crate::common;

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
        "manpage",
    ] {
        assert!(text.contains(command), "--help lists {command}: {text}");
    }
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
    let bash = common::mgdeploy()
        .args(["completions", "bash"])
        .output()
        .expect("run");
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(
        script.contains("MG009") && script.contains("MG027"),
        "--explain completes the rule codes"
    );

    let man = common::mgdeploy().arg("manpage").output().expect("run");
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH mgdeploy 1"), "{page}");
    assert!(page.contains("migrate"));

    let dir = tempfile::tempdir().expect("temporary directory");
    let written = common::mgdeploy()
        .args(["manpage", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(written.status.code(), Some(0));
    for name in [
        "mgdeploy",
        "migrate",
        "check",
        "apply",
        "rollback",
        "parse",
        "completions",
        "manpage",
    ] {
        let file = if name == "mgdeploy" {
            "mgdeploy.1".to_string()
        } else {
            format!("mgdeploy-{name}.1")
        };
        let page = std::fs::read_to_string(dir.path().join(&file)).expect(&file);
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH \"EXIT STATUS\"",
            ".SH EXAMPLES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.contains(section), "{file} has {section}");
        }
        // Every exit code the page's command can end with is explained.
        assert!(page.contains(".B 0") && page.contains(".B 2"), "{file}");
    }
    // man(1) reads them without complaint.
    let output = std::process::Command::new("man")
        .args(["--warnings", "-l", "-Tutf8"])
        .arg(dir.path().join("mgdeploy-check.1"))
        .env("MANWIDTH", "80")
        .output()
        .expect("man (apt install man-db)");
    // Bold comes as overstrike (`X\x08X`): keep the last of each.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&output.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    assert!(
        text.contains("EXIT STATUS") && text.contains("--exit-zero"),
        "{text}"
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn explain_lists_rules_and_takes_either_case() {
    let list = common::mgdeploy()
        .args(["check", "--explain"])
        .output()
        .expect("run");
    assert_eq!(list.status.code(), Some(0));
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.lines().filter(|l| l.starts_with("MG0")).count() >= 27,
        "{text}"
    );
    let one = common::mgdeploy()
        .args(["check", "--explain", "mg013"])
        .output()
        .expect("run");
    assert_eq!(one.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&one.stdout).starts_with("MG013 (public-uwsgi-socket"));
    let unknown = common::mgdeploy()
        .args(["check", "--explain", "MG999"])
        .output()
        .expect("run");
    assert_eq!(unknown.status.code(), Some(2));
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
