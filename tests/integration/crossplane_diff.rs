//! `mgdeploy parse` against crossplane, the reference nginx parser, on the
//! whole corpus. crossplane runs in `.venv` (see `.ci/python-env`).

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Where two JSON trees first differ, as a path like `parsed[3].block[0].args`.
fn first_difference(path: &str, ours: &Value, theirs: &Value) -> Option<String> {
    match (ours, theirs) {
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), x, y) {
                    return Some(d);
                }
            }
            (a.len() != b.len())
                .then(|| format!("{path}: {} entries vs crossplane's {}", a.len(), b.len()))
        }
        (Value::Object(a), Value::Object(b)) => {
            for (key, x) in a {
                match b.get(key) {
                    Some(y) => {
                        if let Some(d) = first_difference(&format!("{path}.{key}"), x, y) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{key}: only mgdeploy has it")),
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: only crossplane has it"))
        }
        _ => (ours != theirs).then(|| format!("{path}: {ours} vs crossplane's {theirs}")),
    }
}

#[test]
fn parse_matches_crossplane_on_the_corpus() {
    let corpus = common::corpus().join("nginx");
    let files: Vec<String> = common::files_under(&corpus, &["templated"])
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "STATUS.tsv"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();

    let oracle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/crossplane_parse.py"
    );
    let mut child = Command::new(common::python())
        .arg(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the crossplane oracle");
    let mut stdin = child.stdin.take().expect("oracle stdin");
    stdin
        .write_all(files.join("\n").as_bytes())
        .expect("write file list");
    drop(stdin);
    let output = child.wait_with_output().expect("oracle output");
    assert!(output.status.success(), "the crossplane oracle failed");
    let reference: Value = serde_json::from_slice(&output.stdout).expect("oracle JSON");

    let mut accepted = 0;
    let mut same = 0;
    let mut differences = Vec::new();
    for file in &files {
        let theirs = &reference[file.as_str()];
        if theirs["status"] != "ok" {
            continue;
        }
        accepted += 1;
        let run = common::mgdeploy()
            .args(["parse", "--single-file", "--include-comments", file])
            .output()
            .expect("run mgdeploy parse");
        let ours: Value = match serde_json::from_slice(&run.stdout) {
            Ok(value) => value,
            Err(e) => {
                differences.push(format!(
                    "{file}: no JSON from mgdeploy ({e}); stderr: {}",
                    String::from_utf8_lossy(&run.stderr)
                ));
                continue;
            }
        };
        let ours_parsed = &ours["config"][0]["parsed"];
        let theirs_parsed = &theirs["config"][0]["parsed"];
        match first_difference("parsed", ours_parsed, theirs_parsed) {
            None if ours["status"] == "ok" => same += 1,
            None => differences.push(format!("{file}: mgdeploy reports {}", ours["errors"])),
            Some(difference) => differences.push(format!("{file}: {difference}")),
        }
    }
    eprintln!(
        "crossplane accepts {accepted} of {} files; mgdeploy gives the same tree for {same}",
        files.len()
    );
    for difference in &differences {
        eprintln!("  differs: {difference}");
    }
    assert!(accepted > 600, "crossplane accepted only {accepted} files");
    let share = same as f64 / accepted as f64;
    assert!(
        share >= 0.98,
        "only {:.1}% of the files match crossplane",
        share * 100.0
    );
}
