//! Applying plans and rolling them back through the real binary: all files
//! or none, owners, modes and symlinks kept, stale plans refused, no writes
//! without a yes, and no half-migrated site after a failed or killed run.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mgdeploy::plan::{Edit, Plan};
use mgdeploy::source::Span;

/// What a test compares: every file, link and directory of a tree (the
/// journal directory left out) with content, mode and owner.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    File {
        content: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Link {
        target: PathBuf,
    },
    Dir {
        mode: u32,
    },
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("list") {
            let path = entry.expect("entry").path();
            // The journal, and the test's own plan and trace files.
            if path
                .file_name()
                .is_some_and(|n| n == ".mgdeploy" || n == "plan.json" || n == "trace.log")
            {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let relative = path.strip_prefix(dir).expect("inside").to_path_buf();
            let entry = if meta.file_type().is_symlink() {
                Entry::Link {
                    target: std::fs::read_link(&path).expect("link"),
                }
            } else if meta.is_dir() {
                stack.push(path.clone());
                Entry::Dir { mode: meta.mode() }
            } else {
                Entry::File {
                    content: std::fs::read(&path).expect("read"),
                    mode: meta.mode(),
                    uid: meta.uid(),
                    gid: meta.gid(),
                }
            };
            out.insert(relative, entry);
        }
    }
    out
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

const SITE: &str = "server {\n    location / {\n        fastcgi_pass 127.0.0.1:26543;\n        include /etc/nginx/fastcgi_params;\n    }\n}\n";
const LAZY: &str = "case \"$selfname\" in\n    lazyserver.sh)\n        starter_cmd=paster;\n";

/// A site like a Debian host has it: the nginx site in sites-available,
/// linked from sites-enabled, and a MediaGoblin checkout.
struct Site {
    _dir: tempfile::TempDir,
    top: PathBuf,
    root: PathBuf,
    plan_path: PathBuf,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("temporary directory");
        let top = std::fs::canonicalize(dir.path()).expect("canonical");
        let available = top.join("nginx/sites-available");
        let enabled = top.join("nginx/sites-enabled");
        let root = top.join("srv/mediagoblin");
        for d in [&available, &enabled, &root] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let site = available.join("mediagoblin.conf");
        std::fs::write(&site, SITE).expect("write site");
        std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        symlink(
            "../sites-available/mediagoblin.conf",
            enabled.join("mediagoblin.conf"),
        )
        .expect("symlink");
        let lazy = root.join("lazystarter.sh");
        std::fs::write(&lazy, LAZY).expect("write lazystarter");
        std::fs::set_permissions(&lazy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        symlink("lazystarter.sh", root.join("lazyserver.sh")).expect("symlink");
        if is_root() {
            // Owners mgdeploy must keep, unlike the root that runs it.
            std::os::unix::fs::chown(&site, Some(33), Some(33)).expect("chown");
            std::os::unix::fs::chown(&root, Some(1234), Some(2345)).expect("chown");
            std::os::unix::fs::chown(&lazy, Some(1234), Some(2345)).expect("chown");
        }
        let plan_path = top.join("plan.json");
        let site = Site {
            _dir: dir,
            top,
            root,
            plan_path,
        };
        site.write_plan();
        site
    }

    fn write_plan(&self) {
        let site_link = self.top.join("nginx/sites-enabled/mediagoblin.conf");
        let mut plan = Plan::new(&self.root);
        let at = |text: &str, needle: &str| {
            let start = text.find(needle).expect("needle");
            Span::new(start, start + needle.len())
        };
        plan.modify(
            &site_link,
            SITE.as_bytes(),
            vec![
                Edit::replace(at(SITE, "fastcgi_pass"), "uwsgi_pass"),
                Edit::replace(at(SITE, "fastcgi_params"), "uwsgi_params"),
            ],
        );
        plan.modify(
            &self.root.join("lazystarter.sh"),
            LAZY.as_bytes(),
            vec![Edit::replace(at(LAZY, "paster"), "uwsgi")],
        );
        plan.create(
            &self.root.join("mediagoblin-uwsgi.ini"),
            "[uwsgi]\nmaster = true\n",
        );
        std::fs::write(
            &self.plan_path,
            serde_json::to_vec_pretty(&plan.to_file()).expect("JSON"),
        )
        .expect("write plan");
    }

    fn state(&self) -> BTreeMap<PathBuf, Entry> {
        snapshot(&self.top)
    }

    fn apply(&self, extra: &[&str]) -> Output {
        common::mgdeploy()
            .arg("apply")
            .arg(&self.plan_path)
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("run mgdeploy apply")
    }

    fn rollback(&self) -> Output {
        common::mgdeploy()
            .args(["rollback", "--yes", "-C"])
            .arg(&self.root)
            .output()
            .expect("run mgdeploy rollback")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn apply_keeps_owner_mode_and_symlinks_and_rollback_restores_every_byte() {
    let site = Site::new();
    let before = site.state();
    let applied = site.apply(&["--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));

    let after = site.state();
    let conf = PathBuf::from("nginx/sites-available/mediagoblin.conf");
    let Some(Entry::File {
        content,
        mode,
        uid,
        gid,
    }) = after.get(&conf)
    else {
        panic!("the site file is gone: {after:?}");
    };
    assert_eq!(
        String::from_utf8_lossy(content),
        SITE.replace("fastcgi_pass", "uwsgi_pass")
            .replace("fastcgi_params", "uwsgi_params")
    );
    let Some(Entry::File {
        mode: old_mode,
        uid: old_uid,
        gid: old_gid,
        ..
    }) = before.get(&conf)
    else {
        panic!("no site file before");
    };
    assert_eq!(
        (mode, uid, gid),
        (old_mode, old_uid, old_gid),
        "mode and owner kept"
    );
    assert_eq!(
        after.get(Path::new("nginx/sites-enabled/mediagoblin.conf")),
        Some(&Entry::Link {
            target: PathBuf::from("../sites-available/mediagoblin.conf")
        }),
        "the symlink is still a symlink"
    );
    assert_eq!(
        after.get(Path::new("srv/mediagoblin/lazyserver.sh")),
        Some(&Entry::Link {
            target: PathBuf::from("lazystarter.sh")
        })
    );
    let Some(Entry::File { mode, uid, gid, .. }) =
        after.get(Path::new("srv/mediagoblin/mediagoblin-uwsgi.ini"))
    else {
        panic!("the new file is missing");
    };
    assert_eq!(mode & 0o7777, 0o644, "new files are 0644");
    if is_root() {
        assert_eq!(
            (*uid, *gid),
            (1234, 2345),
            "new files get the checkout's owner"
        );
    }
    // No temporary files are left next to the targets.
    assert_eq!(after.len(), before.len() + 1, "{:?}", after.keys());

    let rolled_back = site.rollback();
    assert_eq!(
        rolled_back.status.code(),
        Some(0),
        "{}",
        stderr(&rolled_back)
    );
    assert_eq!(
        site.state(),
        before,
        "rollback restores every byte, owner and mode"
    );

    let again = site.rollback();
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stderr(&again).contains("Nothing to roll back"),
        "{}",
        stderr(&again)
    );
    assert_eq!(site.state(), before);
}

#[test]
fn a_file_changed_after_planning_stops_everything() {
    let site = Site::new();
    let lazy = site.root.join("lazystarter.sh");
    std::fs::write(&lazy, format!("{LAZY}# edited by hand\n")).expect("edit");
    let before = site.state();
    let output = site.apply(&["--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("changed after the plan was made"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("lazystarter.sh"));
    assert_eq!(site.state(), before, "nothing was written");
}

#[test]
fn without_a_terminal_and_without_yes_nothing_is_written() {
    let site = Site::new();
    let before = site.state();
    let output = site.apply(&[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("--yes"), "{}", stderr(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("+++ b/")
            || String::from_utf8_lossy(&output.stdout).contains("+++ /")
    );
    assert_eq!(site.state(), before);
}

/// Runs `mgdeploy apply` on a pseudo-terminal (util-linux `script`) and
/// answers the prompt.
fn apply_on_a_terminal(site: &Site, answer: &str) -> Output {
    let command = format!(
        "{} apply {}",
        env!("CARGO_BIN_EXE_mgdeploy"),
        site.plan_path.display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux runs the command on a terminal");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("answer");
    child.wait_with_output().expect("wait")
}

#[test]
fn a_declined_prompt_writes_nothing_and_a_yes_applies() {
    let site = Site::new();
    let before = site.state();
    let declined = apply_on_a_terminal(&site, "n\n");
    let shown = String::from_utf8_lossy(&declined.stdout);
    assert_eq!(declined.status.code(), Some(1), "{shown}");
    assert!(shown.contains("[y/N]"), "the question was asked: {shown}");
    assert!(shown.contains("Nothing was written"), "{shown}");
    assert_eq!(site.state(), before);

    let accepted = apply_on_a_terminal(&site, "y\n");
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&accepted.stdout)
    );
    assert_ne!(site.state(), before);
}

fn strace() -> &'static str {
    let found = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "strace is missing: install it (apt-get install strace) to run the fault-injection tests"
    );
    "strace"
}

/// How many times a successful apply calls `syscall`.
fn count_calls(syscall: &str) -> usize {
    let site = Site::new();
    let log = site.top.join("trace.log");
    let output = Command::new(strace())
        .args(["-f", "-qq", "-e"])
        .arg(format!("trace={syscall}"))
        .arg("-o")
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .arg("apply")
        .arg(&site.plan_path)
        .arg("--yes")
        .output()
        .expect("run strace");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let trace = std::fs::read_to_string(&log).expect("trace");
    let calls = trace
        .lines()
        .filter(|l| l.contains(&format!("{syscall}(")))
        .count();
    assert!(calls > 0, "no {syscall} calls traced:\n{trace}");
    calls
}

/// Runs `mgdeploy apply --yes` with the `nth` call of `syscall` failing as
/// `injection` says (`error=EIO` or `signal=KILL`).
fn apply_with_fault(site: &Site, syscall: &str, nth: usize, injection: &str) -> Output {
    Command::new(strace())
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={syscall}"))
        .arg("-e")
        .arg(format!("inject={syscall}:{injection}:when={nth}"))
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .arg("apply")
        .arg(&site.plan_path)
        .arg("--yes")
        .stdin(Stdio::null())
        .output()
        .expect("run strace")
}

#[test]
fn every_failing_rename_fsync_or_write_leaves_every_file_as_before() {
    // What a successful apply leaves, to recognise a run whose failed write
    // was only the closing message on stderr.
    let applied = {
        let site = Site::new();
        assert_eq!(site.apply(&["--yes"]).status.code(), Some(0));
        site.state()
    };
    // renameat2 swaps each new version into place; renameat writes the
    // journal.
    for syscall in ["renameat2", "renameat", "fsync", "write"] {
        let calls = count_calls(syscall);
        let mut failed_runs = 0;
        for nth in 1..=calls {
            let site = Site::new();
            let before = site.state();
            let output = apply_with_fault(&site, syscall, nth, "error=EIO");
            let message = stderr(&output);
            assert!(!message.contains("panicked"), "{message}");
            if syscall == "write" && output.status.code() == Some(0) {
                // Only a message was lost; the change itself is complete.
                assert_eq!(site.state(), applied, "write #{nth}: {message}");
                continue;
            }
            failed_runs += 1;
            assert_eq!(
                output.status.code(),
                Some(2),
                "{syscall} #{nth} failing: {message}"
            );
            assert!(
                message.contains("Input/output error"),
                "{syscall} #{nth}: {message}"
            );
            assert_eq!(
                site.state(),
                before,
                "{syscall} #{nth} failing left a change: {message}"
            );
            // Nothing is left for rollback to do.
            let rollback = site.rollback();
            assert_eq!(rollback.status.code(), Some(0), "{}", stderr(&rollback));
            assert_eq!(site.state(), before);
        }
        eprintln!(
            "{syscall}: {calls} calls in a successful apply; failing each once stopped {failed_runs} runs with every file as before"
        );
        if syscall != "write" {
            assert_eq!(failed_runs, calls);
        }
    }
}

#[test]
fn a_run_killed_at_any_rename_is_undone_by_rollback() {
    for syscall in ["renameat2", "renameat"] {
        killed_at_each(syscall);
    }
}

fn killed_at_each(syscall: &str) {
    let calls = count_calls(syscall);
    for nth in 1..=calls {
        let site = Site::new();
        let before = site.state();
        let killed = apply_with_fault(&site, syscall, nth, "signal=KILL");
        assert_ne!(
            killed.status.code(),
            Some(0),
            "{syscall} #{nth}: the run was not killed"
        );
        let rollback = site.rollback();
        assert_eq!(
            rollback.status.code(),
            Some(0),
            "{syscall} #{nth}: {}",
            stderr(&rollback)
        );
        assert_eq!(
            site.state(),
            before,
            "killed at {syscall} #{nth}: {}",
            stderr(&rollback)
        );
        // The site is usable again: the plan applies.
        let again = site.apply(&["--yes"]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "{syscall} #{nth}: {}",
            stderr(&again)
        );
    }
}

#[test]
fn an_interrupted_run_blocks_the_next_until_rolled_back() {
    let site = Site::new();
    // Killed at the swap of the first file: after the journal.
    let killed = apply_with_fault(&site, "renameat2", 1, "signal=KILL");
    assert_ne!(killed.status.code(), Some(0));
    let blocked = site.apply(&["--yes"]);
    assert_eq!(blocked.status.code(), Some(2));
    assert!(
        stderr(&blocked).contains("interrupted"),
        "{}",
        stderr(&blocked)
    );
    assert!(
        stderr(&blocked).contains("mgdeploy rollback"),
        "{}",
        stderr(&blocked)
    );
    assert_eq!(site.rollback().status.code(), Some(0));
    assert_eq!(site.apply(&["--yes"]).status.code(), Some(0));
}

#[test]
fn rollback_asks_too_and_warns_about_later_edits() {
    let site = Site::new();
    let before = site.state();
    assert_eq!(site.apply(&["--yes"]).status.code(), Some(0));
    let lazy = site.root.join("lazystarter.sh");
    let edited = format!(
        "{}# tuned by the admin\n",
        std::fs::read_to_string(&lazy).expect("read")
    );
    std::fs::write(&lazy, &edited).expect("edit");
    let applied = site.state();

    let unasked = common::mgdeploy()
        .args(["rollback", "-C"])
        .arg(&site.root)
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy rollback");
    assert_eq!(unasked.status.code(), Some(1), "{}", stderr(&unasked));
    assert!(stderr(&unasked).contains("--yes"));
    assert!(
        stderr(&unasked).contains("lazystarter.sh was changed after mgdeploy wrote it"),
        "{}",
        stderr(&unasked)
    );
    assert_eq!(site.state(), applied, "nothing was written");

    let rolled = site.rollback();
    assert_eq!(rolled.status.code(), Some(0));
    assert_eq!(site.state(), before);
    // The admin's version is kept, and rollback says where.
    let said = stderr(&rolled);
    assert!(said.contains("its edited version is in"), "{said}");
    let kept = said
        .lines()
        .find_map(|l| l.split("its edited version is in ").nth(1))
        .expect("where the edited version is");
    assert_eq!(
        std::fs::read_to_string(kept.trim()).expect("the kept version"),
        edited
    );
}

#[test]
fn a_link_the_plan_makes_is_made_and_rolled_back() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    let root = top.join("mediagoblin");
    for d in ["mediagoblin", "uwsgi/apps-available", "uwsgi/apps-enabled"] {
        std::fs::create_dir_all(top.join(d)).expect("mkdir");
    }
    let ini = top.join("uwsgi/apps-available/mediagoblin.ini");
    let link = top.join("uwsgi/apps-enabled/mediagoblin.ini");
    let mut plan = Plan::new(&root);
    plan.create(&ini, "[uwsgi]\nmaster = true\n");
    plan.link(&link, Path::new("../apps-available/mediagoblin.ini"));
    let plan_path = top.join("plan.json");
    std::fs::write(
        &plan_path,
        serde_json::to_vec_pretty(&plan.to_file()).expect("JSON"),
    )
    .expect("write plan");
    let before = snapshot(&top);

    let applied = common::mgdeploy()
        .arg("apply")
        .arg(&plan_path)
        .arg("--yes")
        .stdin(Stdio::null())
        .output()
        .expect("apply");
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    // The diff says it is a link, as git does.
    let shown = String::from_utf8_lossy(&applied.stdout);
    assert!(shown.contains("new file mode 120000"), "{shown}");
    assert_eq!(
        std::fs::read_link(&link).expect("a link"),
        Path::new("../apps-available/mediagoblin.ini")
    );
    assert_eq!(
        std::fs::read_to_string(&link).expect("it leads to the ini"),
        "[uwsgi]\nmaster = true\n"
    );

    let rolled_back = common::mgdeploy()
        .args(["rollback", "--yes", "-C"])
        .arg(&root)
        .output()
        .expect("rollback");
    assert_eq!(
        rolled_back.status.code(),
        Some(0),
        "{}",
        stderr(&rolled_back)
    );
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is gone"
    );
    let mut after = snapshot(&top);
    after.retain(|path, _| !path.starts_with(root.join(".mgdeploy")));
    assert_eq!(after, before);
}
