//! One module per subcommand. Each returns what the exit code should say, or
//! the diagnostics that stopped it (exit code 2).

pub mod apply;
pub mod check;
pub mod completions;
pub mod manual;
pub mod migrate;
pub mod parse;
pub mod rollback;

use crate::diagnostic::Diagnostic;

/// How a command that ran to the end went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exit 0: nothing to change, no error-level findings, or applied.
    Clean,
    /// Exit 1: changes pending, or error-level findings.
    Attention,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Clean => 0,
            Status::Attention => 1,
        }
    }
}

/// Why a command could not do its job (exit 2).
#[derive(Debug)]
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
}

impl From<Diagnostic> for Failure {
    fn from(diagnostic: Diagnostic) -> Self {
        Failure {
            diagnostics: vec![diagnostic],
        }
    }
}

impl Failure {
    pub fn io(what: &str, error: &std::io::Error) -> Self {
        Diagnostic::error(format!("{what}: {error}")).into()
    }
}

/// Writes to standard output (without color escapes unless it is a
/// terminal that wants them); a closed pipe (`mgdeploy ... | head`) is not an
/// error worth reporting.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = anstream::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io("cannot write to standard output", &e)),
    }
}

/// Writes a machine format (JSON, SARIF, a patch) to standard output as it
/// is: no color was put in, so none is stripped (anstream's stripping
/// costs 15% of a large `parse`). A closed pipe is not an error.
pub fn write_stdout_plain(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    with_stdout_plain(|out| out.write_all(bytes))
}

/// Runs `write` on a buffered, plain standard output, flushed at the end;
/// for output streamed as it is made (a large `parse`).
pub fn with_stdout_plain(
    // A concrete writer: serde_json writes a few bytes at a time, and a
    // `dyn Write` would make each of them a call.
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    // Held so nothing else writes meanwhile; flushed so what it buffered
    // comes first.
    let mut lock = stdout.lock();
    // Written through a duplicate of the descriptor: std's standard output
    // looks for the last newline in everything written to it (a search
    // through the whole of a large `parse`'s JSON, which has none).
    let result = lock
        .flush()
        .and_then(|()| lock.as_fd().try_clone_to_owned())
        .and_then(|fd| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::from(fd));
            write(&mut out).and_then(|()| out.flush())
        });
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io("cannot write to standard output", &e)),
    }
}

/// Whether to go on and write: `--yes`, or a yes on the terminal. Says why
/// nothing was written otherwise.
pub fn proceed(yes: bool, question: &str, verb: &str) -> bool {
    if yes {
        return true;
    }
    match crate::prompt::confirm(question) {
        crate::prompt::Answer::Yes => true,
        crate::prompt::Answer::No => {
            say("Nothing was written.");
            false
        }
        crate::prompt::Answer::NoTerminal => {
            say(&format!(
                "Nothing was written: there is no terminal to ask on. Pass --yes to {verb} without asking."
            ));
            false
        }
    }
}

/// How much mgdeploy says on standard error besides its output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Only what stops it.
    Quiet,
    #[default]
    Normal,
    /// Also which files it read and what it chose.
    Verbose,
}

static VERBOSITY: std::sync::OnceLock<Verbosity> = std::sync::OnceLock::new();

/// Set once, from `-q`/`-v`, before any command runs.
pub fn set_verbosity(verbosity: Verbosity) {
    let _ = VERBOSITY.set(verbosity);
}

pub fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or_default()
}

/// A line for the person at the terminal, on standard error (not with
/// `-q`). Failing to write it (a closed stderr) is no reason to stop or to
/// panic.
pub fn say(line: &str) {
    if verbosity() != Verbosity::Quiet {
        use std::io::Write;
        let _ = writeln!(
            anstream::stderr(),
            "{}",
            crate::report::visible::visible(line)
        );
    }
}

/// Text for a person on standard error (a diff beside machine output).
pub fn write_stderr(bytes: &[u8]) {
    use std::io::Write;
    let _ = anstream::stderr().write_all(bytes);
}

/// A line only `-v` shows.
pub fn detail(line: &str) {
    if verbosity() == Verbosity::Verbose {
        use std::io::Write;
        let _ = writeln!(
            anstream::stderr(),
            "{}",
            crate::report::visible::visible(line)
        );
    }
}

/// The configuration the command line points at, said with `-v`.
pub fn load_config(
    discovery: &crate::cli::DiscoveryArgs,
) -> Result<crate::config::Config, Failure> {
    let config = crate::config::Config::load(&discovery.config_choice())?;
    if let Some(path) = &config.path {
        detail(&format!("Reading defaults from {}", path.display()));
    }
    Ok(config)
}

/// With `-v`: which files make up the deployment.
/// Where discovery looks (the command line, else the configuration), and
/// what this machine's journal knows: the uWSGI ini an earlier migration
/// wrote. A mirror's journal is a repository's file, never read.
pub fn discovery(
    args: &crate::cli::DiscoveryArgs,
    config: &crate::config::Config,
) -> crate::deploy::discover::Discovery {
    let mut discovery = args.discovery(config);
    if discovery.sysroot.is_none() {
        discovery.written_uwsgi_ini = std::fs::canonicalize(&discovery.root)
            .ok()
            .and_then(|root| crate::apply::last_written_uwsgi_ini(&root));
    }
    discovery
}

pub fn describe_deployment(deployment: &crate::deploy::Deployment) {
    if verbosity() != Verbosity::Verbose {
        return;
    }
    if let Some(dir) = deployment.sysroot.dir() {
        detail(&format!(
            "The server's files are mirrored in {}",
            dir.display()
        ));
    }
    detail(&format!("Checkout: {}", deployment.root.display()));
    detail(&format!("paste.ini: {}", deployment.paste.path.display()));
    if let Some(ini) = &deployment.mediagoblin_ini {
        detail(&format!("mediagoblin.ini: {}", ini.path.display()));
    }
    for file in &deployment.nginx.loaded.files {
        detail(&format!("nginx: {}", file.path.display()));
    }
    let ini_state = if deployment.uwsgi.is_some() {
        ""
    } else {
        " (not there)"
    };
    detail(&format!(
        "uWSGI ini: {}{ini_state}",
        deployment.uwsgi_path.display()
    ));
    for service in &deployment.services {
        detail(&format!("service: {}", service.path.display()));
    }
}

/// Asks (unless `yes`), then writes `targets` as one transaction, with
/// `nginx -t` through the plan's gate run with the new files in place
/// (when nginx is installed and mgdeploy runs as root). Shared by
/// `migrate` and `apply PLAN.json`, which must behave the same.
pub fn confirm_and_commit(
    plan: &crate::plan::Plan,
    targets: &[crate::apply::Target],
    yes: bool,
    question: &str,
) -> Result<Status, Failure> {
    if !proceed(yes, question, "apply them") {
        return Ok(Status::Attention);
    }
    let nginx = crate::nginx::binary::find().filter(|_| crate::apply::fsops::is_root());
    let validator = match (&plan.nginx_gate, &nginx) {
        // This machine's nginx would read this machine's /etc, not the mirror.
        _ if plan.sysroot.is_mirror() => None,
        (Some(gate), Some(nginx)) => Some(move || match gate.test(nginx)? {
            None => Ok(()),
            Some(why) => {
                say(&format!(
                    "nginx -t was not run: {why}. Run {} yourself before reloading nginx.",
                    gate.describe()
                ));
                Ok(())
            }
        }),
        _ => None,
    };
    let check: Option<&dyn Fn() -> Result<(), Diagnostic>> = match &validator {
        Some(validate) => Some(validate),
        None if plan.nginx_gate.is_some() && plan.sysroot.is_mirror() => {
            say(&format!(
                "nginx -t was not run: these are the server's files in a mirror. On the server, run {} before reloading nginx.",
                plan.nginx_gate
                    .as_ref()
                    .map_or_else(|| "nginx -t".to_string(), |g| g.describe())
            ));
            None
        }
        None if plan.nginx_gate.is_some() => {
            say(
                "nginx -t was not run (it needs nginx and root): run it yourself before reloading nginx.",
            );
            None
        }
        None => None,
    };
    let applied = crate::apply::commit(&plan.root, targets, check)?;
    say(&format!(
        "Applied {} file(s). `mgdeploy rollback -C {}` undoes this (backups in {}).",
        applied.files,
        plan.root.display(),
        applied.dir.display()
    ));
    Ok(Status::Clean)
}
