//! The command line: clap types only. `commands` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "mgdeploy",
    version,
    about = "Move a GNU MediaGoblin site from FastCGI to uWSGI behind nginx, and keep it healthy",
    long_about = "Move a GNU MediaGoblin site from the old paster → flup → FastCGI → nginx chain to \
                  uWSGI → nginx, safely, and keep that deployment honest afterwards.\n\n\
                  Exit codes: 0 nothing to do / no errors, 1 changes pending or errors found, \
                  2 mgdeploy could not do its job (bad arguments, unreadable or malformed input).",
    propagate_version = true
)]
pub struct Cli {
    /// When to color the output.
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "auto",
        env = "MGDEPLOY_COLOR"
    )]
    pub color: ColorWhen,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an nginx configuration as JSON, in crossplane's format.
    ///
    /// Includes are followed (relative to the file's directory) unless
    /// --single-file is given. Exit status: 0 when every file parsed, 1 when
    /// any file failed, 2 when FILE cannot be read.
    Parse(ParseArgs),

    /// Apply a plan saved as JSON, after showing it as a diff.
    ///
    /// Every file is written or none is; each replaced file keeps its owner
    /// and mode and is backed up under <root>/.mgdeploy/, so `mgdeploy
    /// rollback` can undo it. A file that changed since the plan was made
    /// stops everything. Exit status: 0 applied or nothing to do, 1 not
    /// confirmed, 2 could not apply (nothing was left half-written).
    Apply(ApplyArgs),

    /// Undo the last applied (or interrupted) change, after showing it as a diff.
    ///
    /// Restores every file byte for byte, with its owner, mode and symlinks,
    /// and removes the files the change created. Exit status: 0 restored or
    /// nothing to undo, 1 not confirmed, 2 could not restore.
    Rollback(RollbackArgs),

    /// Print a shell completion script.
    ///
    /// For bash: mgdeploy completions bash > ~/.local/share/bash-completion/completions/mgdeploy
    Completions(CompletionsArgs),

    /// Print the manual page (roff) on standard output.
    #[command(hide = true)]
    Manpage,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The nginx configuration file.
    pub file: PathBuf,

    /// Do not follow `include` directives.
    #[arg(long)]
    pub single_file: bool,

    /// Add comments to the output as `{"directive": "#", "comment": ...}`.
    #[arg(long)]
    pub include_comments: bool,

    /// What relative `include` paths start from (default: the directory of FILE).
    #[arg(long, value_name = "DIR")]
    pub nginx_prefix: Option<PathBuf>,

    /// Indent the JSON by this many spaces (default: compact, as crossplane).
    #[arg(long, value_name = "N")]
    pub indent: Option<usize>,
}

/// Asking before writing.
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Write without asking. Without it, mgdeploy asks on a terminal and
    /// writes nothing when there is no terminal to ask on.
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan: JSON as `mgdeploy migrate --format json` prints it.
    pub plan: PathBuf,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The MediaGoblin checkout whose .mgdeploy/ records the change.
    #[arg(short = 'C', long = "root", value_name = "DIR", default_value = ".")]
    pub root: PathBuf,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
