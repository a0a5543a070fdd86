//! The proof on real servers: a deployment served by flup over FastCGI
//! behind nginx, then `mgdeploy migrate --yes`, then the same deployment
//! served by uWSGI behind nginx, must answer the same requests the same way.
//! A probe stands in for MediaGoblin (tests/probe) and answers with what it
//! saw: SCRIPT_NAME, PATH_INFO, QUERY_STRING, method, body, and its
//! process's CELERY_ALWAYS_EAGER. Static files come from nginx's `alias`.
//!
//! Everything listens on 127.0.0.1 on free ports, and every server is
//! stopped (its whole process group) when a scenario ends, pass or fail.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::servers::{Servers, free_port, require_root, wait_for};

/// Scenarios share nginx's temp directories and the machine's two cores:
/// one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One HTTP/1.0 exchange: the status and the body.
fn request(port: u16, method: &str, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = format!("{method} {target} HTTP/1.0\r\nHost: localhost\r\n");
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/octet-stream\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send");
    stream.write_all(body).expect("send body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    (status, response[split + 4..].to_vec())
}

/// The requests both sides get: paths with spaces and percent-encoding,
/// query strings, trailing slashes, POST bodies.
const REQUESTS: &[(&str, &str, &[u8])] = &[
    ("GET", "/", b""),
    ("GET", "/u/alice/", b""),
    ("GET", "/u/alice", b""),
    ("GET", "/u/a%20b/m/my%20picture/", b""),
    ("GET", "/search/?q=a+b&tag=%C3%A9t%C3%A9&empty=", b""),
    ("GET", "/tags/caf%C3%A9/?page=2", b""),
    ("GET", "/api/entries/%2Fslash%2F", b""),
    (
        "POST",
        "/submit/",
        b"title=A+title&description=line1%0Aline2",
    ),
    ("POST", "/api/upload/", b"\x00\x01binary\xff\xfe body"),
    ("HEAD", "/about/", b""),
];

/// Static files nginx serves from the checkout with `alias`.
const STATIC: &[(&str, &str, &[u8])] = &[
    (
        "mediagoblin/static/css/base.css",
        "/mgoblin_static/css/base.css",
        b"body { color: #333; }\n",
    ),
    (
        "user_dev/media/public/media_entries/1/a b.png",
        "/mgoblin_media/media_entries/1/a%20b.png",
        b"\x89PNG\r\n\x1a\nnot really",
    ),
];

/// How a scenario is set up and moved.
struct Scenario {
    /// `own` (a 0.9-style site of mgdeploy's) or a docs generation from the
    /// corpus (`v0.4.0`, `v0.8.0`).
    site: &'static str,
    migrate_args: &'static [&'static str],
    /// Where MediaGoblin is after the move (`""` for `/`).
    prefix: &'static str,
    unix_socket: bool,
}

const PASTE_OWN: &str = include_str!("../../examples/mediagoblin/paste.ini");

fn own_site() -> String {
    [
        "server {",
        "    listen 127.0.0.1:@PORT@;",
        "    server_name localhost;",
        "    client_max_body_size 10m;",
        "",
        "    location /mgoblin_static/ {",
        "        alias @ROOT@/mediagoblin/static/;",
        "    }",
        "",
        "    location /mgoblin_media/ {",
        "        alias @ROOT@/user_dev/media/public/;",
        "    }",
        "",
        "    # Mounting MediaGoblin itself via FastCGI.",
        "    location / {",
        "        fastcgi_pass 127.0.0.1:@FCGI@;",
        "        include /etc/nginx/fastcgi_params;",
        "",
        "        # our understanding vs nginx's handling of script_name vs",
        "        # path_info don't match :)",
        "        fastcgi_param PATH_INFO $fastcgi_script_name;",
        "        fastcgi_param SCRIPT_NAME \"\";",
        "    }",
        "}",
        "",
    ]
    .join("\n")
}

/// A docs generation's server block, made to listen on loopback and to
/// serve from the test's checkout.
fn docs_site(version: &str) -> (String, String) {
    let corpus = common::corpus().join("mediagoblin");
    let site = std::fs::read_to_string(corpus.join(format!("nginx/nginx-docs-{version}.conf")))
        .expect("docs nginx");
    let paste = std::fs::read_to_string(corpus.join(format!("paste.ini/paste-{version}.ini")))
        .expect("docs paste.ini");
    let site = site
        .replacen("server {", "server {\n listen 127.0.0.1:@PORT@;", 1)
        .replace("127.0.0.1:26543", "127.0.0.1:@FCGI@")
        .replace(
            "/srv/mediagoblin.example.org/mediagoblin/mediagoblin/static/",
            "@ROOT@/mediagoblin/static/",
        )
        .replace("/srv/mediagoblin.example.org/mediagoblin/", "@ROOT@/")
        .replace("/var/log/nginx/", "@TMP@/logs/");
    (site, paste)
}

struct Tree {
    _dir: tempfile::TempDir,
    top: PathBuf,
    root: PathBuf,
    port: u16,
    fcgi: u16,
}

fn build(scenario: &Scenario) -> Tree {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::set_permissions(&top, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let root = top.join("mediagoblin");
    let (port, fcgi) = (free_port(), free_port());
    for d in [
        "mediagoblin",
        "nginx/sites-available",
        "nginx/sites-enabled",
        "logs",
        "run",
    ] {
        std::fs::create_dir_all(top.join(d)).expect("mkdir");
    }
    let (site, paste) = match scenario.site {
        "own" => (own_site(), PASTE_OWN.to_string()),
        version => docs_site(version),
    };
    let fill = |text: &str| {
        text.replace("@PORT@", &port.to_string())
            .replace("@FCGI@", &fcgi.to_string())
            .replace("@ROOT@", &root.to_string_lossy())
            .replace("@TMP@", &top.to_string_lossy())
    };
    let nginx = "user www-data;\nworker_processes 1;\npid @TMP@/run/nginx.pid;\nerror_log @TMP@/logs/error.log;\nevents {\n    worker_connections 64;\n}\nhttp {\n    access_log @TMP@/logs/access.log;\n    include sites-enabled/*;\n}\n";
    std::fs::write(top.join("nginx/nginx.conf"), fill(nginx)).expect("write");
    std::fs::write(top.join("nginx/sites-available/mediagoblin"), fill(&site)).expect("write");
    std::os::unix::fs::symlink(
        "../sites-available/mediagoblin",
        top.join("nginx/sites-enabled/mediagoblin"),
    )
    .expect("symlink");
    std::fs::write(root.join("paste.ini"), paste).expect("write");
    std::fs::write(
        root.join("lazystarter.sh"),
        "#!/bin/sh\nexport CELERY_ALWAYS_EAGER=true\ncase \"$selfname\" in\n    lazyserver.sh)\n        starter_cmd=paster;\n        ;;\nesac\n$starter serve \"$ini_file\" \"$@\" --reload;\n",
    )
    .expect("write");
    for (file, _, bytes) in STATIC {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    Tree {
        _dir: dir,
        top,
        root,
        port,
        fcgi,
    }
}

fn probe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe")
}

fn start_nginx(servers: &mut Servers, tree: &Tree) {
    let output = Command::new("nginx")
        .arg("-t")
        .arg("-q")
        .arg("-c")
        .arg(tree.top.join("nginx/nginx.conf"))
        .output()
        .expect("nginx -t");
    assert!(
        output.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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

/// Every answer, as text for comparison: status and what the probe saw
/// (or, for static files, the bytes).
fn answers(port: u16, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (method, target, body) in REQUESTS {
        let (status, answer) = request(port, method, &format!("{prefix}{target}"), body);
        out.push(format!(
            "{method} {target} -> {status} {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    for (file, url, bytes) in STATIC {
        let (status, answer) = request(port, "GET", url, b"");
        assert_eq!(answer, *bytes, "{url} ({file}) is not the file's bytes");
        out.push(format!("GET {url} -> {status} {} bytes", answer.len()));
    }
    out
}

/// What the probe answers under a prefix, said as it would be at `/`:
/// SCRIPT_NAME must be exactly the prefix, everything else the same.
fn as_at_root(answer: &str, prefix: &str) -> String {
    answer.replace(
        &format!("\"SCRIPT_NAME\": \"{prefix}\""),
        "\"SCRIPT_NAME\": \"\"",
    )
}

fn run(scenario: Scenario) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    require_root(
        "the server tests start nginx and uWSGI as root (they switch to www-data and nobody)",
    );
    let tree = build(&scenario);
    let mut servers = Servers::default();

    // Before: flup over FastCGI, as `lazyserver.sh --server-name=fcgi` ran it.
    servers.start(
        "flup",
        Command::new(common::python())
            .arg(probe_dir().join("serve_fcgi.py"))
            .arg(tree.root.join("paste.ini"))
            .arg("127.0.0.1")
            .arg(tree.fcgi.to_string())
            .env("PYTHONPATH", probe_dir())
            .env("CELERY_ALWAYS_EAGER", "true")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tree.top.join("logs/flup.log")).expect("log")),
    );
    wait_for(&tree.fcgi.to_string(), &tree.top.join("logs/flup.log"));
    start_nginx(&mut servers, &tree);
    let before = answers(tree.port, "");
    for answer in &before {
        assert!(answer.contains(" -> 200 "), "before the move: {answer}");
    }
    servers.stop("nginx");
    servers.stop("flup");

    // The move.
    let mut migrate = common::mgdeploy();
    migrate
        .arg("migrate")
        .arg("-C")
        .arg(&tree.root)
        .arg("--nginx")
        .arg(tree.top.join("nginx/nginx.conf"))
        .args(["--user", "nobody", "--group", "nogroup", "--yes"])
        .args(scenario.migrate_args);
    let socket = tree.top.join("run/mediagoblin.sock");
    if scenario.unix_socket {
        migrate
            .arg("--socket")
            .arg(format!("unix:{}", socket.display()));
    }
    let moved = migrate.output().expect("run mgdeploy migrate");
    assert_eq!(
        moved.status.code(),
        Some(0),
        "migrate: {}{}",
        String::from_utf8_lossy(&moved.stdout),
        String::from_utf8_lossy(&moved.stderr)
    );

    // After: uWSGI from the ini migrate wrote, nginx with the new site.
    let ini = tree.root.join("mediagoblin-uwsgi.ini");
    let log = tree.top.join("logs/uwsgi.log");
    servers.start(
        "uwsgi",
        Command::new("uwsgi")
            .arg("--ini")
            .arg(&ini)
            .arg("--logto")
            .arg(&log)
            .env("PYTHONPATH", probe_dir())
            .stdout(Stdio::null()),
    );
    let address = if scenario.unix_socket {
        socket.display().to_string()
    } else {
        tree.fcgi.to_string()
    };
    wait_for(&address, &log);
    start_nginx(&mut servers, &tree);
    let after = answers(tree.port, scenario.prefix);

    if std::env::var_os("MGDEPLOY_SHOW_ANSWERS").is_some() {
        eprintln!("{}", before.join("\n"));
    }
    let expected: Vec<String> = before.clone();
    let got: Vec<String> = after
        .iter()
        .map(|a| as_at_root(a, scenario.prefix))
        .collect();
    for (want, have) in expected.iter().zip(&got) {
        assert_eq!(
            have,
            want,
            "after the move ({}), the app saw something else\nuWSGI log:\n{}",
            scenario.site,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    if !scenario.prefix.is_empty() {
        for answer in after
            .iter()
            .filter(|a| a.contains("\"app\": \"mediagoblin\""))
        {
            assert!(
                answer.contains(&format!("\"SCRIPT_NAME\": \"{}\"", scenario.prefix)),
                "{answer}"
            );
        }
        // The trailing-slash redirect nginx makes for the prefix itself.
        let (status, _) = request(tree.port, "GET", scenario.prefix, b"");
        assert_eq!(
            status, 301,
            "{} should redirect to {}/",
            scenario.prefix, scenario.prefix
        );
    }
    // uWSGI stops, and so does every server, when `servers` is dropped.
}

#[test]
fn own_site_at_root_over_tcp() {
    run(Scenario {
        site: "own",
        migrate_args: &[],
        prefix: "",
        unix_socket: false,
    });
}

#[test]
fn own_site_at_root_over_a_unix_socket() {
    run(Scenario {
        site: "own",
        migrate_args: &[],
        prefix: "",
        unix_socket: true,
    });
}

#[test]
fn own_site_moved_under_a_prefix_with_mount() {
    run(Scenario {
        site: "own",
        migrate_args: &["--mount", "/mediagoblin"],
        prefix: "/mediagoblin",
        unix_socket: false,
    });
}

#[test]
fn own_site_moved_under_a_prefix_with_fixpathinfo() {
    run(Scenario {
        site: "own",
        migrate_args: &["--mount", "/mediagoblin", "--script-name", "fixpathinfo"],
        prefix: "/mediagoblin",
        unix_socket: false,
    });
}

#[test]
fn docs_v0_4_0_at_root() {
    run(Scenario {
        site: "v0.4.0",
        migrate_args: &[],
        prefix: "",
        unix_socket: false,
    });
}

#[test]
fn docs_v0_8_0_moved_under_a_prefix_over_a_unix_socket() {
    run(Scenario {
        site: "v0.8.0",
        migrate_args: &["--mount", "/mediagoblin"],
        prefix: "/mediagoblin",
        unix_socket: true,
    });
}
