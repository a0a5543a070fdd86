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

/// The explanation of a rule, in Markdown (its text uses `code spans`).
pub fn markdown(rule: &RuleInfo) -> String {
    let mut out = format!(
        "**{}** ({}, {} by default): {}.\n\n{}\n",
        rule.code,
        rule.name,
        rule.severity.as_str(),
        rule.summary,
        rule.explanation
    );
    if let Some(fix) = rule.fix {
        out.push_str(&format!("\n`check --fix` {fix}.\n"));
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
