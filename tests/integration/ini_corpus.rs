//! The INI reader against Python: every paste.ini in the corpus resolves to
//! the values PasteDeploy's configparser gives (or both reject the file), and
//! every uWSGI ini reads in uWSGI's dialect with its repeated keys in order.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mgdeploy::ini::paste::{self, InterpolationError};
use mgdeploy::ini::uwsgi;
use mgdeploy::source::SourceFile;
use serde_json::{Map, Value, json};

fn ours(path: &Path) -> Value {
    let source = SourceFile::read(path).expect("readable corpus file");
    let document = match paste::read(&source) {
        Ok(document) => document,
        Err(error) => {
            let line = error.primary().map(|l| l.start().line);
            return json!({ "error": error.message, "line": line });
        }
    };
    let resolver = document.resolver(path);
    let mut sections = Map::new();
    let names = std::iter::once("DEFAULT".to_string())
        .chain(document.sections.iter().map(|s| s.name.clone()));
    for section in names {
        let mut values = Map::new();
        for key in resolver.keys(&section) {
            let value = match resolver.get(&section, &key) {
                Some(Ok(value)) => Value::String(value),
                Some(Err(InterpolationError::Missing { .. })) => {
                    json!({"error": "InterpolationMissingOptionError"})
                }
                Some(Err(InterpolationError::Syntax { .. })) => {
                    json!({"error": "InterpolationSyntaxError"})
                }
                Some(Err(InterpolationError::TooDeep)) => {
                    json!({"error": "InterpolationDepthError"})
                }
                Some(Err(InterpolationError::TooLong)) => json!({"error": "too long"}),
                None => json!({"error": "not found"}),
            };
            values.insert(key, value);
        }
        sections.insert(section, Value::Object(values));
    }
    json!({ "sections": sections })
}

/// Files Python reads in surprising ways, each one checked against Python.
const EDGE_CASES: &[(&str, &[u8])] = &[
    ("duplicate-key.ini", b"[app:main]\nuse = a\nuse = b\n"),
    ("duplicate-section.ini", b"[a]\nx = 1\n[b]\n[a]\n"),
    ("duplicate-default-key.ini", b"[DEFAULT]\nx = 1\nx = 2\n[a]\n"),
    ("default-twice.ini", b"[DEFAULT]\nx = 1\n[DEFAULT]\ny = 2\n[a]\n"),
    ("indented-header.ini", b"[app:main]\nuse = egg:a#app\n\n  [server:main]\n  port = 1\n"),
    ("comment-in-continuation.ini", b"[a]\nx = 1\n  # gone\n ; gone\n  2\n\n\n"),
    ("inline-semicolon.ini", b"[a]\nkey = v ; kept\nk2 = v # kept\n"),
    ("colon-first.ini", b"[a]\nhttp://host = 1\nx : y = z\n"),
    ("header-junk.ini", b"[sec] trailing junk\nx = 1\n[a]b]\ny=2\n"),
    ("no-header.ini", b"x = 1\n"),
    ("comment-before-header.ini", b"# hello\n; hi\n\n[a]\nx=1\n"),
    ("no-delimiter.ini", b"[a]\nx = 1\njust words\n"),
    ("empty-name.ini", b"[a]\n= 1\n"),
    ("crlf.ini", b"[a]\r\nx = 1\r\n  2\r\n"),
    ("cr-only.ini", b"[a]\rx = 1\r  2\r"),
    ("no-final-newline.ini", b"[a]\nx = 1"),
    ("interpolation.ini", b"[DEFAULT]\nroot = %(here)s/r\n[a]\nx = %(root)s/y\npct = 100%%\nmissing = %(nope)s\nbad = 5%\nloop = %(loop)s\nfile = %(__file__)s\n"),
    ("deep.ini", b"[a]\na0 = %(a1)s\na1 = %(a2)s\na2 = %(a3)s\na3 = %(a4)s\na4 = %(a5)s\na5 = %(a6)s\na6 = %(a7)s\na7 = %(a8)s\na8 = %(a9)s\na9 = %(a10)s\na10 = %%\nb0 = %(a2)s\n"),
    ("override-here.ini", b"[DEFAULT]\nhere = /elsewhere\n[a]\nx = %(here)s\n"),
    ("case.ini", b"[a]\nKey = 1\nkey = 2\nk = %(Key)s%(key)s\n"),
    ("empty-value-continued.ini", b"[a]\nx =\n  one\n  two\ny:\n"),
    ("tabs.ini", b"[a]\nx = 1\n\t2\n\ty = 3\n"),
    ("bom.ini", b"\xef\xbb\xbf[a]\nx = 1\n"),
    ("latin1.ini", b"[a]\nx = caf\xe9\n"),
    ("unicode-space.ini", b"[a]\nx = 1\n\xe3\x80\x80y\n\x1cz = 2\n"),
    ("nul.ini", b"[a]\nx = a\x00b\n"),
];

#[test]
fn paste_edge_cases_read_like_python() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let dir = std::fs::canonicalize(dir.path()).expect("canonical temporary directory");
    let files: Vec<PathBuf> = EDGE_CASES
        .iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).expect("write edge case");
            path
        })
        .collect();
    compare_with_python(&files, true);
}

#[test]
fn paste_files_resolve_like_python() {
    let corpus = common::corpus();
    let mut files: Vec<PathBuf> = common::files_under(&corpus.join("paste"), &["templated"]);
    files.extend(common::files_under(
        &corpus.join("mediagoblin/paste.ini"),
        &[],
    ));
    files.extend(common::files_under(
        &corpus.join("mediagoblin/mediagoblin.ini"),
        &[],
    ));
    let files: Vec<PathBuf> = files
        .into_iter()
        .map(|p| std::fs::canonicalize(&p).expect("canonical path"))
        .collect();
    assert!(files.len() > 100, "only {} INI files found", files.len());
    compare_with_python(&files, false);
}

fn compare_with_python(files: &[PathBuf], expect_rejections: bool) {
    let oracle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/configparser_values.py"
    );
    let mut child = Command::new(common::python())
        .arg(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the configparser oracle");
    let list: Vec<String> = files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    child
        .stdin
        .take()
        .expect("oracle stdin")
        .write_all(list.join("\n").as_bytes())
        .expect("write file list");
    let output = child.wait_with_output().expect("oracle output");
    assert!(output.status.success(), "the configparser oracle failed");
    let reference: Value = serde_json::from_slice(&output.stdout).expect("oracle JSON");

    let (mut same_values, mut both_reject) = (0, 0);
    let mut differences = Vec::new();
    for (path, name) in files.iter().zip(&list) {
        let theirs = &reference[name.as_str()];
        let ours = ours(path);
        match (ours.get("error"), theirs.get("error")) {
            (Some(_), Some(kind)) => {
                if ours["line"] == theirs["line"] || theirs["line"].is_null() {
                    both_reject += 1;
                } else {
                    differences.push(format!(
                        "{name}: Python's {kind} is on line {}, ours on {}",
                        theirs["line"], ours["line"]
                    ));
                }
            }
            (None, None) if ours == *theirs => same_values += 1,
            _ => differences.push(format!("{name}:\n  ours:   {ours}\n  python: {theirs}")),
        }
    }
    eprintln!("{same_values} files resolve the same, {both_reject} are rejected by both");
    assert!(
        differences.is_empty(),
        "{} files differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    if expect_rejections {
        assert!(
            both_reject > 5 && same_values > 5,
            "the edge cases should include both outcomes"
        );
    }
}

#[test]
fn uwsgi_files_read_with_repeated_keys_in_order() {
    let files = common::files_under(&common::corpus().join("uwsgi"), &["templated"]);
    assert!(files.len() > 50, "only {} uWSGI files found", files.len());
    let mut with_repeats = 0;
    for path in &files {
        let source = SourceFile::read(path).expect("readable corpus file");
        let document = uwsgi::read(&source).unwrap_or_else(|e| panic!("{e}"));
        // An independent count: every line of the [uwsgi] sections that is
        // neither blank, a comment nor a header is one entry, in order.
        let text = String::from_utf8_lossy(source.bytes());
        let mut expected = Vec::new();
        let mut in_uwsgi = false;
        for line in text.split('\n') {
            let line = line.trim_matches([' ', '\t', '\r']);
            if line.is_empty() || line.starts_with([';', '#']) {
                continue;
            }
            if line.starts_with('[') {
                in_uwsgi = line.len() >= 2 && &line[1..line.len() - 1] == "uwsgi";
                continue;
            }
            if in_uwsgi {
                let key = line
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .trim_matches([' ', '\t', '\r']);
                expected.push(key.to_string());
            }
        }
        let keys: Vec<String> = document.entries("uwsgi").map(|e| e.key.clone()).collect();
        assert_eq!(keys, expected, "{}", path.display());
        let mut seen = std::collections::HashSet::new();
        if keys.iter().any(|k| !seen.insert(k)) {
            with_repeats += 1;
        }
    }
    eprintln!(
        "{} uWSGI files read; {with_repeats} repeat a key",
        files.len()
    );
    assert!(
        with_repeats > 0,
        "no corpus file repeats a key, so order was not tested"
    );
}
