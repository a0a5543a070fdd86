//! `mgdeploy check`: run every rule and print the findings.

use super::{Failure, Status, confirm_and_commit, say, write_stdout};
use crate::check::registry::{RULES, rule};
use crate::check::suppress::{Selection, filter};
use crate::check::{counts, fix, run};
use crate::cli::{CheckArgs, CheckFormat};
use crate::deploy::Deployment;
use crate::deploy::discover::discover;
use crate::diagnostic::{Diagnostic, Severity};
use crate::report;

fn explain(code: &str) -> Result<Status, Failure> {
    let Some(rule) = rule(code) else {
        let known: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        return Err(Diagnostic::error(format!(
            "no rule {code}; the rules are {}",
            known.join(", ")
        ))
        .into());
    };
    write_stdout(report::rules::text(rule).as_bytes())?;
    Ok(Status::Clean)
}

/// `--explain` without a code: every rule, one line each.
fn list_rules() -> Result<Status, Failure> {
    write_stdout(report::rules::list().as_bytes())?;
    Ok(Status::Clean)
}

pub fn check(args: &CheckArgs) -> Result<Status, Failure> {
    match &args.explain {
        Some(Some(code)) => return explain(code),
        Some(None) => return list_rules(),
        None => {}
    }
    let config = super::load_config(&args.discovery)?;
    let selection = Selection {
        select: args.select.clone().or(config.check.select.clone()),
        ignore: config
            .check
            .ignore
            .iter()
            .chain(&args.ignore)
            .copied()
            .collect(),
    };
    let fcgi_address = args
        .fcgi_address
        .as_ref()
        .or(config.migrate.fcgi_address.as_ref());
    let lint = || -> Result<(Vec<Diagnostic>, Option<Deployment>), Failure> {
        let (findings, deployment) = match discover(&super::discovery(&args.discovery, &config)) {
            Ok((deployment, problems)) => {
                let findings = run(&deployment, &problems, fcgi_address);
                (findings, Some(deployment))
            }
            // A file that does not parse is a finding, not a reason to give
            // up; only a deployment that cannot be found or read is.
            Err(error) if error.primary().is_some() => {
                (vec![error.with_code(crate::check::SYNTAX_ERROR.code)], None)
            }
            Err(error) => return Err(error.into()),
        };
        Ok((
            filter(findings, deployment.as_ref(), &selection),
            deployment,
        ))
    };
    let (mut findings, deployment) = lint()?;
    if let Some(deployment) = &deployment {
        super::describe_deployment(deployment);
    }
    if args.fix || args.diff {
        let Some(deployment) = &deployment else {
            // Nothing parsed: there is nothing to fix, only MG001 to show.
            return report_findings(args, &findings);
        };
        let fixes = fix::plan(deployment, &findings, args.unsafe_fixes, || {
            lint().map(|(f, _)| f)
        })?;
        if fixes.unsafe_left > 0 && !args.unsafe_fixes {
            say(&format!(
                "{} finding(s) have a fix that changes behaviour; --unsafe-fixes makes them too.",
                fixes.unsafe_left
            ));
        }
        if fixes.broke_a_file {
            say(
                "A round of fixes would have left a file nginx, uWSGI or Python cannot read; it was left out (please report it).",
            );
        }
        if fixes.deferred > 0 {
            say(&format!(
                "{} fix(es) touch text another fix changes: run again to make them.",
                fixes.deferred
            ));
        }
        if findings
            .iter()
            .any(|d| d.code == Some(crate::check::mount::STILL_FASTCGI.code))
        {
            say("MG004's fix is the move itself: `mgdeploy migrate` plans it.");
        }
        let targets = crate::apply::resolve(&fixes.plan)?;
        if targets.is_empty() {
            say("No fixes to make.");
            if args.diff || args.dry_run {
                return Ok(Status::Clean);
            }
        } else {
            let diff = report::diff::of_targets(
                &targets,
                report::diff::Reader::Person { color: true },
                false,
            );
            if args.diff || args.dry_run {
                write_stdout(diff.as_bytes())?;
                say(&format!(
                    "{} finding(s) would be fixed; nothing was written.",
                    fixes.fixed
                ));
                return Ok(Status::Attention);
            }
            // The findings go to stdout in the chosen format; the diff
            // joins them only where it cannot spoil a machine format.
            if args.format == CheckFormat::Text {
                write_stdout(diff.as_bytes())?;
            } else {
                super::write_stderr(diff.as_bytes());
            }
            let status = confirm_and_commit(
                &fixes.plan,
                &targets,
                args.confirm.yes,
                &format!("Fix {} finding(s)?", fixes.fixed),
            )?;
            if status == Status::Clean {
                // What is left is what the fixed files say.
                findings = lint()?.0;
            }
        }
    }
    let status = report_findings(args, &findings);
    // The process ends next: freeing a fleet's tree node by node would add
    // a tenth to the run, for memory the exit returns anyway.
    std::mem::forget(deployment);
    status
}

/// Prints `findings` in the chosen format; the exit status they make.
fn report_findings(args: &CheckArgs, findings: &[Diagnostic]) -> Result<Status, Failure> {
    let text = match args.format {
        CheckFormat::Text => {
            let (errors, warnings, infos) = counts(findings);
            let mut text = report::text::render(findings, true);
            if super::verbosity() != super::Verbosity::Quiet {
                if findings.is_empty() {
                    text.push_str("No problems found.\n");
                } else {
                    text.push_str(&format!(
                        "{errors} error(s), {warnings} warning(s), {infos} note(s).\n"
                    ));
                }
            }
            text
        }
        CheckFormat::Json => report::json::render(findings),
        CheckFormat::Sarif => report::sarif::render(findings),
        CheckFormat::Github => report::github::render(findings),
        CheckFormat::Rdjsonl => report::rdjsonl::render(findings),
        CheckFormat::Gitlab => report::gitlab::render(findings),
    };
    // Only the text format has color to strip.
    if args.format == CheckFormat::Text {
        write_stdout(text.as_bytes())?;
    } else {
        super::write_stdout_plain(text.as_bytes())?;
    }
    let errors = findings.iter().any(|d| d.severity == Severity::Error);
    Ok(if errors && !args.exit_zero {
        Status::Attention
    } else {
        Status::Clean
    })
}
