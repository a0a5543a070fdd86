//! `mgdeploy migrate` through the binary: exit codes, output formats, the
//! choices it refuses to guess, and what it does when nginx says no.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const PASTE: &str = "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = %(fcgi_host)s\nport = %(fcgi_port)s\n";

const NGINX: &str = "user www-data;\npid @TMP@/nginx.pid;\nerror_log @TMP@/error.log;\nevents {}\nhttp {\n    access_log off;\n    include sites/*.conf;\n}\n";

/// A checkout and an nginx directory whose site is `site`.
fn tree(site: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    let tmp = top.to_string_lossy().into_owned();
    std::fs::create_dir_all(top.join("mediagoblin")).expect("mkdir");
    std::fs::create_dir_all(top.join("nginx/sites")).expect("mkdir");
    std::fs::write(top.join("mediagoblin/paste.ini"), PASTE).expect("write");
    std::fs::write(top.join("nginx/nginx.conf"), NGINX.replace("@TMP@", &tmp)).expect("write");
    std::fs::write(
        top.join("nginx/sites/mediagoblin.conf"),
        site.replace("@TMP@", &tmp),
    )
    .expect("write");
    (dir, top)
}

fn migrate(top: &Path, args: &[&str]) -> Output {
    common::mgdeploy()
        .arg("migrate")
        .arg("-C")
        .arg(top.join("mediagoblin"))
        .arg("--nginx")
        .arg(top.join("nginx/nginx.conf"))
        .args(["--user", "nobody", "--group", "nogroup"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy migrate")
}

fn out(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn err(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file of the tree and its content (the journal left out).
fn files(top: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![top.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n == ".mgdeploy") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    found.sort();
    found
}

const SITE: &str = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n        include /etc/nginx/fastcgi_params;\n        fastcgi_param PATH_INFO $fastcgi_script_name;\n        fastcgi_param SCRIPT_NAME \"\";\n        fastcgi_keep_conn on;\n    }\n}\n";

#[test]
fn dry_run_shows_the_plan_exits_1_and_writes_nothing() {
    let (_dir, top) = tree(SITE);
    let before = files(&top);
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", err(&output));
    let text = out(&output);
    assert!(
        text.contains("\n-        fastcgi_pass 127.0.0.1:26543;\n"),
        "{text}"
    );
    assert!(
        text.contains("\n+        uwsgi_pass 127.0.0.1:26543;\n"),
        "{text}"
    );
    assert!(
        text.contains("--- /dev/null\n+++ "),
        "the new ini is diffed against /dev/null: {text}"
    );
    assert!(text.contains("Dropped:"), "{text}");
    assert!(
        text.contains("`fastcgi_keep_conn on;`: FastCGI connection reuse has no counterpart"),
        "each drop says why: {text}"
    );
    assert!(text.contains("Next steps"), "{text}");
    assert!(
        text.contains("a celery worker must keep running"),
        "not eager, so celery is mentioned: {text}"
    );
    assert_eq!(files(&top), before, "--dry-run never writes");
}

#[test]
fn without_a_terminal_nothing_is_written() {
    let (_dir, top) = tree(SITE);
    let before = files(&top);
    let output = migrate(&top, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(err(&output).contains("--yes"), "{}", err(&output));
    assert_eq!(files(&top), before);
}

#[test]
fn json_and_markdown_formats() {
    let (_dir, top) = tree(SITE);
    let json = migrate(&top, &["--dry-run", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(value["changes"], true);
    assert_eq!(value["plan"]["files"].as_array().map(Vec::len), Some(2));
    assert!(
        value["notes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|note| note["kind"] == "dropped"))
    );
    assert!(
        value["files"][0]["diff"]
            .as_str()
            .is_some_and(|d| d.contains("@@"))
    );

    let markdown = migrate(&top, &["--dry-run", "--format", "markdown"]);
    let text = out(&markdown);
    assert!(text.starts_with("## mgdeploy migrate\n"), "{text}");
    assert!(text.contains("<details>\n<summary>"), "{text}");
    assert!(text.contains("```diff\n--- "), "{text}");
    assert!(text.trim_end().ends_with("</details>"), "{text}");

    // The JSON plan is what `mgdeploy apply` takes.
    let plan = top.join("plan.json");
    std::fs::write(&plan, &json.stdout).expect("write plan");
    let applied = common::mgdeploy()
        .arg("apply")
        .arg(&plan)
        .arg("--yes")
        .output()
        .expect("apply");
    assert_eq!(applied.status.code(), Some(0), "{}", err(&applied));
    let again = migrate(&top, &["--dry-run"]);
    assert_eq!(again.status.code(), Some(0), "{}", out(&again));
    assert!(out(&again).contains("Nothing to do"));
}

#[test]
fn modifier1_is_refused_with_python3() {
    let (_dir, top) = tree(SITE);
    let output = migrate(
        &top,
        &[
            "--mount",
            "/mediagoblin",
            "--script-name",
            "modifier1",
            "--yes",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        err(&output).contains("modifier1 does not work with uWSGI's Python 3 plugin"),
        "{}",
        err(&output)
    );
    assert!(
        err(&output).contains("PATH_INFO with the prefix still on it"),
        "{}",
        err(&output)
    );
    // With a Python 2 plugin it is what old guides did, and allowed.
    let py2 = migrate(
        &top,
        &[
            "--mount",
            "/mediagoblin",
            "--script-name",
            "modifier1",
            "--plugin",
            "python",
            "--dry-run",
        ],
    );
    assert_eq!(py2.status.code(), Some(1), "{}", err(&py2));
    assert!(
        out(&py2).contains("+        uwsgi_modifier1 30;"),
        "{}",
        out(&py2)
    );
}

#[test]
fn two_possible_fastcgi_addresses_are_not_guessed() {
    let site = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n    }\n    location /old/ {\n        fastcgi_pass 127.0.0.1:26544;\n    }\n}\n";
    let (_dir, top) = tree(site);
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{}", out(&output));
    let message = err(&output);
    assert!(
        message.contains("2 FastCGI addresses could be MediaGoblin's"),
        "{message}"
    );
    assert!(
        message.contains("mediagoblin.conf:3:5: location / passes to 127.0.0.1:26543"),
        "{message}"
    );
    assert!(
        message.contains("mediagoblin.conf:6:5: location /old/ passes to 127.0.0.1:26544"),
        "{message}"
    );
    assert!(message.contains("--fcgi-address"), "{message}");

    let chosen = migrate(&top, &["--dry-run", "--fcgi-address", "127.0.0.1:26544"]);
    assert_eq!(chosen.status.code(), Some(1), "{}", err(&chosen));
    let text = out(&chosen);
    assert!(
        text.contains("+        uwsgi_pass 127.0.0.1:26544;"),
        "{text}"
    );
    assert!(
        text.contains(" location / {\n         fastcgi_pass 127.0.0.1:26543;")
            || !text.contains("-        fastcgi_pass 127.0.0.1:26543;"),
        "{text}"
    );
}

#[test]
fn the_address_in_paste_ini_picks_the_location() {
    let site = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n    }\n    location /other/ {\n        fastcgi_pass 127.0.0.1:9001;\n    }\n}\n";
    let (_dir, top) = tree(site);
    let paste = PASTE
        .replace("%(fcgi_host)s", "127.0.0.1")
        .replace("%(fcgi_port)s", "9001");
    std::fs::write(top.join("mediagoblin/paste.ini"), paste).expect("write");
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", err(&output));
    assert!(
        out(&output).contains("+        uwsgi_pass 127.0.0.1:9001;"),
        "{}",
        out(&output)
    );
    assert!(!out(&output).contains("-        fastcgi_pass 127.0.0.1:26543;"));
}

#[test]
fn a_config_nginx_rejects_puts_every_file_back() {
    let running_as_root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    assert!(running_as_root, "this test runs nginx -t, which needs root");
    // `include fastcgi_params;` is relative: it becomes `include uwsgi_params;`,
    // which this nginx directory does not have.
    let site = SITE.replace("/etc/nginx/fastcgi_params", "fastcgi_params");
    let (_dir, top) = tree(&site);
    std::fs::copy(
        "/etc/nginx/fastcgi_params",
        top.join("nginx/fastcgi_params"),
    )
    .expect("copy fastcgi_params");
    let before = files(&top);
    let output = migrate(&top, &["--yes"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}{}",
        out(&output),
        err(&output)
    );
    assert!(
        err(&output).contains("nginx -t rejects the new configuration"),
        "{}",
        err(&output)
    );
    assert!(
        err(&output).contains("uwsgi_params"),
        "nginx's own words are shown: {}",
        err(&output)
    );
    assert!(
        err(&output).contains("every file was put back"),
        "{}",
        err(&output)
    );
    assert_eq!(files(&top), before);
    assert!(
        out(&output).contains("does not exist here"),
        "the plan warned about it: {}",
        out(&output)
    );
}

#[test]
fn malformed_nginx_stops_migrate_with_a_location() {
    let (_dir, top) =
        tree("server {\n    location / {\n        fastcgi_pass 127.0.0.1:26543\n    }\n}\n");
    let before = files(&top);
    let output = migrate(&top, &["--yes"]);
    assert_eq!(output.status.code(), Some(2));
    let site = top.join("nginx/sites/mediagoblin.conf");
    assert!(
        err(&output).contains(&format!("{}:3:37", site.display())),
        "{}",
        err(&output)
    );
    assert_eq!(files(&top), before);
}

#[test]
fn an_interrupted_transaction_blocks_migrate() {
    let (_dir, top) = tree(SITE);
    let journal = top.join("mediagoblin/.mgdeploy/00000000001.000000000-1");
    std::fs::create_dir_all(&journal).expect("mkdir");
    std::fs::write(
        journal.join("journal.json"),
        r#"{"version":2,"id":"00000000001.000000000-1","state":"prepared","files":[]}"#,
    )
    .expect("write");
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        err(&output).contains("an earlier run was interrupted"),
        "{}",
        err(&output)
    );
    assert!(
        err(&output).contains("mgdeploy rollback"),
        "{}",
        err(&output)
    );
}

#[test]
fn no_mediagoblin_location_is_exit_2() {
    let (_dir, top) =
        tree("server {\n    location / {\n        proxy_pass http://127.0.0.1:6543;\n    }\n}\n");
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        err(&output).contains("no nginx location passes requests to MediaGoblin"),
        "{}",
        err(&output)
    );
}

/// Lays out a virtualenv of Python `version` in `root`, as `virtualenv .`
/// does (mgdeploy reads its files and never runs them).
fn virtualenv(root: &Path, version: &str) {
    std::fs::create_dir_all(root.join("bin")).expect("mkdir");
    std::fs::create_dir_all(root.join(format!("lib/python{version}/site-packages")))
        .expect("mkdir");
    let python = root.join(format!("bin/python{version}"));
    std::fs::write(&python, "").expect("write");
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::os::unix::fs::symlink(format!("python{version}"), root.join("bin/python"))
        .expect("symlink");
}

#[test]
fn the_uwsgi_follows_the_virtualenvs_python() {
    let (_dir, top) = tree(SITE);
    let root = top.join("mediagoblin");
    virtualenv(&root, "2.7");
    let planned = migrate(&top, &["--dry-run"]);
    assert_eq!(planned.status.code(), Some(1), "{}", err(&planned));
    let text = out(&planned);
    assert!(
        !text.contains("+plugins ="),
        "no plugin: uWSGI from the virtualenv has Python 2.7 built in:\n{text}"
    );
    assert!(
        text.contains(&format!("+virtualenv = {}\n", root.display())),
        "{text}"
    );
    let install = format!(
        "1. Install uWSGI into the virtualenv, built against its Python (it needs a C compiler and the Python headers): `{}/bin/pip install uwsgi`.",
        root.display()
    );
    assert!(text.contains(&install), "{text}");
    let start = format!(
        "`{}/bin/uwsgi --ini {}/mediagoblin-uwsgi.ini`",
        root.display(),
        root.display()
    );
    assert!(text.contains(&start), "{text}");

    // A Python 3 plugin cannot run it: refused, nothing written.
    let python3 = migrate(&top, &["--plugin", "python3", "--yes"]);
    assert_eq!(python3.status.code(), Some(2), "{}", err(&python3));
    assert!(
        err(&python3).contains("--plugin python3 cannot run this site"),
        "{}",
        err(&python3)
    );
    assert!(
        err(&python3).contains("is Python 2.7 (lib/python2.7)"),
        "{}",
        err(&python3)
    );
    assert!(!root.join("mediagoblin-uwsgi.ini").exists());

    // modifier1 works on Python 2.
    let modifier1 = migrate(
        &top,
        &[
            "--mount",
            "/mediagoblin",
            "--script-name",
            "modifier1",
            "--dry-run",
        ],
    );
    assert_eq!(modifier1.status.code(), Some(1), "{}", err(&modifier1));
    assert!(
        out(&modifier1).contains("+        uwsgi_modifier1 30;"),
        "{}",
        out(&modifier1)
    );

    // A Python 3.11 virtualenv gets Debian's python3 plugin (which is 3.11),
    // and modifier1 is refused there.
    let (_dir3, top3) = tree(SITE);
    let root3 = top3.join("mediagoblin");
    std::fs::write(
        root3.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.11.2\n",
    )
    .expect("write");
    std::fs::create_dir_all(root3.join("bin")).expect("mkdir");
    let python311 = Path::new("/usr/lib/uwsgi/plugins/python311_plugin.so").exists();
    assert!(
        python311,
        "needs Debian's uwsgi-plugin-python3 (see .ci/run)"
    );
    let planned3 = migrate(&top3, &["--dry-run"]);
    assert!(
        out(&planned3).contains("+plugins = python3\n"),
        "{}",
        out(&planned3)
    );
    let refused = migrate(
        &top3,
        &[
            "--mount",
            "/mediagoblin",
            "--script-name",
            "modifier1",
            "--dry-run",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", err(&refused));
}

#[test]
fn command_line_values_are_checked_before_anything_is_read() {
    let (_dir, top) = tree(SITE);
    let before = files(&top);
    let cases: &[(&[&str], &str)] = &[
        (&["--mount", "/media\ngoblin"], "not a URL prefix"),
        (&["--mount", "/../etc"], "not a URL prefix"),
        (&["--mount", "/a b"], "not a URL prefix"),
        (&["--mount", "/a;b{"], "not a URL prefix"),
        (&["--mount", "/\"x\""], "not a URL prefix"),
        (&["--user", "root\nexec-as-root = id"], "not a user name"),
        (&["--group", "a b"], "not a group name"),
        (
            &["--plugin", "python3 $(touch /tmp/pwned)"],
            "not a uWSGI plugin name",
        ),
        (
            &["--socket", "unix:/run/x.sock; return 200 pwned"],
            "not a usable UNIX socket",
        ),
        (
            &["--socket", "unix:/run/a b.sock"],
            "not a usable UNIX socket",
        ),
        (
            &["--socket", "unix:/run/{x}.sock"],
            "not a usable UNIX socket",
        ),
        (&["--socket", ":80"], "has no host"),
        (
            &["--socket", "127.0.0.1:70000"],
            "neither unix:/path nor host:port",
        ),
        (&["--processes", "0"], "0 is not in 1..=1024"),
    ];
    for (args, says) in cases {
        let output = common::mgdeploy()
            .arg("migrate")
            .arg("-C")
            .arg(top.join("mediagoblin"))
            .arg("--nginx")
            .arg(top.join("nginx/nginx.conf"))
            .args(*args)
            .arg("--yes")
            .stdin(Stdio::null())
            .output()
            .expect("run mgdeploy migrate");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", err(&output));
        assert!(err(&output).contains(says), "{args:?}: {}", err(&output));
        assert_eq!(files(&top), before, "{args:?} wrote something");
    }
}

#[test]
fn callers_passing_fastcgi_arguments_are_named() {
    let (_dir, top) = tree(SITE);
    let root = top.join("mediagoblin");
    let starter = std::fs::read_to_string(
        common::corpus().join("mediagoblin/lazystarter.sh/lazystarter-v0.9.0.sh"),
    )
    .expect("read");
    std::fs::write(root.join("lazystarter.sh"), starter).expect("write");
    std::os::unix::fs::symlink("lazystarter.sh", root.join("lazyserver.sh")).expect("symlink");
    std::fs::create_dir_all(root.join("docker")).expect("mkdir");
    std::fs::write(
        root.join("docker/entrypoint.sh"),
        "#!/bin/sh\ncd /srv/mediagoblin\nexec ./lazyserver.sh --server-name=fcgi fcgi_host=0.0.0.0 fcgi_port=26543\n",
    )
    .expect("write");
    let output = migrate(&top, &["--dry-run"]);
    let text = out(&output);
    assert!(
        text.contains(
            "these start lazyserver.sh with paster's server arguments (--server-name=fcgi"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}:3",
            root.join("docker/entrypoint.sh").display()
        )),
        "{text}"
    );
    assert!(text.contains("+        $starter --ini "), "{text}");
}

#[test]
fn paths_the_uwsgi_user_cannot_reach_are_named() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, top) = tree(SITE);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = top.join("mediagoblin");
    virtualenv(&root, "2.7");
    // The standard library lives in a home nobody else may enter, as
    // pyenv's Python does under /root.
    let home = top.join("home");
    std::fs::create_dir_all(home.join("lib/python2.7")).expect("mkdir");
    std::fs::write(home.join("lib/python2.7/os.py"), "").expect("write");
    std::os::unix::fs::symlink(
        home.join("lib/python2.7/os.py"),
        root.join("lib/python2.7/os.py"),
    )
    .expect("symlink");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let text = out(&migrate(&top, &["--dry-run"]));
    assert!(
        text.contains(&format!(
            "uWSGI runs MediaGoblin as nobody, who cannot read the Python standard library, {} ({} is closed to it)",
            root.join("lib/python2.7/os.py").display(),
            home.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "who cannot write to the media directory, {}",
            root.join("user_dev/media/public").display()
        )),
        "{text}"
    );
    // Its owner can: no warning about the Python.
    let owner = common::mgdeploy()
        .arg("migrate")
        .arg("-C")
        .arg(&root)
        .arg("--nginx")
        .arg(top.join("nginx/nginx.conf"))
        .args(["--user", "root", "--group", "root", "--dry-run"])
        .output()
        .expect("run mgdeploy migrate");
    assert!(
        !out(&owner).contains("cannot read the Python"),
        "{}",
        out(&owner)
    );
}

/// paste.ini with paster's HTTP server as well as flup's.
const PASTE_BOTH: &str = "[DEFAULT]\nhttp_port = 6543\n\n[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\nport = %(http_port)s\n\n[server:fcgi]\nuse = egg:flup#fcgi_fork\nhost = %(fcgi_host)s\nport = %(fcgi_port)s\n";

const HTTP_SITE: &str = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        proxy_pass http://127.0.0.1:6543;\n        proxy_set_header Host $host;\n        proxy_read_timeout 300s;\n        proxy_redirect off;\n    }\n}\n";

#[test]
fn from_chooses_between_fastcgi_and_http_and_is_needed_only_when_both_are_there() {
    // Only HTTP: moved without --from; --from fastcgi is refused, pointing at it.
    let (_dir, top) = tree(HTTP_SITE);
    std::fs::write(top.join("mediagoblin/paste.ini"), PASTE_BOTH).expect("write");
    let before = files(&top);
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", err(&output));
    let plan = out(&output);
    for expected in [
        "+        uwsgi_pass 127.0.0.1:6543;",
        "+        uwsgi_param HTTP_HOST $host if_not_empty;",
        "+        uwsgi_read_timeout 300s;",
        "-        proxy_redirect off;",
        "it rewrote the Location headers paster sent",
        "1. Stop paster's HTTP server",
    ] {
        assert!(plan.contains(expected), "{expected:?} missing:\n{plan}");
    }
    let refused = migrate(&top, &["--from", "fastcgi", "--dry-run"]);
    assert_eq!(refused.status.code(), Some(2), "{}", out(&refused));
    assert!(
        err(&refused).contains("served over HTTP here, not FastCGI")
            && err(&refused).contains("--from http moves it")
            && err(&refused).contains("mediagoblin.conf:4:9"),
        "{}",
        err(&refused)
    );
    let chosen = migrate(&top, &["--from", "http", "--dry-run"]);
    assert_eq!(out(&chosen), plan);
    assert_eq!(files(&top), before, "a dry run wrote something");

    // Both: refused without --from, naming both; each --from moves its own.
    let both = format!(
        "{HTTP_SITE}server {{\n    listen 127.0.0.1:8081;\n    location / {{\n        fastcgi_pass 127.0.0.1:26543;\n        include /etc/nginx/fastcgi_params;\n    }}\n}}\n"
    );
    std::fs::write(top.join("nginx/sites/mediagoblin.conf"), &both).expect("write");
    let before_both = files(&top);
    let refused = migrate(&top, &["--dry-run"]);
    assert_eq!(refused.status.code(), Some(2), "{}", out(&refused));
    assert!(
        err(&refused).contains("both over FastCGI and over HTTP")
            && err(&refused).contains("mediagoblin.conf:4:9")
            && err(&refused).contains("mediagoblin.conf:13:9")
            && err(&refused).contains("--from fastcgi or --from http"),
        "{}",
        err(&refused)
    );
    let http = out(&migrate(&top, &["--from", "http", "--dry-run"]));
    assert!(
        http.contains("-        proxy_pass http://127.0.0.1:6543;"),
        "{http}"
    );
    assert!(!http.contains("-        fastcgi_pass"), "{http}");
    let fastcgi = out(&migrate(&top, &["--from", "fastcgi", "--dry-run"]));
    assert!(
        fastcgi.contains("-        fastcgi_pass 127.0.0.1:26543;"),
        "{fastcgi}"
    );
    assert!(!fastcgi.contains("-        proxy_pass"), "{fastcgi}");
    assert_eq!(files(&top), before_both, "a dry run wrote something");

    // Only FastCGI: --from http is refused, pointing at it.
    std::fs::write(top.join("nginx/sites/mediagoblin.conf"), SITE).expect("write");
    let refused = migrate(&top, &["--from", "http", "--dry-run"]);
    assert_eq!(refused.status.code(), Some(2), "{}", out(&refused));
    assert!(
        err(&refused).contains("served over FastCGI here, not HTTP")
            && err(&refused).contains("--from fastcgi moves it"),
        "{}",
        err(&refused)
    );
}

#[test]
fn a_proxy_pass_that_rewrites_the_path_or_names_no_paster_is_not_moved() {
    // proxy_pass with a path other than /: MediaGoblin sees other paths.
    let site = HTTP_SITE.replace(
        "http://127.0.0.1:6543;",
        "http://127.0.0.1:6543/mediagoblin/;",
    );
    let (_dir, top) = tree(&site);
    std::fs::write(top.join("mediagoblin/paste.ini"), PASTE_BOTH).expect("write");
    let before = files(&top);
    let refused = migrate(&top, &["--yes"]);
    assert_eq!(refused.status.code(), Some(2), "{}", out(&refused));
    assert!(
        err(&refused).contains("proxy_pass replaces the location's prefix with /mediagoblin/")
            && err(&refused).contains("mediagoblin.conf:4:9"),
        "{}",
        err(&refused)
    );
    assert_eq!(files(&top), before, "a refused move wrote something");

    // A second proxy_pass in the location (in an `if`) elsewhere: refused;
    // to paster as well: both moved, uwsgi_params added once, outside the if.
    let inner = |to: &str| {
        HTTP_SITE.replace(
            "        proxy_redirect off;\n",
            &format!("        if ($arg_x) {{\n            proxy_pass http://{to};\n        }}\n"),
        )
    };
    std::fs::write(
        top.join("nginx/sites/mediagoblin.conf"),
        inner("127.0.0.1:9999"),
    )
    .expect("write");
    let refused = migrate(&top, &["--yes"]);
    assert_eq!(refused.status.code(), Some(2), "{}", out(&refused));
    assert!(
        err(&refused).contains("MediaGoblin's location also proxies to http://127.0.0.1:9999")
            && err(&refused).contains("mediagoblin.conf:8:13"),
        "{}",
        err(&refused)
    );
    std::fs::write(
        top.join("nginx/sites/mediagoblin.conf"),
        inner("127.0.0.1:6543"),
    )
    .expect("write");
    let moved = migrate(&top, &["--dry-run"]);
    assert_eq!(moved.status.code(), Some(1), "{}", err(&moved));
    assert!(
        out(&moved).contains("+        uwsgi_pass 127.0.0.1:6543;\n+        include ")
            && out(&moved).contains("+            uwsgi_pass 127.0.0.1:6543;\n         }")
            && out(&moved)
                .lines()
                .filter(|l| l.starts_with('+') && l.contains("uwsgi_params;"))
                .count()
                == 1,
        "{}",
        out(&moved)
    );

    // A proxy_pass to something paste.ini does not serve is not MediaGoblin's.
    let elsewhere = HTTP_SITE.replace("6543", "9000");
    std::fs::write(top.join("nginx/sites/mediagoblin.conf"), &elsewhere).expect("write");
    let refused = migrate(&top, &["--from", "http", "--yes"]);
    assert_eq!(refused.status.code(), Some(2), "{}", out(&refused));
    assert!(
        err(&refused).contains(
            "no proxy_pass reaches where paste.ini's HTTP servers listen: 127.0.0.1:6543"
        ),
        "{}",
        err(&refused)
    );
}

#[test]
fn the_server_blocks_http_settings_follow_mediagoblin_to_uwsgi() {
    // The location sets no header of its own: the server's reached paster,
    // and reach MediaGoblin as uwsgi_param lines in the location.
    let site = "server {\n    listen 127.0.0.1:8080;\n    proxy_set_header Host $host;\n    proxy_set_header X-Forwarded-Proto https;\n    proxy_connect_timeout 5s;\n    proxy_http_version 1.1;\n    location / {\n        proxy_pass http://127.0.0.1:6543;\n    }\n    location /elsewhere/ {\n        proxy_pass http://127.0.0.1:9000;\n    }\n}\n";
    let (_dir, top) = tree(site);
    std::fs::write(top.join("mediagoblin/paste.ini"), PASTE_BOTH).expect("write");
    let output = migrate(&top, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", err(&output));
    let plan = out(&output);
    for expected in [
        // The server's lines stay, for its other locations.
        "     proxy_set_header Host $host;",
        "     proxy_connect_timeout 5s;\n+    uwsgi_connect_timeout 5s;",
        "+        uwsgi_param HTTP_HOST $host if_not_empty;",
        "+        uwsgi_param HTTP_X_FORWARDED_PROTO https;",
        "+        uwsgi_param UWSGI_SCHEME https;",
        "the server block's `proxy_http_version 1.1;`, for MediaGoblin",
        "         proxy_pass http://127.0.0.1:9000;",
    ] {
        assert!(plan.contains(expected), "{expected:?} missing:\n{plan}");
    }
    assert!(!plan.contains("nginx sent paster its own Host"), "{plan}");

    // With a header of its own, the location never inherited the server's.
    let own = site.replace(
        "        proxy_pass http://127.0.0.1:6543;\n",
        "        proxy_pass http://127.0.0.1:6543;\n        proxy_set_header X-Real-IP $remote_addr;\n",
    );
    std::fs::write(top.join("nginx/sites/mediagoblin.conf"), own).expect("write");
    let plan = out(&migrate(&top, &["--dry-run"]));
    assert!(
        plan.contains("+        uwsgi_param HTTP_X_REAL_IP $remote_addr if_not_empty;"),
        "{plan}"
    );
    assert!(!plan.contains("uwsgi_param HTTP_HOST"), "{plan}");
    assert!(
        plan.contains("nginx sent paster its own Host, 127.0.0.1:6543"),
        "{plan}"
    );
}

#[test]
fn the_http_blocks_settings_follow_mediagoblin_unless_the_server_sets_its_own() {
    let site = "server {\n    listen 127.0.0.1:8080;\n    location / {\n        proxy_pass http://127.0.0.1:6543;\n    }\n}\n";
    let (_dir, top) = tree(site);
    std::fs::write(top.join("mediagoblin/paste.ini"), PASTE_BOTH).expect("write");
    let nginx_conf = std::fs::read_to_string(top.join("nginx/nginx.conf")).expect("read");
    let with_settings = nginx_conf.replace(
        "    access_log off;\n",
        "    access_log off;\n    proxy_read_timeout 90s;\n    proxy_set_header X-Forwarded-Host $host;\n",
    );
    std::fs::write(top.join("nginx/nginx.conf"), &with_settings).expect("write");
    let plan = out(&migrate(&top, &["--dry-run"]));
    for expected in [
        "     proxy_read_timeout 90s;\n+    uwsgi_read_timeout 90s;",
        "+        uwsgi_param HTTP_X_FORWARDED_HOST $host if_not_empty;",
        "the http block's `proxy_set_header X-Forwarded-Host $host;` reached paster",
    ] {
        assert!(plan.contains(expected), "{expected:?} missing:\n{plan}");
    }

    // The server's own headers and timeout hide the http block's.
    let own = site.replace(
        "    location / {\n",
        "    proxy_set_header Host $host;\n    proxy_read_timeout 10s;\n    location / {\n",
    );
    std::fs::write(top.join("nginx/sites/mediagoblin.conf"), own).expect("write");
    let plan = out(&migrate(&top, &["--dry-run"]));
    assert!(
        plan.contains("+        uwsgi_param HTTP_HOST $host if_not_empty;"),
        "{plan}"
    );
    assert!(plan.contains("+    uwsgi_read_timeout 10s;"), "{plan}");
    assert!(!plan.contains("X_FORWARDED_HOST"), "{plan}");
    assert!(!plan.contains("uwsgi_read_timeout 90s"), "{plan}");
}
