//! The nginx binary on this host, for `nginx -t` on a configuration about
//! to go live, and how to make it test the files a plan changes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::include::{Loaded, follow_includes, read_main};
use super::vocabulary::Context;
use crate::diagnostic::Diagnostic;
use crate::sysroot::Sysroot;

/// The server's nginx.conf and what it includes, read in `sysroot`.
fn load_in(live: &Path, sysroot: &Sysroot) -> Result<Loaded, Diagnostic> {
    let host = sysroot.host(live);
    let first = read_main(sysroot, &host)?;
    Ok(follow_includes(
        first,
        live.parent().unwrap_or(Path::new("/")),
        sysroot,
    ))
}

/// `nginx` on `PATH` (or in /usr/sbin, where Debian puts it), if installed.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// Where nginx reads its configuration from when not told otherwise.
pub const LIVE_CONF: &str = "/etc/nginx/nginx.conf";

/// How `nginx -t` tests the files of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "kebab-case")]
pub enum Gate {
    /// The plan's nginx file is a whole nginx.conf: `nginx -t -c FILE`.
    MainConf { conf: PathBuf },
    /// The live configuration includes the plan's files: `nginx -t`.
    Live,
    /// The site file is not part of the live configuration: it is tested
    /// inside a wrapper nginx.conf, in a temporary directory that mirrors
    /// `prefix` (for the site's relative includes).
    Wrapped {
        site: PathBuf,
        prefix: PathBuf,
        /// Where the site's directives stand: `http` or `server`.
        level: String,
    },
}

impl Gate {
    /// The gate for a configuration read from `main`.
    /// The gate for a configuration read from `main` (a server path; the
    /// server's files are in `sysroot`). It names the server's paths.
    pub fn for_site(
        main: &Path,
        is_main_conf: bool,
        prefix: &Path,
        context: Context,
        sysroot: &Sysroot,
    ) -> Gate {
        if is_main_conf {
            return Gate::MainConf {
                conf: main.to_path_buf(),
            };
        }
        // Whether the server's live configuration includes the site.
        let live = Path::new(LIVE_CONF);
        let site = sysroot.resolve(main).ok();
        let reachable = sysroot.exists(&sysroot.host(live))
            && load_in(live, sysroot).is_ok_and(|loaded| {
                loaded
                    .files
                    .iter()
                    .any(|f| sysroot.resolve(&sysroot.server(&f.path)).ok() == site)
            });
        if reachable {
            return Gate::Live;
        }
        Gate::Wrapped {
            site: main.to_path_buf(),
            prefix: prefix.to_path_buf(),
            level: match context {
                Context::Server => "server".to_string(),
                _ => "http".to_string(),
            },
        }
    }

    /// What the gate runs, for messages.
    pub fn describe(&self) -> String {
        match self {
            Gate::MainConf { conf } => format!("nginx -t -c {}", conf.display()),
            Gate::Live => "nginx -t".to_string(),
            Gate::Wrapped { site, .. } => format!(
                "nginx -t on {} inside a test nginx.conf (it is not part of {LIVE_CONF})",
                site.display()
            ),
        }
    }

    /// Runs `nginx -t` as the gate says, confined (`confine`): `Ok(None)`
    /// when nginx accepts it, `Ok(Some(why))` when it could not be run so, a
    /// rejection as a diagnostic that carries nginx's words.
    pub fn test(&self, nginx: &Path) -> Result<Option<String>, Diagnostic> {
        let mut args: Vec<std::ffi::OsString> = vec!["-t".into(), "-q".into()];
        // The configuration nginx reads, to know where it writes.
        let main: PathBuf;
        let _wrapper = match self {
            Gate::MainConf { conf } => {
                args.extend(["-c".into(), conf.into()]);
                main = conf.clone();
                None
            }
            Gate::Live => {
                main = PathBuf::from(LIVE_CONF);
                None
            }
            Gate::Wrapped {
                site,
                prefix,
                level,
            } => {
                let wrapper = wrap(site, prefix, level).map_err(|e| {
                    Diagnostic::error(format!(
                        "cannot prepare nginx -t for {}: {e}",
                        site.display()
                    ))
                })?;
                args.extend([
                    "-p".into(),
                    wrapper.path().into(),
                    "-c".into(),
                    wrapper.path().join("nginx.conf").into(),
                ]);
                main = wrapper.path().join("nginx.conf");
                Some(wrapper)
            }
        };
        let loaded = load_in(&main, &Sysroot::none()).unwrap_or_default();
        let writable = super::confine::writable_dirs(&loaded, &super::confine::Build::of(nginx));
        let output = match super::confine::run(nginx, &args, &writable) {
            Ok(output) => output,
            Err(why) => return Ok(Some(format!("it could not be confined ({why})"))),
        };
        if output.status.success() {
            return Ok(None);
        }
        let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let mut rejected = Diagnostic::error("nginx -t rejects the new configuration")
            .with_note(format!("{} says:\n{said}", self.describe()))
            .with_help(
                "fix what nginx names, or run migrate with other options; nothing was changed",
            );
        if said.contains("Read-only file system") {
            rejected = rejected.with_note(
                "mgdeploy tests a configuration where nginx may write only its logs and temporary directories: one of its paths writes elsewhere",
            );
        }
        Err(rejected)
    }
}

/// A temporary prefix: links to everything in `prefix` (so that the site's
/// relative includes resolve), and an nginx.conf that includes the site in
/// an `http` (and `server`) block, with its pid and logs kept inside.
fn wrap(site: &Path, prefix: &Path, level: &str) -> std::io::Result<TempDir> {
    let dir = TempDir::new()?;
    for entry in std::fs::read_dir(prefix)? {
        let entry = entry?;
        if entry.file_name() != "nginx.conf" {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name()))?;
        }
    }
    let quoted = crate::escape::nginx_word(&site.display().to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let include = match level {
        "server" => format!("    server {{\n        include {quoted};\n    }}\n"),
        _ => format!("    include {quoted};\n"),
    };
    let tmp = crate::escape::nginx_word(&dir.path().display().to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\nhttp {{\n{include}}}\n"
        ),
    )?;
    Ok(dir)
}

/// A directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let path = base.join(format!("mgdeploy-nginx-t-{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary directory name"))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
