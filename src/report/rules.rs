//! The rules as documentation: one Markdown section per rule, used as
//! SARIF's `help.markdown`, as `docs/rules.md` (which `helpUri` and
//! reviewdog's code links point into), and for `check --explain`.

use crate::check::registry::{RULES, RuleInfo};

/// Where mgdeploy is published.
pub const HOMEPAGE: &str = env!("CARGO_PKG_HOMEPAGE");

/// The rules' reference, in the repository.
const REFERENCE: &str = "docs/rules.md";

/// The page that explains `code`: its section of docs/rules.md.
pub fn rule_url(code: &str) -> String {
    let anchor = crate::check::registry::rule(code)
        .map(|r| format!("#{}-{}", r.code.to_ascii_lowercase(), r.name))
        .unwrap_or_default();
    format!("{HOMEPAGE}/blob/main/{REFERENCE}{anchor}")
}

/// `MG017 (upload-limit, warning by default): summary`, the line every
/// rendering of a rule starts with.
fn lead(rule: &RuleInfo) -> String {
    format!(
        "({}, {} by default): {}",
        rule.name,
        rule.severity.as_str(),
        rule.summary
    )
}

/// What `--fix` does about the rule's findings, as a sentence.
fn fix_sentence(rule: &RuleInfo) -> Option<String> {
    rule.fix.map(|fix| format!("`check --fix` {fix}."))
}

/// The explanation of a rule for a terminal (`check --explain CODE`):
/// the lead line, then the prose wrapped at 78 columns.
pub fn text(rule: &RuleInfo) -> String {
    let mut out = format!(
        "{} {}\n\n{}\n",
        rule.code,
        lead(rule),
        wrap(rule.explanation, 78)
    );
    if let Some(fix) = fix_sentence(rule) {
        out.push_str(&format!("\n{}\n", wrap(&fix, 78)));
    }
    out
}

/// Every rule, one line each (`check --explain` without a code).
pub fn list() -> String {
    let mut out = String::new();
    for rule in RULES {
        out.push_str(&format!(
            "{}  {:<7}  {:<28}  {}\n",
            rule.code,
            rule.severity.as_str(),
            rule.name,
            rule.summary
        ));
    }
    out.push_str("\n`mgdeploy check --explain CODE` says more about one.\n");
    out
}

/// Wraps prose at `width` columns.
fn wrap(text: &str, width: usize) -> String {
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

/// The explanation of a rule, in Markdown (its text uses `code spans`).
pub fn markdown(rule: &RuleInfo) -> String {
    let mut out = format!(
        "**{}** {}.\n\n{}\n",
        rule.code,
        lead(rule),
        rule.explanation
    );
    if let Some(fix) = fix_sentence(rule) {
        out.push_str(&format!("\n{fix}\n"));
    }
    if let Some(score) = rule.security_severity {
        out.push_str(&format!(
            "\nA security rule (severity {score} of 10 for code scanning).\n"
        ));
    }
    out.push_str(&format!(
        "\nSilence one finding with `# mgdeploy: ignore[{}] reason` on its line; leave the rule out with `--ignore {}`.\n",
        rule.code, rule.code
    ));
    out
}

/// docs/rules.md.
pub fn reference() -> String {
    let mut out = String::from(
        "# mgdeploy check: the rules\n\n\
         Generated from the rules' descriptions (`RuleInfo`, beside each rule in `src/check/`; `MGDEPLOY_BLESS=1 cargo test --test integration docs::` rewrites it). \
         `mgdeploy check --explain CODE` prints the same text.\n\n\
         | code | name | severity | finds |\n| --- | --- | --- | --- |\n",
    );
    for rule in RULES {
        out.push_str(&format!(
            "| [{}](#{}-{}) | {} | {} | {} |\n",
            rule.code,
            rule.code.to_ascii_lowercase(),
            rule.name,
            rule.name,
            rule.severity.as_str(),
            rule.summary.replace('|', "\\|")
        ));
    }
    for rule in RULES {
        out.push_str(&format!("\n## {} {}\n\n", rule.code, rule.name));
        out.push_str(&markdown(rule));
    }
    out
}
