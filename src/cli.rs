//! The command line: clap types only. `commands` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::migrate::options::{self, Mount};
use crate::protocol::Address;

fn parse_mount(text: &str) -> Result<Mount, String> {
    Mount::parse(text)
}

fn parse_socket(text: &str) -> Result<Address, String> {
    Address::parse_cli(text).map_err(|e| e.to_string())
}

fn parse_user(text: &str) -> Result<String, String> {
    options::account_name("user", text)
}

fn parse_group(text: &str) -> Result<String, String> {
    options::account_name("group", text)
}

fn parse_plugin(text: &str) -> Result<String, String> {
    options::plugin_name(text)
}

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

    /// Print only the diff or the findings: no summary, no notes.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also say which files were read and what was chosen on the way.
    #[arg(short, long, global = true)]
    pub verbose: bool,

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
    /// Plan the move from FastCGI to uWSGI, show it as a diff, and apply it.
    ///
    /// Reads the nginx configuration, paste.ini, mediagoblin.ini and
    /// lazystarter.sh; rewrites the nginx location that passes to MediaGoblin
    /// over FastCGI into a uWSGI one, writes a uWSGI ini, patches
    /// lazystarter.sh, and prints all of it as a unified diff with a summary
    /// of what changed, what was dropped and why, and what to do next.
    /// Writes only after a yes (or --yes), every file or none.
    ///
    /// Exit status: 0 nothing to change or applied, 1 changes pending
    /// (--dry-run, or not confirmed), 2 could not plan or apply.
    Migrate(Box<MigrateArgs>),

    /// Lint a deployment, before or after the move: nginx, paste.ini,
    /// mediagoblin.ini and the uWSGI ini together.
    ///
    /// Every finding has a stable code (MG001...), a severity, the file, line
    /// and column, and help; `--explain CODE` says more about a rule.
    /// Exit status: 1 when any finding is an error, 0 otherwise, 2 when the
    /// deployment cannot be read at all.
    Check(Box<CheckArgs>),

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

    /// Write the manual pages: mgdeploy(1) and one per subcommand.
    ///
    /// Without --dir, prints mgdeploy(1) (roff) on standard output.
    Manpage(ManpageArgs),
}

#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write mgdeploy.1, mgdeploy-migrate.1, ... into DIR.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
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

/// Where the deployment's files are. A bare `mgdeploy migrate` inside a
/// MediaGoblin checkout finds everything itself.
#[derive(Clone, Debug, Args)]
pub struct DiscoveryArgs {
    /// The MediaGoblin checkout [default: .].
    #[arg(short = 'C', long = "root", value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The Paste configuration [default: paste_local.ini if it exists, else paste.ini].
    #[arg(long, value_name = "FILE")]
    pub paste: Option<PathBuf>,

    /// MediaGoblin's configuration [default: the first file of the app's
    /// `config` setting that exists: mediagoblin_local.ini, mediagoblin.ini].
    #[arg(long = "mediagoblin-ini", value_name = "FILE")]
    pub mediagoblin_ini: Option<PathBuf>,

    /// The nginx site file or nginx.conf; includes are followed [default:
    /// search /etc/nginx for the server that passes to MediaGoblin].
    #[arg(long, value_name = "FILE")]
    pub nginx: Option<PathBuf>,

    /// What relative `include` paths start from [default: the directory of
    /// nginx.conf, /etc/nginx].
    #[arg(long = "nginx-prefix", value_name = "DIR")]
    pub nginx_prefix: Option<PathBuf>,

    /// The uWSGI ini: where migrate writes it and what check reads
    /// [default: <root>/mediagoblin-uwsgi.ini].
    #[arg(long = "uwsgi-ini", value_name = "FILE")]
    pub uwsgi_ini: Option<PathBuf>,

    /// The systemd unit, init script or supervisor program that starts the
    /// site [default: searched in /etc/systemd/system, /lib/systemd/system,
    /// /usr/lib/systemd/system, /etc/init.d and /etc/supervisor/conf.d].
    #[arg(long, value_name = "FILE")]
    pub service: Option<PathBuf>,

    /// The server's tree mirrored here (an ops repository with etc/nginx,
    /// srv/...): absolute paths, given or in configurations, are the
    /// server's and are read under DIR; what mgdeploy writes keeps the
    /// server's paths. For code review on a machine that is not the server.
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,

    /// Read defaults from FILE [default: mgdeploy.toml in the current
    /// directory or above it, up to the root of the git work tree].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Read no mgdeploy.toml.
    #[arg(long)]
    pub no_config: bool,
}

impl DiscoveryArgs {
    /// Which mgdeploy.toml to read.
    pub fn config_choice(&self) -> crate::config::Choice {
        match (&self.config, self.no_config) {
            (_, true) => crate::config::Choice::Ignore,
            (Some(file), false) => crate::config::Choice::File(file.clone()),
            (None, false) => crate::config::Choice::Find,
        }
    }

    /// Where discovery looks, as the domain takes it: the command line,
    /// else the configuration.
    pub fn discovery(&self, config: &crate::config::Config) -> crate::deploy::discover::Discovery {
        let defaults = &config.locations;
        let pick =
            |given: &Option<PathBuf>, default: &Option<PathBuf>| given.clone().or(default.clone());
        crate::deploy::discover::Discovery {
            root: pick(&self.root, &defaults.root).unwrap_or_else(|| PathBuf::from(".")),
            paste: pick(&self.paste, &defaults.paste),
            mediagoblin_ini: pick(&self.mediagoblin_ini, &defaults.mediagoblin_ini),
            nginx: pick(&self.nginx, &defaults.nginx),
            nginx_prefix: pick(&self.nginx_prefix, &defaults.nginx_prefix),
            uwsgi_ini: pick(&self.uwsgi_ini, &defaults.uwsgi_ini),
            service: pick(&self.service, &defaults.service),
            sysroot: pick(&self.sysroot, &defaults.sysroot),
            written_uwsgi_ini: None,
        }
    }
}

/// How MediaGoblin learns the URL prefix it is served under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScriptName {
    /// uWSGI `mount` + `manage-script-name`: nginx sends nothing extra.
    Mount,
    /// nginx sends SCRIPT_NAME, uWSGI strips it with `route-run = fixpathinfo:`.
    Fixpathinfo,
    /// `uwsgi_modifier1 30`, as old guides show. Does nothing on Python 3.
    Modifier1,
}

impl From<ScriptName> for options::ScriptName {
    fn from(value: ScriptName) -> Self {
        match value {
            ScriptName::Mount => options::ScriptName::Mount,
            ScriptName::Fixpathinfo => options::ScriptName::Fixpathinfo,
            ScriptName::Modifier1 => options::ScriptName::Modifier1,
        }
    }
}

impl MigrationArgs {
    /// The migration's options (validated while parsing): the command
    /// line, else the configuration's `[migrate]`, else the defaults.
    pub fn options(&self, config: &crate::config::Config) -> options::Options {
        let defaults = &config.migrate;
        let standard = options::Options::default();
        options::Options {
            from: self.from.or(defaults.from),
            mount: self.mount.clone().or(defaults.mount.clone()),
            script_name: self
                .script_name
                .map(Into::into)
                .or(defaults.script_name)
                .unwrap_or(standard.script_name),
            socket: self.socket.clone().or(defaults.socket.clone()),
            fcgi_address: self.fcgi_address.clone().or(defaults.fcgi_address.clone()),
            user: self.user.clone().or(defaults.user.clone()),
            group: self.group.clone().or(defaults.group.clone()),
            processes: self
                .processes
                .or(defaults.processes)
                .unwrap_or(standard.processes),
            plugin: self.plugin.clone().or(defaults.plugin.clone()),
            templates: self.templates.clone().or(defaults.templates.clone()),
            service_style: self.service_style.or(defaults.service_style),
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct MigrationArgs {
    /// The server MediaGoblin is moved from: fastcgi (paster/flup behind
    /// fastcgi_pass, MediaGoblin up to 0.9) or http (paster/waitress behind
    /// proxy_pass, 0.10 and later) [default: the one nginx reaches today].
    #[arg(long, value_name = "SERVER", value_parser = parse_from)]
    pub from: Option<options::Origin>,

    /// URL prefix to serve MediaGoblin under, e.g. / or /mediagoblin [default: keep today's].
    #[arg(long, value_name = "PATH", value_parser = parse_mount)]
    pub mount: Option<Mount>,

    /// How the prefix reaches MediaGoblin [default: mount].
    #[arg(long = "script-name", value_enum)]
    pub script_name: Option<ScriptName>,

    /// Address uWSGI listens on: unix:/path or host:port [default: the address nginx passes to today].
    #[arg(long, value_name = "ADDR", value_parser = parse_socket)]
    pub socket: Option<Address>,

    /// Which FastCGI address (host:port, unix:/path or an upstream's name) is
    /// MediaGoblin's, when more than one could be.
    #[arg(long = "fcgi-address", value_name = "ADDR", value_parser = options::fcgi_address)]
    pub fcgi_address: Option<Address>,

    /// User uWSGI runs MediaGoblin as [default: the User= of the service
    /// that starts the site, else the ini's uid, else the owner of the
    /// checkout; asked for in a --sysroot mirror].
    #[arg(long, value_name = "USER", value_parser = parse_user)]
    pub user: Option<String>,

    /// Group uWSGI runs MediaGoblin as [default: found as the user is].
    #[arg(long, value_name = "GROUP", value_parser = parse_group)]
    pub group: Option<String>,

    /// Number of uWSGI worker processes, 1 to 1024 [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub processes: Option<u32>,

    /// uWSGI's Python plugin (e.g. python3, python27) [default: the one that
    /// runs the virtualenv's Python; none for a uWSGI installed in it].
    #[arg(long, value_name = "NAME", value_parser = parse_plugin)]
    pub plugin: Option<String>,

    /// A directory with your own uwsgi.ini.tera to use instead of the built-in template.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// What starts uWSGI after the move: systemd (the unit that started
    /// FastCGI, rewritten, or a new one), debian-apps (Debian's uwsgi
    /// package: /etc/uwsgi/apps-available, linked from apps-enabled),
    /// emperor (a vassal in /etc/uwsgi-emperor/vassals), or none [default:
    /// what started FastCGI; else the emperor or Debian's apps directory
    /// when the host has one; else none].
    #[arg(long = "service-style", value_name = "STYLE", value_parser = parse_service_style)]
    pub service_style: Option<options::ServiceStyle>,
}

fn parse_from(text: &str) -> Result<options::Origin, String> {
    options::Origin::parse(text)
}

fn parse_service_style(text: &str) -> Result<options::ServiceStyle, String> {
    options::ServiceStyle::parse(text)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// The diff, colored on a terminal, then a summary.
    Text,
    /// The plan and its notes as one JSON document.
    Json,
    /// Only the diff, for `git apply`.
    Patch,
    /// A merge-request comment: a status line, the summary under headings,
    /// and each file's diff in a collapsible block.
    Markdown,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub discovery: DiscoveryArgs,

    #[command(flatten)]
    pub migration: MigrationArgs,

    /// Show the plan and write nothing; exit 1 when there are changes.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,

    /// How to print the plan.
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,

    /// Exit 0 when the plan has changes (or was not confirmed), for a CI
    /// step that posts the plan; failures still exit 2.
    #[arg(long)]
    pub exit_zero: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Like a compiler: the line, a caret, help.
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
    /// reviewdog's Diagnostic JSON, one per line (`reviewdog -f=rdjsonl`).
    Rdjsonl,
    /// GitLab's Code Quality report (`artifacts:reports:codequality`).
    Gitlab,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub discovery: DiscoveryArgs,

    /// How to print the findings.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,

    /// Report only these rules (codes, comma-separated) [default: all, or
    /// mgdeploy.toml's `[check] select`].
    #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = parse_code)]
    pub select: Option<Vec<&'static str>>,

    /// Do not report these rules (added to mgdeploy.toml's `[check] ignore`).
    #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = parse_code)]
    pub ignore: Vec<&'static str>,

    /// Exit 0 even when there are error findings; failures still exit 2.
    #[arg(long)]
    pub exit_zero: bool,

    /// Which FastCGI address is MediaGoblin's, when several could be (as
    /// for migrate) [default: mgdeploy.toml's `[migrate] fcgi-address`].
    #[arg(long = "fcgi-address", value_name = "ADDR", value_parser = options::fcgi_address)]
    pub fcgi_address: Option<Address>,

    /// Apply the safe fixes of the findings: shown as a diff, asked for
    /// (or --yes), written as one transaction that `rollback` undoes, with
    /// `nginx -t` before it is kept. Then report what is left.
    #[arg(long)]
    pub fix: bool,

    /// With --fix or --diff: also the fixes that change behaviour (each
    /// finding says which kind its fix is).
    #[arg(long)]
    pub unsafe_fixes: bool,

    /// Show the fixes as a diff and write nothing (exit 1 when there are
    /// fixes to make).
    #[arg(long, conflicts_with = "fix")]
    pub diff: bool,

    /// With --fix: show the fixes and write nothing, as --diff does.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,

    /// Explain a rule (e.g. MG009) instead of checking; without CODE, list
    /// the rules.
    #[arg(
        long,
        value_name = "CODE",
        num_args = 0..=1,
        ignore_case = true,
        hide_possible_values = true,
        value_parser = explain_code()
    )]
    pub explain: Option<Option<String>>,
}

fn parse_code(text: &str) -> Result<&'static str, String> {
    crate::check::registry::parse_code(text)
}

/// `--explain`'s values: the codes (completed by the shell, either case).
fn explain_code() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::check::registry::RULES
            .iter()
            .map(|rule| clap::builder::PossibleValue::new(rule.code).help(rule.summary)),
    )
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

    /// Apply to a mirror of the server's tree in DIR instead of to this
    /// machine's files (the plan names the server's paths).
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Where the deployment is, as for migrate; rollback needs only --root,
    /// whose .mgdeploy/ records the change, and accepts the rest so that
    /// migrate's command line works here too.
    #[command(flatten)]
    pub discovery: DiscoveryArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
