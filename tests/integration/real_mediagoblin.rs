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

use common::pages::{check_is_clean, compare_states, pages, shell, step};
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
    common::servers::start_nginx(
        servers,
        &site.nginx_conf,
        &site.w.join("nginx"),
        site.port,
        &site.w.join("logs/nginx-error.log"),
    );
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

    compare_states(
        format!(
            "MediaGoblin 0.9.0 (CPython 2.7.18), {}{}: before (flup over FastCGI) | after (`{start}`)",
            mount.map_or("at /".to_string(), |m| format!("moved under {m}")),
            scenario
                .script_name
                .map_or(String::new(), |s| format!(" with --script-name {s}"))
        ),
        &before,
        &after,
        &lazy,
        prefix,
    );
    check_is_clean(&site.root, &site.nginx_conf);
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
