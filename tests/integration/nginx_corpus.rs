//! The nginx parser against every real configuration in the corpus: lossless
//! round trips, nginx's own verdicts, and the lexer against the grammar.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use mgdeploy::nginx::{parse, parse_with_grammar};
use mgdeploy::source::SourceFile;

fn nginx_corpus() -> PathBuf {
    common::corpus().join("nginx")
}

fn plain_files() -> Vec<PathBuf> {
    common::files_under(&nginx_corpus(), &["templated"])
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "STATUS.tsv"))
        .collect()
}

#[test]
fn every_parsed_file_prints_back_byte_for_byte() {
    let files = plain_files();
    assert!(files.len() > 600, "only {} corpus files found", files.len());
    let mut parsed = 0;
    let mut not_parsed = Vec::new();
    for path in &files {
        let source = SourceFile::read(path).expect("readable corpus file");
        match parse(&source) {
            Ok(config) => {
                parsed += 1;
                let printed = config.print().unwrap_or_else(|span| {
                    panic!("{}: the tree lost bytes {:?}", path.display(), span)
                });
                assert!(
                    printed == source.bytes(),
                    "{} does not print back",
                    path.display()
                );
            }
            Err(error) => not_parsed.push(error.to_string()),
        }
    }
    eprintln!(
        "{parsed} of {} plain corpus files parse; the others:",
        files.len()
    );
    for error in &not_parsed {
        eprintln!("  {error}");
    }
    assert!(parsed > 0);
}

#[test]
fn every_file_nginx_accepts_parses() {
    let corpus = nginx_corpus();
    let status = std::fs::read_to_string(corpus.join("STATUS.tsv")).expect("STATUS.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in status.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, _kind, verdict, ..] = fields.as_slice() else {
            panic!("malformed STATUS.tsv line: {line}");
        };
        if *verdict != "ok" {
            continue;
        }
        let source = SourceFile::read(&corpus.join(file)).expect("file listed in STATUS.tsv");
        checked += 1;
        if let Err(error) = parse(&source) {
            failures.push(error.to_string());
        }
    }
    assert!(checked >= 100, "only {checked} files marked ok");
    assert!(
        failures.is_empty(),
        "files nginx accepts but mgdeploy rejects:\n{}",
        failures.join("\n")
    );
}

/// The lexer is the grammar's fast twin: same tree, or the same error at the
/// same place, on every corpus file, templated ones included.
#[test]
fn lexer_and_grammar_agree_on_the_corpus() {
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for path in common::files_under(&nginx_corpus(), &[]) {
        let source = SourceFile::read(&path).expect("readable corpus file");
        let fast = parse(&source);
        let spec = parse_with_grammar(&source);
        match (&fast, &spec) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.children, b.children, "{}: trees differ", path.display());
                *outcomes.entry("both parse").or_default() += 1;
            }
            (Err(a), Err(b)) => {
                assert_eq!(
                    a.to_string(),
                    b.to_string(),
                    "{}: errors differ",
                    path.display()
                );
                *outcomes.entry("both reject").or_default() += 1;
            }
            _ => panic!(
                "{}: lexer says {:?}, grammar says {:?}",
                path.display(),
                fast.as_ref().err().map(ToString::to_string),
                spec.as_ref().err().map(ToString::to_string)
            ),
        }
    }
    eprintln!("{outcomes:?}");
}

/// check's nginx-only rules over every corpus file: no crash, and the count
/// of findings per rule (printed, for a look at false positives).
#[test]
fn nginx_rules_run_over_the_whole_corpus() {
    use mgdeploy::nginx::include::{Follow, load};
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut samples: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let files = common::files_under(&nginx_corpus(), &[]);
    for path in &files {
        if path.file_name().is_some_and(|n| n == "STATUS.tsv") {
            continue;
        }
        let prefix = path.parent().expect("parent").to_path_buf();
        let loaded = load(path, &prefix, Follow::SingleFile).expect("readable corpus file");
        for finding in mgdeploy::check::nginx::all(&loaded, false) {
            let key = format!(
                "{} {}",
                finding.code.unwrap_or("-"),
                finding.severity.as_str()
            );
            *counts.entry(key.clone()).or_default() += 1;
            let sample = samples.entry(key).or_default();
            if sample.len() < 5 {
                sample.push(finding.to_string());
            }
        }
    }
    eprintln!("findings per rule over {} corpus files:", files.len());
    for (key, count) in &counts {
        eprintln!("  {key}: {count}");
        for sample in samples.get(key).into_iter().flatten() {
            eprintln!("      {sample}");
        }
    }
    assert!(
        counts.keys().any(|k| k.starts_with("MG001")),
        "the corpus has files that do not parse"
    );
}

/// nginx's own verdicts (STATUS.tsv, nginx 1.22 `nginx -t`) on directive
/// placement and argument counts: no such error and no unknown directive
/// on a file nginx accepts, and each such refusal found at nginx's line.
#[test]
fn directive_checks_agree_with_nginx() {
    use mgdeploy::nginx::analyze::analyze;
    use mgdeploy::nginx::include::{Follow, load};
    let corpus = nginx_corpus();
    let status = std::fs::read_to_string(corpus.join("STATUS.tsv")).expect("STATUS.tsv");
    let kinds = [
        "invalid number of arguments",
        "is not allowed here",
        "has no opening",
        "is not terminated by",
        "it must be \"on\" or \"off\"",
    ];
    let (mut accepted, mut refused) = (0, 0);
    for line in status.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, kind, verdict, note] = fields.as_slice() else {
            panic!("malformed STATUS.tsv line: {line}");
        };
        if file.starts_with("templated/") || !matches!(*kind, "main" | "http_snippet") {
            continue;
        }
        let path = corpus.join(file);
        let prefix = path.parent().expect("parent").to_path_buf();
        let loaded = load(&path, &prefix, Follow::SingleFile).expect("readable corpus file");
        let found: Vec<String> = analyze(&loaded, *kind == "main")
            .iter()
            .map(ToString::to_string)
            .collect();
        if *verdict == "ok" {
            accepted += 1;
            assert!(
                found.is_empty(),
                "{file}: nginx accepts it, we say {found:?}"
            );
            // The unknown-directive rule asks the same table.
            let unknown: Vec<String> = mgdeploy::check::nginx::all(&loaded, *kind == "main")
                .iter()
                .filter(|d| d.code == Some("MG002"))
                .map(ToString::to_string)
                .collect();
            assert!(
                unknown.is_empty(),
                "{file}: nginx accepts it, MG002 says {unknown:?}"
            );
        } else if let Some(what) = kinds.iter().find(|k| note.contains(*k)) {
            // Only where nginx points into this file (the corpus keeps
            // files under their original name's last part).
            let (nginx_file, line_number) = note.rsplit_once(':').unwrap_or_default();
            let original = file.rsplit("__").next().unwrap_or(file);
            if !nginx_file.ends_with(&format!("/{original}")) {
                continue;
            }
            refused += 1;
            assert!(
                found
                    .iter()
                    .any(|f| f.contains(what) && f.contains(&format!(":{line_number}:"))),
                "{file}: nginx says {note}, we say {found:?}"
            );
        }
    }
    assert!(
        accepted >= 100 && refused >= 5,
        "{accepted} accepted, {refused} refused"
    );
}

/// `parse` writes crossplane's JSON as it reads (`crossplane::stream`);
/// `--indent` serializes the tree. Both must say the same, byte for byte
/// once serde writes compactly, on every corpus file: with and without the
/// files they include (the MediaGoblin docs' configurations include stock
/// files), with and without comments.
#[test]
fn streamed_json_is_the_trees_json_on_the_corpus() {
    use mgdeploy::nginx::crossplane::{Options, Payload, stream};
    use mgdeploy::nginx::include::{Follow, load};

    let mut files = plain_files();
    files.extend(common::files_under(
        &common::corpus().join("mediagoblin/nginx"),
        &[],
    ));
    assert!(files.len() > 600, "only {} files", files.len());
    let mut with_includes = 0;
    for path in &files {
        let prefix = path.parent().expect("a corpus file has a directory");
        for follow in [Follow::SingleFile, Follow::Includes] {
            for comments in [false, true] {
                let options = Options {
                    comments,
                    includes: follow == Follow::Includes,
                };
                let tree = load(path, prefix, follow).expect("readable corpus file");
                if tree.files.len() > 1 {
                    with_includes += 1;
                }
                let expected = serde_json::to_vec(&Payload {
                    loaded: &tree,
                    options,
                })
                .expect("serializable");
                let streamed =
                    stream::load(path, prefix, follow, options).expect("readable corpus file");
                let mut written = Vec::new();
                streamed.write(&mut written).expect("written to memory");
                assert!(
                    written == expected,
                    "{} ({follow:?}, comments: {comments}): the streamed JSON differs",
                    path.display()
                );
            }
        }
    }
    eprintln!(
        "{} files streamed as their trees serialize; {with_includes} runs followed includes",
        files.len()
    );
    assert!(with_includes > 0, "no corpus file included another");
}

/// A file of a few megabytes is read on one thread while its JSON is
/// written on another: the same bytes as the tree's JSON, also when the
/// file breaks near its end (the error comes from the reading side after
/// most of the JSON was written).
#[test]
fn streamed_json_of_a_fleet_file_is_the_trees_json() {
    use mgdeploy::nginx::crossplane::{Options, Payload, stream};
    use mgdeploy::nginx::include::{Follow, load};

    let script = common::shared().join("bench/gen_nginx.py");
    let generated = std::process::Command::new("python3")
        .arg(&script)
        .arg("1000")
        .output()
        .expect("run gen_nginx.py");
    assert!(generated.status.success(), "gen_nginx.py failed");
    // Two threads from one megabyte on.
    assert!(generated.stdout.len() > 1 << 20, "a file of megabytes");
    let dir = tempfile::tempdir().expect("temporary directory");
    let whole = dir.path().join("fleet.conf");
    std::fs::write(&whole, &generated.stdout).expect("write the file");
    let broken = dir.path().join("broken.conf");
    let mut bytes = generated.stdout.clone();
    bytes.extend_from_slice(b"\n}\n");
    std::fs::write(&broken, &bytes).expect("write the file");

    for (path, ok) in [(&whole, true), (&broken, false)] {
        for comments in [false, true] {
            let options = Options {
                comments,
                includes: true,
            };
            let tree = load(path, dir.path(), Follow::Includes).expect("readable");
            let expected = serde_json::to_vec(&Payload {
                loaded: &tree,
                options,
            })
            .expect("serializable");
            let streamed =
                stream::load(path, dir.path(), Follow::Includes, options).expect("readable");
            let mut written = Vec::new();
            streamed.write(&mut written).expect("written to memory");
            assert_eq!(tree.files[0].config.is_ok(), ok, "{}", path.display());
            assert!(
                written == expected,
                "{} (comments: {comments}): the streamed JSON differs",
                path.display()
            );
        }
    }
}
