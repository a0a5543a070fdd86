//! `mgdeploy migrate` on whole deployments (`fixtures/<case>/`), checked
//! against reviewed expected diffs and against the real servers: the result
//! passes `nginx -t`, its uWSGI ini starts under `uwsgi --strict --need-app`,
//! a second run has nothing to do, and `--format patch | git apply` gives the
//! same files.
//!
//! A case is `fixtures/<case>/case` (lines `args:`, `corpus: SRC -> DEST`,
//! `shared: SRC -> DEST`, `system: /etc/nginx/FILE -> DEST`, `link: PATH -> TARGET`, `replace: PATH: OLD => NEW`,
//! `dir: PATH`, `expect: nothing-to-do | refused TEXT`, `uwsgi: real-mediagoblin`),
//! its own files under `input/`, `expected.diff`: the change as `git diff`
//! shows it, `expected.summary`: what migrate says besides the diff, and
//! `expected.check`: every finding of `check` on the result (reviewed:
//! each is one migrate leaves for the admin, never one it causes).
//! `@TMP@` stands for the test's directory. Set MGDEPLOY_FIXTURES=write to
//! write both afresh for review.
//!
//! `uwsgi: real-mediagoblin` marks a Python 2.7 virtualenv: Debian's uWSGI
//! cannot start it, so this test checks that the ini is one for the
//! virtualenv's own uWSGI, and tests/integration/real_mediagoblin.rs starts that on a
//! real MediaGoblin 0.9.
//!
//! `etc: overlay` is for cases that write under /etc (a new systemd unit,
//! Debian's apps directory, the emperor's vassals): mgdeploy runs in a
//! private mount namespace where /etc is an overlay whose upper layer is
//! the case's own `etc/`, so that what it writes there lands in the tree
//! (and in the reviewed diff) and the machine's /etc is never touched.
//!
//! Every systemd unit the change writes passes `systemd-analyze verify`.

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TMP: &str = "@TMP@";

/// What migrate does with a case.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// Plans a move (the default).
    Migrated,
    /// Finds nothing to move (exit 0, "Nothing to do").
    NothingToDo,
    /// Refuses with exit 2 and this text.
    Refused(String),
}

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    lines: Vec<(String, String)>,
    expect: Expect,
    /// The ini is for the virtualenv's own uWSGI (Python 2.7).
    real_mediagoblin: bool,
    /// mgdeploy sees /etc through an overlay onto the case's `etc/`.
    etc_overlay: bool,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures/") {
        let dir = entry.expect("entry").path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with('_') || !dir.is_dir() {
            continue;
        }
        let manifest = std::fs::read_to_string(dir.join("case"))
            .unwrap_or_else(|e| panic!("{name}/case: {e}"));
        let mut args = Vec::new();
        let mut lines = Vec::new();
        let mut expect = Expect::Migrated;
        let mut real_mediagoblin = false;
        let mut etc_overlay = false;
        for line in manifest
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (kind, rest) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{name}/case: bad line {line:?}"));
            let rest = rest.trim().to_string();
            match kind {
                "args" => args.extend(rest.split_whitespace().map(String::from)),
                "expect" if rest == "nothing-to-do" => expect = Expect::NothingToDo,
                "expect" => {
                    let text = rest
                        .strip_prefix("refused ")
                        .unwrap_or_else(|| panic!("{name}/case: expect: {rest:?}"));
                    expect = Expect::Refused(text.to_string());
                }
                "uwsgi" if rest == "real-mediagoblin" => real_mediagoblin = true,
                "etc" if rest == "overlay" => etc_overlay = true,
                _ => lines.push((kind.to_string(), rest)),
            }
        }
        cases.push(Case {
            name,
            dir,
            args,
            lines,
            expect,
            real_mediagoblin,
            etc_overlay,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

use common::{copy_tree, git, run};

/// Replaces `@TMP@` in every regular file under `dir`.
fn fill_in(dir: &Path, tmp: &str) {
    for entry in std::fs::read_dir(dir).expect("list") {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() && path.file_name().is_some_and(|n| n != ".git") {
            fill_in(&path, tmp);
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            if text.contains(TMP) {
                std::fs::write(&path, text.replace(TMP, tmp)).expect("write");
            }
        }
    }
}

/// Builds the case's input tree in a new temporary directory.
fn build(case: &Case) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    // uWSGI drops to nobody, who must be able to read the checkout.
    std::fs::set_permissions(&top, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let input = case.dir.join("input");
    if input.is_dir() {
        copy_tree(&input, &top);
    }
    for (kind, rest) in &case.lines {
        let pair = |separator: &str| {
            let (a, b) = rest.split_once(separator).unwrap_or_else(|| {
                panic!("{}: {kind}: expected `{separator}` in {rest:?}", case.name)
            });
            (a.trim().to_string(), b.trim().to_string())
        };
        match kind.as_str() {
            "corpus" | "shared" | "system" => {
                let (source, dest) = pair("->");
                let source = match kind.as_str() {
                    "corpus" => common::corpus().join(source),
                    "shared" => fixtures_dir().join("_shared").join(source),
                    // Files of the host's nginx package (nginx-common).
                    _ => PathBuf::from(source),
                };
                let dest = top.join(dest);
                std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
                std::fs::copy(&source, &dest)
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", case.name, source.display()));
                // Corpus files are read-only; the copy is the deployment's own.
                std::fs::set_permissions(
                    &dest,
                    std::os::unix::fs::PermissionsExt::from_mode(0o644),
                )
                .expect("chmod");
            }
            "link" => {
                let (link, target) = pair("->");
                let link = top.join(link);
                std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
                std::os::unix::fs::symlink(target, link).expect("symlink");
            }
            "replace" => {
                let (file, change) = pair(":");
                let (old, new) = change.split_once("=>").expect("replace: OLD => NEW");
                let path = top.join(file);
                let text = std::fs::read_to_string(&path).expect("read");
                std::fs::write(&path, text.replace(old.trim(), new.trim())).expect("write");
            }
            "dir" => std::fs::create_dir_all(top.join(rest)).expect("mkdir"),
            other => panic!("{}: unknown line kind {other}", case.name),
        }
    }
    fill_in(&top, &top.to_string_lossy());
    if case.etc_overlay {
        std::fs::create_dir_all(top.join("etc")).expect("mkdir");
        std::fs::create_dir_all(top.join(".etc-work")).expect("mkdir");
    }
    (dir, top)
}

/// mgdeploy, or with `etc: overlay` mgdeploy in a mount namespace where
/// /etc is the machine's with the case's `etc/` laid over it.
fn mgdeploy(case: &Case, top: &Path) -> Command {
    if !case.etc_overlay {
        return common::mgdeploy();
    }
    let mut command = Command::new("unshare");
    command
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t overlay mgdeploy-test -o \"lowerdir=/etc,upperdir=$1/etc,workdir=$1/.etc-work\" /etc || exit 97; shift; exec \"$@\"",
        )
        .arg("sh")
        .arg(top)
        .arg(env!("CARGO_BIN_EXE_mgdeploy"));
    command
}

fn migrate(case: &Case, top: &Path, extra: &[&str]) -> Output {
    run(mgdeploy(case, top)
        .current_dir(top)
        .arg("migrate")
        .arg("-C")
        .arg(top.join("mediagoblin"))
        .arg("--nginx")
        .arg(top.join("nginx/nginx.conf"))
        .args(["--user", "nobody", "--group", "nogroup"])
        .args(
            case.args
                .iter()
                .map(|a| a.replace(TMP, &top.to_string_lossy())),
        )
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null()))
}

/// `check --format json` on the case's tree, told of the service the case
/// names, as migrate was.
fn check(case: &Case, top: &Path) -> Output {
    let service = case
        .args
        .iter()
        .skip_while(|a| *a != "--service")
        .take(2)
        .map(|a| a.replace(TMP, &top.to_string_lossy()));
    run(mgdeploy(case, top)
        .arg("check")
        .arg("-C")
        .arg(top.join("mediagoblin"))
        .arg("--nginx")
        .arg(top.join("nginx/nginx.conf"))
        .args(service)
        .args(["--format", "json"]))
}

fn codes(output: &Output) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    value["diagnostics"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|d| {
                    format!(
                        "{} {} {}",
                        d["severity"].as_str().unwrap_or(""),
                        d["code"].as_str().unwrap_or(""),
                        d["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Starts uWSGI on the ini and waits for MediaGoblin (the probe) to be
/// loaded; stops it either way.
fn uwsgi_starts(ini: &Path, log: &Path) -> Result<(), String> {
    let probe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe");
    let mut child = Command::new("uwsgi")
        .arg("--ini")
        .arg(ini)
        .arg("--logto")
        .arg(log)
        .env("PYTHONPATH", &probe)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot start uwsgi (install uwsgi-core and uwsgi-plugin-python3): {e}")
        })?;
    let started = Instant::now();
    let result = loop {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        if said.contains("WSGI app 0 (mountpoint=") && said.contains("spawned uWSGI worker") {
            break Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("uwsgi exited with {status}:\n{said}"));
        }
        if started.elapsed() > Duration::from_secs(20) {
            break Err(format!("uwsgi did not load the app in 20 s:\n{said}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // SIGINT stops uWSGI at once (die-on-term covers SIGTERM). A worker that
    // is still running Python's after-fork hooks turns it into a
    // KeyboardInterrupt and lingers, and the master then waits for it, so
    // after a grace period the whole process group is killed: this check is
    // about the ini being accepted, not about how fast uWSGI shuts down.
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return result;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    result
}

fn require_tools() {
    assert!(
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0),
        "the fixture tests run nginx -t and start uWSGI as root (nginx opens /var/log/nginx, uWSGI switches to nobody): run them as root"
    );
    for tool in ["nginx", "uwsgi", "git"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "{tool} is missing: install it (see .ci/run)"
        );
    }
}

/// What migrate says besides the diff: stdout from its summary on (the
/// diff before it is checked apart), then stderr.
fn summary_of(output: &Output, tmp: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut offset = 0;
    let mut start = stdout.len();
    for line in stdout.split_inclusive('\n') {
        if [
            "Changed:",
            "Dropped:",
            "Warnings:",
            "Next steps",
            "Nothing to do",
        ]
        .iter()
        .any(|lead| line.starts_with(lead))
        {
            start = offset;
            break;
        }
        offset += line.len();
    }
    let mut text = stdout[start..].to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.is_empty() {
        text.push_str("--- stderr\n");
        text.push_str(&stderr);
    }
    text.replace(tmp, TMP)
}

/// Compares `actual` with the reviewed file, or writes it with
/// MGDEPLOY_FIXTURES=write.
fn reviewed(case: &Case, file: &str, actual: &str, failures: &mut Vec<String>) -> bool {
    let path = case.dir.join(file);
    if std::env::var("MGDEPLOY_FIXTURES").is_ok_and(|v| v == "write") {
        std::fs::write(&path, actual).expect("write a reviewed file");
        return true;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return true;
    }
    failures.push(format!(
        "{}: what mgdeploy said differs from {file}:\n{actual}",
        case.name
    ));
    false
}

/// Every file of a tree, with its bytes (git's files left out).
fn snapshot(top: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![top.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("list") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                if path.file_name().is_some_and(|n| n != ".git") {
                    dirs.push(path);
                }
            } else if meta.is_file() {
                out.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// The sections of a unified diff whose files are inside the tree. A
/// section starts at `diff --git`, or at a `--- ` line followed by `+++ `
/// that no `diff --git` header announced.
fn in_tree_sections(patch: &str) -> String {
    let lines: Vec<&str> = patch.split_inclusive('\n').collect();
    let mut sections: Vec<String> = Vec::new();
    let mut in_header = false;
    for (index, line) in lines.iter().enumerate() {
        let file_header = line.starts_with("--- ")
            && lines
                .get(index + 1)
                .is_some_and(|next| next.starts_with("+++ "));
        if line.starts_with("diff --git ") || (file_header && !in_header) {
            sections.push(String::new());
        }
        in_header = line.starts_with("diff --git ")
            || line.starts_with("new file mode")
            || line.starts_with("deleted file mode");
        if let Some(section) = sections.last_mut() {
            section.push_str(line);
        }
    }
    sections
        .into_iter()
        .filter(|s| !s.lines().any(|l| l.starts_with("+++ /")))
        .collect()
}

/// `systemd-analyze verify` accepts the unit: no complaint at all, but that
/// it runs as `nobody`, the stand-in for the site's account that the cases
/// pass with `--user` (a real site has an account of its own).
fn systemd_verifies(unit: &Path) -> Result<(), String> {
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .map_err(|e| format!("cannot run systemd-analyze (apt-get install systemd): {e}"))?;
    let said: String = text(&output)
        .lines()
        .filter(|l| !l.ends_with("Special user nobody configured, this is not safe!"))
        .collect();
    if output.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("systemd-analyze verify: {said}"))
    }
}

/// A case where migrate must not plan a move: it says so, writes nothing.
fn check_no_move(case: &Case, top: &Path, failures: &mut Vec<String>) {
    let tmp = top.to_string_lossy().into_owned();
    let before = snapshot(top);
    let output = migrate(case, top, &["--dry-run"]);
    let code = output.status.code();
    let said = summary_of(&output, &tmp);
    match &case.expect {
        Expect::NothingToDo if code != Some(0) || !said.contains("Nothing to do") => {
            failures.push(format!(
                "{}: expected `Nothing to do` and exit 0, got {code:?}:\n{}",
                case.name,
                text(&output)
            ))
        }
        Expect::Refused(reason) if code != Some(2) || !said.contains(reason.as_str()) => failures
            .push(format!(
                "{}: expected exit 2 saying {reason:?}, got {code:?}:\n{}",
                case.name,
                text(&output)
            )),
        _ => {}
    }
    reviewed(case, "expected.summary", &said, failures);
    let yes = migrate(case, top, &["--yes"]);
    if snapshot(top) != before {
        failures.push(format!(
            "{}: migrate --yes wrote files:\n{}",
            case.name,
            text(&yes)
        ));
    }
}

/// A Python 2.7 virtualenv's ini: for the virtualenv's own uWSGI, which has
/// Python built in (tests/integration/real_mediagoblin.rs starts one for real).
fn check_virtualenv_ini(case: &Case, top: &Path, failures: &mut Vec<String>) {
    let ini =
        std::fs::read_to_string(top.join("mediagoblin/mediagoblin-uwsgi.ini")).unwrap_or_default();
    let venv = format!("virtualenv = {}/mediagoblin\n", top.display());
    let start = format!(
        "# Start it with:  {}/mediagoblin/bin/uwsgi --ini ",
        top.display()
    );
    if ini.contains("\nplugins =") || !ini.contains(&venv) || !ini.contains(&start) {
        failures.push(format!(
            "{}: not an ini for the virtualenv's own uWSGI:\n{ini}",
            case.name
        ));
    }
}

/// Migrates one fixture as a user would and holds every result to what was
/// reviewed; what fails is collected, so one run says everything wrong.
fn run_case(case: &Case, failures: &mut Vec<String>) {
    let (_guard, top) = build(case);
    let tmp = top.to_string_lossy().into_owned();
    std::fs::write(
        top.join(".gitignore"),
        ".mgdeploy/\nlogs/\nrun/\n.etc-work/\n",
    )
    .expect("gitignore");
    git(&top, &["init", "-q"]);
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "input"]);

    if case.expect != Expect::Migrated {
        check_no_move(case, &top, failures);
        return;
    }

    // check sees the mount to move: FastCGI (MG004) or paster's HTTP (MG032).
    let before = check(case, &top);
    if !codes(&before)
        .iter()
        .any(|c| c.contains(" MG004 ") || c.contains(" MG032 "))
    {
        failures.push(format!(
            "{}: check on the input does not report the FastCGI or HTTP mount: {:?}",
            case.name,
            codes(&before)
        ));
    }

    // The patch, applied with git to a second copy; what migrate says
    // besides the diff, from a dry run there.
    let (_patch_guard, patch_top) = build(case);
    let dry = migrate(case, &patch_top, &["--dry-run"]);
    reviewed(
        case,
        "expected.summary",
        &summary_of(&dry, &patch_top.to_string_lossy()),
        failures,
    );
    let patch = migrate(case, &patch_top, &["--dry-run", "--format", "patch"]);
    assert_eq!(
        patch.status.code(),
        Some(1),
        "{}: --dry-run with changes: {}",
        case.name,
        text(&patch)
    );

    let applied = migrate(case, &top, &["--yes"]);
    if applied.status.code() != Some(0) {
        failures.push(format!(
            "{}: migrate failed:\n{}",
            case.name,
            text(&applied)
        ));
        return;
    }
    git(&top, &["add", "-A"]);
    // Blob hashes (`index` lines) change with the temporary path inside
    // the files, so they are left out.
    let diff: String = String::from_utf8_lossy(&git(&top, &["diff", "--cached"]).stdout)
        .replace(&tmp, TMP)
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("index "))
        .collect();
    if !reviewed(case, "expected.diff", &diff, failures) {
        return;
    }
    let mut patch_apply = Command::new("git")
        .arg("apply")
        .arg("--unsafe-paths")
        .arg("-")
        .current_dir(&patch_top)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git apply");
    // Files outside the tree (/etc, with `etc: overlay`) are named by
    // absolute paths, which git apply must not be given: the patch of
    // the tree's own files is compared.
    let in_tree = in_tree_sections(&String::from_utf8_lossy(&patch.stdout));
    std::io::Write::write_all(
        &mut patch_apply.stdin.take().expect("stdin"),
        in_tree.as_bytes(),
    )
    .expect("patch");
    let patch_result = patch_apply.wait_with_output().expect("git apply");
    if !patch_result.status.success() {
        failures.push(format!(
            "{}: git apply refused the patch: {}",
            case.name,
            String::from_utf8_lossy(&patch_result.stderr)
        ));
    } else {
        for file in diff
            .lines()
            .filter_map(|l| l.strip_prefix("+++ b/"))
            .filter(|f| !(case.etc_overlay && f.starts_with("etc/")))
        {
            let ours = std::fs::read(top.join(file)).expect("migrated file");
            let theirs = std::fs::read(patch_top.join(file)).unwrap_or_default();
            let theirs =
                String::from_utf8_lossy(&theirs).replace(&*patch_top.to_string_lossy(), &tmp);
            if String::from_utf8_lossy(&ours) != theirs {
                failures.push(format!(
                    "{}: {file} differs between migrate and --format patch | git apply",
                    case.name
                ));
            }
        }
    }

    // check finds no error in the result, and says only what the case's
    // reviewed list says, at every severity: migrate's own output must not
    // draw a finding nobody looked at.
    let after = check(case, &top);
    if after.status.code() != Some(0) {
        failures.push(format!(
            "{}: check on the result exits {:?}: {:?}",
            case.name,
            after.status.code(),
            codes(&after)
        ));
    }
    let mut findings = codes(&after);
    findings.sort();
    let findings: String = findings
        .iter()
        .map(|f| format!("{}\n", f.replace(&tmp, TMP)))
        .collect();
    reviewed(case, "expected.check", &findings, failures);

    let again = migrate(case, &top, &["--dry-run"]);
    if again.status.code() != Some(0) || !text(&again).contains("Nothing to do") {
        failures.push(format!(
            "{}: a second run is not a no-op:\n{}",
            case.name,
            text(&again)
        ));
    }

    let nginx = run(Command::new("nginx")
        .arg("-t")
        .arg("-q")
        .arg("-c")
        .arg(top.join("nginx/nginx.conf")));
    if !nginx.status.success() {
        failures.push(format!(
            "{}: nginx -t rejects the result: {}",
            case.name,
            text(&nginx)
        ));
    }

    for unit in diff
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .filter(|f| f.ends_with(".service"))
    {
        if let Err(why) = systemd_verifies(&top.join(unit)) {
            failures.push(format!("{}: {unit}: {why}", case.name));
        }
    }

    // Init scripts the change rewrote are still shell.
    for script in diff
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .filter(|f| f.contains("init.d/"))
    {
        let syntax = run(Command::new("sh").arg("-n").arg(top.join(script)));
        if !syntax.status.success() {
            failures.push(format!("{}: sh -n {script}: {}", case.name, text(&syntax)));
        }
    }

    // The uWSGI ini the change wrote (or kept), wherever it went.
    let ini = diff
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|f| top.join(f))
        .find(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains("\n[uwsgi]\n")))
        .unwrap_or_else(|| top.join("mediagoblin/mediagoblin-uwsgi.ini"));
    if case.real_mediagoblin {
        check_virtualenv_ini(case, &top, failures);
    } else if let Err(why) = uwsgi_starts(&ini, &top.join("logs/uwsgi.log")) {
        failures.push(format!("{}: {why}", case.name));
    }
}

/// Fixtures start uWSGI on the sockets their configurations name (the same
/// port in many): one fixture at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the fixture in `fixtures/NAME`.
fn fixture(name: &str) {
    require_tools();
    // A fixture that failed does not stop the others.
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let case = cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let mut failures = Vec::new();
    run_case(&case, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One test per fixture, so each passes or fails on its own.
macro_rules! fixtures {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                fixture($name);
            }
        )*

        /// Every fixture directory has its test above.
        #[test]
        fn every_fixture_has_a_test() {
            let listed = [$($name),*];
            let found: Vec<String> = cases().into_iter().map(|c| c.name).collect();
            assert!(found.len() >= 23, "only {} fixtures", found.len());
            for name in &found {
                assert!(listed.contains(&name.as_str()), "fixtures/{name} has no test: add it to fixtures!");
            }
            assert_eq!(listed.len(), found.len());
        }
    };
}

fixtures! {
    already_on_uwsgi => "already-on-uwsgi",
    celery_worker => "celery-worker",
    debian_apps => "debian-apps",
    debian_layout => "debian-layout",
    docs_v0_1_0 => "docs-v0.1.0",
    docs_v0_10_0 => "docs-v0.10.0",
    docs_v0_12_1 => "docs-v0.12.1",
    docs_v0_12_1_subpath => "docs-v0.12.1-subpath",
    docs_v0_15_0_proxy_params => "docs-v0.15.0-proxy-params",
    docs_v0_15_0_systemd => "docs-v0.15.0-systemd",
    docs_v0_1_0_subpath => "docs-v0.1.0-subpath",
    docs_v0_2_0 => "docs-v0.2.0",
    docs_v0_2_0_subpath => "docs-v0.2.0-subpath",
    docs_v0_3_1 => "docs-v0.3.1",
    docs_v0_3_1_subpath => "docs-v0.3.1-subpath",
    docs_v0_3_3 => "docs-v0.3.3",
    docs_v0_3_3_subpath => "docs-v0.3.3-subpath",
    docs_v0_4_0 => "docs-v0.4.0",
    docs_v0_4_0_subpath => "docs-v0.4.0-subpath",
    docs_v0_8_0 => "docs-v0.8.0",
    docs_v0_8_0_subpath => "docs-v0.8.0-subpath",
    emperor_vassal => "emperor-vassal",
    fastcgi_cache => "fastcgi-cache",
    fixpathinfo => "fixpathinfo",
    http_prefix_location => "http-prefix-location",
    http_proxy_cache => "http-proxy-cache",
    http_unix_socket => "http-unix-socket",
    init_script => "init-script",
    php_beside => "php-beside",
    python2_virtualenv => "python2-virtualenv",
    python2_virtualenv_with_uwsgi => "python2-virtualenv-with-uwsgi",
    supervisor_program => "supervisor-program",
    systemd_new_unit => "systemd-new-unit",
    unix_socket => "unix-socket",
    yunohost_service => "yunohost-service",
    yunohost_subpath => "yunohost-subpath",
}
