//! mgdeploy runs as root on /etc: what it must not trust, lose or half-do.
//! One test per finding of the hardening review, each named after it; each
//! fails on the code before the fix.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::tree::{LAZY, PASTE, SITE, chown, text, tree, tree_named};

fn require_root() {
    common::servers::require_root(
        "the hardening tests play a root mgdeploy against files of other users",
    );
}

#[test]
fn item_01_a_journal_planted_by_the_checkout_owner_is_not_trusted() {
    require_root();
    let t = tree();
    // The site user (nobody) owns the checkout and plants a transaction
    // whose "backup" restores a setuid file anywhere.
    chown(&t.root, 65534);
    let victim = t.top.join("victim-setuid");
    let tx = t.root.join(".mgdeploy/01700000000.000000000-1");
    std::fs::create_dir_all(&tx).expect("mkdir");
    std::fs::write(tx.join("backup-0"), "#!/bin/sh\nid\n").expect("write");
    let sha = {
        let output = Command::new("sha256sum")
            .arg(tx.join("backup-0"))
            .output()
            .expect("sha256sum");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let journal = format!(
        r#"{{"version":2,"id":"01700000000.000000000-1","state":"committed","files":[{{"shown_as":"{site}","target":"{victim}","before":{{"sha256":"{sha}","mode":2541,"uid":0,"gid":0}},"backup":"backup-0","after":{{"sha256":"{sha}","mode":420,"uid":0,"gid":0}},"staged":"{staged}"}}]}}"#,
        site = t.site.display(),
        victim = victim.display(),
        staged = t
            .top
            .join(".victim-setuid.mgdeploy-01700000000.000000000-1-0")
            .display(),
    );
    std::fs::write(tx.join("journal.json"), journal).expect("write");
    for path in [
        t.root.join(".mgdeploy"),
        tx.clone(),
        tx.join("backup-0"),
        tx.join("journal.json"),
    ] {
        chown(&path, 65534);
    }
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    assert_eq!(rollback.status.code(), Some(2), "{}", text(&rollback));
    assert!(
        text(&rollback).contains("belongs to uid 65534, not to you"),
        "{}",
        text(&rollback)
    );
    assert!(
        !victim.exists(),
        "the planted journal wrote {}",
        victim.display()
    );
    // migrate does not advise running rollback on it either.
    let migrate = t.migrate(&["--dry-run"]);
    assert_eq!(migrate.status.code(), Some(2), "{}", text(&migrate));
    assert!(
        !text(&migrate).contains("mgdeploy rollback"),
        "{}",
        text(&migrate)
    );
}

#[test]
fn item_01_a_journal_naming_a_path_its_plan_did_not_make_is_refused() {
    require_root();
    let t = tree();
    assert_eq!(t.migrate(&["--yes"]).status.code(), Some(0));
    // Root's own journal, edited to restore somewhere else.
    let state = t.root.join(".mgdeploy");
    let tx = std::fs::read_dir(&state)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a transaction");
    let journal = tx.join("journal.json");
    let text_before = std::fs::read_to_string(&journal).expect("read");
    let elsewhere = t.top.join("elsewhere");
    let site = t.site.display().to_string();
    let forged = text_before.replacen(
        &format!("\"target\": \"{site}\""),
        &format!("\"target\": \"{}\"", elsewhere.display()),
        1,
    );
    assert_ne!(
        forged, text_before,
        "the journal names the site file as a target"
    );
    std::fs::write(&journal, forged).expect("write");
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    assert_eq!(rollback.status.code(), Some(2), "{}", text(&rollback));
    assert!(
        text(&rollback).contains("is not where mgdeploy puts the new version"),
        "{}",
        text(&rollback)
    );
    assert!(!elsewhere.exists());
}

#[test]
fn item_01_rollback_shows_the_real_target_of_a_symlink() {
    let t = tree();
    let real = t.top.join("nginx/available.conf");
    std::fs::rename(&t.site, &real).expect("rename");
    std::os::unix::fs::symlink(&real, &t.site).expect("symlink");
    assert_eq!(t.migrate(&["--yes"]).status.code(), Some(0));
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    let said = text(&rollback);
    assert!(said.contains(&format!("--- {}", real.display())), "{said}");
    assert!(
        said.contains(&format!(
            "{} is the file behind {}",
            real.display(),
            t.site.display()
        )),
        "{said}"
    );
}

#[test]
fn item_02_a_symlink_in_the_state_directory_is_never_followed() {
    let t = tree();
    std::fs::create_dir(t.root.join(".mgdeploy")).expect("mkdir");
    std::fs::set_permissions(
        t.root.join(".mgdeploy"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");
    let nologin = t.top.join("nologin");
    std::os::unix::fs::symlink(&nologin, t.root.join(".mgdeploy/lock")).expect("symlink");
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("symbolic link"), "{}", text(&output));
    assert!(!nologin.exists(), "root created the symlink's target");
    // .mgdeploy itself a symlink: refused too.
    let t = tree();
    let elsewhere = t.top.join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::os::unix::fs::symlink(&elsewhere, t.root.join(".mgdeploy")).expect("symlink");
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert_eq!(
        std::fs::read_dir(&elsewhere).expect("list").count(),
        0,
        "wrote through the symlink"
    );
}

#[test]
fn item_04_an_edit_saved_while_applying_is_kept_and_stops_the_change() {
    let t = tree();
    let plan = t.top.join("plan.json");
    let saved = t.migrate(&["--dry-run", "--format", "json"]);
    std::fs::write(&plan, &saved.stdout).expect("write plan");
    // The first swap waits two seconds; the admin saves the site file
    // meanwhile.
    let apply = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=renameat2",
            "-e",
            "inject=renameat2:delay_enter=2000000:when=1",
        ])
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args(["apply", "--yes"])
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace is needed (apt-get install strace)");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let edited = format!("{SITE}# saved by the admin while mgdeploy ran\n");
    let lazy = t.root.join("lazystarter.sh");
    let untouched = std::fs::read_to_string(&t.site).expect("read") == SITE;
    assert!(untouched, "the site is untouched before the first swap");
    // The files are swapped in plan order; the first one is lazystarter.sh
    // or the site: edit both.
    std::fs::write(&t.site, &edited).expect("edit");
    std::fs::write(&lazy, format!("{LAZY}# edited\n")).expect("edit");
    let output = apply.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("changed while mgdeploy was applying the plan"),
        "{}",
        text(&output)
    );
    assert_eq!(
        std::fs::read_to_string(&t.site).expect("read"),
        edited,
        "the admin's edit was lost"
    );
    assert_eq!(
        std::fs::read_to_string(&lazy).expect("read"),
        format!("{LAZY}# edited\n")
    );
    assert!(!t.root.join("mediagoblin-uwsgi.ini").exists());
}

#[test]
fn item_05_an_ini_already_at_the_path_is_planned_not_kept_blindly() {
    let t = tree();
    let ini = t.root.join("mediagoblin-uwsgi.ini");
    std::fs::write(&ini, "[uwsgi]\nplugins = python3\nsocket = 127.0.0.1:9999\npaste = config:/elsewhere/paste.ini\n").expect("write");
    let output = t.migrate(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains(&format!("--- {}\n+++ {}", ini.display(), ini.display())),
        "the ini is diffed: {said}"
    );
    assert!(said.contains("-socket = 127.0.0.1:9999"), "{said}");
    assert!(
        said.contains("it listens on 127.0.0.1:9999, not on 127.0.0.1:26543"),
        "{said}"
    );
    // The nginx site named as the ini by mistake: refused.
    let mistaken = t.mgdeploy(
        "migrate",
        &["--uwsgi-ini", &t.site.display().to_string(), "--dry-run"],
    );
    assert_eq!(mistaken.status.code(), Some(2), "{}", text(&mistaken));
    assert!(
        text(&mistaken).contains("--uwsgi-ini"),
        "{}",
        text(&mistaken)
    );
}

#[test]
fn item_06_a_hard_linked_site_file_is_refused() {
    let t = tree();
    std::fs::hard_link(&t.site, t.top.join("other-name.conf")).expect("link");
    let before = t.files();
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("has 2 hard links"),
        "{}",
        text(&output)
    );
    assert_eq!(t.files(), before);
}

#[test]
fn item_07_rollback_checks_every_backup_before_touching_a_file() {
    let t = tree();
    std::fs::write(t.root.join("lazyserver.sh"), LAZY).expect("write");
    assert_eq!(t.migrate(&["--yes"]).status.code(), Some(0));
    let applied = t.files();
    let tx = std::fs::read_dir(t.root.join(".mgdeploy"))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a transaction");
    let backups: Vec<PathBuf> = std::fs::read_dir(&tx)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("backup-"))
        })
        .collect();
    assert!(backups.len() >= 2, "{backups:?}");
    let last = backups.iter().max().expect("a backup");
    std::fs::write(last, "damaged\n").expect("damage");
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    assert_eq!(rollback.status.code(), Some(2), "{}", text(&rollback));
    assert!(
        text(&rollback).contains("checksum does not match"),
        "{}",
        text(&rollback)
    );
    assert_eq!(
        t.files(),
        applied,
        "rollback restored some files and not others"
    );
}

#[test]
fn item_08_rollback_says_which_created_file_it_kept() {
    let t = tree();
    assert_eq!(t.migrate(&["--yes"]).status.code(), Some(0));
    let ini = t.root.join("mediagoblin-uwsgi.ini");
    std::fs::write(
        &ini,
        format!("{}# tuned\n", std::fs::read_to_string(&ini).expect("read")),
    )
    .expect("edit");
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    assert_eq!(rollback.status.code(), Some(0), "{}", text(&rollback));
    let said = text(&rollback);
    assert!(
        !said.contains("every file is as it was before change"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "{} (created by the change, edited since: kept)",
            ini.display()
        )),
        "{said}"
    );
    assert!(ini.exists());
}

#[test]
fn item_09_special_files_are_refused_without_reading() {
    let t = tree();
    let fifo = t.top.join("fifo.ini");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    // A FIFO would block forever: the test bounds it with timeout(1).
    for (option, path) in [
        ("--paste", fifo.as_path()),
        ("--nginx", Path::new("/dev/zero")),
        ("--mediagoblin-ini", fifo.as_path()),
    ] {
        let output = Command::new("timeout")
            .arg("10")
            .arg(env!("CARGO_BIN_EXE_mgdeploy"))
            .args(["migrate", "--dry-run", "-C"])
            .arg(&t.root)
            .arg(option)
            .arg(path)
            .args(
                [
                    "--nginx",
                    &t.top.join("nginx/nginx.conf").display().to_string(),
                ]
                .iter()
                .filter(|_| option != "--nginx"),
            )
            .output()
            .expect("run");
        assert_ne!(
            output.status.code(),
            Some(124),
            "{option} {}: blocked",
            path.display()
        );
        let said = text(&output);
        if option == "--mediagoblin-ini" {
            // Not fatal: MediaGoblin's defaults are assumed, with a warning.
            assert!(said.contains("not a regular file"), "{said}");
        } else {
            assert_eq!(output.status.code(), Some(2), "{option}: {said}");
            assert!(said.contains("not a regular file"), "{option}: {said}");
        }
    }
    // nginx includes /dev/null as an empty file; a directory is refused.
    let site = std::fs::read_to_string(&t.site).expect("read").replace(
        "listen 127.0.0.1:8080;",
        "listen 127.0.0.1:8080;\n    include /dev/null;",
    );
    std::fs::write(&t.site, site).expect("write");
    let output = t.migrate(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let dir_site = std::fs::read_to_string(&t.site).expect("read").replace(
        "include /dev/null;",
        &format!("include {};", t.top.display()),
    );
    std::fs::write(&t.site, dir_site).expect("write");
    let output = t.migrate(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("is not a regular file"),
        "{}",
        text(&output)
    );
}

#[test]
fn item_10_a_nul_filled_include_stops_at_the_first_nul_within_bounded_memory() {
    let t = tree();
    let zeros = t.top.join("zeros.conf");
    let file = std::fs::File::create(&zeros).expect("create");
    file.set_len(100 * 1024 * 1024)
        .expect("100 MiB of NUL bytes");
    let site = std::fs::read_to_string(&t.site).expect("read").replace(
        "listen 127.0.0.1:8080;",
        &format!("listen 127.0.0.1:8080;\n    include {};", zeros.display()),
    );
    std::fs::write(&t.site, site).expect("write");
    // Three times the file's size in address space is enough; the code before
    // the fix needed several gigabytes to render the error.
    let output = Command::new("prlimit")
        .arg(format!("--as={}", 400 * 1024 * 1024))
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args(["migrate", "--dry-run", "-C"])
        .arg(&t.root)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .env("NO_COLOR", "1")
        .output()
        .expect("prlimit (util-linux)");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(said.contains("the file contains a NUL byte"), "{said}");
    assert!(said.contains(&format!("{}:1:1", zeros.display())), "{said}");
    assert!(said.len() < 10_000, "{} bytes of message", said.len());
}

#[test]
fn item_11_a_run_in_progress_is_named_as_such() {
    let t = tree();
    // Another run holds the lock (this test, standing in for it), with its
    // transaction still open.
    assert_eq!(t.migrate(&["--yes"]).status.code(), Some(0));
    let state = t.root.join(".mgdeploy");
    let journal = std::fs::read_dir(&state)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path().join("journal.json"))
        .find(|p| p.exists())
        .expect("a journal");
    let open = std::fs::read_to_string(&journal)
        .expect("read")
        .replace("\"state\": \"committed\"", "\"state\": \"prepared\"");
    std::fs::write(&journal, open).expect("write");
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(state.join("lock"))
        .expect("lock file");
    lock.try_lock().expect("take the lock");
    let output = t.migrate(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("another mgdeploy is changing this site right now"),
        "{}",
        text(&output)
    );
    assert!(!text(&output).contains("interrupted"), "{}", text(&output));
    drop(lock);
}

#[test]
fn item_11_two_first_runs_do_not_trip_over_the_state_directory() {
    let t = tree();
    // The first run is held at its mkdir, just before it creates .mgdeploy;
    // the second creates it meanwhile and applies.
    let first = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=mkdir,mkdirat"])
        .args(["-e", "inject=mkdir,mkdirat:delay_enter=6000000:when=1"])
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args([
            "migrate", "--user", "nobody", "--group", "nogroup", "--yes", "-C",
        ])
        .arg(&t.root)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace is needed (apt-get install strace)");
    // x86_64's mkdir and mkdirat.
    common::held_in_syscall(first.id(), &["83", "258"]);
    let second = t.migrate(&["--yes"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let first = first.wait_with_output().expect("wait");
    let said = text(&first);
    assert!(!said.contains("File exists"), "{said}");
    // It finds the change the second made, and says so.
    assert_eq!(first.status.code(), Some(2), "{said}");
    assert!(said.contains("changed after the plan was made"), "{said}");
}

#[test]
fn item_12_a_long_file_name_and_a_full_disk() {
    let t = tree_named(&format!("{}.conf", "m".repeat(239)));
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    for args in [
        &["--help"][..],
        &["help"],
        &["--version"],
        &["help", "migrate"],
    ] {
        let full = Command::new(env!("CARGO_BIN_EXE_mgdeploy"))
            .args(args)
            .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
            .output()
            .expect("run");
        assert_eq!(full.status.code(), Some(2), "{args:?} to /dev/full");
    }
}

#[test]
fn item_13_what_is_in_the_ini_s_way_is_named() {
    for what in ["directory", "fifo", "dangling"] {
        let t = tree();
        let ini = t.root.join("mediagoblin-uwsgi.ini");
        match what {
            "directory" => std::fs::create_dir(&ini).expect("mkdir"),
            "fifo" => assert!(
                Command::new("mkfifo")
                    .arg(&ini)
                    .status()
                    .expect("mkfifo")
                    .success()
            ),
            _ => std::os::unix::fs::symlink("/nonexistent/ini", &ini).expect("symlink"),
        }
        let output = t.migrate(&["--dry-run"]);
        assert_eq!(output.status.code(), Some(2), "{what}: {}", text(&output));
        let said = text(&output);
        assert!(
            said.contains("it is where the uWSGI ini goes"),
            "{what}: {said}"
        );
        assert!(said.contains("--uwsgi-ini"), "{what}: {said}");
        assert!(!said.contains("the plan was made when"), "{what}: {said}");
    }
}

#[test]
fn item_14_a_missing_semicolon_is_refused_as_nginx_would() {
    let t = tree();
    let broken = SITE.replace(
        "fastcgi_pass 127.0.0.1:26543;",
        "fastcgi_pass 127.0.0.1:26543",
    );
    std::fs::write(&t.site, &broken).expect("write");
    let before = t.files();
    // --dry-run runs no nginx: this is mgdeploy's own table.
    let output = t.migrate(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("invalid number of arguments in \"fastcgi_pass\" directive"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{}:4:9", t.site.display())),
        "{said}"
    );
    assert!(said.contains("end line 4 with `;`"), "{said}");
    assert_eq!(t.migrate(&["--yes"]).status.code(), Some(2));
    assert_eq!(t.files(), before);
}

#[test]
fn item_15_a_site_outside_the_live_configuration_is_tested_itself() {
    require_root();
    assert!(
        Path::new("/usr/sbin/nginx").exists() || which("nginx"),
        "nginx is needed (see .ci/run)"
    );
    let t = tree();
    // A site file on its own (not part of /etc/nginx/nginx.conf), with a
    // mistake only nginx itself sees: the same location twice.
    let standalone = t.top.join("standalone.conf");
    let text_site = SITE.replace(
        "    location / {",
        "    location /x/ { return 404; }\n    location /x/ { return 404; }\n    location / {",
    );
    std::fs::write(&standalone, &text_site).expect("write");
    let before = std::fs::read(&standalone).expect("read");
    let output = common::mgdeploy()
        .args([
            "migrate", "--user", "nobody", "--group", "nogroup", "--yes", "-C",
        ])
        .arg(&t.root)
        .arg("--nginx")
        .arg(&standalone)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("nginx -t rejects the new configuration"),
        "{said}"
    );
    assert!(said.contains("duplicate location"), "{said}");
    assert!(said.contains("inside a test nginx.conf"), "{said}");
    assert_eq!(
        std::fs::read(&standalone).expect("read"),
        before,
        "every file is put back"
    );

    // apply PLAN.json runs the same gate and says what migrate said.
    let plan = t.top.join("plan.json");
    let saved = common::mgdeploy()
        .args([
            "migrate",
            "--user",
            "nobody",
            "--group",
            "nogroup",
            "--dry-run",
            "--format",
            "json",
            "-C",
        ])
        .arg(&t.root)
        .arg("--nginx")
        .arg(&standalone)
        .output()
        .expect("run");
    std::fs::write(&plan, &saved.stdout).expect("write");
    let applied = common::mgdeploy()
        .args(["apply", "--yes"])
        .arg(&plan)
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert_eq!(applied.status.code(), Some(2), "{}", text(&applied));
    let said = text(&applied);
    assert!(said.contains("duplicate location"), "{said}");
    assert!(said.contains("Next steps, once it is applied:"), "{said}");
    assert_eq!(std::fs::read(&standalone).expect("read"), before);
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn item_16_a_pipeline_naming_a_missing_app_is_refused_at_its_line() {
    let t = tree();
    let broken = PASTE.replace("[app:mediagoblin]", "[app:mediagoblin");
    std::fs::write(t.root.join("paste.ini"), broken).expect("write");
    let output = t.migrate(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains(
            "`pipeline` names the application `mediagoblin`, which paste.ini does not define"
        ),
        "{said}"
    );
    assert!(
        said.contains(&format!("{}:2:12", t.root.join("paste.ini").display())),
        "{said}"
    );
    assert!(said.contains("close it: `[app:mediagoblin]`"), "{said}");
}
