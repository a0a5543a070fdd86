//! The proof on the real thing: a GNU MediaGoblin 0.9.0 site on CPython
//! 2.7, built from PyPI by `../shared/realmg/setup-real-mg09.sh`, served the
//! way its docs say (`./lazyserver.sh --server-name=fcgi ...`, flup on
//! Python 2.7, behind the docs' nginx block). Then `mgdeploy migrate --yes`,
//! and the site started exactly as the summary says (its install step
//! included), and again through the patched `./lazyserver.sh`. Every page
//! must answer as before: status, headers and body, with CSRF tokens and
//! cookie values masked; under `--mount /mediagoblin` with every link
//! carrying the prefix.
//!
//! Everything listens on 127.0.0.1 on free ports and is stopped when a
//! scenario ends, pass or fail. uWSGI runs MediaGoblin as root here: the
//! site's Python is pyenv's, under /root (mode 0700), which no other user
//! can read — mgdeploy's summary warns about exactly that for other users.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use common::http::{Client, Response};
use common::servers::{Servers, free_port, kill_matching, require_root, wait_closed, wait_for};

/// The scenarios share one site: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Where the site is built; kept between runs, so that later runs take
/// seconds (`RESET=1` puts the FastCGI-era files back every time).
fn work_dir() -> PathBuf {
    std::env::var_os("MGDEPLOY_REALMG09")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/mgdeploy-test-realmg09"))
}

struct Site {
    w: PathBuf,
    root: PathBuf,
    nginx_conf: PathBuf,
    port: u16,
    fcgi: u16,
}

/// Builds (or resets) the site, listening on fresh ports. With
/// `without_uwsgi`, uWSGI is taken out of the virtualenv, so that the
/// summary's install step is what puts it there.
fn site(without_uwsgi: bool) -> Site {
    let w = work_dir();
    let (port, fcgi) = (free_port(), free_port());
    let script = common::shared().join("realmg/setup-real-mg09.sh");
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pip-cache");
    let output = Command::new("bash")
        .arg(&script)
        .env("W", &w)
        .env("NGINX_PORT", port.to_string())
        .env("FCGI_PORT", fcgi.to_string())
        .env("RESET", "1")
        .env("WITH_UWSGI_PY2", "0")
        .env("PIP_CACHE", &cache)
        .output()
        .expect("run setup-real-mg09.sh");
    assert!(
        output.status.success(),
        "{} failed (it needs pyenv's CPython 2.7.18, gcc and PyPI):\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let root = w.join("site");
    if without_uwsgi && root.join("bin/uwsgi").exists() {
        let removed = Command::new(root.join("bin/pip"))
            .args(["uninstall", "-q", "-y", "uwsgi"])
            .output()
            .expect("pip uninstall");
        assert!(removed.status.success(), "{removed:?}");
    }
    Site {
        nginx_conf: w.join("nginx/nginx.conf"),
        w,
        root,
        port,
        fcgi,
    }
}

fn start_nginx(servers: &mut Servers, site: &Site) {
    servers.start(
        "nginx",
        Command::new("nginx")
            .arg("-c")
            .arg(&site.nginx_conf)
            .arg("-p")
            .arg(site.w.join("nginx"))
            .args(["-g", "daemon off;"])
            .stderr(Stdio::null()),
    );
    wait_for(&site.port.to_string(), &site.w.join("logs/nginx-error.log"));
}

/// One page as compared: what was asked, and the answer with what differs
/// from run to run masked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Page {
    label: &'static str,
    status: u16,
    headers: Vec<String>,
    body: String,
}

/// Replaces the value after `marker` up to the next `"` (or `;`).
fn mask_after(text: &str, marker: &str, end: char) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        out.push_str("<masked>");
        rest = tail.find(end).map_or("", |i| &tail[i..]);
    }
    out.push_str(rest);
    out
}

fn masked(label: &'static str, response: &Response, secrets: &[String]) -> Page {
    let mut body = response.text();
    for secret in secrets.iter().filter(|s| s.len() > 4) {
        body = body.replace(secret.as_str(), "<masked>");
    }
    // An Atom feed says when it was made.
    body = mask_after(&body, "<updated>", '<');
    let headers = response
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
        .map(|(name, value)| {
            if name.eq_ignore_ascii_case("content-length") {
                // Of the body as compared (masked values differ in length).
                let unchanged = value
                    .parse::<usize>()
                    .is_ok_and(|n| n == response.body.len());
                let shown = if unchanged {
                    body.len().to_string()
                } else {
                    format!("{value} (not the body's length)")
                };
                format!("{name}: {shown}")
            } else if name.eq_ignore_ascii_case("set-cookie") {
                // The cookie's value, and its expiry time.
                let (cookie, attributes) = value.split_once(';').unwrap_or((value, ""));
                let cookie = cookie
                    .split_once('=')
                    .map_or(cookie.to_string(), |(n, _)| format!("{n}=<masked>"));
                format!(
                    "{name}: {cookie};{}",
                    mask_after(attributes, "expires=", ';')
                )
            } else {
                format!("{name}: {value}")
            }
        })
        .collect();
    Page {
        label,
        status: response.status,
        headers,
        body,
    }
}

/// The CSRF token of the login form.
fn csrf_token(page: &Response) -> String {
    let text = page.text();
    let at = text
        .find("name=\"csrf_token\"")
        .unwrap_or_else(|| panic!("no csrf_token field on the login page:\n{text}"));
    let tag_start = text[..at].rfind('<').unwrap_or(0);
    let tag_end = at + text[at..].find('>').unwrap_or(0);
    let tag = &text[tag_start..tag_end];
    let value = tag
        .split("value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no value in {tag}"));
    value.to_string()
}

/// The pages every state is asked for. `prefix` is where MediaGoblin is
/// mounted (`""` at /); static files stay at the root.
fn pages(port: u16, prefix: &str) -> Vec<Page> {
    let app = |path: &str| format!("{prefix}{path}");
    let mut visitor = Client::new(port);
    let mut out = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    let record = |out: &mut Vec<Page>, label, response: Response, secrets: &[String]| {
        out.push(masked(label, &response, secrets));
    };

    let r = visitor.get(&app("/"));
    record(&mut out, "GET /", r, &secrets);
    let login = visitor.get(&app("/auth/login/"));
    let token = csrf_token(&login);
    secrets.push(token.clone());
    secrets.extend(visitor.cookies.iter().map(|(_, v)| v.clone()));
    record(&mut out, "GET /auth/login/", login, &secrets);
    let r = visitor.get("/mgoblin_static/css/base.css");
    record(
        &mut out,
        "GET /mgoblin_static/css/base.css (nginx)",
        r,
        &secrets,
    );
    let r = visitor.get(&app("/no/such/page/"));
    record(&mut out, "GET /no/such/page/", r, &secrets);
    let r = visitor.get(&app("/u/admin/"));
    record(&mut out, "GET /u/admin/", r, &secrets);
    let r = visitor.get(&app("/u/ad%6Din/"));
    record(&mut out, "GET /u/ad%6Din/ (percent-encoded)", r, &secrets);
    let r = visitor.get(&app("/u/no%20one/"));
    record(&mut out, "GET /u/no%20one/", r, &secrets);
    let r = visitor.get(&app("/u/admin/gallery/?page=1&x=a%20b"));
    record(
        &mut out,
        "GET /u/admin/gallery/?page=1&x=a%20b",
        r,
        &secrets,
    );
    let r = visitor.get(&app("/u/admin/atom/"));
    record(&mut out, "GET /u/admin/atom/ (absolute URLs)", r, &secrets);

    let mut stranger = Client::new(port);
    let r = stranger.post_form(&app("/auth/login/"), "username=admin&password=adminpass");
    record(
        &mut out,
        "POST /auth/login/ without CSRF token",
        r,
        &secrets,
    );

    let r = visitor.post_form(
        &app("/auth/login/"),
        &format!("csrf_token={token}&username=admin&password=wrong"),
    );
    record(&mut out, "POST /auth/login/ wrong password", r, &secrets);
    let r = visitor.post_form(
        &app("/auth/login/"),
        &format!("csrf_token={token}&username=admin&password=adminpass"),
    );
    secrets.extend(visitor.cookies.iter().map(|(_, v)| v.clone()));
    record(&mut out, "POST /auth/login/ right password", r, &secrets);
    let r = visitor.get(&app("/"));
    assert!(
        r.text().contains("Log out") || r.text().contains("log out"),
        "not logged in after the login:\n{}",
        r.text()
    );
    record(&mut out, "GET / logged in", r, &secrets);
    let r = visitor.get(&app("/edit/account/"));
    record(&mut out, "GET /edit/account/ logged in", r, &secrets);
    out
}

/// A page served under `prefix`, said as it would be at `/`. Before that,
/// every link of the page must carry the prefix (static files excepted:
/// MediaGoblin builds their URLs from mediagoblin.ini, not SCRIPT_NAME).
fn as_at_root(page: &Page, prefix: &str) -> Page {
    if prefix.is_empty() {
        return page.clone();
    }
    for attribute in ["href=\"/", "action=\"/", "src=\"/"] {
        for (at, _) in page.body.match_indices(attribute) {
            let link = &page.body[at + attribute.len() - 1..];
            let fine = link.starts_with(&format!("{prefix}/"))
                || [
                    "/mgoblin_static/",
                    "/mgoblin_media/",
                    "/theme_static/",
                    "/plugin_static/",
                ]
                .iter()
                .any(|s| link.starts_with(s));
            assert!(
                fine,
                "{}: a link without the prefix {prefix}: {}",
                page.label,
                &link[..link.len().min(80)]
            );
        }
    }
    // MediaGoblin's cookies have SCRIPT_NAME as their path: empty at /.
    let strip = |text: &str| {
        let text = text
            .replace(&format!("{prefix}/"), "/")
            .replace(&format!("{prefix}\""), "/\"")
            .replace(&format!("Path={prefix};"), "Path=;");
        match text.strip_suffix(&format!("Path={prefix}")) {
            Some(head) => format!("{head}Path="),
            None => text,
        }
    };
    let body = strip(&page.body);
    let headers = page
        .headers
        .iter()
        .map(|h| match h.strip_prefix("Content-Length: ") {
            Some(_) => format!("Content-Length: {}", body.len()),
            None => strip(h),
        })
        .collect();
    Page {
        label: page.label,
        status: page.status,
        headers,
        body,
    }
}

/// The command in backquotes on the summary line that starts with `lead`.
fn step(summary: &str, lead: &str) -> Option<String> {
    let line = summary.lines().find(|l| l.contains(lead))?;
    let start = line.find('`')? + 1;
    let end = start + line[start..].find('`')?;
    Some(line[start..end].to_string())
}

fn shell(command: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(command);
    sh
}

fn compare(table: &mut Vec<String>, state: &str, before: &[Page], after: &[Page], prefix: &str) {
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        let a = as_at_root(a, prefix);
        assert_eq!(a.status, b.status, "{state}: {}: status", b.label);
        assert!(
            a.body == b.body,
            "{state}: {}: the body differs\n--- before\n{}\n--- {state}\n{}",
            b.label,
            b.body,
            a.body
        );
        assert_eq!(a.headers, b.headers, "{state}: {}: headers", b.label);
        table.push(format!(
            "| {} | {} | {} | same headers ({}), same body ({} bytes) |",
            b.label,
            b.status,
            a.status,
            b.headers.len(),
            b.body.len()
        ));
    }
}

/// How a scenario moves the site.
struct Scenario {
    mount: Option<&'static str>,
    /// `--script-name`, when not the default.
    script_name: Option<&'static str>,
    /// uWSGI is not in the virtualenv before the move (else it is, from an
    /// earlier `pip install uwsgi`, and the summary has no install step).
    without_uwsgi: bool,
}

fn run(scenario: Scenario) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_root("the real-MediaGoblin test starts nginx and uWSGI and runs the site as root");
    let site = site(scenario.without_uwsgi);
    if !scenario.without_uwsgi && !site.root.join("bin/uwsgi").exists() {
        let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pip-cache");
        let installed = Command::new(site.root.join("bin/pip"))
            .args(["install", "-q", "uwsgi"])
            .env("PIP_CACHE_DIR", &cache)
            .output()
            .expect("pip install uwsgi");
        assert!(installed.status.success(), "{installed:?}");
    }
    let mount = scenario.mount;
    let prefix = mount.unwrap_or("");
    let mut servers = Servers::default();
    let fcgi_port = format!("fcgi_port={}", site.fcgi);
    servers.strays(&fcgi_port);
    servers.strays(
        &site
            .root
            .join("mediagoblin-uwsgi.ini")
            .display()
            .to_string(),
    );

    // Before: FastCGI as the 0.9 docs start it, flup on Python 2.7.
    servers.start(
        "fastcgi",
        Command::new("./lazyserver.sh")
            .args(["--server-name=fcgi", "fcgi_host=127.0.0.1", &fcgi_port])
            .current_dir(&site.root)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(site.w.join("logs/fastcgi.log")).expect("log")),
    );
    wait_for(&site.fcgi.to_string(), &site.w.join("logs/fastcgi.log"));
    start_nginx(&mut servers, &site);
    let before = pages(site.port, "");
    servers.stop("nginx");
    servers.stop("fastcgi");
    kill_matching(&fcgi_port);
    wait_closed(site.fcgi);

    // The move, as root on the server.
    let mut migrate = common::mgdeploy();
    migrate
        .arg("migrate")
        .arg("-C")
        .arg(&site.root)
        .arg("--nginx")
        .arg(&site.nginx_conf)
        .args(["--user", "root", "--group", "root", "--yes"])
        .env("NO_COLOR", "1");
    if let Some(mount) = mount {
        migrate.args(["--mount", mount]);
    }
    if let Some(how) = scenario.script_name {
        migrate.args(["--script-name", how]);
    }
    let moved = migrate.output().expect("run mgdeploy migrate");
    let summary = format!(
        "{}{}",
        String::from_utf8_lossy(&moved.stdout),
        String::from_utf8_lossy(&moved.stderr)
    );
    assert_eq!(moved.status.code(), Some(0), "migrate:\n{summary}");

    // The summary's steps, run as written.
    match step(&summary, "Install uWSGI into the virtualenv") {
        Some(install) => {
            assert!(
                scenario.without_uwsgi,
                "an install step although bin/uwsgi is there:\n{summary}"
            );
            let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pip-cache");
            let installed = shell(&install)
                .env("PIP_CACHE_DIR", &cache)
                .output()
                .expect("run the install step");
            assert!(
                installed.status.success(),
                "`{install}` failed: {}",
                String::from_utf8_lossy(&installed.stderr)
            );
        }
        None => assert!(
            !scenario.without_uwsgi,
            "no install step for the Python 2.7 virtualenv without uWSGI:\n{summary}"
        ),
    }
    let start = step(&summary, "Start uWSGI")
        .unwrap_or_else(|| panic!("no start command in the summary:\n{summary}"));
    assert!(
        start.starts_with(&site.root.join("bin/uwsgi").display().to_string()),
        "the virtualenv's uWSGI runs the site: {start}"
    );
    let log = site.w.join("logs/uwsgi-after.log");
    servers.start(
        "uwsgi",
        shell(&start)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log")),
    );
    wait_for(&site.fcgi.to_string(), &log);
    start_nginx(&mut servers, &site);
    let after = pages(site.port, prefix);
    servers.stop("nginx");
    servers.stop("uwsgi");
    wait_closed(site.fcgi);

    // And through the patched lazyserver.sh, as people start it by hand.
    let lazy_log = site.w.join("logs/lazyserver-after.log");
    servers.start(
        "lazyserver",
        Command::new("./lazyserver.sh")
            .current_dir(&site.root)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&lazy_log).expect("log")),
    );
    wait_for(&site.fcgi.to_string(), &lazy_log);
    start_nginx(&mut servers, &site);
    let lazy = pages(site.port, prefix);
    servers.stop("nginx");
    servers.stop("lazyserver");

    let mut table = vec![
        format!(
            "MediaGoblin 0.9.0 (CPython 2.7.18), {}{}: before (flup over FastCGI) | after (`{start}`)",
            mount.map_or("at /".to_string(), |m| format!("moved under {m}")),
            scenario
                .script_name
                .map_or(String::new(), |s| format!(" with --script-name {s}"))
        ),
        "| page | before | after | compared |".to_string(),
        "| --- | ---: | ---: | --- |".to_string(),
    ];
    compare(
        &mut table,
        "started as the summary says",
        &before,
        &after,
        prefix,
    );
    table.push(format!(
        "| (all of the above through ./lazyserver.sh) | | | same: {} pages |",
        lazy.len()
    ));
    compare(&mut Vec::new(), "./lazyserver.sh", &before, &lazy, prefix);
    eprintln!("{}", table.join("\n"));

    // check finds nothing wrong with the migrated site.
    let checked = common::mgdeploy()
        .arg("check")
        .arg("-C")
        .arg(&site.root)
        .arg("--nginx")
        .arg(&site.nginx_conf)
        .env("NO_COLOR", "1")
        .output()
        .expect("run mgdeploy check");
    assert_eq!(
        checked.status.code(),
        Some(0),
        "check on the migrated site:\n{}",
        String::from_utf8_lossy(&checked.stdout)
    );
}

#[test]
fn mediagoblin_0_9_at_root_answers_as_before() {
    run(Scenario {
        mount: None,
        script_name: None,
        without_uwsgi: true,
    });
}

#[test]
fn mediagoblin_0_9_moved_under_a_prefix_answers_as_before() {
    run(Scenario {
        mount: Some("/mediagoblin"),
        script_name: None,
        without_uwsgi: false,
    });
}

/// `uwsgi_modifier1 30` takes the prefix off PATH_INFO on Python 2 (not on
/// Python 3, where migrate refuses it).
#[test]
fn mediagoblin_0_9_under_a_prefix_with_modifier1_answers_as_before() {
    run(Scenario {
        mount: Some("/mediagoblin"),
        script_name: Some("modifier1"),
        without_uwsgi: false,
    });
}
