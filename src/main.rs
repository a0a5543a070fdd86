//! The `mgdeploy` binary: parse arguments, run the command, map the outcome
//! to an exit code (0 clean, 1 attention, 2 could not do the job).

use std::process::ExitCode;

use clap::Parser;
use mgdeploy::cli::{Cli, ColorWhen, Command};
use mgdeploy::commands::{self, Failure, Status};
use mgdeploy::diagnostic::Diagnostic;

fn main() -> ExitCode {
    // Run by Ansible as its `migrate` or `check` module: one argument, the
    // file of module arguments.
    let invocation: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Run by mgdeploy itself, in a mount namespace of its own, to confine
    // `nginx -t` (nginx::confine).
    if invocation
        .get(1)
        .is_some_and(|a| a == mgdeploy::nginx::confine::HELPER)
    {
        mgdeploy::nginx::confine::helper(invocation.get(2..).unwrap_or_default());
    }
    if let (Some(module), Some(file)) = (
        mgdeploy::ansible::Module::from_invocation(&invocation),
        invocation.get(1),
    ) {
        return mgdeploy::ansible::run(module, std::path::Path::new(file));
    }
    // clap prints help and usage errors while parsing, so the color choice
    // must be known before it runs.
    apply_color(color_from_args());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and --version are output like any other: failing to
            // write them (a full disk) is failing (a closed pipe is not).
            let printed = error.print();
            let failed = error.use_stderr()
                || printed.is_err_and(|e| e.kind() != std::io::ErrorKind::BrokenPipe);
            return ExitCode::from(if failed { 2 } else { 0 });
        }
    };
    apply_color(Some(cli.color));
    commands::set_verbosity(if cli.quiet {
        commands::Verbosity::Quiet
    } else if cli.verbose {
        commands::Verbosity::Verbose
    } else {
        commands::Verbosity::Normal
    });
    let mut report = |diagnostics: &[Diagnostic]| {
        if !diagnostics.is_empty() {
            {
                use std::io::Write;
                let text = mgdeploy::report::text::render(diagnostics, true);
                let _ = write!(anstream::stderr(), "{text}");
            }
        }
    };
    let outcome: Result<Status, Failure> = match &cli.command {
        Command::Parse(args) => commands::parse::parse(args, &mut report),
        Command::Migrate(args) => commands::migrate::migrate(args, &mut report),
        Command::Check(args) => commands::check::check(args),
        Command::Apply(args) => commands::apply::apply(args),
        Command::Rollback(args) => commands::rollback::rollback(args),
        Command::Completions(args) => commands::completions::completions(args),
        Command::Manpage(args) => commands::manual::manpage(args),
    };
    match outcome {
        Ok(status) => ExitCode::from(status.code()),
        Err(failure) => {
            report(&failure.diagnostics);
            ExitCode::from(2)
        }
    }
}

/// `--color` as given on the command line, looked up before clap runs.
fn color_from_args() -> Option<ColorWhen> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--color") => args.next(),
            Some(other) => other.strip_prefix("--color=").map(Into::into),
            None => None,
        };
        if let Some(value) = value {
            return match value.to_str() {
                Some("always") => Some(ColorWhen::Always),
                Some("never") => Some(ColorWhen::Never),
                _ => Some(ColorWhen::Auto),
            };
        }
    }
    None
}

fn apply_color(color: Option<ColorWhen>) {
    let choice = match color {
        Some(ColorWhen::Always) => anstream::ColorChoice::Always,
        Some(ColorWhen::Never) => anstream::ColorChoice::Never,
        Some(ColorWhen::Auto) | None => anstream::ColorChoice::Auto,
    };
    choice.write_global();
}
