//! The proof of `migrate --from http` on the real thing: GNU MediaGoblin
//! 0.15.0 on Debian's Python 3, built by
//! `../shared/realmg/setup-real-mg-py3.sh`, served as its docs say
//! (`./lazyserver.sh --server-name=main`: paster and waitress behind the
//! docs' `proxy_pass` block with its `proxy_set_header` lines). Then
//! `mgdeploy migrate --yes`, paster stopped and uWSGI started exactly as the
//! summary says, and again through the patched `./lazyserver.sh`. Every page
//! must answer as before (status, headers, body; CSRF tokens and cookie
//! values masked), the Atom feed's absolute URLs included; moved under
//! `--mount /mediagoblin`, with every link carrying the prefix.
//!
//! Everything listens on 127.0.0.1 on free ports and is stopped when a
//! scenario ends, pass or fail. uWSGI runs MediaGoblin as root, the owner of
//! the site the script builds.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use common::pages::{Page, check_is_clean, compare, compare_states, pages, shell, step};
use common::servers::{Servers, free_port, require_root, wait_closed, wait_for};

/// The scenarios share one site: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Where the site is built; kept between runs (`RESET=1` puts the
/// before-state files back every time).
fn work_dir() -> PathBuf {
    std::env::var_os("MGDEPLOY_REALMG15")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/mgdeploy-test-realmg15"))
}

struct Site {
    w: PathBuf,
    root: PathBuf,
    nginx_conf: PathBuf,
    port: u16,
    paste: u16,
}

/// Builds (or resets) the site on fresh ports, nginx in its HTTP state.
fn site() -> Site {
    let w = work_dir();
    let (port, paste, fcgi) = (free_port(), free_port(), free_port());
    let script = common::shared().join("realmg/setup-real-mg-py3.sh");
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pip-cache");
    let output = Command::new("bash")
        .arg(&script)
        .env("W", &w)
        .env("NGINX_PORT", port.to_string())
        .env("PASTE_PORT", paste.to_string())
        .env("FCGI_PORT", fcgi.to_string())
        .env("BEFORE", "http")
        .env("RESET", "1")
        // MediaGoblin's JavaScript is the same before and after; npm
        // would only add a download.
        .env("WITH_NPM", "0")
        .env("PIP_CACHE", &cache)
        .output()
        .expect("run setup-real-mg-py3.sh");
    assert!(
        output.status.success(),
        "{} failed (it needs python3-venv and PyPI):\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Site {
        nginx_conf: w.join("nginx/nginx.conf"),
        root: w.join("site"),
        w,
        port,
        paste,
    }
}

fn start_nginx(servers: &mut Servers, site: &Site) {
    common::servers::start_nginx(
        servers,
        &site.nginx_conf,
        &site.w.join("nginx"),
        site.port,
        &site.w.join("logs/nginx-error.log"),
    );
}

/// Starts paster's HTTP server as MediaGoblin 0.15's docs do
/// (`./lazyserver.sh --server-name=main`), logging to `logs/LOG`.
fn start_paster(servers: &mut Servers, site: &Site, log: &str) {
    let log = site.w.join("logs").join(log);
    servers.start(
        "paster",
        Command::new("./lazyserver.sh")
            .arg("--server-name=main")
            .current_dir(&site.root)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log")),
    );
    wait_for(&site.paste.to_string(), &log);
}

/// Asks the pages through nginx, and checks that the feed's absolute URLs
/// name the host the visitor asked for, as MediaGoblin's docs intend.
fn answers(site: &Site, prefix: &str) -> Vec<Page> {
    let answered = pages(site.port, prefix);
    let feed = answered
        .iter()
        .find(|p| p.label.contains("atom"))
        .expect("the feed was asked for");
    let own = format!("http://127.0.0.1:{}{prefix}/", site.port);
    assert!(
        feed.body.contains(&own),
        "the feed's URLs do not start with {own}:\n{}",
        feed.body
    );
    answered
}

/// How a scenario moves the site.
struct Scenario {
    mount: Option<&'static str>,
    /// Then `mgdeploy rollback`, and the before-state started again.
    rollback: bool,
}

/// The files the move changes or adds, as they are now.
fn moved_files(site: &Site) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    [
        site.w.join("nginx/sites/mediagoblin-http.conf"),
        site.root.join("lazystarter.sh"),
        site.root.join("mediagoblin-uwsgi.ini"),
    ]
    .into_iter()
    .map(|path| {
        let bytes = std::fs::read(&path).ok();
        (path, bytes)
    })
    .collect()
}

fn run(scenario: Scenario) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_root("the real-MediaGoblin test starts nginx and uWSGI and runs the site as root");
    let site = site();
    let prefix = scenario.mount.unwrap_or("");
    let mut servers = Servers::default();
    let paste_ini = site.root.join("paste_local.ini").display().to_string();
    let uwsgi_ini = site
        .root
        .join("mediagoblin-uwsgi.ini")
        .display()
        .to_string();
    servers.strays(&paste_ini);
    servers.strays(&uwsgi_ini);

    // Before: paster and waitress over HTTP, as the 0.15 docs start it.
    start_paster(&mut servers, &site, "paster.log");
    start_nginx(&mut servers, &site);
    let before = answers(&site, "");
    servers.stop("nginx");
    let files_before = moved_files(&site);

    // The move, as root on the server; the summary's steps in order.
    let mut migrate = common::mgdeploy();
    migrate
        .arg("migrate")
        .arg("-C")
        .arg(&site.root)
        .arg("--nginx")
        .arg(&site.nginx_conf)
        .args(["--user", "root", "--group", "root", "--yes"])
        .env("NO_COLOR", "1");
    if let Some(mount) = scenario.mount {
        migrate.args(["--mount", mount]);
    }
    let moved = migrate.output().expect("run mgdeploy migrate");
    let summary = format!(
        "{}{}",
        String::from_utf8_lossy(&moved.stdout),
        String::from_utf8_lossy(&moved.stderr)
    );
    assert_eq!(moved.status.code(), Some(0), "migrate:\n{summary}");
    assert!(
        summary.contains("1. Stop paster's HTTP server"),
        "the first step stops paster:\n{summary}"
    );
    assert!(
        step(&summary, "Install uWSGI").is_none(),
        "Debian's uWSGI runs Python 3.11, as the virtualenv does:\n{summary}"
    );
    servers.stop("paster");
    wait_closed(site.paste);
    let start = step(&summary, "Start uWSGI")
        .unwrap_or_else(|| panic!("no start command in the summary:\n{summary}"));
    let log = site.w.join("logs/uwsgi-after.log");
    servers.start(
        "uwsgi",
        shell(&start)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log")),
    );
    // uWSGI takes paster's address: nginx's uwsgi_pass names it.
    wait_for(&site.paste.to_string(), &log);
    start_nginx(&mut servers, &site);
    let after = answers(&site, prefix);
    servers.stop("nginx");
    servers.stop("uwsgi");
    wait_closed(site.paste);

    // And through the patched lazyserver.sh, as people start it by hand.
    let lazy_log = site.w.join("logs/lazyserver-after.log");
    servers.start(
        "lazyserver",
        Command::new("./lazyserver.sh")
            .current_dir(&site.root)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&lazy_log).expect("log")),
    );
    wait_for(&site.paste.to_string(), &lazy_log);
    start_nginx(&mut servers, &site);
    let lazy = answers(&site, prefix);
    servers.stop("nginx");
    servers.stop("lazyserver");

    compare_states(
        format!(
            "MediaGoblin 0.15.0 (CPython 3.11), {}: before (paster/waitress over HTTP) | after (`{start}`)",
            scenario
                .mount
                .map_or("at /".to_string(), |m| format!("moved under {m}"))
        ),
        &before,
        &after,
        &lazy,
        prefix,
    );
    // check finds nothing wrong with the migrated site, and a second
    // migrate has nothing to do.
    check_is_clean(&site.root, &site.nginx_conf);
    let again = common::mgdeploy()
        .arg("migrate")
        .arg("-C")
        .arg(&site.root)
        .arg("--nginx")
        .arg(&site.nginx_conf)
        .arg("--dry-run")
        .env("NO_COLOR", "1")
        .output()
        .expect("run mgdeploy migrate");
    assert_eq!(
        again.status.code(),
        Some(0),
        "a second migrate:\n{}",
        String::from_utf8_lossy(&again.stdout)
    );

    if !scenario.rollback {
        return;
    }
    // rollback puts every file back, byte for byte, and paster serves the
    // same pages again.
    let rolled_back = common::mgdeploy()
        .arg("rollback")
        .arg("-C")
        .arg(&site.root)
        .arg("--yes")
        .env("NO_COLOR", "1")
        .output()
        .expect("run mgdeploy rollback");
    assert_eq!(
        rolled_back.status.code(),
        Some(0),
        "rollback:\n{}{}",
        String::from_utf8_lossy(&rolled_back.stdout),
        String::from_utf8_lossy(&rolled_back.stderr)
    );
    assert!(
        moved_files(&site) == files_before,
        "rollback left files changed"
    );
    start_paster(&mut servers, &site, "paster-again.log");
    start_nginx(&mut servers, &site);
    let again = answers(&site, "");
    servers.stop("nginx");
    servers.stop("paster");
    compare(&mut Vec::new(), "after rollback", &before, &again, "");
    eprintln!(
        "| (all of the above after `mgdeploy rollback`, paster again) | | | same: {} pages |",
        again.len()
    );
}

#[test]
fn mediagoblin_0_15_over_http_at_root_answers_as_before() {
    run(Scenario {
        mount: None,
        rollback: true,
    });
}

#[test]
fn mediagoblin_0_15_over_http_moved_under_a_prefix_answers_as_before() {
    run(Scenario {
        mount: Some("/mediagoblin"),
        rollback: false,
    });
}
