//! Tuning mgdeploy as linters are tuned: mgdeploy.toml, --select and
//! --ignore, `# mgdeploy: ignore[CODE] reason` comments, --exit-zero, -q
//! and -v, and `check` finding the uWSGI ini `migrate` wrote wherever it
//! wrote it.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const PASTE: &str = "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = %(fcgi_host)s\nport = %(fcgi_port)s\n";

/// After a move: nginx passes to uWSGI, whose ini listens everywhere.
const SITE: &str = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        uwsgi_pass 127.0.0.1:26543;\n        include /etc/nginx/uwsgi_params;\n        uwsgi_param SCRIPT_NAME \"\";\n    }\n}\n";

const INI: &str = "[uwsgi]\nsocket = 0.0.0.0:26543\npaste = config:@TMP@/mediagoblin/paste.ini\nenv = CELERY_ALWAYS_EAGER=true\n";

fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    let tmp = top.to_string_lossy().into_owned();
    std::fs::create_dir_all(top.join("mediagoblin")).expect("mkdir");
    std::fs::create_dir_all(top.join("nginx")).expect("mkdir");
    std::fs::write(top.join("mediagoblin/paste.ini"), PASTE).expect("write");
    std::fs::write(top.join("nginx/site.conf"), SITE).expect("write");
    std::fs::write(
        top.join("mediagoblin/mediagoblin-uwsgi.ini"),
        INI.replace("@TMP@", &tmp),
    )
    .expect("write");
    (dir, top)
}

fn mgdeploy(dir: &Path, args: &[&str]) -> Output {
    common::mgdeploy()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy")
}

fn out(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn err(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The codes `check --format json` reports.
fn codes(output: &Output) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    value["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect()
}

const CHECK: &[&str] = &["check", "-C", "mediagoblin", "--nginx", "nginx/site.conf"];

fn check(top: &Path, extra: &[&str]) -> Output {
    let args: Vec<&str> = CHECK.iter().chain(extra).copied().collect();
    mgdeploy(top, &args)
}

#[test]
fn the_configuration_holds_the_paths_and_the_rules() {
    let (_dir, top) = tree();
    std::fs::create_dir_all(top.join("ops/deep")).expect("mkdir");
    std::fs::write(
        top.join("mgdeploy.toml"),
        "root = \"mediagoblin\"\nnginx = \"nginx/site.conf\"\n\n[check]\nignore = [\"MG017\"]\n",
    )
    .expect("write");
    // Found from a directory below it; its paths start at its own.
    let found = mgdeploy(&top.join("ops/deep"), &["check", "--format", "json"]);
    assert_eq!(found.status.code(), Some(1), "{}", err(&found));
    assert!(
        codes(&found).contains(&"MG013".to_string()),
        "{}",
        out(&found)
    );

    // --ignore adds to the file's; --select narrows.
    let ignored = mgdeploy(&top, &["check", "--format", "json", "--ignore", "MG013"]);
    assert_eq!(ignored.status.code(), Some(0), "{}", out(&ignored));
    assert!(!codes(&ignored).contains(&"MG013".to_string()));
    let selected = mgdeploy(&top, &["check", "--format", "json", "--select", "mg013"]);
    assert_eq!(codes(&selected), vec!["MG013".to_string()]);
    let unknown = mgdeploy(&top, &["check", "--select", "MG999"]);
    assert_eq!(unknown.status.code(), Some(2));

    // --no-config: nothing found without it.
    let bare = mgdeploy(&top, &["check", "--no-config"]);
    assert_eq!(bare.status.code(), Some(2), "{}", err(&bare));

    // A mistake names the file, line and column, and stops (exit 2).
    std::fs::write(
        top.join("mgdeploy.toml"),
        "root = \"mediagoblin\"\n\n[migrate]\nuser = \"www data\"\n",
    )
    .expect("write");
    let wrong = mgdeploy(&top, &["check"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        err(&wrong).contains("mgdeploy.toml:4:8") && err(&wrong).contains("not a user name"),
        "{}",
        err(&wrong)
    );
    std::fs::write(top.join("mgdeploy.toml"), "rooot = \"x\"\n").expect("write");
    let typo = mgdeploy(&top, &["check"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(err(&typo).contains("mgdeploy.toml:1:1"), "{}", err(&typo));

    // One that others may write is not used.
    std::fs::write(top.join("mgdeploy.toml"), "root = \"mediagoblin\"\n").expect("write");
    std::fs::set_permissions(
        top.join("mgdeploy.toml"),
        std::fs::Permissions::from_mode(0o666),
    )
    .expect("chmod");
    let open = mgdeploy(&top, &["check"]);
    assert_eq!(open.status.code(), Some(2));
    assert!(err(&open).contains("others may write it"), "{}", err(&open));
}

#[test]
fn migrate_takes_its_choices_from_the_configuration() {
    let (_dir, top) = tree();
    let site = "server {\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n        include /etc/nginx/fastcgi_params;\n    }\n}\n";
    std::fs::write(top.join("nginx/site.conf"), site).expect("write");
    std::fs::remove_file(top.join("mediagoblin/mediagoblin-uwsgi.ini")).expect("rm");
    std::fs::write(
        top.join("mgdeploy.toml"),
        "root = \"mediagoblin\"\nnginx = \"nginx/site.conf\"\n\n[migrate]\nuser = \"mediagoblin\"\ngroup = \"www-data\"\nprocesses = 5\n",
    )
    .expect("write");
    let plan = mgdeploy(&top, &["migrate", "--dry-run", "--format", "patch"]);
    assert_eq!(plan.status.code(), Some(1), "{}", err(&plan));
    let patch = out(&plan);
    for line in ["+uid = mediagoblin", "+gid = www-data", "+processes = 5"] {
        assert!(patch.contains(line), "{line}: {patch}");
    }
    // The command line wins.
    let plan = mgdeploy(
        &top,
        &[
            "migrate",
            "--dry-run",
            "--format",
            "patch",
            "--processes",
            "3",
        ],
    );
    assert!(out(&plan).contains("+processes = 3"));
    // --exit-zero: a plan with changes is not a failed step.
    let posted = mgdeploy(
        &top,
        &[
            "migrate",
            "--dry-run",
            "--exit-zero",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(posted.status.code(), Some(0), "{}", err(&posted));
    // -q: the diff alone; -v: what was read.
    let quiet = mgdeploy(&top, &["-q", "migrate", "--dry-run"]);
    assert!(!out(&quiet).contains("Next steps"), "{}", out(&quiet));
    assert!(out(&quiet).contains("+++ b/"), "{}", out(&quiet));
    let verbose = mgdeploy(&top, &["migrate", "--dry-run", "-v"]);
    assert!(
        err(&verbose).contains("Reading defaults from") && err(&verbose).contains("paste.ini: "),
        "{}",
        err(&verbose)
    );
}

#[test]
fn ignore_comments_need_a_reason() {
    let (_dir, top) = tree();
    let ini = top.join("mediagoblin/mediagoblin-uwsgi.ini");
    let text = std::fs::read_to_string(&ini).expect("read");
    // Without a reason: reported, and silences nothing.
    std::fs::write(
        &ini,
        text.replace("socket = ", "# mgdeploy: ignore[MG013]\nsocket = "),
    )
    .expect("write");
    let output = check(&top, &["--format", "json"]);
    let found = codes(&output);
    assert!(
        found.contains(&"MG013".to_string()) && found.contains(&"MG027".to_string()),
        "{found:?}"
    );
    assert_eq!(output.status.code(), Some(1));

    // With one: silenced, and the exit code follows.
    std::fs::write(
        &ini,
        text.replace(
            "socket = ",
            "# mgdeploy: ignore[MG013] a firewall drops 26543 from outside\nsocket = ",
        ),
    )
    .expect("write");
    let output = check(&top, &["--format", "json"]);
    let found = codes(&output);
    assert!(
        !found.contains(&"MG013".to_string()) && !found.contains(&"MG027".to_string()),
        "{found:?}"
    );
    assert_eq!(output.status.code(), Some(0));

    // In nginx, on the line itself; a stale one is said to be stale.
    let before = codes(&check(&top, &["--format", "json"]));
    assert!(before.contains(&"MG017".to_string()), "{before:?}");
    std::fs::write(
        top.join("nginx/site.conf"),
        SITE.replace(
            "    location / {",
            "    location / { # mgdeploy: ignore[MG017] uploads go to S3 directly",
        )
        .replace(
            "listen 127.0.0.1:8080;",
            "listen 127.0.0.1:8080; # mgdeploy: ignore[MG005] left from the old setup",
        ),
    )
    .expect("write");
    let output = check(&top, &["--format", "json"]);
    assert!(
        !codes(&output).contains(&"MG017".to_string()),
        "{}",
        out(&output)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let stale = value["diagnostics"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["code"] == "MG027"))
        .unwrap_or_else(|| panic!("{}", out(&output)));
    assert!(
        stale["message"]
            .as_str()
            .is_some_and(|m| m.contains("nothing to ignore"))
    );
    assert_eq!(output.status.code(), Some(0), "a stale comment is a note");

    // --exit-zero keeps errors from failing the step.
    std::fs::write(&ini, &text).expect("write");
    let output = check(&top, &["--exit-zero"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(out(&output).contains("error[MG013]"));
}

#[test]
fn check_reads_the_ini_migrate_wrote_elsewhere() {
    let (_dir, top) = tree();
    let site = "server {\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n        include /etc/nginx/fastcgi_params;\n    }\n}\n";
    std::fs::write(top.join("nginx/site.conf"), site).expect("write");
    std::fs::remove_file(top.join("mediagoblin/mediagoblin-uwsgi.ini")).expect("rm");
    std::fs::create_dir_all(top.join("uwsgi/apps-available")).expect("mkdir");
    let applied = mgdeploy(
        &top,
        &[
            "migrate",
            "-C",
            "mediagoblin",
            "--nginx",
            "nginx/site.conf",
            "--uwsgi-ini",
            "uwsgi/apps-available/mediagoblin.ini",
            "--user",
            "nobody",
            "--group",
            "nogroup",
            "--yes",
        ],
    );
    assert_eq!(applied.status.code(), Some(0), "{}", err(&applied));
    let ini = top.join("uwsgi/apps-available/mediagoblin.ini");
    let text = std::fs::read_to_string(&ini).expect("the ini");
    std::fs::write(
        &ini,
        text.replace("socket = 127.0.0.1:26543", "socket = 0.0.0.0:26543"),
    )
    .expect("write");
    // No --uwsgi-ini: the journal says where it went.
    let output = check(&top, &["--format", "json"]);
    assert!(
        codes(&output).contains(&"MG013".to_string()),
        "{}",
        out(&output)
    );
    let verbose = check(&top, &["-v"]);
    assert!(
        err(&verbose).contains("uwsgi/apps-available/mediagoblin.ini"),
        "{}",
        err(&verbose)
    );
}
