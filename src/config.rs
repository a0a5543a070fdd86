//! `mgdeploy.toml`: the defaults a repository keeps for the runs made in it
//! (where the deployment's files are, the migration's choices, which rules
//! `check` reports), as linters keep theirs. The command line overrides it.
//!
//! The file is found from the current directory upward, up to the root of
//! the git work tree (or of the file system outside one); `--config FILE`
//! names it, `--no-config` ignores it. Relative paths in it start at its
//! own directory; absolute ones are the server's, like on the command line.
//! Every value is checked as the command line checks it, and a mistake
//! names the file, line and column. Since the file decides where mgdeploy
//! reads and writes, one that someone else could have written is refused,
//! and so is a symbolic link (it is opened with `O_NOFOLLOW`). In review
//! the file is a pull request's: its relative paths and its `sysroot` must
//! stay inside its own work tree (its directory outside one), symbolic
//! links followed, and `sysroot` and `templates` cannot be absolute.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::migrate::options::{self, Mount, ScriptName, ServiceStyle};
use crate::protocol::Address;
use crate::source::{SourceFile, Span};

pub const FILE_NAME: &str = "mgdeploy.toml";

/// The biggest configuration file read; anything larger is not one.
const MAX_LEN: u64 = 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    root: Option<Spanned<String>>,
    paste: Option<Spanned<String>>,
    mediagoblin_ini: Option<Spanned<String>>,
    nginx: Option<Spanned<String>>,
    nginx_prefix: Option<Spanned<String>>,
    uwsgi_ini: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    sysroot: Option<Spanned<String>>,
    #[serde(default)]
    migrate: RawMigrate,
    #[serde(default)]
    check: RawCheck,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMigrate {
    from: Option<Spanned<String>>,
    mount: Option<Spanned<String>>,
    script_name: Option<Spanned<String>>,
    socket: Option<Spanned<String>>,
    fcgi_address: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    processes: Option<Spanned<i64>>,
    plugin: Option<Spanned<String>>,
    templates: Option<Spanned<String>>,
    service_style: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCheck {
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
}

/// Where the deployment's files are, as the configuration names them;
/// paths are ready for the command line's rules (relative ones from the
/// current directory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locations {
    pub root: Option<PathBuf>,
    pub paste: Option<PathBuf>,
    pub mediagoblin_ini: Option<PathBuf>,
    pub nginx: Option<PathBuf>,
    pub nginx_prefix: Option<PathBuf>,
    pub uwsgi_ini: Option<PathBuf>,
    pub service: Option<PathBuf>,
    pub sysroot: Option<PathBuf>,
}

/// `[migrate]`: the migration's choices, validated.
#[derive(Clone, Debug, Default)]
pub struct MigrateDefaults {
    pub from: Option<options::Origin>,
    pub mount: Option<Mount>,
    pub script_name: Option<ScriptName>,
    pub socket: Option<Address>,
    pub fcgi_address: Option<Address>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub processes: Option<u32>,
    pub plugin: Option<String>,
    pub templates: Option<PathBuf>,
    pub service_style: Option<ServiceStyle>,
}

/// `[check]`: which rules to report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckDefaults {
    pub select: Option<Vec<&'static str>>,
    pub ignore: Vec<&'static str>,
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    pub locations: Locations,
    pub migrate: MigrateDefaults,
    pub check: CheckDefaults,
}

/// Which configuration file to read.
#[derive(Clone, Debug)]
pub enum Choice {
    /// Look for `mgdeploy.toml` from the current directory up.
    Find,
    /// This file.
    File(PathBuf),
    /// None.
    Ignore,
}

impl Config {
    /// The configuration `choice` says to use (the defaults when there is
    /// no file).
    pub fn load(choice: &Choice) -> Result<Config, Diagnostic> {
        let cwd = std::env::current_dir()
            .map_err(|e| Diagnostic::error(format!("cannot find the current directory: {e}")))?;
        let path = match choice {
            Choice::Ignore => return Ok(Config::default()),
            Choice::File(path) => cwd.join(path),
            Choice::Find => match find(&cwd) {
                Some(path) => path,
                None => return Ok(Config::default()),
            },
        };
        let source = read_trusted(&path)?;
        parse(&source, &cwd)
    }
}

/// The first `mgdeploy.toml` from `cwd` up to the work tree's root.
fn find(cwd: &Path) -> Option<PathBuf> {
    let top = crate::report::paths::work_tree_of(cwd);
    for dir in cwd.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if std::fs::symlink_metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        if Some(dir) == top.as_deref() {
            break;
        }
    }
    None
}

/// Reads the file if nobody but its owner (the running user, or root) can
/// have written it, and it is not a link.
fn read_trusted(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    use rustix::fs::{Mode, OFlags};
    let refuse = |why: String| {
        Diagnostic::error(format!("{} is not used: {why}", path.display()))
            .in_file(path)
            .with_help("fix its owner and mode, or pass --no-config (or --config FILE)")
    };
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP) => {
            return Err(refuse(
                "it is a symbolic link; mgdeploy reads its configuration only from a file there"
                    .to_string(),
            ));
        }
        Err(e) => {
            return Err(
                Diagnostic::error(format!("cannot read {}: {e}", path.display())).in_file(path),
            );
        }
    };
    let file = std::fs::File::from(fd);
    let metadata = file.metadata().map_err(|e| {
        Diagnostic::error(format!("cannot read {}: {e}", path.display())).in_file(path)
    })?;
    if !metadata.is_file() || metadata.len() > MAX_LEN {
        return Err(refuse(
            "it is not a regular file of at most 1 MiB".to_string(),
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me && metadata.uid() != 0 {
        return Err(refuse(format!(
            "it belongs to uid {}, not to you (uid {me}) or root, and decides what mgdeploy reads and writes",
            metadata.uid()
        )));
    }
    let writable_by_others = if me == 0 { 0o022 } else { 0o002 };
    if metadata.mode() & writable_by_others != 0 {
        return Err(refuse(format!(
            "others may write it (mode {:o})",
            metadata.mode() & 0o7777
        )));
    }
    let bytes =
        crate::sysroot::read_bounded(file, MAX_LEN, crate::sysroot::Until::End).map_err(|e| {
            Diagnostic::error(format!("cannot read {}: {e}", path.display())).in_file(path)
        })?;
    Ok(SourceFile::new(path, bytes))
}

/// Parses and checks the configuration in `source`.
fn parse(source: &Arc<SourceFile>, cwd: &Path) -> Result<Config, Diagnostic> {
    let text = std::str::from_utf8(source.bytes()).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::error("not UTF-8, as TOML must be").at(source, Span::new(at, at + 1), "here")
    })?;
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let end = span.end.max(span.start + 1).min(text.len().max(1));
        Diagnostic::error(format!("not a valid mgdeploy.toml: {}", e.message())).at(
            source,
            Span::new(span.start.min(end), end),
            "here",
        )
    })?;
    let dir = source.path().parent().unwrap_or(Path::new("/"));
    // Where the file's relative paths may lead: its work tree.
    let home = crate::report::paths::work_tree_of(dir).unwrap_or_else(|| dir.to_path_buf());
    let wrong = |value: &Spanned<String>, why: String| -> Diagnostic {
        let span = value.span();
        Diagnostic::error(why).at(source, Span::new(span.start, span.end), "this value")
    };
    let path_as = |value: &Option<Spanned<String>>,
                   absolute: Absolute|
     -> Result<Option<PathBuf>, Diagnostic> {
        let Some(value) = value else { return Ok(None) };
        let text = value.get_ref();
        if text.is_empty() || text.contains('\0') {
            return Err(wrong(value, "not a path".to_string()));
        }
        let given = Path::new(text);
        if given.is_absolute() {
            return match absolute {
                Absolute::TheServers => Ok(Some(given.to_path_buf())),
                Absolute::Refused(why) => Err(wrong(value, why.to_string())),
            };
        }
        if !stays_inside(&dir.join(given), &home) {
            return Err(wrong(
                value,
                format!(
                    "it leads out of {}: a configuration names files of its own repository",
                    home.display()
                ),
            ));
        }
        Ok(Some(from_config_dir(dir, cwd, given)))
    };
    let path = |value: &Option<Spanned<String>>| path_as(value, Absolute::TheServers);
    let locations = Locations {
        root: path(&raw.root)?,
        paste: path(&raw.paste)?,
        mediagoblin_ini: path(&raw.mediagoblin_ini)?,
        nginx: path(&raw.nginx)?,
        nginx_prefix: path(&raw.nginx_prefix)?,
        uwsgi_ini: path(&raw.uwsgi_ini)?,
        service: path(&raw.service)?,
        sysroot: path_as(
            &raw.sysroot,
            Absolute::Refused(
                "the server's tree is a directory of this repository: give it relative to this file",
            ),
        )?,
    };
    let checked = |value: &Option<Spanned<String>>,
                   parse: &dyn Fn(&str) -> Result<String, String>|
     -> Result<Option<String>, Diagnostic> {
        value
            .as_ref()
            .map(|v| parse(v.get_ref()).map_err(|why| wrong(v, why)))
            .transpose()
    };
    let m = &raw.migrate;
    let migrate = MigrateDefaults {
        from: m
            .from
            .as_ref()
            .map(|v| options::Origin::parse(v.get_ref()).map_err(|why| wrong(v, why)))
            .transpose()?,
        mount: m
            .mount
            .as_ref()
            .map(|v| Mount::parse(v.get_ref()).map_err(|why| wrong(v, why)))
            .transpose()?,
        script_name: m
            .script_name
            .as_ref()
            .map(|v| match v.get_ref().as_str() {
                "mount" => Ok(ScriptName::Mount),
                "fixpathinfo" => Ok(ScriptName::Fixpathinfo),
                "modifier1" => Ok(ScriptName::Modifier1),
                other => Err(wrong(
                    v,
                    format!("`{other}` is not a script-name: use mount, fixpathinfo or modifier1"),
                )),
            })
            .transpose()?,
        socket: m
            .socket
            .as_ref()
            .map(|v| Address::parse_cli(v.get_ref()).map_err(|e| wrong(v, e.to_string())))
            .transpose()?,
        fcgi_address: m
            .fcgi_address
            .as_ref()
            .map(|v| options::fcgi_address(v.get_ref()).map_err(|why| wrong(v, why)))
            .transpose()?,
        user: checked(&m.user, &|t| options::account_name("user", t))?,
        group: checked(&m.group, &|t| options::account_name("group", t))?,
        processes: m
            .processes
            .as_ref()
            .map(|v| match u32::try_from(*v.get_ref()) {
                Ok(n) if (1..=1024).contains(&n) => Ok(n),
                _ => {
                    let span = v.span();
                    Err(Diagnostic::error(format!(
                        "processes must be 1 to 1024, not {}",
                        v.get_ref()
                    ))
                    .at(source, Span::new(span.start, span.end), "this value"))
                }
            })
            .transpose()?,
        plugin: checked(&m.plugin, &options::plugin_name)?,
        templates: path_as(
            &m.templates,
            Absolute::Refused(
                "templates are files of this repository: give them relative to this file",
            ),
        )?,
        service_style: m
            .service_style
            .as_ref()
            .map(|v| ServiceStyle::parse(v.get_ref()).map_err(|why| wrong(v, why)))
            .transpose()?,
    };
    let codes =
        |values: &Option<Vec<Spanned<String>>>| -> Result<Option<Vec<&'static str>>, Diagnostic> {
            let Some(values) = values else {
                return Ok(None);
            };
            values
                .iter()
                .map(|v| {
                    crate::check::registry::parse_code(v.get_ref()).map_err(|why| wrong(v, why))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
    let check = CheckDefaults {
        select: codes(&raw.check.select)?,
        ignore: codes(&raw.check.ignore)?.unwrap_or_default(),
    };
    Ok(Config {
        path: Some(source.path().to_path_buf()),
        locations,
        migrate,
        check,
    })
}

/// What an absolute path in the file means.
#[derive(Clone, Copy)]
enum Absolute {
    /// A file of the server (read in the mirror, under `sysroot`).
    TheServers,
    /// Nothing the file may name, for this reason.
    Refused(&'static str),
}

/// Whether `path` lies in `home`: written so (no `..` above it), and,
/// where it exists, with its links followed.
fn stays_inside(path: &Path, home: &Path) -> bool {
    let written = crate::sysroot::normalize(path).is_some_and(|p| p.starts_with(home));
    let real = match (std::fs::canonicalize(path), std::fs::canonicalize(home)) {
        (Ok(real), Ok(top)) => real.starts_with(top),
        (Err(_), _) => true,
        (Ok(_), Err(_)) => false,
    };
    written && real
}

/// A path from the configuration as the command line would give it: an
/// absolute one as it is (the server's), a relative one from the
/// configuration's directory, said relative to the current directory so
/// that `--sysroot` treats it as this machine's.
fn from_config_dir(dir: &Path, cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    relative_path(cwd, &dir.join(path))
}

/// `target` relative to `from` (both absolute).
fn relative_path(from: &Path, target: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in to.iter().skip(common) {
        out.push(part.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Config, Diagnostic> {
        let source = SourceFile::new("/ops/mgdeploy.toml", text.as_bytes().to_vec());
        parse(&source, Path::new("/ops/etc"))
    }

    #[test]
    fn relative_paths_start_at_the_file() {
        let config = parsed(
            "root = \"srv/mediagoblin\"\nnginx = \"/etc/nginx/sites-enabled/mg\"\nsysroot = \".\"\n",
        )
        .unwrap();
        assert_eq!(
            config.locations.root.as_deref(),
            Some(Path::new("../srv/mediagoblin"))
        );
        assert_eq!(
            config.locations.nginx.as_deref(),
            Some(Path::new("/etc/nginx/sites-enabled/mg"))
        );
        assert_eq!(config.locations.sysroot.as_deref(), Some(Path::new("..")));
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b")),
            Path::new(".")
        );
        assert_eq!(
            relative_path(Path::new("/a"), Path::new("/a/b/c")),
            Path::new("b/c")
        );
    }

    #[test]
    fn values_are_checked_where_they_are() {
        let error = parsed("[migrate]\nuser = \"root; rm\"\n").unwrap_err();
        let label = error.primary().expect("a place");
        assert_eq!((label.start().line, label.start().column), (2, 8));
        assert!(
            error.message.contains("not a user name"),
            "{}",
            error.message
        );

        let error = parsed("[check]\nignore = [\"MG999\"]\n").unwrap_err();
        assert_eq!(error.primary().expect("a place").start().line, 2);

        let error = parsed("nginx = 3\n").unwrap_err();
        assert!(error.message.contains("invalid type"), "{}", error.message);
        let error = parsed("ngnix = \"x\"\n").unwrap_err();
        assert!(error.message.contains("unknown field"), "{}", error.message);
        assert!(parsed("[migrate]\nprocesses = 0\n").is_err());
        assert!(parsed("[migrate]\nsocket = \"0.0.0.0:80\\n\"\n").is_err());
    }

    #[test]
    fn check_codes_are_read() {
        let config =
            parsed("[check]\nselect = [\"MG005\", \"mg007\"]\nignore = [\"MG017\"]\n").unwrap();
        assert_eq!(config.check.select, Some(vec!["MG005", "MG007"]));
        assert_eq!(config.check.ignore, vec!["MG017"]);
    }
}
