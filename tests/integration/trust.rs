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
    // Which rename swaps lazystarter.sh into place, in a first tree.
    let calls = renames(&tree());
    let at = calls
        .iter()
        .position(|c| c.contains("\"lazystarter.sh\"") && c.contains("RENAME_EXCHANGE"))
        .unwrap_or_else(|| panic!("no exchange of lazystarter.sh in {calls:#?}"))
        + 1;
    // The same run on a second tree, that rename failing.
    let t = tree();
    let lazy = t.root.join("lazystarter.sh");
    let inode = std::fs::metadata(&lazy).expect("stat").ino();
    let output = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=renameat2"])
        .arg("-e")
        .arg(format!("inject=renameat2:error=EIO:when={at}"))
        .arg(env!("CARGO_BIN_EXE_mgdeploy"))
        .args([
            "migrate", "--user", "nobody", "--group", "nogroup", "--yes", "-C",
        ])
        .arg(&t.root)
        .arg("--nginx")
        .arg(t.top.join("nginx/nginx.conf"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("strace");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("Input/output error"), "{said}");
    assert!(said.contains("every other file was put back"), "{said}");
    // Never replaced, so never "put back": the same file, untouched.
    assert_eq!(
        std::fs::metadata(&lazy).expect("stat").ino(),
        inode,
        "the file whose rename failed was rewritten as if it had been replaced"
    );
    assert_eq!(
        std::fs::read_to_string(&lazy).expect("read"),
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
