//! One module per subcommand. Each returns what the exit code should say, or
//! the diagnostics that stopped it (exit code 2).

pub mod apply;
pub mod check;
pub mod completions;
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

/// A line for the person at the terminal, on standard error. Failing to
/// write it (a closed stderr) is no reason to stop or to panic.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(anstream::stderr(), "{line}");
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
        (Some(gate), Some(nginx)) => Some(move || gate.test(nginx)),
        _ => None,
    };
    let check: Option<&dyn Fn() -> Result<(), Diagnostic>> = match &validator {
        Some(validate) => Some(validate),
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
