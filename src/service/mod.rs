//! The services that start a MediaGoblin site: systemd units (with their
//! `*.service.d/*.conf` drop-ins), SysV init scripts and supervisor
//! programs that name the checkout. Each is classified by what its command
//! runs: the FastCGI server (`paster serve … --server-name=fcgi`, or
//! lazyserver.sh with those arguments), paster over HTTP, a celery worker,
//! or uWSGI.

pub mod systemd;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::ini::paste;
use crate::source::{SourceFile, Span};
use crate::sysroot::Sysroot;

/// Where systemd, SysV init and supervisor keep their files on Debian and
/// most other systems (relative to `/`).
pub const SYSTEMD_DIRS: [&str; 3] = [
    "etc/systemd/system",
    "lib/systemd/system",
    "usr/lib/systemd/system",
];
pub const INIT_DIRS: [&str; 1] = ["etc/init.d"];
pub const SUPERVISOR_DIRS: [&str; 2] = ["etc/supervisor/conf.d", "etc/supervisord.d"];

/// Files larger than this are not service definitions.
const MAX_SIZE: u64 = 1024 * 1024;

/// What starts a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    Systemd,
    SysV,
    Supervisor,
}

/// What a service runs for the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// flup's FastCGI server through paster or lazyserver.sh.
    FastCgi,
    /// paster serving HTTP (waitress, the built-in server).
    Http,
    /// A celery worker.
    Celery,
    /// uWSGI.
    Uwsgi,
}

impl Role {
    /// The server, as the summary names it.
    pub fn server(self) -> &'static str {
        match self {
            Role::FastCgi => "the FastCGI server",
            Role::Http => "paster's HTTP server",
            Role::Celery => "the celery worker",
            Role::Uwsgi => "uWSGI",
        }
    }
}

/// One service of the site.
#[derive(Clone, Debug)]
pub struct Service {
    pub path: PathBuf,
    pub manager: Manager,
    pub role: Role,
    pub source: Arc<SourceFile>,
    /// The start command's words (for an init script, the line's).
    pub command: Vec<String>,
    /// Where the start command is written (for diagnostics and edits).
    pub command_span: Span,
    /// Variables the service sets for the command.
    pub environment: Vec<(String, String)>,
    /// The user and group it runs as (`User=`/`Group=`, supervisor's
    /// `user=`), when it says.
    pub user: Option<String>,
    pub group: Option<String>,
    /// The parsed unit, for systemd.
    pub unit: Option<systemd::Unit>,
    /// Its drop-ins (`NAME.service.d/*.conf`), in the order systemd reads them.
    pub drop_ins: Vec<systemd::Unit>,
}

impl Service {
    /// The service's name as its manager knows it: `mediagoblin-paster`.
    pub fn name(&self) -> String {
        let file = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match self.manager {
            Manager::Systemd => file.trim_end_matches(".service").to_string(),
            Manager::Supervisor => file.trim_end_matches(".conf").to_string(),
            Manager::SysV => file,
        }
    }

    /// The value the service gives `name`.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// It starts the site through lazyserver.sh.
    pub fn runs_lazyserver(&self) -> bool {
        self.command.iter().any(|w| basename(w) == "lazyserver.sh")
    }

    /// `file:line:col` of its command.
    pub fn place(&self) -> String {
        self.source.location(self.command_span.start)
    }

    /// Whether it starts at boot: systemd, a `*.wants` link in
    /// /etc/systemd/system; SysV, an `rc?.d/S??NAME` link; supervisor,
    /// unless `autostart=false`.
    pub fn enabled(&self, sysroot: &Sysroot) -> bool {
        let name = self.name();
        let entries = |dir: &str| {
            let dir = sysroot.host(&Path::new("/").join(dir));
            sysroot
                .read_dir(&dir)
                .unwrap_or_default()
                .into_iter()
                .map(move |name| dir.join(name))
        };
        match self.manager {
            Manager::Systemd => entries("etc/systemd/system")
                .filter(|e| e.to_string_lossy().ends_with(".wants"))
                .any(|e| sysroot.exists(&e.join(format!("{name}.service")))),
            Manager::SysV => (2..=5).any(|level| {
                entries(&format!("etc/rc{level}.d")).any(|e| {
                    let file = e
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    file.strip_prefix('S')
                        .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
                        == Some(name.as_str())
                })
            }),
            Manager::Supervisor => !String::from_utf8_lossy(self.source.bytes())
                .lines()
                .any(|l| l.replace(' ', "").eq_ignore_ascii_case("autostart=false")),
        }
    }
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Arguments with which paster (or lazyserver.sh) starts one of paste.ini's
/// servers (`--server-name=main`, `http_port=...`, flup's), which uWSGI
/// refuses.
pub fn is_paster_server_argument(word: &str) -> bool {
    is_fastcgi_argument(word)
        || word.starts_with("--server-name")
        || word.starts_with("http_host=")
        || word.starts_with("http_port=")
}

/// Arguments with which paster (or lazyserver.sh) starts flup's FastCGI server.
pub fn is_fastcgi_argument(word: &str) -> bool {
    word == "--server-name=fcgi"
        || word.starts_with("fcgi_host=")
        || word.starts_with("fcgi_port=")
        || word.starts_with("fcgi_socket=")
}

/// What a command runs, from its words.
pub fn role_of(words: &[String]) -> Option<Role> {
    let names: Vec<&str> = words.iter().map(|w| basename(w)).collect();
    let fastcgi = words.iter().any(|w| is_fastcgi_argument(w))
        || words
            .windows(2)
            .any(|pair| pair[0] == "--server-name" && pair[1] == "fcgi");
    if names
        .iter()
        .any(|n| matches!(*n, "celery" | "celeryd" | "lazycelery.sh"))
    {
        return Some(Role::Celery);
    }
    if names.contains(&"lazyserver.sh") || (names.contains(&"paster") && names.contains(&"serve")) {
        return Some(if fastcgi { Role::FastCgi } else { Role::Http });
    }
    if names
        .iter()
        .any(|n| *n == "uwsgi" || n.starts_with("uwsgi_python"))
    {
        return Some(Role::Uwsgi);
    }
    None
}

/// Whether `text` names `path` (as a whole path, not a prefix of another).
pub fn mentions_path(text: &str, path: &Path) -> bool {
    let needle = path.to_string_lossy();
    let needle = needle.trim_end_matches('/');
    if needle.is_empty() {
        return false;
    }
    text.match_indices(needle).any(|(at, _)| {
        let after = text[at + needle.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

/// Where to look for services.
#[derive(Clone, Debug, Default)]
pub struct ServiceDirs {
    pub systemd: Vec<PathBuf>,
    pub init: Vec<PathBuf>,
    pub supervisor: Vec<PathBuf>,
    /// The server's tree: every file is read in it, and absolute paths in
    /// units (`EnvironmentFile=`) are the server's.
    pub sysroot: Sysroot,
}

impl ServiceDirs {
    /// The standard places of the server `sysroot`.
    pub fn standard(sysroot: &Sysroot) -> Self {
        let under = |dirs: &[&str]| {
            dirs.iter()
                .map(|d| sysroot.host(&Path::new("/").join(d)))
                .collect()
        };
        ServiceDirs {
            systemd: under(&SYSTEMD_DIRS),
            init: under(&INIT_DIRS),
            supervisor: under(&SUPERVISOR_DIRS),
            sysroot: sysroot.clone(),
        }
    }

    /// These places plus the directory of a service named on the command
    /// line, where a site keeps its other units.
    pub fn with_named(mut self, named: &Path) -> Self {
        if let Some(dir) = named.parent() {
            let dir = dir.to_path_buf();
            match manager_of(named) {
                Manager::Systemd => self.systemd.insert(0, dir),
                Manager::Supervisor => self.supervisor.insert(0, dir),
                Manager::SysV => self.init.insert(0, dir),
            }
        }
        self
    }
}

/// The manager a file belongs to, from its name.
fn manager_of(path: &Path) -> Manager {
    let name = path.to_string_lossy();
    if name.ends_with(".service") {
        Manager::Systemd
    } else if name.ends_with(".conf") || name.ends_with(".ini") {
        Manager::Supervisor
    } else {
        Manager::SysV
    }
}

/// Reads a service file; only regular files are read.
fn read(sysroot: &Sysroot, path: &Path) -> Option<Arc<SourceFile>> {
    let metadata = sysroot.metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() > MAX_SIZE {
        return None;
    }
    SourceFile::read_in(sysroot, path).ok()
}

/// The services that name the checkout (`names`: its path as written and
/// canonical). `named` is `--service`: it must be readable and make sense,
/// else that is an error; files found by searching are skipped quietly
/// when they do not.
pub fn discover(
    names: &[PathBuf],
    named: Option<&Path>,
    dirs: &ServiceDirs,
) -> Result<Vec<Service>, Diagnostic> {
    let mut found: Vec<Service> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    if let Some(path) = named {
        let sysroot = &dirs.sysroot;
        let source = read(sysroot, path).ok_or_else(|| {
            Diagnostic::error(format!(
                "{} is not a readable regular file",
                path.display()
            ))
            .in_file(path)
            .with_help("--service names the systemd unit, init script or supervisor program that starts the site")
        })?;
        let manager = manager_of(path);
        let drop_ins = if manager == Manager::Systemd {
            drop_ins(sysroot, path)
        } else {
            Vec::new()
        };
        let services = services_in(path, manager, &source, Some(&drop_ins), sysroot)?;
        if services.is_empty() {
            return Err(Diagnostic::error(format!(
                "{} starts neither paster, lazyserver.sh, celery nor uWSGI",
                path.display()
            ))
            .in_file(path)
            .with_help("name the service that starts MediaGoblin's FastCGI server"));
        }
        seen.push(canonical(sysroot, path));
        found.extend(services);
    }
    let mut candidates: Vec<(PathBuf, Manager)> = Vec::new();
    for (list, manager) in [
        (&dirs.systemd, Manager::Systemd),
        (&dirs.init, Manager::SysV),
        (&dirs.supervisor, Manager::Supervisor),
    ] {
        for dir in list {
            let Ok(names) = dirs.sysroot.read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = names.into_iter().map(|n| dir.join(n)).collect();
            paths.sort();
            for path in paths {
                let name = path.to_string_lossy();
                let wanted = match manager {
                    Manager::Systemd => name.ends_with(".service"),
                    Manager::Supervisor => name.ends_with(".conf") || name.ends_with(".ini"),
                    Manager::SysV => true,
                };
                if wanted {
                    candidates.push((path, manager));
                }
            }
        }
    }
    for (path, manager) in candidates {
        let canonical = canonical(&dirs.sysroot, &path);
        if seen.contains(&canonical) {
            continue;
        }
        let Some(source) = read(&dirs.sysroot, &path) else {
            continue;
        };
        let text = String::from_utf8_lossy(source.bytes());
        if !names.iter().any(|n| mentions_path(&text, n)) {
            continue;
        }
        seen.push(canonical);
        let drop_ins = if manager == Manager::Systemd {
            drop_ins(&dirs.sysroot, &path)
        } else {
            Vec::new()
        };
        // A file that does not parse is not one of this site's services
        // as far as discovery can tell; `--service` names it to be sure.
        if let Ok(services) = services_in(&path, manager, &source, Some(&drop_ins), &dirs.sysroot) {
            found.extend(services);
        }
    }
    Ok(found)
}

/// A file's path with links followed (in the server's tree), to know a
/// file met twice.
fn canonical(sysroot: &Sysroot, path: &Path) -> PathBuf {
    sysroot
        .resolve(&sysroot.server(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `NAME.service.d/*.conf` beside a unit, sorted as systemd applies them.
fn drop_ins(sysroot: &Sysroot, unit: &Path) -> Vec<Arc<SourceFile>> {
    let mut dir = unit.as_os_str().to_owned();
    dir.push(".d");
    let dir = PathBuf::from(dir);
    let mut paths: Vec<PathBuf> = sysroot
        .read_dir(&dir)
        .unwrap_or_default()
        .into_iter()
        .map(|name| dir.join(name))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| read(sysroot, p)).collect()
}

fn services_in(
    path: &Path,
    manager: Manager,
    source: &Arc<SourceFile>,
    drop_ins: Option<&[Arc<SourceFile>]>,
    sysroot: &Sysroot,
) -> Result<Vec<Service>, Diagnostic> {
    match manager {
        Manager::Systemd => systemd_service(path, source, drop_ins.unwrap_or_default(), sysroot),
        Manager::Supervisor => supervisor_programs(path, source),
        Manager::SysV => Ok(init_script(path, source).into_iter().collect()),
    }
}

fn systemd_service(
    path: &Path,
    source: &Arc<SourceFile>,
    drop_ins: &[Arc<SourceFile>],
    sysroot: &Sysroot,
) -> Result<Vec<Service>, Diagnostic> {
    let unit = systemd::parse(source)?;
    let mut environment = unit.environment();
    let mut exec = unit
        .entries("Service", "ExecStart")
        .last()
        .map(|e| (Arc::clone(&unit.source), e.clone()));
    let mut parsed = Vec::new();
    for extra in drop_ins {
        let Ok(drop_in) = systemd::parse(extra) else {
            continue;
        };
        parsed.push(drop_in.clone());
        for (name, value) in drop_in.environment() {
            environment.retain(|(n, _)| *n != name);
            environment.push((name, value));
        }
        if let Some(entry) = drop_in.entries("Service", "ExecStart").last() {
            exec = if entry.value.is_empty() {
                None
            } else {
                Some((Arc::clone(&drop_in.source), entry.clone()))
            };
        }
    }
    // EnvironmentFile= wins over Environment= (systemd.exec(5)); a `-`
    // prefix makes the file optional.
    for unit in std::iter::once(&unit).chain(&parsed) {
        for entry in unit.entries("Service", "EnvironmentFile") {
            let name = entry.value.trim().trim_start_matches('-');
            let on_host = sysroot.host(Path::new(name));
            if let Some(file) = read(sysroot, &on_host) {
                for (name, value) in
                    systemd::environment_file(&String::from_utf8_lossy(file.bytes()))
                {
                    environment.retain(|(n, _)| *n != name);
                    environment.push((name, value));
                }
            }
        }
    }
    let Some((exec_source, entry)) = exec else {
        return Ok(Vec::new());
    };
    let command = systemd::command_words(&entry.value);
    let Some(role) = role_of(&command) else {
        return Ok(Vec::new());
    };
    Ok(vec![Service {
        path: path.to_path_buf(),
        manager: Manager::Systemd,
        role,
        source: exec_source,
        command,
        command_span: entry.span,
        environment,
        // A drop-in has the last say, as systemd reads them.
        user: last_value(&unit, &parsed, "User"),
        group: last_value(&unit, &parsed, "Group"),
        unit: Some(unit),
        drop_ins: parsed,
    }])
}

/// The last value `key` has in `[Service]` of the unit or its drop-ins.
fn last_value(unit: &systemd::Unit, drop_ins: &[systemd::Unit], key: &str) -> Option<String> {
    std::iter::once(unit)
        .chain(drop_ins)
        .rev()
        .find_map(|u| u.value("Service", key))
        .map(str::to_string)
}

/// `KEY="value",KEY2=value2`, supervisor's `environment=`.
fn supervisor_environment(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let after = after.trim_start();
        let (value, tail) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &after[1..];
                match inner.find(q) {
                    Some(end) => (&inner[..end], &inner[end + 1..]),
                    None => (inner, ""),
                }
            }
            _ => match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        out.push((key.trim().to_string(), value.to_string()));
        rest = tail.trim_start().trim_start_matches(',');
    }
    out
}

fn supervisor_programs(path: &Path, source: &Arc<SourceFile>) -> Result<Vec<Service>, Diagnostic> {
    let document = paste::read(source)?;
    let mut out = Vec::new();
    for section in document.sections_with_prefix("program:") {
        let Some(command) = section.get("command") else {
            continue;
        };
        let words = systemd::split_words(&command.value);
        let Some(role) = role_of(&words) else {
            continue;
        };
        out.push(Service {
            path: path.to_path_buf(),
            manager: Manager::Supervisor,
            role,
            source: Arc::clone(source),
            command: words,
            command_span: command.span(),
            environment: section
                .get("environment")
                .map(|e| supervisor_environment(&e.value))
                .unwrap_or_default(),
            user: section.get("user").map(|e| e.value.trim().to_string()),
            group: None,
            unit: None,
            drop_ins: Vec::new(),
        });
    }
    Ok(out)
}

/// A SysV init script: shell, read line by line. The first line that runs
/// paster, lazyserver.sh, celery or uWSGI (directly, or through a
/// `DAEMON=`/`DAEMON_ARGS=` variable, as Debian's skeleton does) decides its
/// role; `VAR=value` assignments of CELERY_ALWAYS_EAGER are its environment.
fn init_script(path: &Path, source: &Arc<SourceFile>) -> Option<Service> {
    // Spans are offsets into the text: a script that is not UTF-8 is not read.
    let text = std::str::from_utf8(source.bytes()).ok()?;
    let mut words_so_far: Vec<String> = Vec::new();
    let mut environment = Vec::new();
    let mut first_span: Option<Span> = None;
    let mut account: Option<(String, Option<String>)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let span = Span::new(offset, offset + line.trim_end().len());
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let words = systemd::split_words(trimmed);
        for word in &words {
            let word = word.trim_start_matches("export ");
            if let Some(value) = word.strip_prefix("CELERY_ALWAYS_EAGER=") {
                environment.push(("CELERY_ALWAYS_EAGER".to_string(), value.to_string()));
            }
        }
        if let Some(chuid) = start_stop_daemon_chuid(&words) {
            account.get_or_insert(chuid);
        }
        // Variables such as DAEMON=/srv/mg/bin/paster hold the command.
        let values: Vec<String> = words
            .iter()
            .map(|w| w.split_once('=').map_or(w.as_str(), |(_, v)| v).to_string())
            .flat_map(|w| systemd::split_words(&w))
            .collect();
        // DAEMON_ARGS is the skeleton's arguments of DAEMON, whatever they
        // are (uWSGI's `--ini FILE` too).
        let daemon_arguments = words.iter().any(|w| w.starts_with("DAEMON_ARGS="));
        let runs_something = daemon_arguments
            || values.iter().any(|w| {
                matches!(
                    basename(w),
                    "paster" | "lazyserver.sh" | "lazycelery.sh" | "celery" | "celeryd" | "uwsgi"
                ) || is_fastcgi_argument(w)
            });
        if runs_something {
            first_span.get_or_insert(span);
            words_so_far.extend(values);
        }
    }
    let role = role_of(&words_so_far)?;
    Some(Service {
        path: path.to_path_buf(),
        manager: Manager::SysV,
        role,
        source: Arc::clone(source),
        command: words_so_far,
        command_span: first_span.unwrap_or_default(),
        environment,
        user: account.as_ref().map(|(user, _)| user.clone()),
        group: account.and_then(|(_, group)| group),
        unit: None,
        drop_ins: Vec::new(),
    })
}

/// `start-stop-daemon … --chuid USER[:GROUP]` (or `-c`): who it runs the
/// program as.
pub fn start_stop_daemon_chuid(words: &[String]) -> Option<(String, Option<String>)> {
    let at = words
        .iter()
        .position(|w| basename(w) == "start-stop-daemon")?;
    let mut rest = words.iter().skip(at + 1).take_while(|w| *w != "--");
    while let Some(word) = rest.next() {
        let value = match word.as_str() {
            "--chuid" | "-c" => rest.next().cloned(),
            w => w.strip_prefix("--chuid=").map(str::to_string),
        };
        if let Some(value) = value {
            return Some(match value.split_once(':') {
                Some((user, group)) => (user.to_string(), Some(group.to_string())),
                None => (value, None),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        systemd::split_words(text)
    }

    #[test]
    fn commands_are_classified_by_what_they_run() {
        let role = |t: &str| role_of(&words(t));
        assert_eq!(
            role(
                "/srv/mg/bin/paster serve /srv/mg/paste.ini --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543"
            ),
            Some(Role::FastCgi)
        );
        assert_eq!(
            role("/srv/mg/lazyserver.sh --server-name=fcgi fcgi_host=127.0.0.1"),
            Some(Role::FastCgi)
        );
        assert_eq!(
            role("/srv/mg/bin/paster serve /srv/mg/paste.ini --server-name=main"),
            Some(Role::Http)
        );
        assert_eq!(
            role("/srv/mg/bin/celery worker --loglevel=INFO"),
            Some(Role::Celery)
        );
        assert_eq!(
            role("/usr/bin/uwsgi --ini /etc/uwsgi/mg.ini"),
            Some(Role::Uwsgi)
        );
        assert_eq!(role("/bin/mkdir -p /run/mediagoblin"), None);
    }

    #[test]
    fn paths_are_matched_whole() {
        let text = "WorkingDirectory=/srv/mg2\nExecStart=/srv/mg/bin/paster";
        assert!(mentions_path(text, Path::new("/srv/mg")));
        assert!(!mentions_path("x=/srv/mg2/bin", Path::new("/srv/mg")));
        assert!(mentions_path("cd /srv/mg;", Path::new("/srv/mg/")));
    }

    #[test]
    fn supervisor_environment_is_a_comma_list() {
        assert_eq!(
            supervisor_environment("A=\"one, two\",B=three, C='x'"),
            [
                ("A".to_string(), "one, two".to_string()),
                ("B".to_string(), "three".to_string()),
                ("C".to_string(), "x".to_string()),
            ]
        );
    }

    #[test]
    fn init_scripts_name_their_daemon_in_variables() {
        let text = "#!/bin/sh\nDAEMON=/srv/mg/bin/paster\nDAEMON_ARGS=\"serve /srv/mg/paste.ini --server-name=fcgi fcgi_port=26543\"\nexport CELERY_ALWAYS_EAGER=false\nstart-stop-daemon --start --exec $DAEMON -- $DAEMON_ARGS\n";
        let source = SourceFile::new("/etc/init.d/mediagoblin", text);
        let service = init_script(Path::new("/etc/init.d/mediagoblin"), &source).unwrap();
        assert_eq!(service.role, Role::FastCgi);
        assert_eq!(service.env("CELERY_ALWAYS_EAGER"), Some("false"));
        assert_eq!(service.place(), "/etc/init.d/mediagoblin:2:1");
    }
}
