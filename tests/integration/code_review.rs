//! Code review on a CI runner: an ops repository (git) mirrors the
//! server's tree, nginx is hidden (a private mount namespace with tmpfs over
//! /etc/nginx and the directories of the nginx binary), and mgdeploy makes
//! the plan and the findings in every format reviewers' tools read, from the
//! repository's root and from a subdirectory. Checked: `git apply` at the
//! root takes the patch, every path is relative to the repository, the
//! generated files name the server's paths (never the runner's), the
//! comment renders with GitHub's Markdown (cmark-gfm), SARIF passes
//! Microsoft's SARIF multitool, rdjsonl and GitLab's report their schemas,
//! and the JSON plan applies elsewhere with `apply --sysroot`.
//!
//! Needs root (unshare -m, mount), git, cmark-gfm, python3-jsonschema and
//! the SARIF multitool (`.ci/tools`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const ROOT: &str = "srv/mediagoblin.example.org/mediagoblin";

const UNIT: &str = "[Unit]
Description=MediaGoblin (FastCGI)
After=network.target

[Service]
Type=simple
User=mediagoblin
Group=mediagoblin
WorkingDirectory=/srv/mediagoblin.example.org/mediagoblin
ExecStart=/srv/mediagoblin.example.org/mediagoblin/lazyserver.sh --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543

[Install]
WantedBy=multi-user.target
";

const CONFIG: &str = "# The server's tree is this repository.
sysroot = \".\"
root = \"/srv/mediagoblin.example.org/mediagoblin\"
nginx = \"/etc/nginx/sites-enabled/mediagoblin\"
uwsgi-ini = \"/etc/uwsgi/apps-available/mediagoblin.ini\"
";

use common::{git, run};

/// The ops repository: the server's nginx site (linked the Debian way, by
/// an absolute link), a MediaGoblin 0.9-era checkout with its Python 2.7
/// virtualenv, the systemd unit that starts FastCGI, and mgdeploy.toml.
fn ops_repo(top: &Path) {
    let corpus = common::corpus().join("mediagoblin");
    let root = top.join(ROOT);
    for dir in [
        "etc/nginx/sites-available",
        "etc/nginx/sites-enabled",
        "etc/systemd/system",
        "etc/uwsgi/apps-available",
    ] {
        std::fs::create_dir_all(top.join(dir)).expect("mkdir");
    }
    std::fs::create_dir_all(root.join("bin")).expect("mkdir");
    std::fs::create_dir_all(root.join("lib/python2.7/site-packages")).expect("mkdir");
    let copy = |from: &str, to: &Path| {
        std::fs::copy(corpus.join(from), to).unwrap_or_else(|e| panic!("{from}: {e}"));
    };
    copy(
        "nginx/nginx-docs-v0.8.0.conf",
        &top.join("etc/nginx/sites-available/mediagoblin"),
    );
    std::os::unix::fs::symlink(
        "/etc/nginx/sites-available/mediagoblin",
        top.join("etc/nginx/sites-enabled/mediagoblin"),
    )
    .expect("link");
    copy("paste.ini/paste-v0.9.0.ini", &root.join("paste.ini"));
    copy(
        "mediagoblin.ini/mediagoblin.example-v0.8.0.ini",
        &root.join("mediagoblin.ini"),
    );
    copy(
        "lazystarter.sh/lazystarter-v0.9.0.sh",
        &root.join("lazystarter.sh"),
    );
    std::os::unix::fs::symlink("lazystarter.sh", root.join("lazyserver.sh")).expect("link");
    std::os::unix::fs::symlink("python2.7", root.join("bin/python")).expect("link");
    std::fs::write(root.join("bin/python2.7"), "#!/bin/sh\nexit 1\n").expect("write");
    std::fs::write(
        top.join("etc/systemd/system/mediagoblin-paster.service"),
        UNIT,
    )
    .expect("write");
    std::fs::write(top.join("mgdeploy.toml"), CONFIG).expect("write");
    // git keeps no empty directory; uwsgi's package makes this one.
    std::fs::write(
        top.join("etc/uwsgi/apps-available/README"),
        "Debian's uwsgi package reads apps-enabled/, links to here.\n",
    )
    .expect("write");
    git(top, &["init", "-q"]);
    git(top, &["add", "-A"]);
    git(top, &["commit", "-q", "-m", "the server as it is"]);
}

/// mgdeploy with `args`, run in `dir` in a mount namespace where nginx's
/// configuration and binary are hidden.
fn without_nginx(dir: &Path, args: &[&str]) -> Output {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test hides nginx with unshare -m and mount: run it as root"
    );
    let script = r#"
        for d in /etc/nginx /usr/sbin /usr/local/sbin /usr/share/nginx; do
            if [ -d "$d" ]; then mount -t tmpfs -o size=1m mgdeploy-test "$d" || exit 97; fi
        done
        if command -v nginx >/dev/null 2>&1 || [ -e /etc/nginx/nginx.conf ]; then
            echo "nginx is still visible" >&2; exit 98
        fi
        cd "$1" || exit 99
        shift
        exec "$@"
    "#;
    let output = run(Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args(args));
    let code = output.status.code();
    assert!(
        !matches!(code, Some(97..=99)),
        "could not hide nginx ({code:?}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Neither the runner's directory nor an absolute path into it.
fn assert_no_runner_paths(what: &str, output: &str, top: &Path) {
    let runner = top.display().to_string();
    assert!(
        !output.contains(&runner),
        "{what} names the runner's path {runner}:\n{output}"
    );
}

/// `file` relative to the repository, as every format must name it.
const SITE: &str = "etc/nginx/sites-available/mediagoblin";
const INI: &str = "etc/uwsgi/apps-available/mediagoblin.ini";
const UNIT_FILE: &str = "etc/systemd/system/mediagoblin-paster.service";

fn migrate_formats(top: &Path, from: &Path) -> (String, String, serde_json::Value) {
    let mut texts = Vec::new();
    for format in ["patch", "markdown", "json"] {
        let output = without_nginx(
            from,
            &["migrate", "--dry-run", "--exit-zero", "--format", format],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "migrate --format {format} --exit-zero: {}",
            text(&output.stderr)
        );
        let stdout = text(&output.stdout);
        assert_no_runner_paths(&format!("migrate --format {format}"), &stdout, top);
        texts.push(stdout);
    }
    // Without --exit-zero, pending changes are exit 1, as ever.
    let plain = without_nginx(from, &["migrate", "--dry-run", "--format", "patch"]);
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&texts[2]).expect("migrate --format json is JSON");
    (texts[0].clone(), texts[1].clone(), json)
}

fn check_patch(patch: &str) {
    for name in [SITE, UNIT_FILE, &format!("{ROOT}/lazystarter.sh")] {
        assert!(
            patch.contains(&format!("--- a/{name}\n+++ b/{name}\n")),
            "the patch names {name} from the root: {patch}"
        );
    }
    assert!(
        patch.contains(&format!("--- /dev/null\n+++ b/{INI}\n")),
        "{patch}"
    );
    // The generated files name the server's paths and the site's user.
    for line in [
        "+uid = mediagoblin",
        "+gid = mediagoblin",
        "+chdir = /srv/mediagoblin.example.org/mediagoblin",
        "+paste = config:/srv/mediagoblin.example.org/mediagoblin/paste.ini",
        "+        $starter --ini /etc/uwsgi/apps-available/mediagoblin.ini \"$@\";",
        "+    uwsgi_pass 127.0.0.1:26543;",
        // The unit that started FastCGI now starts the virtualenv's uWSGI.
        "+Type=notify",
        "+ExecStart=/srv/mediagoblin.example.org/mediagoblin/bin/uwsgi --ini /etc/uwsgi/apps-available/mediagoblin.ini",
    ] {
        assert!(patch.contains(line), "the patch has {line:?}: {patch}");
    }
}

/// The comment, rendered by cmark-gfm (GitHub's Markdown) with GitHub's
/// extensions and raw HTML allowed (GitHub keeps `<details>`).
fn check_markdown(markdown: &str, dir: &Path) {
    let path = dir.join("comment.md");
    std::fs::write(&path, markdown).expect("write");
    let output = run(Command::new("cmark-gfm")
        .args([
            "--unsafe",
            "-e",
            "table",
            "-e",
            "autolink",
            "-e",
            "tagfilter",
            "-e",
            "strikethrough",
        ])
        .arg(&path));
    assert!(
        output.status.success(),
        "cmark-gfm (apt install cmark-gfm): {}",
        text(&output.stderr)
    );
    let html = text(&output.stdout);
    assert!(
        html.starts_with(
            "<h2>mgdeploy migrate</h2>\n<p><strong>3 files to change, 1 to create</strong>"
        ),
        "{html}"
    );
    // Each part is a heading of its own, never swallowed into a list item.
    for heading in [
        "Warnings",
        "Changed",
        "Dropped",
        "Next steps, once it is applied",
        "Files",
    ] {
        assert_eq!(
            html.matches(&format!("<h3>{heading}</h3>")).count(),
            1,
            "one <h3>{heading}</h3>: {html}"
        );
    }
    assert!(
        !html.contains("<li>Dropped") && !html.contains("<li>Warnings"),
        "{html}"
    );
    assert_eq!(
        html.matches("<ol>").count(),
        1,
        "the next steps are numbered: {html}"
    );
    // One collapsed diff per file, named as git names it.
    assert_eq!(html.matches("<details>").count(), 4, "{html}");
    assert_eq!(html.matches("</details>").count(), 4, "{html}");
    assert_eq!(
        html.matches("<pre><code class=\"language-diff\">").count(),
        4,
        "{html}"
    );
    for name in [SITE, INI, UNIT_FILE] {
        assert!(
            html.contains(&format!("<summary><code>{name}</code>")),
            "{name}: {html}"
        );
    }
    assert!(
        html.contains(&format!("<summary><code>{INI}</code> (new, +")),
        "{html}"
    );
    // Nothing the renderer dropped or filtered.
    assert!(
        !html.contains("raw HTML omitted") && !html.contains("&lt;details"),
        "{html}"
    );
}

fn check_json(json: &serde_json::Value) {
    assert_eq!(json["changes"], true);
    let plan = &json["plan"];
    assert_eq!(plan["format"], 2);
    assert_eq!(
        plan["root"], ROOT,
        "the plan's paths are the server's, from /"
    );
    let paths: Vec<&str> = plan["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&INI), "{paths:?}");
    assert!(paths.iter().all(|p| !p.starts_with('/')), "{paths:?}");
    let shown: Vec<&str> = json["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        shown.contains(&INI) && shown.iter().all(|p| !p.starts_with('/')),
        "{shown:?}"
    );
}

fn multitool() -> PathBuf {
    let path = std::env::var_os("MGDEPLOY_SARIF_MULTITOOL").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/tools/sarif-multitool/Sarif.Multitool")
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run .ci/tools (it downloads Microsoft's SARIF multitool)",
        path.display()
    );
    path
}

/// Microsoft's SARIF multitool with GitHub's rules and SARIF's own: the
/// errors and warnings it finds (it exits 0 either way, so its log is read).
fn sarif_problems(sarif: &str, dir: &Path) -> Vec<String> {
    let input = dir.join("check.sarif");
    let log = dir.join("validation.sarif");
    std::fs::write(&input, sarif).expect("write");
    let _ = std::fs::remove_file(&log);
    let output = run(Command::new(multitool())
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .args([
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            "--level",
            "Error;Warning",
            "-o",
        ])
        .arg(&log)
        .arg(&input));
    assert!(output.status.success(), "{}", text(&output.stdout));
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&log).expect("the multitool's log")).expect("JSON");
    let run = &log["runs"][0];
    assert_eq!(run["invocations"][0]["executionSuccessful"], true, "{log}");
    run["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|r| format!("{} {}: {}", r["ruleId"], r["level"], r["message"]))
                .collect()
        })
        .unwrap_or_default()
}

fn validate_json(schema: &str, document: &str, args: &[&str]) {
    let mut child = Command::new(common::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/validate_json.py"))
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/oracle")
                .join(schema),
        )
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(document.as_bytes()).expect("write");
    }
    let output = child.wait_with_output().expect("python");
    assert!(
        output.status.success(),
        "{schema} (python3-jsonschema): {}{}\n{document}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn check_formats(top: &Path, from: &Path, scratch: &Path) {
    let findings = |format: &str| {
        let output = without_nginx(from, &["check", "--format", format]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "check --format {format} finds the public socket: {}",
            text(&output.stderr)
        );
        let stdout = text(&output.stdout);
        assert_no_runner_paths(&format!("check --format {format}"), &stdout, top);
        stdout
    };

    let sarif = findings("sarif");
    let log: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let results = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .clone();
    let public = results
        .iter()
        .find(|r| r["ruleId"] == "MG013")
        .expect("MG013 for socket = 0.0.0.0:26543 in the ini migrate wrote");
    let place = &public["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], INI);
    assert_eq!(place["region"]["startLine"], 15);
    assert!(public["partialFingerprints"]["mgdeploy/v1"].is_string());
    for result in &results {
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64(),
            "every result has a region: {result}"
        );
    }
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let mg013 = rules.iter().find(|r| r["id"] == "MG013").expect("MG013");
    assert_eq!(mg013["properties"]["security-severity"], "9.8");
    assert!(
        mg013["helpUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );
    assert!(
        mg013["help"]["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("UWSGI_FILE"))
    );
    let problems = sarif_problems(&sarif, scratch);
    assert!(problems.is_empty(), "the SARIF multitool: {problems:#?}");

    let github = findings("github");
    assert!(
        github.contains(&format!("::error file={INI},line=15,col=10,")),
        "{github}"
    );

    let rdjsonl = findings("rdjsonl");
    validate_json("rdjsonl.schema.json", &rdjsonl, &["--lines"]);
    assert!(
        rdjsonl.contains(&format!("\"path\":\"{INI}\"")),
        "{rdjsonl}"
    );

    let gitlab = findings("gitlab");
    validate_json(
        "gitlab-codequality.schema.json",
        &gitlab,
        &["--unique", "fingerprint"],
    );
    let issues: serde_json::Value = serde_json::from_str(&gitlab).expect("JSON");
    let issue = issues
        .as_array()
        .and_then(|all| {
            all.iter().find(|i| {
                i["check_name"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("MG013"))
            })
        })
        .expect("MG013");
    assert_eq!(issue["location"]["path"], INI);
    assert_eq!(issue["severity"], "critical");
}

#[test]
fn a_merge_request_on_a_runner_without_nginx() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path())
        .expect("canonical")
        .join("ops");
    std::fs::create_dir_all(&top).expect("mkdir");
    ops_repo(&top);
    let subdir = top.join("etc/nginx");
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).expect("mkdir");

    // The plan, from the root and from a subdirectory: the same bytes.
    let (patch, markdown, json) = migrate_formats(&top, &top);
    let (sub_patch, sub_markdown, sub_json) = migrate_formats(&top, &subdir);
    assert_eq!(
        patch, sub_patch,
        "a patch made in a subdirectory is the root's"
    );
    assert_eq!(markdown, sub_markdown);
    assert_eq!(json, sub_json);
    check_patch(&patch);
    check_markdown(&markdown, &scratch);
    check_json(&json);

    // A clone elsewhere takes the JSON plan with apply --sysroot.
    let clone = dir.path().join("clone");
    git(
        dir.path(),
        &["clone", "-q", top.to_str().expect("UTF-8"), "clone"],
    );
    let plan = scratch.join("plan.json");
    std::fs::write(&plan, serde_json::to_vec(&json).expect("JSON")).expect("write");
    let applied = run(common::mgdeploy()
        .current_dir(&clone)
        .arg("apply")
        .arg(&plan)
        .arg("--sysroot")
        .arg(&clone)
        .arg("--yes"));
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stderr).contains("nginx -t was not run"),
        "{}",
        text(&applied.stderr)
    );

    // The patch, made in the subdirectory, applies at the root.
    let patch_file = scratch.join("plan.patch");
    std::fs::write(&patch_file, &sub_patch).expect("write");
    git(
        &top,
        &["apply", "--check", patch_file.to_str().expect("UTF-8")],
    );
    git(&top, &["apply", patch_file.to_str().expect("UTF-8")]);
    for name in [SITE, INI, UNIT_FILE] {
        assert_eq!(
            std::fs::read(top.join(name)).expect(name),
            std::fs::read(clone.join(name)).expect(name),
            "git apply and mgdeploy apply agree on {name}"
        );
    }
    let ini = std::fs::read_to_string(top.join(INI)).expect("ini");
    assert_no_runner_paths("the new uWSGI ini", &ini, &top);

    // Someone opens the socket to the world in the merge request: check
    // reads the ini where migrate wrote it and says so in every format.
    std::fs::write(
        top.join(INI),
        ini.replace("socket = 127.0.0.1:26543", "socket = 0.0.0.0:26543"),
    )
    .expect("write");
    check_formats(&top, &top, &scratch);
    check_formats(&top, &subdir, &scratch);

    // Without mgdeploy.toml, the ini is still found: in apps-available,
    // naming the checkout.
    let bare = without_nginx(
        &top,
        &[
            "check",
            "--no-config",
            "--sysroot",
            ".",
            "-C",
            "/srv/mediagoblin.example.org/mediagoblin",
            "--nginx",
            "/etc/nginx/sites-enabled/mediagoblin",
            "--select",
            "MG013",
            "--format",
            "github",
        ],
    );
    assert_eq!(bare.status.code(), Some(1), "{}", text(&bare.stderr));
    assert!(text(&bare.stdout).contains(&format!("::error file={INI},line=15")));
}
