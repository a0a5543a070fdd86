//! `mgdeploy check`: run every rule and print the findings.

use super::{Failure, Status, write_stdout};
use crate::check::registry::{RULES, rule};
use crate::check::suppress::{Selection, filter};
use crate::check::{counts, run};
use crate::cli::{CheckArgs, CheckFormat};
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
    let text = format!(
        "{} ({}, {} by default): {}\n\n{}\n",
        rule.code,
        rule.name,
        rule.severity.as_str(),
        rule.summary,
        textwrap(rule.explanation, 78)
    );
    write_stdout(text.as_bytes())?;
    Ok(Status::Clean)
}

/// Wraps prose at `width` columns.
fn textwrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

/// `--explain` without a code: every rule, one line each.
fn list_rules() -> Result<Status, Failure> {
    let mut text = String::new();
    for rule in RULES {
        text.push_str(&format!(
            "{}  {:<7}  {:<28}  {}\n",
            rule.code,
            rule.severity.as_str(),
            rule.name,
            rule.summary
        ));
    }
    text.push_str("\n`mgdeploy check --explain CODE` says more about one.\n");
    write_stdout(text.as_bytes())?;
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
    let (findings, deployment) = match discover(&args.discovery.discovery(&config)) {
        Ok((deployment, problems)) => {
            super::describe_deployment(&deployment);
            (run(&deployment, &problems), Some(deployment))
        }
        // A file that does not parse is a finding, not a reason to give up;
        // only a deployment that cannot be found or read is.
        Err(error) if error.primary().is_some() => (vec![error.with_code("MG001")], None),
        Err(error) => return Err(error.into()),
    };
    let findings = filter(findings, deployment.as_ref(), &selection);
    let text = match args.format {
        CheckFormat::Text => {
            let (errors, warnings, infos) = counts(&findings);
            let mut text = report::text::render(&findings, true);
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
        CheckFormat::Json => report::json::render(&findings),
        CheckFormat::Sarif => report::sarif::render(&findings),
        CheckFormat::Github => report::github::render(&findings),
        CheckFormat::Rdjsonl => report::rdjsonl::render(&findings),
        CheckFormat::Gitlab => report::gitlab::render(&findings),
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
