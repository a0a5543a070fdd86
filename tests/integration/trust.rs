//! Nobody on the host or in a pull request can turn mgdeploy against root:
//! the second round of attacks, one test per item (`item_NN_…`), each
//! played as the attacker would and each failing on the code before the
//! fix. The site's own account is `nobody` (uid 65534) here; the tests that
//! need root to play it say so.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::tree::{Tree, text, tree};

const NOBODY: u32 = 65534;

fn require_root() {
    common::servers::require_root(
        "the trust tests play a root mgdeploy against files of another account",
    );
}

/// Gives the checkout, and everything in it, to the site's account.
fn give_to_the_site(t: &Tree) {
    let status = Command::new("chown")
        .args(["-R", "-h", "65534:65534"])
        .arg(&t.root)
        .status()
        .expect("chown");
    assert!(status.success());
}

/// A tree whose lazystarter.sh lives in `scripts/` (the checkout's
/// `lazystarter.sh` links to it), owned by the site's account.
fn tree_with_scripts() -> Tree {
    let t = tree();
    let scripts = t.root.join("scripts");
    std::fs::create_dir(&scripts).expect("mkdir");
    std::fs::rename(
        t.root.join("lazystarter.sh"),
        scripts.join("lazystarter.sh"),
    )
    .expect("mv");
    std::os::unix::fs::symlink("scripts/lazystarter.sh", t.root.join("lazystarter.sh"))
        .expect("symlink");
    give_to_the_site(&t);
    t
}

/// A directory only root may write, which the attacker aims at.
fn root_owned_dir(t: &Tree, name: &str) -> PathBuf {
    let dir = t.top.join(name);
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The site's account swaps `dir` for a symbolic link to `to`.
fn swap_for_link(dir: &Path, to: &Path) {
    let mut aside = dir.as_os_str().to_owned();
    aside.push(".old");
    std::fs::rename(dir, PathBuf::from(aside)).expect("move aside");
    std::os::unix::fs::symlink(to, dir).expect("symlink");
}

#[test]
fn item_01_rollback_does_not_write_through_a_swapped_directory() {
    require_root();
    let t = tree_with_scripts();
    let migrate = t.migrate(&["--yes"]);
    assert_eq!(migrate.status.code(), Some(0), "{}", text(&migrate));
    assert!(
        std::fs::read_to_string(t.root.join("scripts/lazystarter.sh"))
            .expect("read")
            .contains("uwsgi"),
        "migrate patched the script behind the link"
    );

    // A link to a directory only root may write.
    let victim = root_owned_dir(&t, "victim");
    swap_for_link(&t.root.join("scripts"), &victim);
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    let said = text(&rollback);
    assert_eq!(rollback.status.code(), Some(2), "{said}");
    assert!(said.contains("symbolic link"), "{said}");
    assert!(
        !victim.join("lazystarter.sh").exists(),
        "rollback wrote the site's script into a root-owned directory"
    );
    assert!(said.contains("nothing was changed"), "{said}");
    // The nginx site was left as migrate wrote it: all or nothing.
    assert!(
        std::fs::read_to_string(&t.site)
            .expect("read")
            .contains("uwsgi_pass"),
        "{said}"
    );

    // Another real directory of the same name: refused as well.
    std::fs::remove_file(t.root.join("scripts")).expect("rm link");
    std::fs::create_dir(t.root.join("scripts")).expect("mkdir");
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    let said = text(&rollback);
    assert_eq!(rollback.status.code(), Some(2), "{said}");
    assert!(said.contains("replaced since"), "{said}");
    assert!(!t.root.join("scripts/lazystarter.sh").exists(), "{said}");

    // Put back as it was, rollback works.
    std::fs::remove_dir(t.root.join("scripts")).expect("rmdir");
    std::fs::rename(t.root.join("scripts.old"), t.root.join("scripts")).expect("mv back");
    let rollback = t.mgdeploy("rollback", &["--yes"]);
    assert_eq!(rollback.status.code(), Some(0), "{}", text(&rollback));
    assert!(
        std::fs::read_to_string(t.root.join("scripts/lazystarter.sh"))
            .expect("read")
            .contains("paster"),
    );
}

#[test]
fn item_01_a_link_the_site_planted_is_followed_only_to_its_own_files() {
    require_root();
    let t = tree();
    // The site's account links its lazystarter.sh to a file of root's that
    // looks like one.
    let roots = root_owned_dir(&t, "roots");
    std::fs::rename(t.root.join("lazystarter.sh"), roots.join("lazystarter.sh")).expect("mv");
    std::os::unix::fs::symlink(roots.join("lazystarter.sh"), t.root.join("lazystarter.sh"))
        .expect("symlink");
    give_to_the_site(&t);
    let before = std::fs::read(roots.join("lazystarter.sh")).expect("read");
    let migrate = t.migrate(&["--yes"]);
    let said = text(&migrate);
    assert_eq!(migrate.status.code(), Some(2), "{said}");
    assert!(said.contains("uid 65534 made"), "{said}");
    assert_eq!(
        std::fs::read(roots.join("lazystarter.sh")).expect("read"),
        before
    );
}

#[test]
fn item_02_files_created_outside_the_checkout_belong_to_root() {
    require_root();
    let t = tree();
    give_to_the_site(&t);
    let apps = root_owned_dir(&t, "uwsgi");
    let outside = apps.join("mediagoblin.ini");
    let migrate = t.migrate(&["--yes", "--uwsgi-ini", &outside.display().to_string()]);
    assert_eq!(migrate.status.code(), Some(0), "{}", text(&migrate));
    let metadata = std::fs::metadata(&outside).expect("the ini");
    assert_eq!(
        (metadata.uid(), metadata.gid(), metadata.mode() & 0o7777),
        (0, 0, 0o644),
        "an ini root runs, outside the checkout, owned by the site's account"
    );
    // Inside the checkout, what is created keeps the checkout's owner.
    let t = tree();
    give_to_the_site(&t);
    let migrate = t.migrate(&["--yes"]);
    assert_eq!(migrate.status.code(), Some(0), "{}", text(&migrate));
    let metadata = std::fs::metadata(t.root.join("mediagoblin-uwsgi.ini")).expect("the ini");
    assert_eq!((metadata.uid(), metadata.mode() & 0o7777), (NOBODY, 0o644));
}

/// A directory with an `nginx` that swaps `dir` for a link to `to` when
/// mgdeploy tests the configuration, then says it is broken: the moment
/// mgdeploy puts every file back.
fn swapping_nginx(t: &Tree, dir: &Path, to: &Path) -> PathBuf {
    let bin = t.top.join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let script = format!(
        "#!/bin/sh\nmv '{dir}' '{dir}.old' && ln -s '{to}' '{dir}'\necho 'nginx: [emerg] broken on purpose' >&2\nexit 1\n",
        dir = dir.display(),
        to = to.display()
    );
    let nginx = bin.join("nginx");
    std::fs::write(&nginx, script).expect("write");
    std::fs::set_permissions(&nginx, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

#[test]
fn item_04_putting_files_back_does_not_write_through_a_swapped_directory() {
    require_root();
    let t = tree_with_scripts();
    let victim = root_owned_dir(&t, "victim");
    let bin = swapping_nginx(&t, &t.root.join("scripts"), &victim);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = common::mgdeploy()
        .arg("migrate")
        .arg("-C")
        .arg(&t.root)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .args(["--user", "nobody", "--group", "nogroup", "--yes"])
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("broken on purpose"), "{said}");
    assert!(
        !victim.join("lazystarter.sh").exists(),
        "the undo wrote the site's script into a root-owned directory"
    );
    assert!(said.contains("putting the files back failed"), "{said}");
    assert!(!said.contains("every file was put back"), "{said}");
}

/// The `renameat2` calls a `migrate --yes` makes on `tree`, in order, as
/// strace shows them.
fn renames(t: &Tree) -> Vec<String> {
    let log = t.top.join("strace.log");
    let output = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=renameat2", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args([
            "migrate", "--user", "nobody", "--group", "nogroup", "--yes", "-C",
        ])
        .arg(&t.root)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .stdin(Stdio::null())
        .output()
        .expect("strace is needed (apt-get install strace)");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    std::fs::read_to_string(&log)
        .expect("strace's log")
        .lines()
        .filter(|l| l.contains("renameat2("))
        .map(str::to_string)
        .collect()
}

#[test]
fn item_04_a_rename_that_failed_is_not_counted_as_done() {
    require_root();
    // Which rename swaps lazystarter.sh into place, in a first tree.
    let calls = renames(&tree_with_scripts());
    let at = calls
        .iter()
        .position(|c| c.contains("lazystarter.sh\", RENAME_EXCHANGE"))
        .unwrap_or_else(|| panic!("no exchange of lazystarter.sh in {calls:#?}"))
        + 1;
    // The same run on a second tree: that rename is held, the site's
    // account swaps the script's directory meanwhile, and the rename fails.
    let t = tree_with_scripts();
    let victim = root_owned_dir(&t, "victim");
    let run = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=renameat2"])
        .arg("-e")
        .arg(format!(
            "inject=renameat2:error=EIO:delay_enter=3000000:when={at}"
        ))
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args([
            "migrate", "--user", "nobody", "--group", "nogroup", "--yes", "-C",
        ])
        .arg(&t.root)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace");
    // x86_64's renameat2, or -1: strace injects the error by making the
    // call one that does not exist.
    common::held_in_syscall(run.id(), &["316", "-1"]);
    swap_for_link(&t.root.join("scripts"), &victim);
    let output = run.wait_with_output().expect("wait");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("Input/output error"), "{said}");
    // Never replaced, so never "put back": nothing written through the
    // swapped directory, and the script as it was.
    assert!(
        !victim.join("lazystarter.sh").exists(),
        "a rename that failed was undone through the swapped directory"
    );
    assert_eq!(
        std::fs::read_to_string(t.root.join("scripts.old/lazystarter.sh")).expect("read"),
        common::tree::LAZY
    );
    assert_eq!(
        std::fs::read_to_string(&t.site).expect("read"),
        common::tree::SITE
    );
}

#[test]
fn item_03_a_new_unit_starts_uwsgi_as_the_site_not_as_root() {
    let t = tree();
    let output = t.migrate(&["--dry-run", "--service-style", "systemd"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    let unit: String = said
        .split("+++ /etc/systemd/system/mediagoblin-uwsgi.service")
        .nth(1)
        .unwrap_or_else(|| panic!("no new unit in {said}"))
        .lines()
        .take_while(|l| !l.starts_with("--- "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(unit.contains("\n+User=nobody\n+Group=nogroup\n"), "{unit}");
}

#[test]
fn item_03_a_unit_that_ran_paster_as_root_runs_uwsgi_as_the_site() {
    let t = tree();
    let unit = t.top.join("mediagoblin-paster.service");
    std::fs::write(
        &unit,
        format!(
            "[Unit]\nDescription=MediaGoblin\n\n[Service]\nExecStart={root}/bin/paster serve {root}/paste.ini --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\n\n[Install]\nWantedBy=multi-user.target\n",
            root = t.root.display()
        ),
    )
    .expect("write");
    let output = t.migrate(&["--dry-run", "--service", &unit.display().to_string()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("+User=nobody\n+Group=nogroup\n"), "{said}");
    assert!(said.contains("not as root"), "{said}");
}

#[test]
fn item_03_root_never_reads_an_ini_the_site_can_change() {
    let t = tree();
    let in_checkout = t.root.join("mediagoblin-uwsgi.ini").display().to_string();
    for style in ["debian-apps", "emperor"] {
        let output = t.migrate(&[
            "--dry-run",
            "--service-style",
            style,
            "--uwsgi-ini",
            &in_checkout,
        ]);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(2), "{style}: {said}");
        assert!(said.contains("in the checkout"), "{style}: {said}");
    }
}

/// What the reviewing machine must keep to itself: its environment holds
/// this (CI runners keep their secrets there), and so does a file beside
/// the repository.
const SECRET: &str = "runner-secret-9f8e7d";

/// An ops repository mirroring a server: `etc/nginx/…` and
/// `srv/mediagoblin/…`, in a git work tree, with a file outside it that
/// holds `SECRET`.
struct Mirror {
    _dir: tempfile::TempDir,
    /// The work tree; the server's tree is mirrored at its root.
    repo: PathBuf,
    /// A file of the reviewing machine, outside the repository.
    secret: PathBuf,
}

fn mirror() -> Mirror {
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    let repo = top.join("ops");
    let srv = repo.join("srv/mediagoblin");
    std::fs::create_dir_all(&srv).expect("mkdir");
    std::fs::create_dir_all(repo.join("etc/nginx/sites-enabled")).expect("mkdir");
    std::fs::write(
        repo.join("etc/nginx/nginx.conf"),
        "user www-data;\nevents {}\nhttp {\n    include /etc/nginx/sites-enabled/*.conf;\n}\n",
    )
    .expect("write");
    std::fs::write(
        repo.join("etc/nginx/sites-enabled/mediagoblin.conf"),
        common::tree::SITE,
    )
    .expect("write");
    std::fs::write(srv.join("paste.ini"), common::tree::PASTE).expect("write");
    std::fs::write(srv.join("lazystarter.sh"), common::tree::LAZY).expect("write");
    let secret = top.join("secret.ini");
    std::fs::write(&secret, format!("[uwsgi]\nsecret = {SECRET}\n")).expect("write");
    common::git(&repo, &["init", "-q"]);
    Mirror {
        _dir: dir,
        repo,
        secret,
    }
}

impl Mirror {
    /// mgdeploy in the repository, reviewing it as the server's tree, with
    /// the runner's secret in its environment.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut command = common::mgdeploy();
        command.current_dir(&self.repo).args(args).args([
            "--sysroot",
            ".",
            "-C",
            "/srv/mediagoblin",
            "--nginx",
            "/etc/nginx/nginx.conf",
        ]);
        if args.first() == Some(&"migrate") {
            command.args(["--user", "mediagoblin", "--group", "mediagoblin"]);
        }
        command
            .env("MGDEPLOY_TEST_SECRET", SECRET)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run mgdeploy")
    }

    /// Every review format mgdeploy writes, none of them holding `SECRET`.
    fn review_keeps_the_secret(&self) {
        let runs: [&[&str]; 6] = [
            &["check", "--format", "sarif"],
            &["check", "--format", "github"],
            &["check", "--format", "json"],
            &["check"],
            &["migrate", "--dry-run", "--format", "markdown"],
            &["migrate", "--dry-run", "--format", "json"],
        ];
        for args in runs {
            let output = self.run(args);
            assert!(
                !text(&output).contains(SECRET),
                "{args:?}: {}",
                text(&output)
            );
        }
    }
}

#[test]
fn item_05_a_pull_requests_links_stay_inside_the_mirror() {
    // paste.ini links to the runner's environment.
    let m = mirror();
    let paste = m.repo.join("srv/mediagoblin/paste.ini");
    std::fs::remove_file(&paste).expect("rm");
    std::os::unix::fs::symlink("/proc/self/environ", &paste).expect("symlink");
    m.review_keeps_the_secret();

    // mediagoblin.ini and the uWSGI ini link outside the repository.
    let m = mirror();
    let srv = m.repo.join("srv/mediagoblin");
    std::os::unix::fs::symlink(&m.secret, srv.join("mediagoblin.ini")).expect("symlink");
    std::os::unix::fs::symlink(&m.secret, srv.join("mediagoblin-uwsgi.ini")).expect("symlink");
    m.review_keeps_the_secret();

    // paste.ini names a config file by an absolute path of the runner.
    let m = mirror();
    let paste = m.repo.join("srv/mediagoblin/paste.ini");
    let text = common::tree::PASTE.replace(
        "use = egg:mediagoblin#app\n",
        &format!(
            "use = egg:mediagoblin#app\nconfig = {}\n",
            m.secret.display()
        ),
    );
    std::fs::write(&paste, text).expect("write");
    m.review_keeps_the_secret();
}

#[test]
fn item_05_a_journal_in_the_repository_is_never_trusted() {
    let m = mirror();
    // A committed "journal" whose last change wrote the runner's file.
    let tx = m
        .repo
        .join("srv/mediagoblin/.mgdeploy/01700000000.000000000-1");
    std::fs::create_dir_all(&tx).expect("mkdir");
    std::fs::set_permissions(
        m.repo.join("srv/mediagoblin/.mgdeploy"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");
    std::fs::set_permissions(&tx, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let secret_sha = {
        let output = Command::new("sha256sum")
            .arg(&m.secret)
            .output()
            .expect("sha256sum");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let journal = format!(
        r#"{{"version":2,"id":"01700000000.000000000-1","state":"committed","files":[{{"shown_as":"{secret}","target":"{secret}","before":null,"backup":null,"after":{{"sha256":"{secret_sha}","mode":420,"uid":0,"gid":0}},"staged":"{staged}"}}]}}"#,
        secret = m.secret.display(),
        staged = m
            .secret
            .with_file_name(".secret.ini.mgdeploy-01700000000.000000000-1-0")
            .display(),
    );
    std::fs::write(tx.join("journal.json"), journal).expect("write");
    std::fs::set_permissions(
        tx.join("journal.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    common::git(&m.repo, &["add", "-f", "srv"]);
    common::git(&m.repo, &["commit", "-q", "-m", "ops"]);
    m.review_keeps_the_secret();
    // rollback neither: the journal is git's, and names a file outside.
    let output = common::mgdeploy()
        .current_dir(&m.repo)
        .args([
            "rollback",
            "--sysroot",
            ".",
            "-C",
            "/srv/mediagoblin",
            "--yes",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("git tracks it"), "{said}");
    assert!(m.secret.exists(), "rollback removed the runner's file");
}

/// Writes `mgdeploy.toml` at the repository's root.
fn with_config(m: &Mirror, text: &str) {
    let path = m.repo.join("mgdeploy.toml");
    std::fs::write(&path, text).expect("write");
}

/// mgdeploy in the repository, with only what its mgdeploy.toml says.
fn configured(m: &Mirror, args: &[&str]) -> std::process::Output {
    common::mgdeploy()
        .current_dir(&m.repo)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy")
}

#[test]
fn item_06_a_pull_requests_configuration_stays_in_its_work_tree() {
    let m = mirror();
    let base = "root = \"/srv/mediagoblin\"\nnginx = \"/etc/nginx/nginx.conf\"\n";
    for (extra, why) in [
        ("sysroot = \"..\"\n", "leads out of"),
        ("sysroot = \"/\"\n", "give it relative to this file"),
        (
            "sysroot = \".\"\nmediagoblin-ini = \"../secret.ini\"\n",
            "leads out of",
        ),
        (
            "sysroot = \".\"\n[migrate]\ntemplates = \"/etc\"\n",
            "give them relative",
        ),
    ] {
        with_config(&m, &format!("{base}{extra}"));
        let output = configured(&m, &["check"]);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(2), "{extra}: {said}");
        assert!(said.contains(why), "{extra}: {said}");
        assert!(said.contains("mgdeploy.toml:"), "{extra}: {said}");
        assert!(!said.contains(SECRET), "{said}");
    }
    // Also with --sysroot . on the command line.
    with_config(&m, &format!("{base}mediagoblin-ini = \"../secret.ini\"\n"));
    let output = configured(&m, &["check", "--sysroot", "."]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(!text(&output).contains(SECRET));
    // A link inside the repository that leads out of it.
    std::os::unix::fs::symlink(&m.secret, m.repo.join("elsewhere.ini")).expect("symlink");
    with_config(
        &m,
        &format!("{base}sysroot = \".\"\nmediagoblin-ini = \"elsewhere.ini\"\n"),
    );
    let output = configured(&m, &["check"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("leads out of"), "{}", text(&output));

    // The file itself a link to the runner's environment.
    std::fs::remove_file(m.repo.join("mgdeploy.toml")).expect("rm");
    std::os::unix::fs::symlink("/proc/self/environ", m.repo.join("mgdeploy.toml"))
        .expect("symlink");
    let output = m.run(&["check"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("symbolic link"), "{said}");
    assert!(!said.contains(SECRET), "{said}");
}

/// A plan's new or changed file, as the dry run prints it: its `+` lines.
fn planned(said: &str, file_suffix: &str) -> String {
    said.split("\n+++ ")
        .find(|part| {
            part.lines()
                .next()
                .is_some_and(|l| l.ends_with(file_suffix))
        })
        .unwrap_or_else(|| panic!("no {file_suffix} in the plan: {said}"))
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("--- "))
        .filter(|l| l.starts_with('+'))
        .map(|l| &l[1..])
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn item_07_nothing_uwsgi_would_expand_is_written_for_it() {
    let t = tree();
    let site = common::tree::SITE.replace("location / {", "location /mg@(exec://id)/ {");
    std::fs::write(&t.site, site).expect("write");
    for mount in [None, Some("/elsewhere")] {
        let mut args = vec!["--dry-run"];
        if let Some(mount) = mount {
            args.extend(["--mount", mount]);
        }
        let output = t.migrate(&args);
        let said = text(&output);
        if output.status.code() == Some(1) {
            // Moved elsewhere: the prefix uWSGI reads is the new one.
            let ini = planned(&said, "mediagoblin-uwsgi.ini");
            assert!(!ini.contains("@("), "{ini}");
        } else {
            assert_eq!(output.status.code(), Some(2), "{said}");
            assert!(said.contains("expands"), "{said}");
            assert!(!t.root.join("mediagoblin-uwsgi.ini").exists());
        }
    }
    // A checkout whose path uWSGI would expand, on its command line too.
    let t = tree();
    let odd = t.top.join("mg$(id)");
    std::fs::rename(&t.root, &odd).expect("mv");
    let output = common::mgdeploy()
        .args([
            "migrate",
            "--dry-run",
            "--user",
            "nobody",
            "--group",
            "nogroup",
            "-C",
        ])
        .arg(&odd)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .stdin(Stdio::null())
        .output()
        .expect("run mgdeploy");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("expands"), "{said}");
}

/// A site started by a systemd unit of `text` (`@ROOT@` is the checkout),
/// planned with `args`; the dry run's output.
fn with_unit(t: &Tree, unit_text: &str, args: &[&str]) -> String {
    let dir = t.top.join("systemd");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let unit = dir.join("mediagoblin-paster.service");
    std::fs::write(
        &unit,
        unit_text.replace("@ROOT@", &t.root.display().to_string()),
    )
    .expect("write");
    let mut all = vec!["--dry-run", "--service"];
    let unit = unit.display().to_string();
    all.push(&unit);
    all.extend(args);
    let output = t.migrate(&all);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    said
}

#[test]
fn item_14_a_units_variables_and_specifiers_are_kept_as_written() {
    let t = tree();
    let said = with_unit(
        &t,
        "[Service]\nUser=nobody\nGroup=nogroup\nEnvironment=LOGDIR=/var/log/mg\nExecStart=@ROOT@/bin/paster serve @ROOT@/paste.ini --log-file=${LOGDIR}/mg-100%%.log --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\n\n[Install]\nWantedBy=multi-user.target\n",
        &[],
    );
    let unit = planned(&said, "mediagoblin-paster.service");
    let exec = unit
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap_or_else(|| panic!("{unit}"));
    assert!(exec.ends_with("--logto ${LOGDIR}/mg-100%%.log"), "{exec}");
    assert!(!exec.contains("$$") && !exec.contains("%%%%"), "{exec}");
}

#[test]
fn item_15_a_supervisor_programs_environment_goes_to_the_new_unit() {
    let t = tree();
    let conf = t.top.join("mediagoblin.conf");
    std::fs::write(
        &conf,
        format!(
            "[program:mediagoblin]\ncommand={root}/lazyserver.sh --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\nuser=nobody\nenvironment=MEDIAGOBLIN_SECRET=\"s3 %c\",LANG=C.UTF-8\n",
            root = t.root.display()
        ),
    )
    .expect("write");
    std::os::unix::fs::symlink("lazystarter.sh", t.root.join("lazyserver.sh")).expect("symlink");
    let output = t.migrate(&[
        "--dry-run",
        "--service",
        &conf.display().to_string(),
        "--service-style",
        "systemd",
    ]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    let unit = planned(&said, "mediagoblin-uwsgi.service");
    assert!(
        unit.contains("Environment=\"MEDIAGOBLIN_SECRET=s3 %%c\"\n"),
        "{unit}"
    );
    assert!(unit.contains("Environment=\"LANG=C.UTF-8\"\n"), "{unit}");
}

#[test]
fn item_17_a_drop_ins_user_is_the_inis_uid() {
    let t = tree();
    let dir = t.top.join("systemd");
    std::fs::create_dir_all(dir.join("mediagoblin-paster.service.d")).expect("mkdir");
    std::fs::write(
        dir.join("mediagoblin-paster.service"),
        format!(
            "[Service]\nExecStart={root}/bin/paster serve {root}/paste.ini --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\n",
            root = t.root.display()
        ),
    )
    .expect("write");
    std::fs::write(
        dir.join("mediagoblin-paster.service.d/user.conf"),
        "[Service]\nUser=www-data\nGroup=www-data\n",
    )
    .expect("write");
    // No --user: what the service says decides.
    let output = t.mgdeploy(
        "migrate",
        &[
            "--dry-run",
            "--service",
            &dir.join("mediagoblin-paster.service").display().to_string(),
        ],
    );
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    let ini = planned(&said, "mediagoblin-uwsgi.ini");
    assert!(ini.contains("\nuid = www-data\ngid = www-data\n"), "{ini}");
}

/// Pieces of text a pull request can put in a file's name or an nginx
/// value, each able to break out of an inline element or render as
/// something active.
const HOSTILE: &[&str] = &[
    "\n\n",
    "\n",
    "\r",
    "\r\n\r\n",
    "\t",
    "<img src=x onerror=alert(1)>",
    "</details>",
    "</summary>",
    "<details>",
    "[link](http://evil.example)",
    "![i](http://evil.example/x.png)",
    "@admin",
    "www.evil.example",
    "http://evil.example",
    "a@b.example",
    "`",
    "``",
    "```",
    "````",
    "*",
    "_",
    "|",
    "#",
    "## ",
    "\u{1b}]52;c;aGk=\u{7}",
    "\u{1b}[31m",
    "&lt;",
    "<!--",
    "-->",
    "<script>x</script>",
    "\\",
    " ",
    "---",
    "===",
    "1. ",
    "> ",
    "- [ ] ",
    "~~",
    "a",
    "x.conf",
    "/srv/mg",
    "\u{202e}",
    "\u{9b}",
];

fn hostile() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    proptest::collection::vec(proptest::sample::select(HOSTILE), 1..8)
        .prop_map(|parts| parts.concat())
}

/// `cmark-gfm` with GitHub's extensions, raw HTML passed through (so that
/// a breakout shows).
fn cmark(markdown: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("cmark-gfm")
        .args([
            "--unsafe",
            "-e",
            "table",
            "-e",
            "strikethrough",
            "-e",
            "autolink",
            "-e",
            "tasklist",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cmark-gfm is needed (apt-get install cmark-gfm)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(markdown.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("cmark-gfm");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, .. proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn item_08_each_note_and_file_name_stays_one_inline_element(
        warnings in proptest::collection::vec(hostile(), 1..4),
        changed in proptest::collection::vec(hostile(), 1..4),
        names in proptest::collection::vec(hostile(), 1..3),
    ) {
        use mgdeploy::migrate::notes::Notes;
        use mgdeploy::report::notes::{FileSection, markdown};
        let mut notes = Notes::default();
        for (i, w) in warnings.iter().enumerate() {
            // Kept apart: the same warning twice is said once.
            notes.warning(format!("{i}: {w} in `{w}`"));
        }
        for c in &changed {
            notes.changed(format!("{c}: `{c}` → `uwsgi_pass {c};`"));
        }
        let files: Vec<FileSection> = names
            .iter()
            .map(|name| FileSection {
                path: name.clone(),
                created: false,
                diff: format!("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-{name}\n+{name}\n"),
            })
            .collect();
        let comment = markdown(&notes, &files, &|t| t.to_string());
        let html = cmark(&comment);
        for active in ["<img", "<a ", "<script", "<h1", "<h4", "<table", "<blockquote", "<input", "<del", "<hr"] {
            proptest::prop_assert!(!html.contains(active), "{active} in:\n{comment}\n---\n{html}");
        }
        proptest::prop_assert_eq!(html.matches("<li>").count(), warnings.len() + changed.len(), "{}\n---\n{}", comment, html);
        proptest::prop_assert_eq!(html.matches("<details>").count(), names.len(), "{}", html);
        proptest::prop_assert_eq!(html.matches("<summary>").count(), names.len(), "{}", html);
        proptest::prop_assert_eq!(html.matches("<pre>").count(), names.len(), "{}", html);
        proptest::prop_assert_eq!(html.matches("<h3>").count(), 3, "{}", html);
        let escape = '\u{1b}';
        proptest::prop_assert!(!comment.contains(escape) && !html.contains(escape), "{}", comment);
    }

    #[test]
    fn item_08_a_patch_names_every_file_as_it_is(name in hostile()) {
        use mgdeploy::report::diff::{FileDiff, Reader, unified};
        let name = name.replace(['\0', '/'], "_");
        let path = PathBuf::from(format!("dir/{name}"));
        let diff = unified(
            &[FileDiff { path: &path, old: Some(b"a\n"), new: Some(b"b\n"), symlink: false }],
            Reader::Tool,
        );
        // git reads it back: one file, of that name.
        let dir = tempfile::tempdir().expect("temporary directory");
        let patch = dir.path().join("p.diff");
        std::fs::write(&patch, &diff).expect("write");
        let output = Command::new("git")
            .args(["apply", "--numstat", "-z"])
            .arg(&patch)
            .current_dir(dir.path())
            .output()
            .expect("git");
        proptest::prop_assert!(output.status.success(), "{}\n{}", diff, String::from_utf8_lossy(&output.stderr));
        let listed: Vec<&[u8]> = output.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()).collect();
        proptest::prop_assert_eq!(listed.len(), 1, "{:?}", String::from_utf8_lossy(&output.stdout));
        let line = String::from_utf8_lossy(listed[0]).into_owned();
        let expected = format!("1\t1\t{}", path.display());
        proptest::prop_assert_eq!(line, expected, "{}", diff);
    }
}

/// An OSC 52 sequence: it writes the terminal's clipboard.
const CLIPBOARD: &str = "\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}";

#[test]
fn item_16_a_files_escape_sequences_are_shown_not_sent_to_the_terminal() {
    let t = tree();
    let site = common::tree::SITE.replace(
        "    location / {",
        &format!("    # {CLIPBOARD} a comment\n    location / {{"),
    );
    std::fs::write(&t.site, site).expect("write");
    // Colors on, as on a terminal: only mgdeploy's own styles go through.
    for args in [
        &["migrate", "--dry-run", "--color", "always"][..],
        &["check", "--color", "always"][..],
    ] {
        let (command, rest) = args.split_first().expect("a command");
        let mut all: Vec<&str> = rest.to_vec();
        if *command == "migrate" {
            all.extend(["--user", "nobody", "--group", "nogroup"]);
        }
        let output = t.mgdeploy(command, &all);
        let said = text(&output);
        assert!(
            !said.contains("\u{1b}]") && !said.contains('\u{7}'),
            "{args:?}: {said:?}"
        );
        if *command == "migrate" {
            assert!(said.contains("^[]52;c;ZWNobyBwd25lZA==^G"), "{said}");
        }
    }
    // An unknown directive named with one, in a finding.
    let site = common::tree::SITE.replace(
        "    location / {",
        &format!("    x{CLIPBOARD} on;\n    location / {{"),
    );
    std::fs::write(&t.site, site).expect("write");
    let output = t.mgdeploy("check", &["--color", "always"]);
    let said = text(&output);
    assert!(
        !said.contains("\u{1b}]") && !said.contains('\u{7}'),
        "{said:?}"
    );
    assert!(said.contains("^[]52"), "{said}");
}

#[test]
fn item_18_findings_name_the_servers_paths_not_the_runners() {
    let m = mirror();
    let site = m.repo.join("etc/nginx/sites-enabled/mediagoblin.conf");
    let text_now = std::fs::read_to_string(&site).expect("read");
    std::fs::write(
        &site,
        text_now.replace(
            "    location / {",
            "    include /etc/nginx/missing.conf;\n    location / {",
        ),
    )
    .expect("write");
    let runner = m.repo.display().to_string();
    for format in ["text", "json", "sarif", "github", "rdjsonl", "gitlab"] {
        let output = m.run(&["check", "--format", format]);
        let said = text(&output);
        assert!(said.contains("/etc/nginx/missing.conf"), "{format}: {said}");
        // Where MG003 is said, the file is the server's (and where it
        // points, the path relative to the repository).
        for line in said.lines().filter(|l| l.contains("missing.conf")) {
            assert!(
                !line.contains(&runner),
                "{format} names the runner's path: {line}"
            );
        }
    }
}

#[test]
fn item_09_testing_a_configuration_creates_no_file() {
    require_root();
    assert!(
        Command::new("nginx").arg("-v").output().is_ok(),
        "nginx is needed (apt-get install nginx)"
    );
    let t = tree();
    let victim = root_owned_dir(&t, "victim");
    let logs = [victim.join("nologin"), victim.join("cron.allow")];
    let site = common::tree::SITE.replace(
        "    location / {",
        &format!(
            "    access_log {};\n    error_log {};\n    client_body_temp_path {};\n    location / {{",
            logs[0].display(),
            logs[1].display(),
            victim.join("body").display()
        ),
    );
    std::fs::write(&t.site, site).expect("write");
    let output = t.migrate(&["--yes"]);
    let said = text(&output);
    // nginx -t ran, and passed: the files were written where nobody sees.
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(!said.contains("nginx -t was not run"), "{said}");
    for file in logs.iter().chain([&victim.join("body")]) {
        assert!(
            !file.exists(),
            "nginx -t, run by mgdeploy as root, made {}",
            file.display()
        );
    }
    // A configuration that nginx rejects is still rejected.
    let t = tree();
    let site = common::tree::SITE.replace(
        "    location / {",
        "    no_such_directive on;\n    location / {",
    );
    std::fs::write(&t.site, &site).expect("write");
    let output = t.migrate(&["--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert_eq!(std::fs::read_to_string(&t.site).expect("read"), site);
}

/// The module `migrate` or `check` run as Ansible runs a binary module:
/// the executable under the module's name, with a file of arguments.
fn module(name: &str, arguments: &serde_json::Value) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temporary directory");
    let exe = dir.path().join(format!("AnsiballZ_{name}"));
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mgdeploy"), &exe).expect("symlink");
    let args = dir.path().join("args");
    std::fs::write(&args, arguments.to_string()).expect("write");
    let output = Command::new(&exe)
        .arg(&args)
        .output()
        .expect("run the module");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn item_12_module_arguments_are_checked_as_ansible_checks_them() {
    let t = tree();
    let before = t.files();
    let root = t.root.display().to_string();
    let nginx = t.top.join("nginx/nginx.conf").display().to_string();
    let base = serde_json::json!({
        "root": root, "nginx": nginx, "user": "nobody", "group": "nogroup",
    });
    let with = |key: &str, value: serde_json::Value| {
        let mut arguments = base.clone();
        arguments[key] = value;
        arguments
    };
    for (arguments, message) in [
        (
            with("state", serde_json::json!(false)),
            "value of state must be one of: migrated, rolled_back, got: False",
        ),
        (
            with("state", serde_json::json!(["rolled_back"])),
            "value of state must be one of: migrated, rolled_back, got: ['rolled_back']",
        ),
        (
            with("processes", serde_json::json!([2])),
            "argument 'processes' is of type <class 'list'> and we were unable to convert to int: <class 'list'> cannot be converted to an int",
        ),
        (
            with("processes", serde_json::json!("two")),
            "argument 'processes' is of type <class 'str'> and we were unable to convert to int: invalid literal for int() with base 10: 'two'",
        ),
        (
            with("plan", serde_json::json!("yes")),
            "argument 'plan' is of type <class 'str'> and we were unable to convert to dict",
        ),
        (
            with("service_style", serde_json::json!("cron")),
            "value of service_style must be one of: systemd, debian-apps, emperor, none, got: cron",
        ),
        (
            with("colour", serde_json::json!("red")),
            "Unsupported parameters for (mgdeploy.mediagoblin.migrate) module: colour. Supported parameters include:",
        ),
        (
            serde_json::json!({"nginx": nginx}),
            "missing required arguments: root",
        ),
    ] {
        let result = module("migrate", &arguments);
        assert_eq!(
            result["failed"],
            serde_json::json!(true),
            "{arguments}: {result}"
        );
        assert_eq!(
            result["changed"],
            serde_json::json!(false),
            "{arguments}: {result}"
        );
        let msg = result["msg"].as_str().unwrap_or_default();
        assert!(msg.starts_with(message), "{arguments}: {msg}");
    }
    assert_eq!(t.files(), before, "a refused module call wrote something");
    // Numbers where strings go are taken, as Ansible converts them.
    let result = module("migrate", &with("processes", serde_json::json!("3")));
    assert_ne!(result["failed"], serde_json::json!(true), "{result}");
    let result = module(
        "check",
        &serde_json::json!({"root": root, "nginx": nginx, "fail_on": true}),
    );
    assert_eq!(
        result["msg"],
        serde_json::json!("value of fail_on must be one of: error, never, got: True")
    );
}

/// The files nginx itself reads for `conf` (`nginx -T`'s headers), in order.
fn nginx_reads(conf: &Path) -> Vec<String> {
    let output = Command::new("nginx")
        .arg("-T")
        .arg("-c")
        .arg(conf)
        .output()
        .expect("nginx is needed (apt-get install nginx)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("# configuration file "))
        .map(|l| l.trim_end_matches(':').to_string())
        .collect()
}

/// The files mgdeploy reads for `conf` (`parse`'s JSON), in order.
fn mgdeploy_reads(conf: &Path) -> (Option<i32>, Vec<String>) {
    let output = common::mgdeploy()
        .arg("parse")
        .arg(conf)
        .output()
        .expect("run mgdeploy");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let files = json["config"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["file"].as_str().map(str::to_string))
        .collect();
    (output.status.code(), files)
}

#[test]
fn item_10_include_patterns_are_glob3s_not_recursive() {
    require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    let d = top.join("d");
    std::fs::create_dir(&d).expect("mkdir");
    // Links to `.`: a recursive `**` would walk 12^depth paths.
    for i in 0..12 {
        std::os::unix::fs::symlink(".", d.join(format!("l{i}"))).expect("symlink");
    }
    std::fs::write(d.join("a.conf"), "").expect("write");
    std::fs::write(d.join(".hidden.conf"), "").expect("write");
    let conf = top.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "pid {top}/nginx.pid;\nerror_log {top}/error.log;\nevents {{}}\nhttp {{\n    include {top}/d/**/*.conf;\n}}\n",
            top = top.display()
        ),
    )
    .expect("write");
    let started = std::time::Instant::now();
    let (code, ours) = mgdeploy_reads(&conf);
    assert_eq!(code, Some(0));
    assert_eq!(
        ours,
        nginx_reads(&conf),
        "mgdeploy and nginx read other files"
    );
    assert_eq!(ours.len(), 1 + 12, "{ours:?}");
    // Not a timed assertion: a recursive walk of this tree does not end.
    eprintln!("parsed in {:?}", started.elapsed());
}

#[test]
fn item_11_a_name_that_is_not_utf8_is_read_as_nginx_reads_it() {
    use std::os::unix::ffi::OsStrExt;
    require_root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let top = std::fs::canonicalize(dir.path()).expect("canonical");
    let d = top.join("conf.d");
    std::fs::create_dir(&d).expect("mkdir");
    std::fs::write(
        d.join(std::ffi::OsStr::from_bytes(b"caf\xe9.conf")),
        "server_tokens off;\n",
    )
    .expect("write");
    std::fs::write(d.join("plain.conf"), "").expect("write");
    let conf = top.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "pid {top}/nginx.pid;\nerror_log {top}/error.log;\nevents {{}}\nhttp {{\n    include {top}/conf.d/*.conf;\n}}\n",
            top = top.display()
        ),
    )
    .expect("write");
    let (code, ours) = mgdeploy_reads(&conf);
    assert_eq!(code, Some(0), "{ours:?}");
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert_eq!(nginx_reads(&conf).len(), 3);
    // And check, which reads the same way, runs to its end.
    let t = tree();
    let sites = t.top.join("nginx/sites");
    std::fs::write(sites.join(std::ffi::OsStr::from_bytes(b"x\xff.conf")), "").expect("write");
    let output = t.mgdeploy("check", &[]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        text(&output)
    );
}

#[test]
fn item_13_reads_are_bounded_as_nginx_bounds_them() {
    let t = tree();
    let huge = t.top.join("huge.conf");
    std::fs::File::create(&huge)
        .expect("create")
        .set_len(1 << 30)
        .expect("a sparse GiB");
    for include in ["/proc/self/pagemap".to_string(), huge.display().to_string()] {
        let site = common::tree::SITE.replace(
            "    location / {",
            &format!("    include {include};\n    location / {{"),
        );
        std::fs::write(&t.site, site).expect("write");
        // A 2 GiB address space: the whole-file reads needed 8 GB and 2 GB.
        let output = Command::new("prlimit")
            .arg(format!("--as={}", 2u64 << 30))
            .arg(env!("CARGO_BIN_EXE_mgdeploy"))
            .args(["check", "-C"])
            .arg(&t.root)
            .arg("--nginx")
            .arg(t.top.join("nginx/nginx.conf"))
            .env("NO_COLOR", "1")
            .output()
            .expect("prlimit (util-linux)");
        let said = text(&output);
        assert!(
            matches!(output.status.code(), Some(0..=2)),
            "{include}: {said}"
        );
        assert!(said.len() < 20_000, "{include}: {} bytes said", said.len());
    }
}
