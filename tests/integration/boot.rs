//! The site after a reboot: what `--service-style` sets up, started the
//! way its service manager starts it, serving the site through nginx.
//!
//! - debian-apps: the ini in /etc/uwsgi/apps-available, linked from
//!   apps-enabled, started as Debian's uwsgi init script starts an app
//!   (/usr/share/uwsgi/init/specific_daemon: `uwsgi --ini default.ini --ini
//!   apps-enabled/NAME.ini` with UWSGI_DEB_CONFNAMESPACE/UWSGI_DEB_CONFNAME,
//!   default.ini being Debian's, from the corpus);
//! - emperor: the vassal started by `uwsgi --emperor DIR`, as root, the
//!   vassal switching to its own user;
//! - an init script: the rewritten script's `start` and `stop`, run for
//!   real (start-stop-daemon, uWSGI daemonized with the script's pid file).
//!
//! mgdeploy writes under /etc only in a private mount namespace where /etc
//! is an overlay onto the test's directory; the machine's /etc is never
//! touched. A probe stands in for MediaGoblin's app (tests/probe);
//! everything listens on 127.0.0.1, and every server is stopped when the
//! test ends.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use common::servers::{Servers, free_port, require_root, wait_closed, wait_for};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const PASTE: &str = include_str!("../../examples/mediagoblin/paste.ini");

struct Tree {
    _dir: tempfile::TempDir,
    top: PathBuf,
    root: PathBuf,
    port: u16,
    uwsgi: u16,
}

fn build() -> Tree {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::set_permissions(&top, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let root = top.join("mediagoblin");
    let (port, uwsgi) = (free_port(), free_port());
    for d in [
        "mediagoblin",
        "nginx",
        "logs",
        "run",
        "etc/uwsgi/apps-available",
        "etc/uwsgi/apps-enabled",
        "etc/uwsgi-emperor/vassals",
        ".etc-work",
    ] {
        std::fs::create_dir_all(top.join(d)).expect("mkdir");
    }
    // The daemonized uWSGI (nobody) writes its log and pid file here.
    for d in ["logs", "run"] {
        std::fs::set_permissions(
            top.join(d),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .expect("chmod");
    }
    let nginx = format!(
        "user www-data;\nworker_processes 1;\npid {top}/run/nginx.pid;\nerror_log {top}/logs/error.log;\nevents {{\n    worker_connections 64;\n}}\nhttp {{\n    access_log {top}/logs/access.log;\n    server {{\n        listen 127.0.0.1:{port};\n        location / {{\n            fastcgi_pass 127.0.0.1:{uwsgi};\n            include /etc/nginx/fastcgi_params;\n            fastcgi_param PATH_INFO $fastcgi_script_name;\n            fastcgi_param SCRIPT_NAME \"\";\n        }}\n    }}\n}}\n",
        top = top.display()
    );
    std::fs::write(top.join("nginx/nginx.conf"), nginx).expect("write");
    std::fs::write(root.join("paste.ini"), PASTE).expect("write");
    Tree {
        _dir: dir,
        top,
        root,
        port,
        uwsgi,
    }
}

/// mgdeploy migrate --yes, in a mount namespace where /etc is the
/// machine's with the tree's `etc/` laid over it.
fn migrate(tree: &Tree, extra: &[&str]) -> Output {
    let output = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t overlay mgdeploy-test -o \"lowerdir=/etc,upperdir=$1/etc,workdir=$1/.etc-work\" /etc || exit 97; shift; exec \"$@\"")
        .arg("sh")
        .arg(&tree.top)
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .arg("migrate")
        .arg("-C")
        .arg(&tree.root)
        .arg("--nginx")
        .arg(tree.top.join("nginx/nginx.conf"))
        .args(["--user", "nobody", "--group", "nogroup", "--yes"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy migrate");
    assert_eq!(
        output.status.code(),
        Some(0),
        "migrate: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn probe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe")
}

fn start_nginx(servers: &mut Servers, tree: &Tree) {
    servers.start(
        "nginx",
        Command::new("nginx")
            .arg("-c")
            .arg(tree.top.join("nginx/nginx.conf"))
            .args(["-g", "daemon off;"])
            .stderr(Stdio::null()),
    );
    wait_for(&tree.port.to_string(), &tree.top.join("logs/error.log"));
}

/// MediaGoblin (the probe) answers through nginx, at `/`, with the
/// SCRIPT_NAME and PATH_INFO it must see.
fn site_answers(tree: &Tree, log: &Path) {
    let mut client = common::http::Client::new(tree.port);
    for (target, path_info) in [
        ("/", "/"),
        ("/u/alice/", "/u/alice/"),
        ("/about?x=1", "/about"),
    ] {
        let response = client.get(target);
        let text = response.text();
        assert_eq!(
            response.status,
            200,
            "GET {target}: {text}\nuWSGI log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(text.contains("\"app\": \"mediagoblin\""), "{text}");
        assert!(text.contains("\"SCRIPT_NAME\": \"\""), "{text}");
        assert!(
            text.contains(&format!("\"PATH_INFO\": \"{path_info}\"")),
            "GET {target}: {text}"
        );
    }
}

/// The uid a process listening on `port` runs as (from /proc).
fn workers_run_as(pattern: &str) -> Vec<u32> {
    let mut uids = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .contains(pattern)
        {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        if let Some(uid) = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
        {
            uids.push(uid);
        }
    }
    uids
}

fn nobody() -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let fields: Vec<&str> = l.split(':').collect();
            (fields.first() == Some(&"nobody")).then(|| fields.get(2)?.parse().ok())?
        })
        .expect("a nobody user")
}

#[test]
fn debian_apps_as_debians_init_starts_them() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_root("the boot tests start nginx and uWSGI as root");
    let tree = build();
    migrate(&tree, &["--service-style", "debian-apps"]);
    let enabled = tree.top.join("etc/uwsgi/apps-enabled/mediagoblin.ini");
    assert_eq!(
        std::fs::read_link(&enabled).expect("apps-enabled/mediagoblin.ini is a link"),
        Path::new("../apps-available/mediagoblin.ini")
    );
    let default_ini =
        common::corpus().join("mediagoblin/defaults/debian-bookworm-uwsgi-2.0.21-5.1-default.ini");
    let log = tree.top.join("logs/uwsgi.log");
    let mut servers = Servers::default();
    // specific_daemon makes /run/uwsgi/app/NAME for the pid file and the
    // socket of default.ini; here in a /run of the process's own.
    servers.start(
        "uwsgi",
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs mgdeploy-test /run && install -d -o nobody -g nogroup /run/uwsgi/app/mediagoblin && exec \"$@\"")
            .arg("sh")
            .arg("uwsgi")
            .arg("--ini")
            .arg(&default_ini)
            .arg("--ini")
            .arg(&enabled)
            .arg("--logto")
            .arg(&log)
            .env("UWSGI_DEB_CONFNAMESPACE", "app")
            .env("UWSGI_DEB_CONFNAME", "mediagoblin")
            .stderr(Stdio::null())
            .env("PYTHONPATH", probe_dir())
            .stdout(Stdio::null()),
    );
    wait_for(&tree.uwsgi.to_string(), &log);
    start_nginx(&mut servers, &tree);
    site_answers(&tree, &log);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        said.contains("/run/uwsgi/app/mediagoblin/socket"),
        "Debian's defaults were read:\n{said}"
    );
    assert!(
        workers_run_as(&enabled.display().to_string()).contains(&nobody()),
        "the app runs as the ini's user, not www-data"
    );
}

#[test]
fn an_emperor_vassal() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_root("the boot tests start nginx and uWSGI as root");
    let tree = build();
    migrate(&tree, &["--service-style", "emperor"]);
    let vassals = tree.top.join("etc/uwsgi-emperor/vassals");
    assert!(vassals.join("mediagoblin.ini").is_file());
    let log = tree.top.join("logs/emperor.log");
    let mut servers = Servers::default();
    servers.start(
        "emperor",
        Command::new("uwsgi")
            .arg("--emperor")
            .arg(&vassals)
            .arg("--logto")
            .arg(&log)
            .env("PYTHONPATH", probe_dir())
            .stdout(Stdio::null()),
    );
    wait_for(&tree.uwsgi.to_string(), &log);
    start_nginx(&mut servers, &tree);
    site_answers(&tree, &log);
    assert!(
        workers_run_as("mediagoblin.ini").contains(&nobody()),
        "the vassal switched to its own user"
    );
}

#[test]
fn an_init_script_starts_and_stops_uwsgi() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_root("the boot tests start nginx and uWSGI as root");
    let tree = build();
    let script = tree.top.join("init.d/mediagoblin-paster");
    std::fs::create_dir_all(script.parent().expect("parent")).expect("mkdir");
    let top = tree.top.display();
    let root = tree.root.display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nNAME=mediagoblin-paster\nDAEMON={root}/bin/paster\nPIDFILE={top}/run/mediagoblin.pid\nDAEMON_ARGS=\"serve {root}/paste.ini --pid-file={top}/run/mediagoblin.pid --log-file={top}/logs/mediagoblin.log --daemon --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port={port}\"\nexport CELERY_ALWAYS_EAGER=true\n\ncase \"$1\" in\n  start)\n    start-stop-daemon --start --quiet --chuid nobody:nogroup --pidfile $PIDFILE --exec $DAEMON -- $DAEMON_ARGS\n    ;;\n  stop)\n    start-stop-daemon --stop --quiet --retry=TERM/30/KILL/5 --user nobody --pidfile $PIDFILE\n    ;;\nesac\n",
            port = tree.uwsgi
        ),
    )
    .expect("write");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    migrate(&tree, &["--service", &script.display().to_string()]);
    let rewritten = std::fs::read_to_string(&script).expect("the script");
    assert!(rewritten.contains("DAEMON=/usr/bin/uwsgi\n"), "{rewritten}");

    let mut servers = Servers::default();
    let log = tree.top.join("logs/mediagoblin.log");
    // The script daemonizes uWSGI; the test stops it with the script, and
    // by its command line should the test fail before.
    servers.strays(&format!("{root}/mediagoblin-uwsgi.ini"));
    let start = Command::new(&script)
        .arg("start")
        .env("PYTHONPATH", probe_dir())
        .output()
        .expect("run the init script");
    assert!(
        start.status.success(),
        "start: {}{}",
        String::from_utf8_lossy(&start.stdout),
        String::from_utf8_lossy(&start.stderr)
    );
    wait_for(&tree.uwsgi.to_string(), &log);
    start_nginx(&mut servers, &tree);
    site_answers(&tree, &log);
    let stop = Command::new(&script).arg("stop").output().expect("stop");
    assert!(
        stop.status.success(),
        "stop: {}",
        String::from_utf8_lossy(&stop.stderr)
    );
    wait_closed(tree.uwsgi);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", tree.uwsgi)).is_err(),
        "the script's stop stopped uWSGI"
    );
}
