//! The Ansible collection, run by real ansible-core (from `.venv`, made by
//! `.ci/python-env`) against an inventory of local hosts, each with its own
//! copy of the example site and one broken on purpose: check mode with
//! --diff shows each plan and writes nothing, the real run moves the good
//! hosts and fails the broken one with its located error, a second run
//! changes nothing, a reviewed plan that went stale fails its host only,
//! the rollback task restores a host, and ansible-doc renders the modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use common::copy_tree;

/// `.venv/bin/NAME`, which `.ci/python-env` installs.
fn tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run .ci/python-env (it installs ansible-core into .venv)",
        path.display()
    );
    path
}

struct Fleet {
    _dir: tempfile::TempDir,
    top: PathBuf,
}

impl Fleet {
    /// The collection installed from the repository with this build's
    /// mgdeploy as both modules, and hosts `names`, each a copy of the
    /// example site.
    fn new(names: &[&str]) -> Fleet {
        let dir = tempfile::tempdir().expect("temporary directory");
        let top = std::fs::canonicalize(dir.path()).expect("canonical");
        // The collection as ansible/build.sh makes it (with this build's
        // mgdeploy as both modules), built and installed by ansible-galaxy.
        let source = top.join("collection-source");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("ansible"),
            &source,
        );
        for module in ["migrate", "check"] {
            std::fs::copy(
                env!("CARGO_BIN_EXE_mgdeploy"),
                source.join("plugins/modules").join(module),
            )
            .expect("put the module in place");
            // As shipped: without debug information (a test build's is
            // most of its 70 MB, which ansible-galaxy would compress).
            let stripped = Command::new("strip")
                .arg(source.join("plugins/modules").join(module))
                .status()
                .expect("run strip (binutils)");
            assert!(stripped.success(), "strip failed");
        }
        let galaxy = |args: &[&str]| {
            let output = Command::new(tool("ansible-galaxy"))
                .args(args)
                .current_dir(&top)
                .output()
                .expect("run ansible-galaxy");
            assert!(
                output.status.success(),
                "ansible-galaxy {args:?}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        galaxy(&[
            "collection",
            "build",
            "--output-path",
            "built",
            "collection-source",
        ]);
        galaxy(&[
            "collection",
            "install",
            "-p",
            "collections",
            "built/mgdeploy-mediagoblin-0.1.0.tar.gz",
        ]);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mediagoblin");
        let mut inventory = String::from("[mediagoblin]\n");
        for name in names {
            let site = top.join("hosts").join(name);
            copy_tree(&example, &site);
            inventory.push_str(&format!(
                "{name} mediagoblin_root={root} nginx_site={root}/nginx/mediagoblin.conf\n",
                root = site.display()
            ));
        }
        inventory.push_str(
            "\n[mediagoblin:vars]\nansible_connection=local\nansible_python_interpreter=/usr/bin/python3\n",
        );
        std::fs::write(top.join("inventory"), inventory).expect("inventory");
        Fleet { _dir: dir, top }
    }

    fn site(&self, host: &str) -> PathBuf {
        self.top.join("hosts").join(host)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(tool(program));
        command
            .current_dir(&self.top)
            .env("ANSIBLE_COLLECTIONS_PATH", self.top.join("collections"))
            .env("ANSIBLE_LOCAL_TEMP", self.top.join("ansible-local"))
            .env("ANSIBLE_REMOTE_TEMP", self.top.join("ansible-remote"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_HOST_KEY_CHECKING", "0");
        command
    }

    fn playbook(&self, playbook: &Path, extra: &[&str]) -> Run {
        let output = self
            .command("ansible-playbook")
            .arg("-i")
            .arg(self.top.join("inventory"))
            .arg(playbook)
            .args(extra)
            .output()
            .expect("run ansible-playbook");
        Run::of(output)
    }

    /// Every file of every host, with its content.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        for path in common::files_under(&self.top.join("hosts"), &[]) {
            out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
        }
        out
    }
}

struct Run {
    code: Option<i32>,
    text: String,
}

impl Run {
    fn of(output: Output) -> Run {
        Run {
            code: output.status.code(),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// The PLAY RECAP line of `host`, spaces squeezed.
    fn recap(&self, host: &str) -> String {
        self.text
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.split_whitespace().next() == Some(host))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no recap for {host}:\n{}", self.text))
    }

    fn expect_recap(&self, host: &str, parts: &[&str]) {
        let recap = self.recap(host);
        for part in parts {
            assert!(
                recap.split(' ').any(|p| p == *part),
                "{host}: {part} not in `{recap}`:\n{}",
                self.text
            );
        }
    }
}

fn example_playbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ansible/playbooks/migrate-fleet.yml")
}

#[test]
fn a_fleet_reviewed_migrated_and_run_again() {
    common::servers::require_root("the migrate module runs nginx -t, which needs root");
    let fleet = Fleet::new(&["alpha", "beta", "broken"]);
    let broken = fleet.site("broken").join("nginx/mediagoblin.conf");
    std::fs::write(&broken, "location / {\n  fastcgi_pass 127.0.0.1:26543\n}\n").expect("break");
    let before = fleet.snapshot();

    // Check mode with --diff: each plan, nothing written.
    let check = fleet.playbook(&example_playbook(), &["--check", "--diff"]);
    assert_eq!(check.code, Some(2), "{}", check.text);
    for host in ["alpha", "beta"] {
        check.expect_recap(host, &["changed=1", "failed=0"]);
        let site = fleet.site(host);
        for header in [
            format!("--- before: {}/nginx/mediagoblin.conf", site.display()),
            format!("+++ after: {}/nginx/mediagoblin.conf", site.display()),
            format!("+++ after: {}/mediagoblin-uwsgi.ini", site.display()),
        ] {
            assert!(check.text.contains(&header), "{header}:\n{}", check.text);
        }
    }
    assert!(check.text.contains("+        uwsgi_pass 127.0.0.1:26543;"));
    check.expect_recap("broken", &["failed=1"]);
    assert!(
        check.text.contains(&format!("{}:2:31", broken.display())),
        "the broken host's error is located:\n{}",
        check.text
    );
    assert!(fleet.snapshot() == before, "check mode wrote files");

    // The real run: the good hosts move, the broken one fails alone.
    let real = fleet.playbook(&example_playbook(), &[]);
    assert_eq!(real.code, Some(2), "{}", real.text);
    for host in ["alpha", "beta"] {
        real.expect_recap(host, &["changed=1", "failed=0"]);
        let site =
            std::fs::read_to_string(fleet.site(host).join("nginx/mediagoblin.conf")).expect("site");
        assert!(site.contains("uwsgi_pass 127.0.0.1:26543;"), "{site}");
        assert!(fleet.site(host).join("mediagoblin-uwsgi.ini").exists());
    }
    real.expect_recap("broken", &["changed=0", "failed=1"]);
    assert_eq!(
        std::fs::read(&broken).ok(),
        before.get(&broken).cloned(),
        "the broken host's file is untouched"
    );

    // Again: nothing to change anywhere.
    let again = fleet.playbook(&example_playbook(), &[]);
    for host in ["alpha", "beta"] {
        again.expect_recap(host, &["changed=0", "failed=0"]);
    }

    // The rollback task restores one host, byte for byte.
    let rollback = fleet.top.join("rollback.yml");
    std::fs::write(
        &rollback,
        "- hosts: alpha\n  gather_facts: false\n  tasks:\n    - mgdeploy.mediagoblin.migrate:\n        root: \"{{ mediagoblin_root }}\"\n        state: rolled_back\n",
    )
    .expect("playbook");
    let undone = fleet.playbook(&rollback, &[]);
    undone.expect_recap("alpha", &["changed=1", "failed=0"]);
    let conf = fleet.site("alpha").join("nginx/mediagoblin.conf");
    assert_eq!(std::fs::read(&conf).ok(), before.get(&conf).cloned());
    assert!(!fleet.site("alpha").join("mediagoblin-uwsgi.ini").exists());

    // ansible-doc renders both modules from their documentation.
    for (module, says) in [
        ("migrate", "Plans the move of one MediaGoblin checkout"),
        ("check", "Runs `mgdeploy check' on the host"),
    ] {
        let doc = fleet
            .command("ansible-doc")
            .arg(format!("mgdeploy.mediagoblin.{module}"))
            .output()
            .expect("run ansible-doc");
        let text = String::from_utf8_lossy(&doc.stdout);
        assert!(
            doc.status.success()
                && text.contains(says)
                && text.contains("OPTIONS")
                && text.contains("root"),
            "ansible-doc {module}:\n{text}{}",
            String::from_utf8_lossy(&doc.stderr)
        );
    }
}

/// A plan reviewed in check mode and applied later: where a file changed in
/// between, that host fails and keeps its files; the other host moves.
#[test]
fn a_reviewed_plan_that_went_stale_fails_its_host_only() {
    common::servers::require_root("the migrate module runs nginx -t, which needs root");
    let fleet = Fleet::new(&["gamma", "delta"]);
    let playbook = fleet.top.join("reviewed.yml");
    std::fs::write(
        &playbook,
        r#"- hosts: mediagoblin
  gather_facts: false
  tasks:
    - name: Review
      mgdeploy.mediagoblin.migrate:
        root: "{{ mediagoblin_root }}"
        nginx: "{{ nginx_site }}"
      check_mode: true
      register: reviewed
    - name: Someone edits gamma's site meanwhile
      ansible.builtin.shell: echo '# edited' >> "{{ nginx_site }}"
      when: inventory_hostname == 'gamma'
    - name: Apply what was reviewed
      mgdeploy.mediagoblin.migrate:
        root: "{{ mediagoblin_root }}"
        nginx: "{{ nginx_site }}"
        plan: "{{ reviewed.plan }}"
"#,
    )
    .expect("playbook");
    let run = fleet.playbook(&playbook, &[]);
    run.expect_recap("gamma", &["failed=1"]);
    run.expect_recap("delta", &["failed=0"]);
    assert!(
        run.text.contains("changed after the plan was made"),
        "the stale plan says why:\n{}",
        run.text
    );
    let gamma =
        std::fs::read_to_string(fleet.site("gamma").join("nginx/mediagoblin.conf")).expect("gamma");
    assert!(
        gamma.contains("fastcgi_pass") && gamma.ends_with("# edited\n"),
        "{gamma}"
    );
    let delta =
        std::fs::read_to_string(fleet.site("delta").join("nginx/mediagoblin.conf")).expect("delta");
    assert!(delta.contains("uwsgi_pass"), "{delta}");
}

/// The options a module's documentation (`plugins/modules/NAME.yml`)
/// lists: (name, type, choices).
fn documented_options(name: &str) -> Vec<(String, String, Vec<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ansible/plugins/modules")
        .join(format!("{name}.yml"));
    let text = std::fs::read_to_string(&path).expect("the module's documentation");
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut in_options = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if line.trim() == "options:" && indent == 2 {
            in_options = true;
            continue;
        }
        if !in_options || line.trim().is_empty() {
            continue;
        }
        if indent <= 2 {
            break;
        }
        let trimmed = line.trim();
        if indent == 4 && trimmed.ends_with(':') {
            out.push((
                trimmed.trim_end_matches(':').to_string(),
                String::new(),
                Vec::new(),
            ));
        } else if let Some(entry) = out.last_mut() {
            if indent == 6
                && let Some(kind) = trimmed.strip_prefix("type: ")
            {
                entry.1 = kind.to_string();
            }
            if indent == 6
                && let Some(list) = trimmed.strip_prefix("choices: ")
            {
                entry.2 = list
                    .trim_matches(['[', ']'])
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .collect();
            }
        }
    }
    out
}

/// Each module's documented options are exactly what it checks, with the
/// same types and choices, and each one it passes on is a flag of the
/// command it runs.
#[test]
fn the_documented_options_are_the_modules() {
    use clap::CommandFactory;
    use mgdeploy::ansible::{Module, spec};
    for (name, module, command) in [
        ("migrate", Module::Migrate, "migrate"),
        ("check", Module::Check, "check"),
    ] {
        let mut documented = documented_options(name);
        documented.sort();
        let mut checked: Vec<(String, String, Vec<String>)> = spec(module)
            .iter()
            .map(|p| {
                (
                    p.key.to_string(),
                    p.kind.as_str().to_string(),
                    p.choices.iter().map(|c| c.to_string()).collect(),
                )
            })
            .collect();
        checked.sort();
        assert_eq!(documented, checked, "{name}.yml");
        let cli = mgdeploy::cli::Cli::command();
        let sub = cli.find_subcommand(command).expect("the command");
        for param in spec(module) {
            let Some(flag) = param.flag else { continue };
            let long = flag.trim_start_matches("--");
            assert!(
                sub.get_arguments().any(|a| a.get_long() == Some(long)),
                "{name}: {} becomes {flag}, which `mgdeploy {command}` does not take",
                param.key
            );
        }
    }
}
