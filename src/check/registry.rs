//! Every rule `check` knows: the typed `Rule` that findings are made with,
//! and its stable code. Codes never change meaning and are never reused; CI
//! configurations and SARIF consumers rely on them. Each rule's description
//! (`RuleInfo`: what `--explain`, SARIF's help and the manual say) lives in
//! the file whose code reports it; `RULES` gathers them in code order.

use crate::diagnostic::Severity;

/// What a rule is, for people and tools. Each lives beside the code that
/// reports it.
pub struct RuleInfo {
    pub code: &'static str,
    /// A short kebab-case name, for SARIF and humans.
    pub name: &'static str,
    /// The severity of a typical finding (some rules report at two levels).
    pub severity: Severity,
    /// For rules about attacks: a CVSS-like score from 0.0 to 10.0, as code
    /// scanning ranks security alerts by (`security-severity`).
    pub security_severity: Option<&'static str>,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// What `check --explain CODE` prints.
    pub explanation: &'static str,
    /// What `check --fix` does about a finding, when it can (the finding
    /// says whether its fix is safe or needs `--unsafe-fixes`).
    pub fix: Option<&'static str>,
}

/// A rule, as findings are made with it: its description, which lives
/// above the code that reports it.
pub type Rule = &'static RuleInfo;

/// Every rule, in code order: the one list a new rule joins.
pub const RULES: &[Rule] = &[
    &super::SYNTAX_ERROR,
    &super::nginx::UNKNOWN_DIRECTIVE,
    &super::nginx::INCLUDE_PROBLEM,
    &super::mount::STILL_FASTCGI,
    &super::mount::ADDRESS_MISMATCH,
    &super::nginx::PARAM_WITHOUT_PASS,
    &super::mount::PREFIX_NOT_STRIPPED,
    &super::mount::PREFIX_STRIPPED_TWICE,
    &super::mount::MODIFIER1_PYTHON3,
    &super::uwsgi::MOUNTPOINT_TRAILING_SLASH,
    &super::uwsgi::PASTE_APP_PATH,
    &super::mount::FASTCGI_LEFTOVER,
    &super::uwsgi::PUBLIC_UWSGI_SOCKET,
    &super::uwsgi::SOCKET_PERMISSIONS,
    &super::nginx::ALIAS_TRAVERSAL,
    &super::site::STATIC_NOT_SERVED,
    &super::site::UPLOAD_LIMIT,
    &super::site::NO_CELERY_WORKER,
    &super::uwsgi::UNKNOWN_UWSGI_OPTION,
    &super::uwsgi::UWSGI_PLUGIN_MISSING,
    &super::uwsgi::BUFFER_SIZE,
    &super::mount::SCRIPT_NAME_MISSING,
    &super::process::PYTHON_MISMATCH,
    &super::mount::UWSGI_INI_NOT_FOUND,
    &super::process::LAZYSERVER_CANNOT_START,
    &super::nginx::NGINX_REFUSES,
    &super::suppress::SUPPRESSION_PROBLEM,
    &super::process::FASTCGI_SERVICE_ENABLED,
    &super::process::SERVICE_UWSGI_CANNOT_RUN_SITE,
    &super::process::UWSGI_NOT_STARTED_AT_BOOT,
    &super::AMBIGUOUS_LOCATION,
    &super::mount::STILL_PASTER_HTTP,
    &super::mount::PROXY_LEFTOVER,
];

pub fn rule(code: &str) -> Option<&'static RuleInfo> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

/// A rule's code as typed (`mg017`, ` MG017`), or what the codes are.
pub fn parse_code(text: &str) -> Result<&'static str, String> {
    rule(text.trim()).map(|r| r.code).ok_or_else(|| {
        format!(
            "`{text}` is not a rule; the rules are MG001 to {} (`mgdeploy check --explain` lists them)",
            RULES.last().map_or("MG001", |r| r.code)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_in_order() {
        for (index, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.code, format!("MG{:03}", index + 1));
        }
        assert!(rule("mg009").is_some());
        // nginx's include loader names the code it reports without
        // depending on check.
        assert_eq!(
            crate::nginx::include::MISSING,
            super::super::nginx::INCLUDE_PROBLEM.code
        );
    }

    #[test]
    fn each_rule_is_named_in_code_as_it_is_for_people() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("mount.rs"),
            include_str!("nginx.rs"),
            include_str!("process.rs"),
            include_str!("site.rs"),
            include_str!("suppress.rs"),
            include_str!("uwsgi.rs"),
        ];
        for rule in RULES {
            let constant = rule.name.replace('-', "_").to_ascii_uppercase();
            let declared = format!(
                "pub const {constant}: RuleInfo = RuleInfo {{\n    code: \"{}\",",
                rule.code
            );
            assert!(
                sources.iter().any(|s| s.contains(&declared)),
                "{}: no `{declared}`",
                rule.code
            );
        }
    }
}
