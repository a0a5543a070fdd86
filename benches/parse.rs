//! Parser throughput on the configurations `../shared/bench/gen_nginx.py`
//! writes (2,000 and 20,000 servers), for the lexer (what mgdeploy uses), the
//! pest grammar it is checked against, and the whole `parse` output: from
//! the tree through serde (`--indent`) and streamed as read (the default).
//!
//! `cargo bench --bench parse [-- SERVERS...]`. Prints the median of several
//! runs; `benches/compare.sh` sets the figures beside crossplane and `nginx -t`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mgdeploy::nginx::crossplane::{Options, Payload, stream};
use mgdeploy::nginx::include::{Follow, load};
use mgdeploy::nginx::{parse, parse_with_grammar};
use mgdeploy::source::SourceFile;

fn generated(servers: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mgdeploy-bench-{servers}.conf"));
    if !path.exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_nginx.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg(servers)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(output.status.success(), "gen_nginx.py failed");
        std::fs::write(&path, output.stdout).expect("write the generated file");
    }
    path
}

/// Median wall time of `runs` calls (after one warm-up).
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn report(what: &str, bytes: usize, elapsed: Duration) {
    let mb = bytes as f64 / 1e6;
    println!(
        "  {what:<28} {:>9.1} ms {:>8.1} MB/s",
        elapsed.as_secs_f64() * 1e3,
        mb / elapsed.as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let sizes = if args.is_empty() {
        vec!["2000".to_string(), "20000".to_string()]
    } else {
        args
    };
    for servers in sizes {
        let path = generated(&servers);
        let source = SourceFile::read(&path).expect("read the generated file");
        let bytes = source.bytes().len();
        let runs = if bytes > 10_000_000 { 5 } else { 15 };
        println!(
            "gen_nginx.py {servers}: {:.1} MB, median of {runs} runs",
            bytes as f64 / 1e6
        );
        report(
            "lexer + tree",
            bytes,
            time(runs, || {
                parse(&source).expect("the generated file parses");
            }),
        );
        report(
            "pest grammar + tree",
            bytes,
            time(runs.min(5), || {
                parse_with_grammar(&source).expect("the generated file parses");
            }),
        );
        let prefix = path.parent().expect("temporary directory").to_path_buf();
        let options = Options {
            comments: false,
            includes: false,
        };
        report(
            "read + tree + serde JSON",
            bytes,
            time(runs, || {
                let loaded = load(&path, &prefix, Follow::SingleFile).expect("load");
                let payload = Payload {
                    loaded: &loaded,
                    options,
                };
                let json = serde_json::to_vec(&payload).expect("JSON");
                assert!(json.len() > bytes / 2);
            }),
        );
        report(
            "read + streamed JSON (parse)",
            bytes,
            time(runs, || {
                let streamed =
                    stream::load(&path, &prefix, Follow::SingleFile, options).expect("load");
                let mut json = Vec::new();
                streamed.write(&mut json).expect("JSON");
                assert!(json.len() > bytes / 2);
            }),
        );
    }
}
