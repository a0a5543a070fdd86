//! The systemd unit that started paster (FastCGI or HTTP), rewritten to start uWSGI: uWSGI
//! runs in the foreground and tells systemd when it is ready (`Type=notify`),
//! so paster's `--daemon`, `PIDFile=` and `paster … stop` go; the rest of the
//! unit (User=, Group=, WorkingDirectory=, Environment=, ExecStartPre=, the
//! [Install] section) stays as the admin wrote it. And a new unit, for a site
//! no unit started.
//!
//! Either way uWSGI starts as the site's user (`User=`, `Group=`), never as
//! root: its ini, paste.ini and the virtualenv (its Python, and for a
//! Python 2 site its uWSGI) are files that account can change, and a root
//! uWSGI reads and runs them before it switches users (`exec-as-root`,
//! `@(exec://…)`, a planted binary). For a UNIX socket it also joins
//! nginx's group (`SupplementaryGroups=`), to give the socket to it.

use std::path::{Path, PathBuf};

use super::paster::{self, Arg, Supervision};
use super::{RunAs, is_root_name};
use crate::diagnostic::Diagnostic;
use crate::escape::{systemd_environment, systemd_exec_word, systemd_word};
use crate::lines::{indentation, insert_line_after, removal};
use crate::migrate::notes::Notes;
use crate::plan::Edit;
use crate::service::Service;
use crate::service::systemd::{Unit, UnitEntry, command_words};
use crate::source::Span;

/// A command line for `ExecStart=`: mgdeploy's words escaped for systemd,
/// the unit's own kept in its syntax (quoted where they must be).
pub fn exec_line(argv: &[Arg]) -> Result<String, Diagnostic> {
    argv.iter()
        .map(|word| {
            match word {
                Arg::Own(value) => systemd_exec_word(value),
                Arg::Given(word) => systemd_word(word),
            }
            .map_err(|e| {
                Diagnostic::error(format!("cannot write {:?} into a unit: {}", e.value, e.why))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|words| words.join(" "))
}

/// Edits to one file of the unit.
#[derive(Debug, Default)]
pub struct FileEdits {
    pub path: PathBuf,
    pub original: Vec<u8>,
    pub edits: Vec<Edit>,
}

/// The unit's files (the unit and its drop-ins) and their edits.
#[derive(Debug, Default)]
pub struct UnitRewrite {
    pub files: Vec<FileEdits>,
}

impl UnitRewrite {
    fn file(&mut self, unit: &Unit) -> &mut FileEdits {
        let path = unit.source.path().to_path_buf();
        let index = match self.files.iter().position(|f| f.path == path) {
            Some(index) => index,
            None => {
                self.files.push(FileEdits {
                    path,
                    original: unit.source.bytes().to_vec(),
                    edits: Vec::new(),
                });
                self.files.len() - 1
            }
        };
        &mut self.files[index]
    }
}

/// The entry and the file (unit or drop-in) that has the last say on `key`.
fn last<'a>(units: &[&'a Unit], key: &str) -> Option<(&'a Unit, &'a UnitEntry)> {
    units
        .iter()
        .flat_map(|unit| unit.entries("Service", key).map(move |e| (*unit, e)))
        .last()
}

/// A prefix of `ExecStart=` (`-`, `+`, `!`) that changes how systemd runs
/// the command; `@` (which renames argv[0]) does not carry over.
fn exec_prefix(value: &str) -> String {
    value
        .chars()
        .take_while(|c| matches!(c, '-' | '@' | '+' | '!' | ':'))
        .filter(|c| *c != '@')
        .collect()
}

/// Rewrites `service` (a systemd unit whose ExecStart starts FastCGI) to
/// start `program --ini ini`. `die_on_term`: the ini stops uWSGI on SIGTERM;
/// else the unit asks for SIGQUIT.
pub fn rewrite(
    service: &Service,
    program: &str,
    ini: &str,
    die_on_term: bool,
    run_as: &RunAs<'_>,
    notes: &mut Notes,
) -> Result<UnitRewrite, Diagnostic> {
    let Some(main) = &service.unit else {
        return Err(Diagnostic::error("not a systemd unit").in_file(&service.path));
    };
    let units: Vec<&Unit> = std::iter::once(main).chain(&service.drop_ins).collect();
    let mut out = UnitRewrite::default();
    let shown = service.path.display().to_string();

    // ExecStart=, where it has the last say.
    let Some((exec_unit, exec)) = last(&units, "ExecStart") else {
        return Err(Diagnostic::error("the unit has no ExecStart=").in_file(&service.path));
    };
    let command = paster::read(&command_words(&exec.value)).map_err(|why| {
        Diagnostic::error(format!("cannot rewrite the unit's ExecStart=: {why}"))
            .at(&exec_unit.source, exec.span, "this command")
            .with_help("use --service-style none and change the unit yourself, or name another with --service")
    })?;
    let argv = paster::uwsgi_argv(&command, program, ini, Supervision::Foreground)
        .map_err(|why| Diagnostic::error(why).at(&exec_unit.source, exec.span, "this command"))?;
    let line = format!(
        "ExecStart={}{}",
        exec_prefix(&exec.value),
        exec_line(&argv)?
    );
    let exec_place = exec_unit.source.location(exec.span.start);
    out.file(exec_unit)
        .edits
        .push(Edit::replace(exec.span, line.clone()));
    notes.changed(format!("{exec_place}: the unit starts uWSGI: `{line}`"));
    for (word, why) in &command.dropped {
        if !word.ends_with(".ini") {
            continue;
        }
        notes.dropped(format!("{exec_place}: `{word}`"), why.to_string());
    }
    if command.daemon || command.pid_file.is_some() {
        notes.dropped(
            format!("{exec_place}: paster's --daemon and --pid-file"),
            "uWSGI stays in the foreground and tells systemd when it is ready (Type=notify)",
        );
    }

    // Type=notify: uWSGI speaks sd_notify.
    match last(&units, "Type") {
        Some((unit, entry)) if entry.value != "notify" => {
            let place = unit.source.location(entry.span.start);
            out.file(unit)
                .edits
                .push(Edit::replace(entry.span, "Type=notify"));
            notes.changed(format!(
                "{place}: `Type={}` → `Type=notify`: uWSGI tells systemd when it is ready",
                entry.value
            ));
        }
        Some(_) => {}
        None => {
            let bytes = exec_unit.source.bytes();
            out.file(exec_unit).edits.push(insert_line_after_entry(
                bytes,
                exec.span,
                "Type=notify",
            ));
        }
    }

    // What only paster used: its pid file, `paster … stop`, a paster reload.
    for unit in &units {
        for entry in unit.entries("Service", "PIDFile") {
            let span = removal(unit.source.bytes(), entry.span);
            let place = unit.source.location(entry.span.start);
            out.file(unit).edits.push(Edit::delete(span));
            notes.dropped(
                format!("{place}: `PIDFile={}`", entry.value),
                "paster's pid file; systemd follows uWSGI's master process itself",
            );
        }
        for key in ["ExecStop", "ExecReload"] {
            for entry in unit.entries("Service", key) {
                let words = command_words(&entry.value);
                if !words.iter().any(|w| paster::is_program(w)) {
                    continue;
                }
                let place = unit.source.location(entry.span.start);
                if key == "ExecReload" {
                    out.file(unit).edits.push(Edit::replace(
                        entry.span,
                        "ExecReload=/bin/kill -HUP $MAINPID",
                    ));
                    notes.changed(format!(
                        "{place}: reload sends SIGHUP, on which uWSGI reloads MediaGoblin"
                    ));
                } else {
                    let span = removal(unit.source.bytes(), entry.span);
                    out.file(unit).edits.push(Edit::delete(span));
                    notes.dropped(
                        format!("{place}: `{key}=… stop`"),
                        "systemd stops uWSGI with a signal".to_string(),
                    );
                }
            }
        }
    }

    // What a uWSGI service wants and the unit does not say.
    let mut added: Vec<String> = Vec::new();
    if last(&units, "NotifyAccess").is_none() {
        added.push("NotifyAccess=all".to_string());
    }
    if last(&units, "Restart").is_none() {
        added.push("Restart=on-failure".to_string());
    }
    if !die_on_term && last(&units, "KillSignal").is_none() {
        added.push("KillSignal=SIGQUIT".to_string());
    }
    // Never root (see the module's doc), and as the ini says: a uWSGI
    // that did not start as root cannot switch users, and refuses to start.
    for (key, wanted) in [("User", run_as.user), ("Group", run_as.group)] {
        match last(&units, key) {
            Some((unit, entry)) if key == "User" && is_root_name(entry.value.trim()) => {
                return Err(Diagnostic::error(
                    "the unit runs uWSGI as root, which would read and run the site's files before anything else",
                )
                .at(&unit.source, entry.span, "User=root")
                .with_help("remove User=root: mgdeploy then starts uWSGI as the site's user"));
            }
            Some((unit, entry)) if entry.value.trim() != wanted => {
                let place = unit.source.location(entry.span.start);
                let line = format!("{key}={}", unit_value(wanted)?);
                out.file(unit)
                    .edits
                    .push(Edit::replace(entry.span, line.clone()));
                notes.changed(format!(
                    "{place}: `{key}={}` → `{line}`: uWSGI runs as the ini's uid and gid, which it can only be when started as them",
                    entry.value.trim()
                ));
            }
            Some(_) => {}
            None => added.push(format!("{key}={}", unit_value(wanted)?)),
        }
    }
    let group = run_as.group;
    if let Some(socket_group) = &run_as.socket_group {
        let joined = units
            .iter()
            .flat_map(|u| u.entries("Service", "SupplementaryGroups"))
            .any(|e| e.value.split_whitespace().any(|g| g == socket_group));
        if socket_group != group && !joined {
            added.push(format!("SupplementaryGroups={}", unit_value(socket_group)?));
        }
    }
    let bytes = exec_unit.source.bytes();
    for line in &added {
        out.file(exec_unit)
            .edits
            .push(insert_line_after_entry(bytes, exec.span, line));
    }
    if added.iter().any(|l| l.starts_with("User=")) {
        notes.changed(format!(
            "{shown}: uWSGI starts as {} ({}), not as root: the ini, paste.ini and the virtualenv are files that account can change",
            run_as.user, run_as.group
        ));
    }
    if !added.is_empty() {
        notes.changed(format!("{shown}: {}", added.join(", ")));
    }
    Ok(out)
}

/// A new line after an entry that may run over several lines, indented
/// like the entry's first line.
fn insert_line_after_entry(bytes: &[u8], entry: Span, text: &str) -> Edit {
    let indent = indentation(bytes, entry.start);
    insert_line_after(bytes, entry.end, text).reindented(&indentation(bytes, entry.end), &indent)
}

/// A setting's value in a unit: one line, specifiers (`%h`) written as
/// themselves.
fn unit_value(value: &str) -> Result<String, Diagnostic> {
    if value.chars().any(char::is_control) || value.trim() != value {
        Err(Diagnostic::error(format!(
            "cannot write {value:?} into a unit: a control character or blanks at its ends"
        )))
    } else {
        Ok(value.replace('%', "%%"))
    }
}

/// Values for a new unit (`templates/uwsgi.service.tera`), each already
/// written as systemd reads it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NewUnit {
    /// The checkout, said in comments and the description.
    pub description: String,
    pub exec_start: String,
    pub working_directory: String,
    /// `NAME=value` assignments, quoted.
    pub environment: Vec<String>,
    pub kill_signal: Option<String>,
    /// Who uWSGI runs as (see the module's doc).
    pub user: String,
    pub group: String,
    pub supplementary_groups: Option<String>,
    /// `/run/NAME` for a UNIX socket there, made by systemd for `user`.
    pub runtime_directory: Option<String>,
}

impl NewUnit {
    /// The values for a site in `root` started by `argv`.
    pub fn new(
        root: &str,
        argv: &[String],
        environment: &[(String, String)],
        die_on_term: bool,
        run_as: &RunAs<'_>,
    ) -> Result<NewUnit, Diagnostic> {
        let runtime_directory = run_as
            .socket_dir
            .as_deref()
            .and_then(|dir| dir.strip_prefix("/run").ok())
            .filter(|name| name.components().count() == 1)
            .map(|name| unit_value(&name.to_string_lossy()))
            .transpose()?;
        Ok(NewUnit {
            description: unit_value(root)?,
            exec_start: exec_line(&argv.iter().map(|w| Arg::Own(w.clone())).collect::<Vec<_>>())?,
            working_directory: unit_value(root)?,
            environment: environment
                .iter()
                .map(|(name, value)| {
                    systemd_environment(name, value).map_err(|e| {
                        Diagnostic::error(format!(
                            "cannot write {:?} into a unit: {}",
                            e.value, e.why
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            kill_signal: (!die_on_term).then(|| "SIGQUIT".to_string()),
            user: unit_value(run_as.user)?,
            group: unit_value(run_as.group)?,
            supplementary_groups: run_as
                .socket_group
                .as_deref()
                .filter(|g| *g != run_as.group)
                .map(unit_value)
                .transpose()?,
            runtime_directory,
        })
    }
}

const BUILT_IN: &str = include_str!("../../../templates/uwsgi.service.tera");
const TEMPLATE: &str = "uwsgi.service.tera";

/// A unit that starts uWSGI for a site no unit started; `templates` may
/// hold the admin's own `uwsgi.service.tera`.
pub fn render_new(unit: &NewUnit, templates: Option<&Path>) -> Result<String, Diagnostic> {
    crate::migrate::template::render(
        TEMPLATE,
        BUILT_IN,
        templates,
        crate::migrate::template::Missing::BuiltIn,
        unit,
        "a unit's template can use the fields of a new unit: description, exec_start, working_directory, environment, kill_signal, user, group, supplementary_groups, runtime_directory",
    )
}

/// Where a rewritten unit is written when it is a package's (under
/// /lib/systemd/system or /usr/lib/systemd/system, replaced on the
/// package's next upgrade): a unit of the same name in /etc/systemd/system,
/// which takes precedence. `None`: the admin's own, rewritten in place.
pub fn admin_path(unit: &Path, package_dirs: &[PathBuf], etc_dir: &Path) -> Option<PathBuf> {
    if !package_dirs.iter().any(|dir| unit.starts_with(dir)) {
        return None;
    }
    unit.file_name().map(|name| etc_dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::apply_edits;
    use crate::service::{Manager, Role};
    use crate::source::SourceFile;

    const DOCS: &str = "[Unit]\nDescription=Mediagoblin\n\n[Service]\nType=forking\nUser=mediagoblin\nGroup=mediagoblin\nEnvironment=CELERY_ALWAYS_EAGER=false\nWorkingDirectory=/srv/mg\nExecStartPre=-/bin/mkdir -p /run/mediagoblin\nExecStart=/srv/mg/bin/paster serve \\\n              /srv/mg/paste_local.ini \\\n              --pid-file=/var/run/mediagoblin/mediagoblin.pid \\\n              --log-file=/var/log/mediagoblin/mediagoblin.log \\\n              --daemon \\\n              --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\nExecStop=/srv/mg/bin/paster serve \\\n             --pid-file=/var/run/mediagoblin/mediagoblin.pid \\\n             /srv/mg/paste_local.ini stop\nPIDFile=/var/run/mediagoblin/mediagoblin.pid\n\n[Install]\nWantedBy=multi-user.target\n";

    fn service(text: &str) -> Service {
        let source = SourceFile::new("/etc/systemd/system/mediagoblin-paster.service", text);
        let unit = crate::service::systemd::parse(&source).unwrap();
        Service {
            path: source.path().to_path_buf(),
            manager: Manager::Systemd,
            role: Role::FastCgi,
            source: source.clone(),
            command: Vec::new(),
            command_span: Span::default(),
            environment: Vec::new(),
            user: None,
            group: None,
            unit: Some(unit),
            drop_ins: Vec::new(),
        }
    }

    fn run_as() -> RunAs<'static> {
        RunAs {
            user: "mediagoblin",
            group: "mediagoblin",
            socket_group: None,
            socket_dir: None,
        }
    }

    #[test]
    fn the_docs_unit_starts_uwsgi() {
        let mut notes = Notes::default();
        let rewrite = rewrite(
            &service(DOCS),
            "/usr/bin/uwsgi",
            "/srv/mg/mediagoblin-uwsgi.ini",
            true,
            &run_as(),
            &mut notes,
        )
        .unwrap();
        let file = &rewrite.files[0];
        let after = String::from_utf8(apply_edits(&file.original, &file.edits).unwrap()).unwrap();
        assert_eq!(
            after,
            "[Unit]\nDescription=Mediagoblin\n\n[Service]\nType=notify\nUser=mediagoblin\nGroup=mediagoblin\nEnvironment=CELERY_ALWAYS_EAGER=false\nWorkingDirectory=/srv/mg\nExecStartPre=-/bin/mkdir -p /run/mediagoblin\nExecStart=/usr/bin/uwsgi --ini /srv/mg/mediagoblin-uwsgi.ini --logto /var/log/mediagoblin/mediagoblin.log\nNotifyAccess=all\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n"
        );
    }

    #[test]
    fn a_command_it_cannot_say_in_uwsgi_stops_it() {
        let text = DOCS.replace("--daemon", "--verbose");
        let mut notes = Notes::default();
        let error = rewrite(
            &service(&text),
            "uwsgi",
            "/x.ini",
            true,
            &run_as(),
            &mut notes,
        )
        .unwrap_err();
        assert!(error.message.contains("--verbose"), "{}", error.message);
    }

    #[test]
    fn a_unit_that_ran_as_root_runs_uwsgi_as_the_site() {
        let text = DOCS
            .replace("User=mediagoblin\nGroup=mediagoblin\n", "")
            .replace("Type=forking\n", "");
        let mut notes = Notes::default();
        let socket = RunAs {
            socket_group: Some("www-data".to_string()),
            ..run_as()
        };
        let rewritten = rewrite(
            &service(&text),
            "uwsgi",
            "/x.ini",
            true,
            &socket,
            &mut notes,
        )
        .unwrap();
        let file = &rewritten.files[0];
        let after = String::from_utf8(apply_edits(&file.original, &file.edits).unwrap()).unwrap();
        assert!(
            after.contains("User=mediagoblin\nGroup=mediagoblin\nSupplementaryGroups=www-data\n"),
            "{after}"
        );
        let root = DOCS.replace("User=mediagoblin", "User=root");
        let error = rewrite(
            &service(&root),
            "uwsgi",
            "/x.ini",
            true,
            &run_as(),
            &mut notes,
        )
        .unwrap_err();
        assert!(error.message.contains("as root"), "{}", error.message);
    }
}
