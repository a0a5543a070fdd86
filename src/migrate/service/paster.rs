//! paster's command line, as services start MediaGoblin's FastCGI (or HTTP)
//! server, said as uWSGI's: `paster serve paste.ini --server-name=fcgi
//! fcgi_host=… --pid-file=F --log-file=L --daemon` becomes `uwsgi --ini
//! INI --pidfile F --daemonize L`, `paster serve --pid-file=F paste.ini
//! stop` becomes `uwsgi --stop F`. What the uWSGI ini already says (the
//! paste.ini, the address) is left out; what has no uWSGI equivalent stops
//! the translation, so that a service is never rewritten into something
//! that does not mean what it did.

use crate::service::is_fastcgi_argument;

/// How the service manager runs the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supervision {
    /// systemd with `Type=notify`, supervisor: in the foreground; the
    /// manager keeps the process id and the log.
    Foreground,
    /// An init script: daemonized, with a pid file the script uses.
    Daemon,
}

/// What paster was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
}

/// A paster command read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasterCommand {
    /// `NAME=value` words before the program (an init script's environment).
    pub environment: Vec<String>,
    pub pid_file: Option<String>,
    pub log_file: Option<String>,
    pub daemon: bool,
    pub user: Option<String>,
    pub group: Option<String>,
    pub stop: bool,
    pub restart: bool,
    /// Words left out, and why, for the summary.
    pub dropped: Vec<(String, &'static str)>,
}

impl PasterCommand {
    pub fn action(&self) -> Action {
        if self.stop {
            Action::Stop
        } else if self.restart {
            Action::Restart
        } else {
            Action::Start
        }
    }
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Whether `word` is paster or lazyserver.sh.
pub fn is_program(word: &str) -> bool {
    matches!(basename(word), "paster" | "lazyserver.sh")
}

/// Reads `words` (the program and its arguments, environment assignments
/// before them allowed). An argument with no uWSGI meaning is an error
/// naming it.
pub fn read(words: &[String]) -> Result<PasterCommand, String> {
    let mut out = PasterCommand::default();
    let Some(program_at) = words.iter().position(|w| is_program(w)) else {
        return Err("it does not run paster or lazyserver.sh".to_string());
    };
    for word in words.iter().take(program_at) {
        if word.contains('=') && !word.starts_with('-') {
            out.environment.push(word.clone());
        } else {
            return Err(format!("`{word}` comes before paster"));
        }
    }
    let mut rest = words.iter().skip(program_at + 1).peekable();
    fn value_of<'w>(word: &'w str, name: &str) -> Option<&'w str> {
        word.strip_prefix(name).and_then(|v| v.strip_prefix('='))
    }
    while let Some(word) = rest.next() {
        let word = word.as_str();
        let mut take_value = |name: &str| -> Option<String> {
            match value_of(word, name) {
                Some(value) => Some(value.to_string()),
                None if word == name => rest.next().cloned(),
                None => None,
            }
        };
        if let Some(value) = take_value("--pid-file") {
            out.pid_file = Some(value);
        } else if let Some(value) = take_value("--log-file") {
            out.log_file = Some(value);
        } else if let Some(value) = take_value("--user") {
            out.user = Some(value);
        } else if let Some(value) = take_value("--group") {
            out.group = Some(value);
        } else if let Some(value) = take_value("--server-name") {
            out.dropped.push((
                format!("--server-name={value}"),
                "the uWSGI ini serves the site",
            ));
        } else {
            match word {
                "serve" | "start" => {}
                "--daemon" => out.daemon = true,
                "stop" | "--stop-daemon" => out.stop = true,
                "restart" => out.restart = true,
                "--reload" => out.dropped.push((
                    word.to_string(),
                    "paster's reloader is for development; uWSGI reloads on SIGHUP",
                )),
                "--monitor-restart" => out
                    .dropped
                    .push((word.to_string(), "the service manager restarts uWSGI")),
                w if is_fastcgi_argument(w) => out
                    .dropped
                    .push((w.to_string(), "the uWSGI ini says where uWSGI listens")),
                w if !w.starts_with('-') && w.ends_with(".ini") => out
                    .dropped
                    .push((w.to_string(), "the uWSGI ini loads the paste.ini")),
                w if !w.starts_with('-') && w.contains('=') => out.dropped.push((
                    w.to_string(),
                    "a paste.ini variable for the server, which uWSGI replaces",
                )),
                other => {
                    return Err(format!("`{other}` has no uWSGI equivalent mgdeploy knows"));
                }
            }
        }
    }
    Ok(out)
}

/// A word of the uWSGI command: mgdeploy's own (a value, escaped for the
/// file it lands in), or one the service gave paster, kept in that file's
/// syntax (a unit's `${LOGDIR}` or `%i` stays for systemd to expand, as it
/// did for paster).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Own(String),
    Given(String),
}

impl Arg {
    pub fn as_str(&self) -> &str {
        match self {
            Arg::Own(text) | Arg::Given(text) => text,
        }
    }
}

/// The words of a command, as text.
pub fn words(argv: &[Arg]) -> Vec<String> {
    argv.iter().map(|a| a.as_str().to_string()).collect()
}

/// The uWSGI command that does what `command` did, with `program` (the
/// uWSGI that runs the site) on `ini`.
pub fn uwsgi_argv(
    command: &PasterCommand,
    program: &str,
    ini: &str,
    supervision: Supervision,
) -> Result<Vec<Arg>, String> {
    let own = |text: &str| Arg::Own(text.to_string());
    let given = |text: &String| Arg::Given(text.clone());
    let mut argv = vec![own(program)];
    let pid_file = || {
        command.pid_file.clone().ok_or_else(|| {
            "paster stops and restarts by its --pid-file, and there is none".to_string()
        })
    };
    match command.action() {
        Action::Stop => {
            argv.extend([own("--stop"), Arg::Given(pid_file()?)]);
            return checked(argv);
        }
        Action::Restart => {
            argv.extend([own("--reload"), Arg::Given(pid_file()?)]);
            return checked(argv);
        }
        Action::Start => {}
    }
    argv.extend([own("--ini"), own(ini)]);
    if let Some(user) = &command.user {
        argv.extend([own("--uid"), given(user)]);
    }
    if let Some(group) = &command.group {
        argv.extend([own("--gid"), given(group)]);
    }
    match supervision {
        Supervision::Foreground => {
            if let Some(log) = &command.log_file {
                argv.extend([own("--logto"), given(log)]);
            }
        }
        Supervision::Daemon => {
            if let Some(pid) = &command.pid_file {
                argv.extend([own("--pidfile"), given(pid)]);
            }
            match (&command.log_file, command.daemon) {
                (Some(log), true) => argv.extend([own("--daemonize"), given(log)]),
                (None, true) => argv.extend([own("--daemonize"), own("/dev/null")]),
                (Some(log), false) => argv.extend([own("--logto"), given(log)]),
                (None, false) => {}
            }
            // Daemonizing clears uWSGI's umask: its pid file would be
            // world-writable, which start-stop-daemon refuses to trust.
            if command.daemon {
                argv.extend([own("--umask"), own("022")]);
            }
        }
    }
    checked(argv)
}

/// `argv` when uWSGI reads each of its words as written (no `$(…)`,
/// `@(…)` or `%(…)`, which it would expand and run).
fn checked(argv: Vec<Arg>) -> Result<Vec<Arg>, String> {
    for word in argv.iter().skip(1) {
        crate::escape::uwsgi_argument(word.as_str()).map_err(|e| e.to_string())?;
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_docs_unit_command() {
        let command = read(&words(
            "/srv/mg/bin/paster serve /srv/mg/paste_local.ini --pid-file=/var/run/mediagoblin/mediagoblin.pid --log-file=/var/log/mediagoblin/mediagoblin.log --daemon --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543",
        ))
        .unwrap();
        assert_eq!(
            super::words(
                &uwsgi_argv(
                    &command,
                    "/usr/bin/uwsgi",
                    "/srv/mg/uwsgi.ini",
                    Supervision::Foreground
                )
                .unwrap()
            ),
            words(
                "/usr/bin/uwsgi --ini /srv/mg/uwsgi.ini --logto /var/log/mediagoblin/mediagoblin.log"
            )
        );
        assert_eq!(
            super::words(
                &uwsgi_argv(&command, "uwsgi", "/srv/mg/uwsgi.ini", Supervision::Daemon).unwrap()
            ),
            words(
                "uwsgi --ini /srv/mg/uwsgi.ini --pidfile /var/run/mediagoblin/mediagoblin.pid --daemonize /var/log/mediagoblin/mediagoblin.log --umask 022"
            )
        );
        assert_eq!(command.dropped.len(), 4);
    }

    #[test]
    fn stop_and_restart_use_the_pid_file() {
        let stop = read(&words(
            "/srv/mg/bin/paster serve --pid-file=/run/mg.pid /srv/mg/paste.ini stop",
        ))
        .unwrap();
        assert_eq!(
            super::words(&uwsgi_argv(&stop, "uwsgi", "x.ini", Supervision::Daemon).unwrap()),
            words("uwsgi --stop /run/mg.pid")
        );
        let no_pid = read(&words("paster serve paste.ini restart")).unwrap();
        assert!(uwsgi_argv(&no_pid, "uwsgi", "x.ini", Supervision::Daemon).is_err());
    }

    #[test]
    fn environment_before_and_unknown_arguments() {
        let command = read(&words(
            "CELERY_ALWAYS_EAGER=true /srv/mg/bin/paster serve /srv/mg/paste.ini --server-name fcgi fcgi_port=26543",
        ))
        .unwrap();
        assert_eq!(command.environment, ["CELERY_ALWAYS_EAGER=true"]);
        assert!(read(&words("paster serve paste.ini --verbose")).is_err());
        assert!(read(&words("/bin/true")).is_err());
        let lazy = read(&words(
            "/srv/mg/lazyserver.sh --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543",
        ))
        .unwrap();
        assert_eq!(lazy.action(), Action::Start);
    }
}
