//! Which findings are reported: `--select`/`--ignore` (and mgdeploy.toml's
//! `[check]`) by rule, and `# mgdeploy: ignore[MG017] reason` comments by
//! place. A comment silences the findings of its codes on its own line, or,
//! alone on its line, on the next line that is not blank or a comment. A
//! comment without a reason silences nothing; it, an unknown code, and a
//! comment that silences nothing are findings themselves (MG027).

use super::registry::RuleInfo;
use std::path::Path;
use std::sync::Arc;

use super::finding;
use super::registry::rule;
use crate::deploy::Deployment;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};

const MARKER: &str = "mgdeploy:";

/// Which rules are reported.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these, when given.
    pub select: Option<Vec<&'static str>>,
    pub ignore: Vec<&'static str>,
}

impl Selection {
    pub fn reports(&self, code: &str) -> bool {
        // A file that does not parse hides everything else in it.
        if code == super::SYNTAX_ERROR.code {
            return true;
        }
        self.select
            .as_ref()
            .is_none_or(|codes| codes.contains(&code))
            && !self.ignore.contains(&code)
    }
}

/// Where a comment may stand in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// nginx: `#` to the end of any line.
    Nginx,
    /// configparser: a line that starts with `#` or `;`.
    Ini,
}

#[derive(Debug)]
struct Suppression {
    source: Arc<SourceFile>,
    comment: Span,
    codes: Vec<&'static str>,
    /// The 1-based line it silences.
    line: usize,
    used: bool,
}

/// The comment in `line` (its offset in the line), for `dialect`.
fn comment_start(line: &str, dialect: Dialect) -> Option<usize> {
    match dialect {
        Dialect::Ini => {
            let trimmed = line.trim_start();
            (trimmed.starts_with('#') || trimmed.starts_with(';'))
                .then(|| line.len() - trimmed.len())
        }
        Dialect::Nginx => line.find('#'),
    }
}

/// MG027: an `# mgdeploy: ignore[...]` comment without a reason, with an unknown code, or with nothing to ignore.
pub const SUPPRESSION_PROBLEM: RuleInfo = RuleInfo {
    code: "MG027",
    name: "suppression-problem",
    severity: Severity::Warning,
    security_severity: None,
    summary: "an `# mgdeploy: ignore[...]` comment without a reason, with an unknown code, or with nothing to ignore",
    explanation: "A finding can be silenced where it is: `# mgdeploy: ignore[MG017] the CDN serves /mgoblin_media` \
        on the finding's line, or alone on the line before it (in an ini, only on its own line: configparser \
        keeps the rest of a line as the value). The reason is required, so that the next reader knows why; \
        without one the comment silences nothing. A code that is no rule, or a comment where that rule finds \
        nothing, is reported too: the comment is stale. Whole rules are left out with --ignore or \
        `[check] ignore` in mgdeploy.toml.",
    fix: None,
};

/// The suppressions in `source`, and the comments that are not right.
fn scan(source: &Arc<SourceFile>, dialect: Dialect) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    // Spans are offsets into the text: a file that is not UTF-8 has none.
    // Most files have no such comment: one search settles them.
    if memchr::memmem::find(source.bytes(), MARKER.as_bytes()).is_none() {
        return (found, problems);
    }
    let Ok(text) = std::str::from_utf8(source.bytes()) else {
        return (found, problems);
    };
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line.trim_end_matches(['\n', '\r'])))
        })
        .collect();
    for (index, (offset, line)) in lines.iter().enumerate() {
        let Some(hash) = comment_start(line, dialect) else {
            continue;
        };
        let comment = line.get(hash + 1..).unwrap_or_default();
        let body = comment.trim_start();
        let Some(rest) = body.strip_prefix(MARKER) else {
            continue;
        };
        let span = Span::new(offset + hash, offset + line.len());
        let problem = |message: String, help: &str| {
            finding(&SUPPRESSION_PROBLEM, message)
                .at(source, span, "this comment")
                .with_help(help.to_string())
        };
        let usage = "write `# mgdeploy: ignore[MG017] why it is fine here`";
        let Some((codes, reason)) = rest
            .trim_start()
            .strip_prefix("ignore[")
            .and_then(|r| r.split_once(']'))
        else {
            problems.push(problem(
                "an mgdeploy comment that is not `ignore[CODE] reason`; it silences nothing".into(),
                usage,
            ));
            continue;
        };
        let mut known = Vec::new();
        for code in codes.split([',', ' ']).filter(|c| !c.is_empty()) {
            match rule(code) {
                Some(r) if r.code != SUPPRESSION_PROBLEM.code => known.push(r.code),
                _ => problems.push(problem(
                    format!("`{code}` is not a rule this comment can silence"),
                    "`mgdeploy check --explain` lists the rules",
                )),
            }
        }
        if reason.trim().is_empty() {
            problems.push(problem(
                "this ignore comment gives no reason, so it silences nothing".into(),
                usage,
            ));
            continue;
        }
        if known.is_empty() {
            continue;
        }
        let alone = line.get(..hash).unwrap_or_default().trim().is_empty();
        let line_no = if alone {
            // The next line with something on it that is not a comment.
            lines
                .iter()
                .enumerate()
                .skip(index + 1)
                .find(|(_, (_, l))| {
                    let t = l.trim();
                    !t.is_empty()
                        && comment_start(l, dialect) != Some(l.len() - l.trim_start().len())
                })
                .map_or(index + 1, |(i, _)| i + 1)
        } else {
            index + 1
        };
        found.push(Suppression {
            source: source.clone(),
            comment: span,
            codes: known,
            line: line_no,
            used: false,
        });
    }
    (found, problems)
}

/// The problems of the ignore comments in one file (for the fuzzer, and
/// for tools that only read comments).
pub fn comment_problems(source: &Arc<SourceFile>, dialect: Dialect) -> Vec<Diagnostic> {
    scan(source, dialect).1
}

/// The files comments are read in: the nginx configuration and the inis.
fn sources(deployment: &Deployment) -> Vec<(Arc<SourceFile>, Dialect)> {
    let mut out: Vec<(Arc<SourceFile>, Dialect)> = deployment
        .nginx
        .loaded
        .files
        .iter()
        .filter_map(|f| f.config.as_ref().ok())
        .map(|c| (c.source.clone(), Dialect::Nginx))
        .collect();
    let inis = std::iter::once(&deployment.paste)
        .chain(&deployment.mediagoblin_ini)
        .chain(&deployment.uwsgi);
    out.extend(inis.map(|f| (f.document.source.clone(), Dialect::Ini)));
    out
}

/// The findings `selection` and the comments in the deployment's files let
/// through, with the comments' own problems.
pub fn filter(
    findings: Vec<Diagnostic>,
    deployment: Option<&Deployment>,
    selection: &Selection,
) -> Vec<Diagnostic> {
    let mut suppressions = Vec::new();
    let mut out = Vec::new();
    if let Some(deployment) = deployment {
        for (source, dialect) in sources(deployment) {
            let (found, problems) = scan(&source, dialect);
            suppressions.extend(found);
            out.extend(problems);
        }
    }
    // Looked up by place: a fleet's file can hold tens of thousands of them.
    let mut by_place: std::collections::HashMap<(&Path, usize), Vec<usize>> =
        std::collections::HashMap::new();
    for (index, suppression) in suppressions.iter().enumerate() {
        by_place
            .entry((suppression.source.path(), suppression.line))
            .or_default()
            .push(index);
    }
    let mut used = vec![false; suppressions.len()];
    for finding in findings {
        let Some(code) = finding.code else {
            out.push(finding);
            continue;
        };
        if !selection.reports(code) {
            continue;
        }
        let silenced = finding.primary().and_then(|label| {
            by_place
                .get(&(label.source.path(), label.start().line))?
                .iter()
                .copied()
                .find(|&i| suppressions.get(i).is_some_and(|s| s.codes.contains(&code)))
        });
        match silenced {
            Some(index) => used[index] = true,
            None => out.push(finding),
        }
    }
    for (suppression, used) in suppressions.iter_mut().zip(used) {
        suppression.used |= used;
    }
    for stale in suppressions.iter().filter(|s| !s.used) {
        // A rule left out finds nothing: that says nothing about the comment.
        if stale.codes.iter().all(|c| selection.reports(c)) {
            out.push(
                finding(
                    &SUPPRESSION_PROBLEM,
                    format!(
                        "nothing to ignore here: {} finds nothing on line {}",
                        stale.codes.join(", "),
                        stale.line
                    ),
                )
                .with_severity(Severity::Info)
                .at(&stale.source, stale.comment, "this comment")
                .with_help("remove the comment, or move it to the line of the finding"),
            );
        }
    }
    out.retain(|d| d.code.is_none_or(|c| selection.reports(c)));
    super::sort(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &str, dialect: Dialect) -> (Vec<Suppression>, Vec<Diagnostic>) {
        scan(
            &SourceFile::new("/x/site.conf", text.as_bytes().to_vec()),
            dialect,
        )
    }

    #[test]
    fn comments_name_their_line() {
        let (found, problems) = scanned(
            "a;\n# mgdeploy: ignore[MG017] the CDN serves it\n\n# other\nlocation / {} # mgdeploy: ignore[mg005, MG007] behind a proxy\n",
            Dialect::Nginx,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let lines: Vec<(usize, Vec<&str>)> =
            found.iter().map(|s| (s.line, s.codes.clone())).collect();
        assert_eq!(lines, vec![(5, vec!["MG017"]), (5, vec!["MG005", "MG007"])]);
    }

    #[test]
    fn a_reason_is_required() {
        let (found, problems) = scanned("x; # mgdeploy: ignore[MG017]\n", Dialect::Nginx);
        assert!(found.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("no reason"));
        let (found, problems) = scanned("x; # mgdeploy: ignor MG017 because\n", Dialect::Nginx);
        assert!(found.is_empty());
        assert_eq!(problems.len(), 1);
        let (_, problems) = scanned("x; # mgdeploy: ignore[MG999] because\n", Dialect::Nginx);
        assert!(problems[0].message.contains("MG999"));
    }

    #[test]
    fn ini_comments_stand_alone() {
        let (found, _) = scanned(
            "[uwsgi]\n; mgdeploy: ignore[MG016] loopback only behind a firewall\nsocket = 0.0.0.0:1\nx = y # mgdeploy: ignore[MG005] no\n",
            Dialect::Ini,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 3);
    }
}
