//! Any bytes through the nginx parser: no panic, the lexer agrees with the
//! grammar, what parses prints back byte for byte, errors render, and
//! check's nginx rules run on whatever parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mgdeploy::nginx::crossplane::{Options, Payload};
use mgdeploy::nginx::include::{Loaded, LoadedFile};
use mgdeploy::nginx::{parse, parse_with_grammar};
use mgdeploy::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    let source = SourceFile::new("fuzz.conf", data.to_vec());
    let fast = parse(&source);
    match (&fast, parse_with_grammar(&source)) {
        (Ok(a), Ok(b)) => assert_eq!(a.children, b.children),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (Ok(_), Err(b)) if b.message.contains("nested too deeply") => {}
        (a, b) => panic!(
            "lexer {:?} vs grammar {:?}",
            a.as_ref().err().map(ToString::to_string),
            b.err().map(|e| e.to_string())
        ),
    }
    match fast {
        Ok(config) => {
            assert_eq!(config.print().expect("lossless"), data);
            let loaded = Loaded {
                files: vec![LoadedFile {
                    path: "fuzz.conf".into(),
                    config: Ok(config),
                    includes: Vec::new(),
                    include_errors: Vec::new(),
                    stock: None,
                }],
            };
            let payload = Payload {
                loaded: &loaded,
                options: Options {
                    comments: true,
                    includes: false,
                },
            };
            serde_json::to_vec(&payload).expect("JSON");
            // check's nginx rules (nginx's directive table among them), as
            // a main file and as a site file.
            for main in [true, false] {
                let mut findings = mgdeploy::check::nginx::all(&loaded, main);
                findings.extend(mgdeploy::check::suppress::comment_problems(
                    &source,
                    mgdeploy::check::suppress::Dialect::Nginx,
                ));
                render_everywhere(&findings);
                fixes_apply(data, &findings);
            }
        }
        Err(error) => render_everywhere(&[error]),
    }
});

/// Every format a finding is printed in (columns, fingerprints, escapes).
fn render_everywhere(findings: &[mgdeploy::diagnostic::Diagnostic]) {
    use mgdeploy::report;
    report::text::render(findings, false);
    for rendered in [
        report::json::render(findings),
        report::sarif::render(findings),
        report::gitlab::render(findings),
    ] {
        serde_json::from_str::<serde_json::Value>(&rendered).expect("valid JSON");
    }
    for line in report::rdjsonl::render(findings).lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("valid JSON line");
    }
    report::github::render(findings);
}

/// Each finding's fix applies to the file it was found in, and the one edit
/// `check --fix` plans from the result turns the file into it.
fn fixes_apply(data: &[u8], findings: &[mgdeploy::diagnostic::Diagnostic]) {
    for fix in findings.iter().filter_map(|d| d.fix.as_ref()) {
        let mut edits: Vec<mgdeploy::plan::Edit> = fix
            .replacements
            .iter()
            .map(|r| mgdeploy::plan::Edit::replace(r.span, r.replacement.clone()))
            .collect();
        edits.sort_by_key(|e| (e.start, e.end));
        let fixed = mgdeploy::plan::apply_edits(data, &edits).expect("a fix's edits apply");
        if let Some(edit) = mgdeploy::check::fix::difference(data, &fixed) {
            let again =
                mgdeploy::plan::apply_edits(data, &[edit]).expect("the planned edit applies");
            assert_eq!(again, fixed);
        }
    }
}
