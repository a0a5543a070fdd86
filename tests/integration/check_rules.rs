//! Every `check` rule, through the binary: a deployment that triggers it
//! (code, severity, line and column asserted) and one close to it that does
//! not. Plus the blog post's nginx block, and the SARIF output through a
//! real validator.

use crate::common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The files of a healthy migrated deployment; each case changes one.
#[derive(Clone)]
struct Site {
    nginx: String,
    site: String,
    paste: String,
    mediagoblin: String,
    uwsgi: String,
    /// lazystarter.sh, when the checkout has one.
    lazystarter: Option<String>,
    /// The Python of a virtualenv in the checkout (`2.7`), when it has one.
    python: Option<&'static str>,
    /// The service that starts the site (`--service`): its file name and text.
    service: Option<(&'static str, String)>,
}

impl Site {
    fn healthy() -> Site {
        Site {
            nginx: "user www-data;\nevents {}\nhttp {\n    include sites/*.conf;\n}\n".into(),
            site: [
                "server {",
                "    listen 127.0.0.1:8080;",
                "    client_max_body_size 100m;",
                "    location /mgoblin_static/ {",
                "        alias @ROOT@/mediagoblin/static/;",
                "    }",
                "    location /mgoblin_media/ {",
                "        alias @ROOT@/user_dev/media/public/;",
                "    }",
                "    location /theme_static/ {",
                "        alias @ROOT@/user_dev/theme_static/;",
                "    }",
                "    location /plugin_static/ {",
                "        alias @ROOT@/user_dev/plugin_static/;",
                "    }",
                "    location / {",
                "        uwsgi_pass 127.0.0.1:26543;",
                "        include /etc/nginx/uwsgi_params;",
                "        uwsgi_param SCRIPT_NAME \"\";",
                "    }",
                "}",
                "",
            ]
            .join("\n"),
            paste: "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin]\nuse = egg:mediagoblin#app\n".into(),
            mediagoblin: "[mediagoblin]\ndirect_remote_path = /mgoblin_static/\nupload_limit = 100\n\n[storage:publicstore]\nbase_url = /mgoblin_media/\n".into(),
            uwsgi: [
                "[uwsgi]",
                "plugins = python3",
                "master = true",
                "socket = 127.0.0.1:26543",
                "buffer-size = 8192",
                "uid = nobody",
                "gid = nogroup",
                "paste = config:@ROOT@/paste.ini",
                "env = CELERY_ALWAYS_EAGER=true",
                "need-app = true",
                "strict = true",
                "",
            ]
            .join("\n"),
            lazystarter: None,
            python: None,
            service: Some((
                "mediagoblin-uwsgi.service",
                "[Unit]\nDescription=MediaGoblin\n\n[Service]\nType=notify\nExecStart=/usr/bin/uwsgi --ini @ROOT@/mediagoblin-uwsgi.ini\n\n[Install]\nWantedBy=multi-user.target\n".into(),
            )),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Site)) -> Site {
        change(&mut self);
        self
    }

    /// Writes the deployment and runs `check --format json` on it.
    fn check(&self) -> Report {
        let dir = tempfile::tempdir().expect("temporary directory");
        let top = std::fs::canonicalize(dir.path()).expect("canonical");
        let root = top.join("mediagoblin");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::create_dir_all(top.join("nginx/sites")).expect("mkdir");
        let fill = |text: &str| text.replace("@ROOT@", &root.to_string_lossy());
        let files = [
            (top.join("nginx/nginx.conf"), &self.nginx),
            (top.join("nginx/sites/site.conf"), &self.site),
            (root.join("paste.ini"), &self.paste),
            (root.join("mediagoblin.ini"), &self.mediagoblin),
            (root.join("mediagoblin-uwsgi.ini"), &self.uwsgi),
        ];
        // An empty text stands for a file the deployment does not have.
        for (path, text) in files.iter().filter(|(_, text)| !text.is_empty()) {
            std::fs::write(path, fill(text)).expect("write");
        }
        if let Some(text) = &self.lazystarter {
            std::fs::write(root.join("lazystarter.sh"), text).expect("write");
        }
        if let Some(version) = self.python {
            // A virtualenv as virtualenv makes it; mgdeploy reads, never runs it.
            std::fs::create_dir_all(root.join("bin")).expect("mkdir");
            std::fs::create_dir_all(root.join(format!("lib/python{version}/site-packages")))
                .expect("mkdir");
            std::os::unix::fs::symlink(format!("python{version}"), root.join("bin/python"))
                .expect("symlink");
        }
        let mut command = common::mgdeploy();
        command
            .arg("check")
            .arg("-C")
            .arg(&root)
            .arg("--nginx")
            .arg(top.join("nginx/nginx.conf"))
            .args(["--format", "json"]);
        let mut files: Vec<(PathBuf, String)> =
            files.iter().map(|(p, t)| (p.clone(), fill(t))).collect();
        if let Some((name, text)) = &self.service {
            std::fs::create_dir_all(top.join("services")).expect("mkdir");
            let path = top.join("services").join(name);
            std::fs::write(&path, fill(text)).expect("write");
            command.arg("--service").arg(&path);
            files.push((path, fill(text)));
        }
        let output = command.output().expect("run mgdeploy check");
        let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr))
        });
        Report {
            _dir: dir,
            top,
            exit: output.status.code(),
            json,
            files,
        }
    }
}

struct Report {
    _dir: tempfile::TempDir,
    top: PathBuf,
    exit: Option<i32>,
    json: Value,
    files: Vec<(PathBuf, String)>,
}

impl Report {
    fn findings(&self, code: &str) -> Vec<&Value> {
        self.json["diagnostics"]
            .as_array()
            .map(|all| all.iter().filter(|d| d["code"] == code).collect())
            .unwrap_or_default()
    }

    /// Line and column of `needle` in the file whose path ends with `file`.
    fn position(&self, file: &str, needle: &str) -> (PathBuf, usize, usize) {
        let (path, text) = self
            .files
            .iter()
            .find(|(p, _)| p.ends_with(file))
            .unwrap_or_else(|| panic!("no file {file}"));
        let offset = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {file}"));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (path.clone(), line, column)
    }

    fn all(&self) -> String {
        serde_json::to_string_pretty(&self.json["diagnostics"]).unwrap_or_default()
    }

    /// Exactly one finding of `code`, of `severity`, at `needle` in `file`.
    fn expect(&self, code: &str, severity: &str, file: &str, needle: &str) -> &Value {
        let found = self.findings(code);
        assert_eq!(found.len(), 1, "expected one {code}, got:\n{}", self.all());
        let finding = found[0];
        assert_eq!(finding["severity"], severity, "{}", self.all());
        let (path, line, column) = self.position(file, needle);
        assert_eq!(
            finding["file"],
            path.to_string_lossy().as_ref(),
            "{}",
            self.all()
        );
        assert_eq!(
            (finding["line"].as_u64(), finding["column"].as_u64()),
            (Some(line as u64), Some(column as u64)),
            "{code} at {needle:?}: {}",
            self.all()
        );
        let exit = if severity == "error" { 1 } else { 0 };
        assert_eq!(self.exit, Some(exit), "{}", self.all());
        self.snapshot(finding);
        finding
    }

    /// What a user reads of `finding` (message, labels, notes, help, fix),
    /// against the reviewed copy in tests/snapshots/check_rules/, named by
    /// the test and the code. `MGDEPLOY_BLESS=1` writes the copy, for review.
    fn snapshot(&self, finding: &Value) {
        let top = self.top.to_string_lossy().into_owned();
        let mut text = format!(
            "{} {} {}:{}:{}\n{}\n",
            finding["severity"].as_str().unwrap_or_default(),
            finding["code"].as_str().unwrap_or_default(),
            finding["file"].as_str().unwrap_or_default(),
            finding["line"],
            finding["column"],
            finding["message"].as_str().unwrap_or_default()
        );
        for related in finding["related"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "  related {}:{}:{}: {}\n",
                related["file"].as_str().unwrap_or_default(),
                related["line"],
                related["column"],
                related["message"].as_str().unwrap_or_default()
            ));
        }
        for note in finding["notes"].as_array().into_iter().flatten() {
            text.push_str(&format!("  note: {}\n", note.as_str().unwrap_or_default()));
        }
        if let Some(help) = finding["help"].as_str() {
            text.push_str(&format!("  help: {help}\n"));
        }
        if let Some(fix) = finding.get("fix") {
            text.push_str(&format!(
                "  fix ({}): {}\n",
                fix["applicability"].as_str().unwrap_or_default(),
                fix["message"].as_str().unwrap_or_default()
            ));
            for edit in fix["edits"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "    {}:{}:{}-{}:{} -> {:?}\n",
                    edit["file"].as_str().unwrap_or_default(),
                    edit["line"],
                    edit["column"],
                    edit["end"]["line"],
                    edit["end"]["column"],
                    edit["replacement"].as_str().unwrap_or_default()
                ));
            }
        }
        // The host's Python 3 is whichever Debian ships.
        let text = text.replace(&top, "<tmp>");
        let text = match text.split_once("Python 3.") {
            Some((before, after)) => {
                let minor = after.chars().take_while(char::is_ascii_digit).count();
                format!(
                    "{before}Python 3.x{}",
                    after.get(minor..).unwrap_or_default()
                )
            }
            None => text,
        };
        let test = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .rsplit("::")
            .next()
            .unwrap_or("unnamed")
            .to_string();
        let code = finding["code"].as_str().unwrap_or("none");
        // A test may show several findings: each its own copy, in order.
        thread_local! {
            static SHOWN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        }
        let index = SHOWN.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots/check_rules")
            .join(format!("{test}-{index}-{code}.txt"));
        let bless = std::env::var_os("MGDEPLOY_BLESS").is_some();
        match std::fs::read_to_string(&path) {
            Ok(reviewed) if reviewed == text => {}
            _ if bless => {
                std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
                std::fs::write(&path, &text).expect("write snapshot");
            }
            Ok(reviewed) => panic!(
                "{} changed:\n--- reviewed\n{reviewed}\n+++ now\n{text}\n(MGDEPLOY_BLESS=1 rewrites it; review the diff)",
                path.display()
            ),
            Err(_) => panic!(
                "no reviewed {}; this test shows:\n{text}\n(MGDEPLOY_BLESS=1 writes it; review it)",
                path.display()
            ),
        }
    }

    /// The message and help of a finding, for assertions on what users read.
    fn says(finding: &Value) -> String {
        format!(
            "{} | {}",
            finding["message"].as_str().unwrap_or_default(),
            finding["help"].as_str().unwrap_or_default()
        )
    }

    fn expect_none(&self, code: &str) {
        assert!(
            self.findings(code).is_empty(),
            "unexpected {code}:\n{}",
            self.all()
        );
    }
}

fn replace(text: &mut String, old: &str, new: &str) {
    assert!(text.contains(old), "{old:?} not in the site");
    *text = text.replacen(old, new, 1);
}

#[test]
fn a_healthy_deployment_has_no_findings() {
    let report = Site::healthy().check();
    assert_eq!(report.exit, Some(0), "{}", report.all());
    assert_eq!(
        report.json["diagnostics"].as_array().map(Vec::len),
        Some(0),
        "{}",
        report.all()
    );
    let _ = &report.top;
}

#[test]
fn mg001_syntax_error() {
    // `;` missing before the location's `}`: nginx says `unexpected "}"`.
    let report = Site::healthy()
        .with(|s| replace(&mut s.site, "SCRIPT_NAME \"\";", "SCRIPT_NAME \"\""))
        .check();
    let finding = report.expect("MG001", "error", "site.conf", "\n    }\n}");
    assert!(
        finding["message"]
            .as_str()
            .is_some_and(|m| m.contains("expected `;`")),
        "{}",
        report.all()
    );
    Site::healthy().check().expect_none("MG001");
}

#[test]
fn mg001_paste_ini_duplicate_key_is_a_finding() {
    let report = Site::healthy()
        .with(|s| s.paste.push_str("use = egg:other#app\n"))
        .check();
    report.expect("MG001", "error", "paste.ini", "use = egg:other");
    Site::healthy().check().expect_none("MG001");
}

#[test]
fn mg002_unknown_directive() {
    let report = Site::healthy()
        .with(|s| replace(&mut s.site, "uwsgi_pass 127", "uWSGI_pass 127"))
        .check();
    let finding = report.expect("MG002", "error", "site.conf", "uWSGI_pass");
    assert!(
        finding["message"]
            .as_str()
            .is_some_and(|m| m.contains("uWSGI_pass"))
    );
    let third_party = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "    listen",
                "    frobnicate_widgets on;\n    listen",
            )
        })
        .check();
    third_party.expect("MG002", "warning", "site.conf", "frobnicate_widgets");
    Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "    listen",
                "    more_set_headers \"X: y\";\n    listen",
            )
        })
        .check()
        .expect_none("MG002");
}

#[test]
fn mg003_missing_include() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "/etc/nginx/uwsgi_params",
                "/etc/nginx/uwsgi_Params",
            )
        })
        .check();
    let finding = report.expect("MG003", "error", "site.conf", "/etc/nginx/uwsgi_Params");
    assert!(
        finding["help"]
            .as_str()
            .is_some_and(|h| h.contains("did you mean `uwsgi_params`")),
        "{}",
        report.all()
    );
    Site::healthy().check().expect_none("MG003");
    // Outside MediaGoblin's location, a missing include is a warning.
    let elsewhere = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "    location /mgoblin_static/ {",
                "    include /etc/nginx/snippets/no-such-snippet.conf;\n    location /mgoblin_static/ {",
            )
        })
        .check();
    let finding = elsewhere.expect(
        "MG003",
        "warning",
        "site.conf",
        "/etc/nginx/snippets/no-such",
    );
    assert!(
        finding["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist"))
    );
}

#[test]
fn mg004_still_fastcgi() {
    let report = Site::healthy()
        .with(|s| {
            replace(&mut s.site, "uwsgi_pass 127", "fastcgi_pass 127");
            replace(&mut s.site, "uwsgi_params", "fastcgi_params");
            replace(&mut s.site, "uwsgi_param SCRIPT", "fastcgi_param SCRIPT");
        })
        .check();
    report.expect("MG004", "warning", "site.conf", "fastcgi_pass 127");
    Site::healthy().check().expect_none("MG004");
}

#[test]
fn mg032_still_paster_http() {
    let http = |s: &mut Site| {
        replace(
            &mut s.site,
            "uwsgi_pass 127.0.0.1:26543;",
            "proxy_pass http://127.0.0.1:6543;",
        );
        replace(
            &mut s.site,
            "        include /etc/nginx/uwsgi_params;\n",
            "",
        );
        replace(&mut s.site, "        uwsgi_param SCRIPT_NAME \"\";\n", "");
        s.paste
            .push_str("\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\nport = 6543\n");
    };
    let report = Site::healthy().with(http).check();
    report.expect("MG032", "info", "site.conf", "proxy_pass http");
    report.expect_none("MG004");
    // A proxy_pass to something paste.ini does not serve is not MediaGoblin's.
    Site::healthy()
        .with(http)
        .with(|s| replace(&mut s.paste, "port = 6543", "port = 6544"))
        .check()
        .expect_none("MG032");
    Site::healthy().check().expect_none("MG032");
}

#[test]
fn mg033_proxy_leftovers() {
    let leftovers = |s: &mut Site| {
        replace(
            &mut s.site,
            "        include /etc/nginx/uwsgi_params;",
            "        include /etc/nginx/uwsgi_params;\n        proxy_set_header Host $host;\n        proxy_read_timeout 60s;\n        proxy_redirect off;",
        )
    };
    let report = Site::healthy().with(leftovers).check();
    let found = report.findings("MG033");
    assert_eq!(found.len(), 3, "{}", report.all());
    report.expect_none("MG012");
    let help = |name: &str| -> String {
        found
            .iter()
            .find(|d| d["message"].as_str().is_some_and(|m| m.contains(name)))
            .map(|d| d["help"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no finding about {name}: {}", report.all()))
    };
    assert!(help("proxy_set_header").contains("`uwsgi_param HTTP_HOST $host if_not_empty;`"));
    assert!(help("proxy_read_timeout").contains("`uwsgi_read_timeout`"));
    assert!(help("proxy_redirect").starts_with("drop it: it rewrote the Location headers"));

    // --fix --unsafe-fixes writes the uWSGI twins and drops the rest; a
    // second check is clean.
    let root = report.top.join("mediagoblin");
    let fix = |extra: &[&str]| {
        common::mgdeploy()
            .arg("check")
            .arg("-C")
            .arg(&root)
            .arg("--nginx")
            .arg(report.top.join("nginx/nginx.conf"))
            .args(extra)
            .output()
            .expect("run mgdeploy check")
    };
    let fixed = fix(&["--fix", "--unsafe-fixes", "--yes", "--format", "json"]);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&fixed.stdout),
        String::from_utf8_lossy(&fixed.stderr)
    );
    let site = std::fs::read_to_string(report.top.join("nginx/sites/site.conf")).expect("read");
    assert!(
        site.contains("        include /etc/nginx/uwsgi_params;\n        uwsgi_param HTTP_HOST $host if_not_empty;\n        uwsgi_read_timeout 60s;\n        uwsgi_param SCRIPT_NAME"),
        "{site}"
    );
    assert!(!site.contains("proxy_"), "{site}");
    Site::healthy().check().expect_none("MG033");
}

#[test]
fn mg005_address_mismatch() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "uwsgi_pass 127.0.0.1:26543",
                "uwsgi_pass 127.0.0.1:26544",
            )
        })
        .check();
    report.expect("MG005", "error", "site.conf", "127.0.0.1:26544");
    Site::healthy()
        .with(|s| replace(&mut s.site, "uwsgi_pass 127.0.0.1", "uwsgi_pass localhost"))
        .check()
        .expect_none("MG005");
}

#[test]
fn mg006_param_without_pass() {
    let location = "    location /api/ {\n        uwsgi_param HTTP_X y;\n    }\n";
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "    location / {",
                &format!("{location}    location / {{"),
            )
        })
        .check();
    report.expect("MG006", "error", "site.conf", "uwsgi_param HTTP_X");
    let with_pass = "    location /api/ {\n        uwsgi_param HTTP_X y;\n        uwsgi_pass 127.0.0.1:26543;\n    }\n";
    Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "    location / {",
                &format!("{with_pass}    location / {{"),
            )
        })
        .check()
        .expect_none("MG006");
}

fn under_prefix(site: &mut Site, extra: &str) {
    replace(
        &mut site.site,
        "    location / {\n        uwsgi_pass 127.0.0.1:26543;",
        &format!("    location /mediagoblin/ {{\n        uwsgi_pass 127.0.0.1:26543;{extra}"),
    );
}

#[test]
fn mg007_prefix_not_stripped() {
    let report = Site::healthy()
        .with(|s| under_prefix(s, "\n        uwsgi_param SCRIPT_NAME /mediagoblin;"))
        .check();
    report.expect("MG007", "error", "site.conf", "uwsgi_param SCRIPT_NAME");
    Site::healthy()
        .with(|s| {
            under_prefix(s, "\n        uwsgi_param SCRIPT_NAME /mediagoblin;");
            s.uwsgi.push_str("route-run = fixpathinfo:\n");
        })
        .check()
        .expect_none("MG007");
}

#[test]
fn mg008_prefix_stripped_twice() {
    let report = Site::healthy()
        .with(|s| {
            under_prefix(s, "\n        uwsgi_param SCRIPT_NAME /mediagoblin;");
            s.uwsgi = s.uwsgi.replace("paste = config:@ROOT@/paste.ini", "mount = /mediagoblin=config:@ROOT@/paste.ini\nmanage-script-name = true\nroute-run = fixpathinfo:");
        })
        .check();
    report.expect("MG008", "error", "site.conf", "location /mediagoblin/");
    Site::healthy()
        .with(|s| {
            under_prefix(s, "");
            s.uwsgi = s.uwsgi.replace(
                "paste = config:@ROOT@/paste.ini",
                "mount = /mediagoblin=config:@ROOT@/paste.ini\nmanage-script-name = true",
            );
        })
        .check()
        .expect_none("MG008");
}

#[test]
fn mg009_modifier1_with_python3() {
    let report = Site::healthy()
        .with(|s| {
            under_prefix(
                s,
                "\n        uwsgi_param SCRIPT_NAME /mediagoblin;\n        uwsgi_modifier1 30;",
            )
        })
        .check();
    report.expect("MG009", "error", "site.conf", "uwsgi_modifier1 30");
    report.expect_none("MG007");
    Site::healthy()
        .with(|s| under_prefix(s, ""))
        .check()
        .expect_none("MG009");
}

#[test]
fn mg010_mountpoint_with_trailing_slash() {
    let mount = |point: &str| {
        let point = point.to_string();
        move |s: &mut Site| {
            under_prefix(s, "");
            s.uwsgi = s.uwsgi.replace(
                "paste = config:@ROOT@/paste.ini",
                &format!("mount = {point}=config:@ROOT@/paste.ini\nmanage-script-name = true"),
            );
        }
    };
    let report = Site::healthy().with(mount("/mediagoblin/")).check();
    report.expect(
        "MG010",
        "error",
        "mediagoblin-uwsgi.ini",
        "/mediagoblin/=config",
    );
    Site::healthy()
        .with(mount("/mediagoblin"))
        .check()
        .expect_none("MG010");
}

#[test]
fn mg011_paste_without_config_or_relative() {
    let report = Site::healthy()
        .with(|s| {
            s.uwsgi = s.uwsgi.replace(
                "paste = config:@ROOT@/paste.ini",
                "paste = @ROOT@/paste.ini",
            )
        })
        .check();
    report.expect(
        "MG011",
        "error",
        "mediagoblin-uwsgi.ini",
        &report.top.to_string_lossy(),
    );
    let relative = Site::healthy()
        .with(|s| {
            s.uwsgi = s.uwsgi.replace(
                "paste = config:@ROOT@/paste.ini",
                "paste = config:paste.ini",
            )
        })
        .check();
    relative.expect(
        "MG011",
        "error",
        "mediagoblin-uwsgi.ini",
        "config:paste.ini",
    );
    Site::healthy().check().expect_none("MG011");
}

#[test]
fn mg012_fastcgi_leftovers() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "        include /etc/nginx/uwsgi_params;",
                "        include /etc/nginx/uwsgi_params;\n        fastcgi_read_timeout 60s;",
            )
        })
        .check();
    report.expect("MG012", "warning", "site.conf", "fastcgi_read_timeout");
    Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "        include /etc/nginx/uwsgi_params;",
                "        include /etc/nginx/uwsgi_params;\n        uwsgi_read_timeout 60s;",
            )
        })
        .check()
        .expect_none("MG012");
}

#[test]
fn mg013_public_socket() {
    let report = Site::healthy()
        .with(|s| {
            s.uwsgi = s
                .uwsgi
                .replace("socket = 127.0.0.1:26543", "socket = :26543");
        })
        .check();
    report.expect("MG013", "error", "mediagoblin-uwsgi.ini", ":26543\nbuffer");
    Site::healthy().check().expect_none("MG013");
}

#[test]
fn mg014_socket_permissions() {
    let unix = |extra: &'static str| {
        move |s: &mut Site| {
            replace(
                &mut s.site,
                "uwsgi_pass 127.0.0.1:26543",
                "uwsgi_pass unix:@ROOT@/mg.sock",
            );
            s.uwsgi = s.uwsgi.replace(
                "socket = 127.0.0.1:26543",
                &format!("socket = @ROOT@/mg.sock{extra}"),
            );
        }
    };
    let world = Site::healthy().with(unix("\nchmod-socket = 666")).check();
    world.expect(
        "MG014",
        "error",
        "mediagoblin-uwsgi.ini",
        "chmod-socket = 666",
    );
    let unwritable = Site::healthy().with(unix("")).check();
    unwritable.expect(
        "MG014",
        "error",
        "mediagoblin-uwsgi.ini",
        &unwritable.top.to_string_lossy(),
    );
    Site::healthy()
        .with(unix("\nchmod-socket = 660\nchown-socket = www-data"))
        .check()
        .expect_none("MG014");
}

#[test]
fn mg015_alias_traversal() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "location /mgoblin_static/ {",
                "location /mgoblin_static {",
            )
        })
        .check();
    report.expect("MG015", "error", "site.conf", "/mgoblin_static {");
    Site::healthy().check().expect_none("MG015");
}

#[test]
fn mg016_static_url_not_served() {
    let report = Site::healthy()
        .with(|s| replace(&mut s.site, "    location /theme_static/ {\n        alias @ROOT@/user_dev/theme_static/;\n    }\n", ""))
        .check();
    let found = report.findings("MG016");
    assert_eq!(found.len(), 1, "{}", report.all());
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/theme_static/"))
    );
    assert_eq!(report.exit, Some(0));
    Site::healthy().check().expect_none("MG016");
}

#[test]
fn mg017_upload_limit() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "client_max_body_size 100m;",
                "client_max_body_size 8m;",
            )
        })
        .check();
    report.expect("MG017", "warning", "site.conf", "client_max_body_size 8m");
    let unset = Site::healthy()
        .with(|s| replace(&mut s.site, "    client_max_body_size 100m;\n", ""))
        .check();
    unset.expect("MG017", "warning", "site.conf", "location / {");
    Site::healthy().check().expect_none("MG017");
}

#[test]
fn mg018_no_celery_worker() {
    let report = Site::healthy()
        .with(|s| s.uwsgi = s.uwsgi.replace("env = CELERY_ALWAYS_EAGER=true\n", ""))
        .check();
    let found = report.findings("MG018");
    assert_eq!(found.len(), 1, "{}", report.all());
    assert_eq!(found[0]["severity"], "warning");
    Site::healthy().check().expect_none("MG018");
}

#[test]
fn mg019_unknown_uwsgi_option() {
    let report = Site::healthy()
        .with(|s| s.uwsgi.push_str("procesess = 4\n"))
        .check();
    let finding = report.expect("MG019", "error", "mediagoblin-uwsgi.ini", "procesess");
    assert!(
        finding["message"]
            .as_str()
            .is_some_and(|m| m.contains("procesess"))
    );
    Site::healthy()
        .with(|s| s.uwsgi.push_str("processes = 4\n"))
        .check()
        .expect_none("MG019");
}

#[test]
fn mg020_plugin_not_installed() {
    let installed = Path::new("/usr/lib/uwsgi/plugins/python3_plugin.so").exists();
    assert!(
        installed,
        "needs Debian's uwsgi-plugin-python3 (see .ci/run)"
    );
    let report = Site::healthy()
        .with(|s| s.uwsgi = s.uwsgi.replace("plugins = python3", "plugins = python"))
        .check();
    let finding = report.expect("MG020", "error", "mediagoblin-uwsgi.ini", "python\nmaster");
    assert!(
        finding["help"]
            .as_str()
            .is_some_and(|h| h.contains("plugins = python3"))
    );
    Site::healthy().check().expect_none("MG020");
}

#[test]
fn mg021_buffer_size() {
    let report = Site::healthy()
        .with(|s| s.uwsgi = s.uwsgi.replace("buffer-size = 8192\n", ""))
        .check();
    let found = report.findings("MG021");
    assert_eq!(found.len(), 1, "{}", report.all());
    assert_eq!(found[0]["severity"], "info");
    assert_eq!(report.exit, Some(0));
    Site::healthy().check().expect_none("MG021");
}

/// The blog post's location block: mis-cased directives, a mis-cased
/// include, then (with the case fixed) modifier1 30 on Python 3.
#[test]
fn the_blog_block() {
    let blog =
        std::fs::read_to_string(common::corpus().join("mediagoblin/blog/blog-nginx-location.conf"))
            .expect("blog block");
    let report = Site::healthy()
        .with(|s| {
            let start = s.site.find("    location / {").expect("location /");
            let end = s.site[start..].find("    }\n").expect("end") + start + 6;
            s.site.replace_range(start..end, &blog);
        })
        .check();
    assert_eq!(report.exit, Some(1), "{}", report.all());
    let misspelt: Vec<(String, u64)> = report
        .findings("MG002")
        .iter()
        .map(|d| {
            (
                d["message"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for (name, right) in [
        ("uWSGI_pass", "uwsgi_pass"),
        ("uWSGI_param", "uwsgi_param"),
        ("uWSGI_modifier1", "uwsgi_modifier1"),
    ] {
        let (_, line, _) = report.position("site.conf", &format!("{name} "));
        assert!(
            misspelt
                .iter()
                .any(|(m, l)| m.contains(name) && *l == line as u64),
            "{name} at line {line}: {misspelt:?}"
        );
        let finding = report
            .findings("MG002")
            .into_iter()
            .find(|d| {
                d["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!("`{name}`")))
            })
            .expect("finding");
        assert!(
            finding["help"].as_str().is_some_and(|h| h.contains(right)),
            "{}",
            report.all()
        );
    }
    let include = report.findings("MG003");
    assert_eq!(include.len(), 1, "{}", report.all());
    assert!(
        include[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("uWSGI_params"))
    );

    let fixed = blog
        .replace("uWSGI_params", "/etc/nginx/uwsgi_params")
        .replace("uWSGI_", "uwsgi_");
    let report = Site::healthy()
        .with(|s| {
            let start = s.site.find("    location / {").expect("location /");
            let end = s.site[start..].find("    }\n").expect("end") + start + 6;
            s.site.replace_range(start..end, &fixed);
        })
        .check();
    report.expect_none("MG002");
    report.expect_none("MG003");
    report.expect("MG009", "error", "site.conf", "uwsgi_modifier1 30");
}

#[test]
fn sarif_output_validates_against_sarif_2_1_0() {
    let report = Site::healthy()
        .with(|s| {
            replace(&mut s.site, "uwsgi_pass 127", "uWSGI_pass 127");
            s.uwsgi.push_str("procesess = 4\n");
        })
        .check();
    let root = report.top.join("mediagoblin");
    let sarif = common::mgdeploy()
        .arg("check")
        .arg("-C")
        .arg(&root)
        .arg("--nginx")
        .arg(report.top.join("nginx/nginx.conf"))
        .args(["--format", "sarif"])
        .output()
        .expect("run check");
    assert_eq!(sarif.status.code(), Some(1));
    let validator = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/validate_sarif.py"
    );
    let mut child = std::process::Command::new(common::python())
        .arg(validator)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the SARIF validator");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &sarif.stdout)
        .expect("write SARIF");
    let result = child.wait_with_output().expect("validator");
    assert!(
        result.status.success(),
        "SARIF rejected: {}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let log: Value = serde_json::from_slice(&sarif.stdout).expect("JSON");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "MG002" && r["level"] == "error")
    );
    assert!(results.iter().any(|r| r["ruleId"] == "MG019"));
}

#[test]
fn github_format_and_explain() {
    let report = Site::healthy()
        .with(|s| replace(&mut s.site, "uwsgi_pass 127", "uWSGI_pass 127"))
        .check();
    let output = common::mgdeploy()
        .arg("check")
        .arg("-C")
        .arg(report.top.join("mediagoblin"))
        .arg("--nginx")
        .arg(report.top.join("nginx/nginx.conf"))
        .args(["--format", "github"])
        .output()
        .expect("run check");
    let text = String::from_utf8_lossy(&output.stdout);
    let (_, line, column) = report.position("site.conf", "uWSGI_pass");
    assert!(
        text.contains("::error file=")
            && text.contains(&format!(",line={line},col={column},"))
            && text.contains("title=MG002::unknown directive `uWSGI_pass`"),
        "{text}"
    );
    let explain = common::mgdeploy()
        .args(["check", "--explain", "MG009"])
        .output()
        .expect("explain");
    assert_eq!(explain.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&explain.stdout).contains("modifier1 30"));
    let unknown = common::mgdeploy()
        .args(["check", "--explain", "MG999"])
        .output()
        .expect("explain");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn mg022_script_name_missing() {
    let report = Site::healthy()
        .with(|s| replace(&mut s.site, "        uwsgi_param SCRIPT_NAME \"\";\n", ""))
        .check();
    let finding = report.expect("MG022", "error", "site.conf", "location / {");
    let says = Report::says(finding);
    assert!(says.contains("gets no SCRIPT_NAME"), "{says}");
    assert!(
        says.contains("add `uwsgi_param SCRIPT_NAME \"\";`"),
        "{says}"
    );
    Site::healthy().check().expect_none("MG022");
    // Under a prefix, uWSGI's mount sets it: no finding.
    Site::healthy()
        .with(|s| {
            replace(&mut s.site, "        uwsgi_param SCRIPT_NAME \"\";\n", "");
            replace(&mut s.site, "location / {", "location /mediagoblin/ {");
            replace(
                &mut s.uwsgi,
                "paste = config:@ROOT@/paste.ini",
                "mount = /mediagoblin=config:@ROOT@/paste.ini\nmanage-script-name = true",
            );
        })
        .check()
        .expect_none("MG022");
    // The same without the mount: nobody sends it.
    let prefix = Site::healthy()
        .with(|s| {
            replace(&mut s.site, "        uwsgi_param SCRIPT_NAME \"\";\n", "");
            replace(&mut s.site, "location / {", "location /mediagoblin/ {");
        })
        .check();
    let finding = prefix.expect("MG022", "error", "site.conf", "location /mediagoblin/ {");
    assert!(Report::says(finding).contains("mount = /mediagoblin=config:"));
    // A parameter inherited from the server block counts.
    Site::healthy()
        .with(|s| {
            replace(&mut s.site, "        uwsgi_param SCRIPT_NAME \"\";\n", "");
            replace(
                &mut s.site,
                "        include /etc/nginx/uwsgi_params;\n",
                "",
            );
            replace(
                &mut s.site,
                "    client_max_body_size 100m;\n",
                "    client_max_body_size 100m;\n    uwsgi_param SCRIPT_NAME \"\";\n",
            );
        })
        .check()
        .expect_none("MG022");
}

#[test]
fn mg023_python_plugin_cannot_run_the_virtualenv() {
    let report = Site::healthy().with(|s| s.python = Some("2.7")).check();
    let finding = report.expect("MG023", "error", "mediagoblin-uwsgi.ini", "python3\nmaster");
    let says = Report::says(finding);
    assert!(says.contains("virtualenv"), "{says}");
    assert!(says.contains("is Python 2.7"), "{says}");
    assert!(says.contains("bin/pip install uwsgi"), "{says}");
    Site::healthy()
        .with(|s| s.python = Some("3.11"))
        .check()
        .expect_none("MG023");
    // A uWSGI with Python built in (no plugins line) is not judged here.
    Site::healthy()
        .with(|s| {
            s.python = Some("2.7");
            s.uwsgi = s.uwsgi.replace("plugins = python3\n", "");
        })
        .check()
        .expect_none("MG023");
}

#[test]
fn mg024_no_uwsgi_ini_serves_the_pass() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "uwsgi_pass 127.0.0.1:26543;",
                "uwsgi_pass unix:///var/run/uwsgi.sock;",
            );
            s.uwsgi = String::new();
        })
        .check();
    let found = report.findings("MG024");
    assert_eq!(found.len(), 1, "{}", report.all());
    let says = Report::says(found[0]);
    assert!(
        says.contains("unix:/var/run/uwsgi.sock"),
        "the unix:// path is normalised: {says}"
    );
    assert!(says.contains("--uwsgi-ini"), "{says}");
    Site::healthy().check().expect_none("MG024");
}

const LAZYSTARTER_BLOG: &str = "#!/bin/sh\nselfname=$(basename \"$0\")\ncase \"$selfname\" in\n    lazyserver.sh)\n        starter_cmd=uwsgi\n        ini_prefix=paste\n        ;;\nesac\ncase \"$selfname\" in\n    lazyserver.sh)\n        $starter --plugin python --virtualenv . --ini-paste \"$ini_file\" \"$@\"\n        ;;\nesac\n";

#[test]
fn mg025_lazyserver_cannot_start_uwsgi() {
    let report = Site::healthy()
        .with(|s| s.lazystarter = Some(LAZYSTARTER_BLOG.to_string()))
        .check();
    let finding = report.findings("MG025");
    assert_eq!(finding.len(), 1, "{}", report.all());
    let says = Report::says(finding[0]);
    assert!(says.contains("no [uwsgi] section"), "{says}");
    assert!(says.contains("--ini"), "{says}");
    assert_eq!(finding[0]["line"], 11, "{}", report.all());
    let reload = Site::healthy()
        .with(|s| {
            s.lazystarter = Some(LAZYSTARTER_BLOG.replace(
                "--plugin python --virtualenv . --ini-paste \"$ini_file\" \"$@\"",
                "--ini /srv/mg/uwsgi.ini \"$@\" --reload",
            ))
        })
        .check();
    assert!(Report::says(reload.findings("MG025")[0]).contains("--reload"));
    Site::healthy()
        .with(|s| {
            s.lazystarter = Some(LAZYSTARTER_BLOG.replace(
                "--plugin python --virtualenv . --ini-paste \"$ini_file\" \"$@\"",
                "--ini /srv/mg/uwsgi.ini \"$@\"",
            ))
        })
        .check()
        .expect_none("MG025");
}

#[test]
fn mg028_a_fastcgi_service_left_enabled_after_the_move() {
    let report = Site::healthy()
        .with(|site| {
            site.service = Some((
                "mediagoblin.conf",
                "[program:mediagoblin]\ncommand=@ROOT@/bin/paster serve @ROOT@/paste.ini --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\nuser=mediagoblin\n".into(),
            ));
        })
        .check();
    let finding = report.expect("MG028", "error", "mediagoblin.conf", "command=");
    assert!(
        Report::says(finding).contains("still starts paster"),
        "{}",
        report.all()
    );
    // Not at boot: nothing to report.
    let report = Site::healthy()
        .with(|site| {
            site.service = Some((
                "mediagoblin.conf",
                "[program:mediagoblin]\ncommand=@ROOT@/bin/paster serve @ROOT@/paste.ini --server-name=fcgi fcgi_port=26543\nautostart=false\n".into(),
            ));
        })
        .check();
    report.expect_none("MG028");
}

#[test]
fn mg029_a_service_starts_a_uwsgi_that_cannot_run_the_site() {
    // The host's uWSGI for a Python 2.7 virtualenv: Debian has no plugin.
    let report = Site::healthy()
        .with(|site| {
            site.python = Some("2.7");
            site.uwsgi = site
                .uwsgi
                .replace("plugins = python3\n", "virtualenv = @ROOT@\n");
        })
        .check();
    let finding = report.expect("MG029", "error", "mediagoblin-uwsgi.service", "ExecStart=");
    assert!(
        Report::says(finding).contains("Python 2.7"),
        "{}",
        report.all()
    );
    // The virtualenv's own uWSGI, not installed yet.
    let report = Site::healthy()
        .with(|site| {
            site.python = Some("2.7");
            site.uwsgi = site.uwsgi.replace("plugins = python3\n", "virtualenv = @ROOT@\n");
            site.service = Some((
                "mediagoblin-uwsgi.service",
                "[Service]\nType=notify\nExecStart=@ROOT@/bin/uwsgi --ini @ROOT@/mediagoblin-uwsgi.ini\n".into(),
            ));
        })
        .check();
    let finding = report.expect("MG029", "error", "mediagoblin-uwsgi.service", "ExecStart=");
    assert!(
        Report::says(finding).contains("not installed"),
        "{}",
        report.all()
    );
}

#[test]
fn mg030_nothing_starts_the_ini_at_boot() {
    let report = Site::healthy().with(|site| site.service = None).check();
    report.expect("MG030", "warning", "mediagoblin-uwsgi.ini", "[uwsgi]");
    // lazyserver.sh started by a service starts the ini.
    let report = Site::healthy()
        .with(|site| {
            site.service = Some((
                "mediagoblin.service",
                "[Service]\nExecStart=@ROOT@/lazyserver.sh\n".into(),
            ));
        })
        .check();
    report.expect_none("MG030");
}

/// `check --fix` on the blog post's block: the safe fixes (the case of the
/// directives and of the include), then the unsafe one (modifier1 30 on
/// Python 3 becomes uWSGI's fixpathinfo), each a transaction that nginx -t
/// passes and `rollback` undoes.
#[test]
fn check_fix_repairs_the_blog_block_and_rollback_restores_it() {
    common::servers::require_root("nginx -t of the fixed files reads /etc and runs as root");
    let blog =
        std::fs::read_to_string(common::corpus().join("mediagoblin/blog/blog-nginx-location.conf"))
            .expect("blog block");
    let report = Site::healthy()
        .with(|s| {
            let start = s.site.find("    location / {").expect("location /");
            let end = s.site[start..].find("    }\n").expect("end") + start + 6;
            s.site.replace_range(start..end, &blog);
        })
        .check();
    assert_eq!(report.exit, Some(1), "{}", report.all());
    // nginx's configuration directory has its stock uwsgi_params, as on a
    // server: the include's fix names it.
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/nginx/stock/debian/uwsgi_params"
        ),
        report.top.join("nginx/uwsgi_params"),
    )
    .expect("uwsgi_params");
    let root = report.top.join("mediagoblin");
    let site = report.top.join("nginx/sites/site.conf");
    let ini = root.join("mediagoblin-uwsgi.ini");
    let read = |path: &Path| std::fs::read_to_string(path).expect("read");
    let (site_before, ini_before) = (read(&site), read(&ini));
    let check = |extra: &[&str]| {
        let mut command = common::mgdeploy();
        command
            .arg("check")
            .arg("-C")
            .arg(&root)
            .arg("--nginx")
            .arg(report.top.join("nginx/nginx.conf"))
            .args(extra);
        if let Some((name, _)) = &Site::healthy().service {
            command
                .arg("--service")
                .arg(report.top.join("services").join(name));
        }
        command.output().expect("run mgdeploy check")
    };
    let codes = |output: &std::process::Output| -> Vec<String> {
        let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr))
        });
        json["diagnostics"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|d| format!("{} {}", d["code"], d["message"]))
                    .collect()
            })
            .unwrap_or_default()
    };

    // --diff shows every fix and writes nothing.
    let diff = check(&["--diff", "--unsafe-fixes"]);
    let shown = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "{shown}");
    for line in [
        "-   uWSGI_pass 127.0.0.1:26543;",
        "+   uwsgi_pass 127.0.0.1:26543;",
        "+   include uwsgi_params;",
        "+   uwsgi_param SCRIPT_NAME \"/mediagoblin\";",
        "-   uWSGI_modifier1 30;",
        "+route-run = fixpathinfo:",
    ] {
        assert!(shown.lines().any(|l| l == line), "{line:?} not in\n{shown}");
    }
    // Found once the name is fixed, and fixed in the same plan.
    assert!(!shown.contains("+   uwsgi_modifier1"), "{shown}");
    assert_eq!(
        (read(&site), read(&ini)),
        (site_before.clone(), ini_before.clone())
    );

    // The safe fixes: the names; modifier1 30 is left, with its error.
    let safe = check(&["--fix", "--yes", "--format", "json"]);
    assert_eq!(
        safe.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&safe.stderr)
    );
    let left = codes(&safe);
    assert!(
        left.len() == 1 && left[0].starts_with("\"MG009\""),
        "{left:?}"
    );
    let stderr = String::from_utf8_lossy(&safe.stderr);
    assert!(stderr.contains("--unsafe-fixes"), "{stderr}");
    let fixed_site = read(&site);
    assert!(fixed_site.contains("   include uwsgi_params;\n   uwsgi_pass 127.0.0.1:26543;"));
    assert!(!fixed_site.contains("uWSGI_"), "{fixed_site}");
    assert_eq!(read(&ini), ini_before, "the safe fixes leave the ini");

    // The unsafe one, asked for: both files, and nothing left.
    let all = check(&["--fix", "--unsafe-fixes", "--yes", "--format", "json"]);
    assert_eq!(
        (all.status.code(), codes(&all)),
        (Some(0), Vec::<String>::new()),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert!(!read(&site).contains("uwsgi_modifier1"));
    assert!(
        read(&ini).ends_with("strict = true\nroute-run = fixpathinfo:\n"),
        "{}",
        read(&ini)
    );
    let nginx = std::process::Command::new("nginx")
        .args(["-t", "-q", "-c"])
        .arg(report.top.join("nginx/nginx.conf"))
        .output()
        .expect("run nginx -t");
    assert!(
        nginx.status.success(),
        "{}",
        String::from_utf8_lossy(&nginx.stderr)
    );
    let again = check(&["--format", "json"]);
    assert_eq!((again.status.code(), codes(&again)), (Some(0), Vec::new()));

    // Each fix run is a transaction of its own: two rollbacks restore both.
    for _ in 0..2 {
        let rollback = common::mgdeploy()
            .args(["rollback", "--yes", "-C"])
            .arg(&root)
            .output()
            .expect("run rollback");
        assert_eq!(
            rollback.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&rollback.stderr)
        );
    }
    assert_eq!((read(&site), read(&ini)), (site_before, ini_before));
}

/// What becomes of a leftover is the table's to say: `fastcgi_index` and
/// `fastcgi_split_path_info` have no uWSGI twin (nginx has no
/// `uwsgi_index`), `fastcgi_read_timeout` has one.
#[test]
fn mg012_help_and_fix_follow_the_table() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "        include /etc/nginx/uwsgi_params;",
                "        include /etc/nginx/uwsgi_params;\n        fastcgi_index index.py;\n        fastcgi_split_path_info ^(/x)(/.*)$;\n        fastcgi_read_timeout 60s;",
            )
        })
        .check();
    let found = report.findings("MG012");
    assert_eq!(found.len(), 3, "{}", report.all());
    let about = |name: &str| -> String {
        found
            .iter()
            .find(|d| d["message"].as_str().is_some_and(|m| m.contains(name)))
            .map(|d| d["help"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no finding about {name}: {}", report.all()))
    };
    for dropped in ["fastcgi_index", "fastcgi_split_path_info"] {
        let help = about(dropped);
        assert!(help.starts_with("drop it: "), "{dropped}: {help}");
        assert!(!help.contains("uwsgi_"), "{dropped}: {help}");
    }
    assert_eq!(
        about("fastcgi_read_timeout"),
        "use `uwsgi_read_timeout` if the setting is still wanted"
    );
    assert_eq!(
        report.findings("MG012")[0]["message"],
        "`fastcgi_index` in a location that passes to uWSGI"
    );
}

/// A FastCGI variable left in a uWSGI location gets migrate's rewrite as
/// its fix: `$uri`, what the variable held.
#[test]
fn mg012_fastcgi_variables_get_migrates_rewrite() {
    let report = Site::healthy()
        .with(|s| {
            replace(
                &mut s.site,
                "        include /etc/nginx/uwsgi_params;",
                "        include /etc/nginx/uwsgi_params;\n        uwsgi_param HTTP_X_SCRIPT ${fastcgi_script_name}x;",
            )
        })
        .check();
    let found = report.findings("MG012");
    let [finding] = found.as_slice() else {
        panic!("{}", report.all());
    };
    assert_eq!(
        finding["message"],
        "a FastCGI variable in a location that passes to uWSGI"
    );
    assert_eq!(finding["fix"]["message"], "write `${uri}x`");
    assert_eq!(finding["fix"]["applicability"], "unsafe");
}

/// Two FastCGI locations that could both be MediaGoblin's: check says so
/// with its own code and runs no rule about the location; `--fcgi-address`
/// picks one, as for migrate.
#[test]
fn mg031_ambiguous_locations_and_fcgi_address() {
    let report = Site::healthy()
        .with(|s| {
            replace(&mut s.site, "uwsgi_pass 127.0.0.1:26543", "fastcgi_pass 127.0.0.1:26543");
            replace(&mut s.site, "uwsgi_params", "fastcgi_params");
            replace(&mut s.site, "uwsgi_param SCRIPT", "fastcgi_param SCRIPT");
            replace(
                &mut s.site,
                "    location / {",
                "    location /other/ {\n        fastcgi_pass 127.0.0.1:9999;\n    }\n    location / {",
            );
        })
        .check();
    let found = report.expect(
        "MG031",
        "warning",
        "site.conf",
        "fastcgi_pass 127.0.0.1:9999",
    );
    assert_eq!(
        found["message"],
        "2 FastCGI addresses could be MediaGoblin's; mgdeploy will not guess"
    );
    report.expect_none("MG004");
    let root = report.top.join("mediagoblin");
    let output = common::mgdeploy()
        .arg("check")
        .arg("-C")
        .arg(&root)
        .arg("--nginx")
        .arg(report.top.join("nginx/nginx.conf"))
        .args(["--format", "json", "--fcgi-address", "127.0.0.1:26543"])
        .output()
        .expect("run check");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let codes: Vec<&str> = json["diagnostics"]
        .as_array()
        .map(|all| all.iter().filter_map(|d| d["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(codes.contains(&"MG004"), "{codes:?}");
    assert!(!codes.contains(&"MG031"), "{codes:?}");
}
