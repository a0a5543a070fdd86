//! `check` and `migrate` give one answer: for every `fastcgi_*` and
//! `proxy_*` directive nginx takes in a location, both do what the
//! directive table (`protocol::directives`) says (MG002 knows the name,
//! MG012 or MG033 offers it, migrate does it); check finds nothing to fix
//! in what migrate writes; and both read the server, not this machine.

use mgdeploy::protocol::Protocol;
use mgdeploy::protocol::directives::{Fate, all};

use crate::common::tree::{Tree, text, tree};

/// The lines of a location for each directive of `from` (the pass and
/// `proxy_set_header`, which are more than a rename, left out), with
/// their fates.
fn lines(from: Protocol) -> Vec<(String, &'static str, Fate)> {
    all(from)
        .filter(|(name, _)| !name.ends_with("_pass"))
        .filter_map(|(name, fate)| Some((crate::common::in_a_location(name)?, name, fate)))
        .collect()
}

/// `tree`'s site with `pass` and `lines` in its location.
fn with_location(t: &Tree, pass: &str, lines: &[(String, &str, Fate)]) {
    let body: String = lines
        .iter()
        .map(|(line, _, _)| format!("        {line}\n"))
        .collect();
    let site = format!(
        "server {{\n    listen 127.0.0.1:8080;\n    location / {{\n        {pass}\n{body}    }}\n}}\n"
    );
    std::fs::write(&t.site, site).expect("write");
}

/// The findings of `code` in `check --format json`, by directive name.
fn findings(t: &Tree, code: &str) -> Vec<serde_json::Value> {
    let output = t.mgdeploy("check", &["--format", "json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(&output)));
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == code)
        .cloned()
        .collect()
}

fn paste_with_http(t: &Tree) {
    let paste = std::fs::read_to_string(t.root.join("paste.ini")).expect("read");
    std::fs::write(
        t.root.join("paste.ini"),
        format!("{paste}\n[server:main]\nuse = egg:Paste#http\nhost = 127.0.0.1\nport = 6543\n"),
    )
    .expect("write");
}

#[test]
fn check_and_migrate_give_each_directive_the_tables_answer() {
    for (from, pass, leftover_code) in [
        (Protocol::FastCgi, "fastcgi_pass 127.0.0.1:26543;", "MG012"),
        (Protocol::Http, "proxy_pass http://127.0.0.1:6543;", "MG033"),
    ] {
        let lines = lines(from);
        assert!(lines.len() > 30, "{from:?}: {}", lines.len());

        // check, on a location already passing to uWSGI.
        let t = tree();
        paste_with_http(&t);
        with_location(&t, "uwsgi_pass 127.0.0.1:3031;", &lines);
        assert_eq!(findings(&t, "MG002"), Vec::<serde_json::Value>::new());
        let leftovers = findings(&t, leftover_code);
        for (_, name, fate) in &lines {
            let finding = leftovers
                .iter()
                .find(|d| {
                    d["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with(&format!("`{name}`"))
                })
                .unwrap_or_else(|| panic!("{leftover_code} says nothing of {name}"));
            let fix = finding["fix"]["message"].as_str().unwrap_or("");
            match fate {
                Fate::Rename(twin) => assert_eq!(fix, format!("write `{twin}`"), "{name}"),
                Fate::Drop(why) => {
                    assert_eq!(fix, format!("drop `{name}`"), "{name}");
                    assert_eq!(finding["help"], format!("drop it: {why}"), "{name}");
                }
            }
        }

        // migrate, on the same location passing to the old server.
        let t = tree();
        paste_with_http(&t);
        with_location(&t, pass, &lines);
        let output = t.migrate(&["--dry-run", "--format", "patch", "--from", from_arg(from)]);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        let patch = String::from_utf8_lossy(&output.stdout).into_owned();
        for (line, name, fate) in &lines {
            let removed = patch.contains(&format!("\n-        {line}\n"));
            match fate {
                Fate::Rename(twin) => {
                    let mut renamed = line.replacen(name, twin, 1);
                    // A cache names its zone, whose twin migrate declares.
                    if *twin == "uwsgi_cache" {
                        renamed = renamed.replace(" on;", " on_uwsgi;");
                    }
                    assert!(removed, "{line} is kept:\n{patch}");
                    assert!(
                        patch.contains(&format!("\n+        {renamed}\n")),
                        "{line} is not renamed to {renamed}:\n{patch}"
                    );
                }
                Fate::Drop(_) => {
                    assert!(removed, "{line} is kept:\n{patch}");
                    assert!(!patch.contains(&format!("+        {line}")), "{line}");
                }
            }
        }
    }
}

fn from_arg(from: Protocol) -> &'static str {
    match from {
        Protocol::FastCgi => "fastcgi",
        _ => "http",
    }
}

/// Directives nginx has that the unknown-directive rule once called
/// unknown: `http2` (1.25.1), `early_hints`, the socket buffers.
#[test]
fn nginx_s_own_directives_are_not_unknown() {
    let t = tree();
    std::fs::write(
        &t.site,
        "server {\n    listen 127.0.0.1:8080;\n    http2 on;\n    early_hints $http2;\n    location / {\n        uwsgi_pass 127.0.0.1:3031;\n        include uwsgi_params;\n        fastcgi_socket_rcvbuf 64k;\n    }\n}\n",
    )
    .expect("write");
    let output = t.mgdeploy("check", &["--format", "json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(&output)));
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(!codes.contains(&"MG002"), "{codes:?}");
    // The leftover is the table's: its twin, as migrate would write it.
    let leftover = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "MG012")
        .expect("MG012");
    assert_eq!(leftover["fix"]["message"], "write `uwsgi_socket_rcvbuf`");
}

/// `check`'s findings on the tree, as (code, severity, message).
fn codes(t: &Tree, extra: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["--format", "json"];
    args.extend(extra);
    let output = t.mgdeploy("check", &args);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(&output)));
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (field("code"), field("severity"), field("message"))
        })
        .collect()
}

/// nginx lets headers reach 128k; uWSGI cannot read past 65535, which
/// migrate writes: check must not then offer 131072 as a safe fix.
#[test]
fn check_has_nothing_to_say_of_the_buffer_migrate_sized() {
    let t = tree();
    let site = std::fs::read_to_string(&t.site).expect("read");
    std::fs::write(
        &t.site,
        site.replace(
            "listen 127.0.0.1:8080;",
            "listen 127.0.0.1:8080;\n    large_client_header_buffers 4 128k;",
        ),
    )
    .expect("write");
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let ini = std::fs::read_to_string(t.root.join("mediagoblin-uwsgi.ini")).expect("ini");
    assert!(ini.contains("\nbuffer-size = 65535\n"), "{ini}");
    let found = codes(&t, &[]);
    assert!(
        !found.iter().any(|(code, _, _)| code == "MG021"),
        "{found:?}"
    );
}

/// A smaller buffer than nginx's room is still found, with the largest
/// uWSGI can use as the fix.
#[test]
fn a_buffer_smaller_than_nginx_s_room_is_found() {
    let t = tree();
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let ini_path = t.root.join("mediagoblin-uwsgi.ini");
    let ini = std::fs::read_to_string(&ini_path).expect("ini");
    std::fs::write(
        &ini_path,
        ini.replace("buffer-size = 8192", "buffer-size = 4096"),
    )
    .expect("write");
    let found = codes(&t, &[]);
    assert!(
        found.iter().any(|(code, _, message)| code == "MG021"
            && message.contains("4096 bytes")
            && message.contains("reach 8192")),
        "{found:?}"
    );
}

/// A server mirrored for review (`--sysroot`): its site already on uWSGI,
/// loading `plugins`, and the uWSGI plugins the server has.
fn reviewed_server(plugins: &str, server_has: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = std::fs::canonicalize(dir.path()).expect("canonical");
    let srv = repo.join("srv/mediagoblin");
    std::fs::create_dir_all(&srv).expect("mkdir");
    std::fs::create_dir_all(repo.join("etc/nginx/sites-enabled")).expect("mkdir");
    std::fs::write(
        repo.join("etc/nginx/nginx.conf"),
        "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*.conf;\n}\n",
    )
    .expect("write");
    std::fs::write(
        repo.join("etc/nginx/sites-enabled/mediagoblin.conf"),
        "server {\n    listen 127.0.0.1:8080;\n    location / {\n        uwsgi_pass 127.0.0.1:3031;\n        include uwsgi_params;\n    }\n}\n",
    )
    .expect("write");
    std::fs::write(srv.join("paste.ini"), crate::common::tree::PASTE).expect("write");
    std::fs::write(
        srv.join("mediagoblin-uwsgi.ini"),
        format!("[uwsgi]\nplugins = {plugins}\nsocket = 127.0.0.1:3031\nmodule = mediagoblin\n"),
    )
    .expect("write");
    let plugin_dir = repo.join("usr/lib/uwsgi/plugins");
    std::fs::create_dir_all(&plugin_dir).expect("mkdir");
    for plugin in server_has {
        std::fs::write(plugin_dir.join(format!("{plugin}_plugin.so")), "").expect("write");
    }
    (dir, repo)
}

fn review(repo: &std::path::Path) -> Vec<serde_json::Value> {
    let output = crate::common::mgdeploy()
        .current_dir(repo)
        .args([
            "check",
            "--format",
            "json",
            "--sysroot",
            ".",
            "-C",
            "/srv/mediagoblin",
        ])
        .args(["--nginx", "/etc/nginx/nginx.conf"])
        .output()
        .expect("run mgdeploy");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(&output)));
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "MG020")
        .cloned()
        .collect()
}

/// MG020 judges the server's plugins, as the mirror holds them, not the
/// plugins of the machine that reviews it.
#[test]
fn plugins_are_the_servers_under_sysroot() {
    // The server has Python 2.7's plugin (this machine has Python 3's).
    let (_dir, repo) = reviewed_server("python27", &["python27"]);
    assert_eq!(review(&repo), Vec::<serde_json::Value>::new());

    // The server lacks it, and has Python 3's: the help names the
    // server's plugin, and the message the server's directory.
    let (_dir, repo) = reviewed_server("python27", &["python3"]);
    let found = review(&repo);
    let [finding] = found.as_slice() else {
        panic!("{found:?}");
    };
    assert_eq!(
        finding["message"],
        "uWSGI plugin `python27` is not installed"
    );
    assert!(
        finding["help"]
            .as_str()
            .is_some_and(|h| h.contains("`plugins = python3`")),
        "{finding}"
    );

    // The server has no Python 3 plugin: nothing suggests one.
    let (_dir, repo) = reviewed_server("python", &["python27", "router_redirect"]);
    let found = review(&repo);
    let [finding] = found.as_slice() else {
        panic!("{found:?}");
    };
    assert!(finding["help"].is_null(), "{finding}");
}

/// A server block's setting for the old module reached MediaGoblin; after
/// the move its uWSGI twin does, written beside it, whichever server
/// MediaGoblin is moved from.
#[test]
fn settings_above_the_location_follow_it_from_either_server() {
    for (setting, pass) in [
        ("fastcgi_read_timeout 300;", "fastcgi_pass 127.0.0.1:26543;"),
        (
            "proxy_read_timeout 300;",
            "proxy_pass http://127.0.0.1:6543;",
        ),
    ] {
        let t = tree();
        paste_with_http(&t);
        std::fs::write(
            &t.site,
            format!(
                "server {{\n    listen 127.0.0.1:8080;\n    {setting}\n    location / {{\n        {pass}\n    }}\n}}\n"
            ),
        )
        .expect("write");
        let output = t.migrate(&["--dry-run", "--format", "patch"]);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        let patch = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            patch.contains(&format!("     {setting}\n+    uwsgi_read_timeout 300;\n")),
            "{setting}:\n{patch}"
        );
        // A second run finds the twin set: nothing more to add.
        let output = t.migrate(&["--yes"]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        let site = std::fs::read_to_string(&t.site).expect("read");
        assert_eq!(site.matches("uwsgi_read_timeout 300;").count(), 1, "{site}");
    }
}
