//! `mgdeploy migrate`: plan the move to uWSGI, show it, and apply it.

use super::{Failure, Status, confirm_and_commit, write_stdout};
use crate::apply::{check_no_unfinished, resolve};
use crate::cli::{MigrateArgs, PlanFormat};
use crate::deploy::discover::discover;
use crate::deploy::locations::{escalate_missing_includes, mediagoblin_locations};
use crate::diagnostic::{Diagnostic, Severity};
use crate::migrate::plan;
use crate::report::plan as plan_report;

pub fn migrate(
    args: &MigrateArgs,
    report: &mut dyn FnMut(&[Diagnostic]),
) -> Result<Status, Failure> {
    let config = super::load_config(&args.discovery)?;
    let (deployment, problems) = discover(&super::discovery(&args.discovery, &config))?;
    super::describe_deployment(&deployment);
    check_no_unfinished(&deployment.root)?;
    let mut nginx_problems = problems.nginx;
    let options = args.migration.options(&config);
    if let Ok(selection) = mediagoblin_locations(&deployment, options.fcgi_address.as_ref()) {
        let ours: Vec<_> = selection.fastcgi.iter().chain(&selection.http).collect();
        escalate_missing_includes(&mut nginx_problems, &ours);
    }
    // nginx would refuse what is an error here: nothing is planned on it.
    let (errors, mut warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = nginx_problems
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(Failure {
            diagnostics: errors,
        });
    }
    warnings.extend(
        problems
            .other
            .into_iter()
            .map(|d| d.with_severity(Severity::Warning)),
    );
    report(&warnings);
    let migration = plan(&deployment, &options)?;
    let targets = resolve(&migration.plan)?;
    let format = match args.format {
        PlanFormat::Text => plan_report::Format::Text,
        PlanFormat::Json => plan_report::Format::Json,
        PlanFormat::Patch => plan_report::Format::Patch,
        PlanFormat::Markdown => plan_report::Format::Markdown,
    };
    // -q: the diff alone.
    let quiet = super::verbosity() == super::Verbosity::Quiet;
    let rendered = plan_report::render(format, &migration, &targets, quiet);
    if args.format == PlanFormat::Text {
        write_stdout(rendered.as_bytes())?;
    } else if args.format == PlanFormat::Patch
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        // A patch on a terminal is read, not applied: shown, not obeyed.
        write_stdout(crate::report::visible::visible(&rendered).as_bytes())?;
    } else {
        super::write_stdout_plain(rendered.as_bytes())?;
    }
    if targets.is_empty() {
        return Ok(Status::Clean);
    }
    let status = if args.dry_run {
        Status::Attention
    } else {
        confirm_and_commit(
            &migration.plan,
            &targets,
            args.confirm.yes,
            "Apply these changes?",
        )?
    };
    // A CI step that posts the plan must not fail on it.
    Ok(if args.exit_zero {
        Status::Clean
    } else {
        status
    })
}
