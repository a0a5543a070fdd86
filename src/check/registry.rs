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

/// Every rule, by its kebab-case name; its code is `code()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// MG001
    SyntaxError,
    /// MG002
    UnknownDirective,
    /// MG003
    IncludeProblem,
    /// MG004
    StillFastcgi,
    /// MG005
    AddressMismatch,
    /// MG006
    ParamWithoutPass,
    /// MG007
    PrefixNotStripped,
    /// MG008
    PrefixStrippedTwice,
    /// MG009
    Modifier1Python3,
    /// MG010
    MountpointTrailingSlash,
    /// MG011
    PasteAppPath,
    /// MG012
    FastcgiLeftover,
    /// MG013
    PublicUwsgiSocket,
    /// MG014
    SocketPermissions,
    /// MG015
    AliasTraversal,
    /// MG016
    StaticNotServed,
    /// MG017
    UploadLimit,
    /// MG018
    NoCeleryWorker,
    /// MG019
    UnknownUwsgiOption,
    /// MG020
    UwsgiPluginMissing,
    /// MG021
    BufferSize,
    /// MG022
    ScriptNameMissing,
    /// MG023
    PythonMismatch,
    /// MG024
    UwsgiIniNotFound,
    /// MG025
    LazyserverCannotStart,
    /// MG026
    NginxRefuses,
    /// MG027
    SuppressionProblem,
    /// MG028
    FastcgiServiceEnabled,
    /// MG029
    ServiceUwsgiCannotRunSite,
    /// MG030
    UwsgiNotStartedAtBoot,
    /// MG031
    AmbiguousLocation,
    /// MG032
    StillPasterHttp,
    /// MG033
    ProxyLeftover,
}

impl Rule {
    pub const ALL: [Rule; 33] = [
        Rule::SyntaxError,
        Rule::UnknownDirective,
        Rule::IncludeProblem,
        Rule::StillFastcgi,
        Rule::AddressMismatch,
        Rule::ParamWithoutPass,
        Rule::PrefixNotStripped,
        Rule::PrefixStrippedTwice,
        Rule::Modifier1Python3,
        Rule::MountpointTrailingSlash,
        Rule::PasteAppPath,
        Rule::FastcgiLeftover,
        Rule::PublicUwsgiSocket,
        Rule::SocketPermissions,
        Rule::AliasTraversal,
        Rule::StaticNotServed,
        Rule::UploadLimit,
        Rule::NoCeleryWorker,
        Rule::UnknownUwsgiOption,
        Rule::UwsgiPluginMissing,
        Rule::BufferSize,
        Rule::ScriptNameMissing,
        Rule::PythonMismatch,
        Rule::UwsgiIniNotFound,
        Rule::LazyserverCannotStart,
        Rule::NginxRefuses,
        Rule::SuppressionProblem,
        Rule::FastcgiServiceEnabled,
        Rule::ServiceUwsgiCannotRunSite,
        Rule::UwsgiNotStartedAtBoot,
        Rule::AmbiguousLocation,
        Rule::StillPasterHttp,
        Rule::ProxyLeftover,
    ];

    pub fn info(self) -> &'static RuleInfo {
        match self {
            Rule::SyntaxError => &super::MG001,
            Rule::UnknownDirective => &super::nginx::MG002,
            Rule::IncludeProblem => &super::nginx::MG003,
            Rule::StillFastcgi => &super::mount::MG004,
            Rule::AddressMismatch => &super::mount::MG005,
            Rule::ParamWithoutPass => &super::nginx::MG006,
            Rule::PrefixNotStripped => &super::mount::MG007,
            Rule::PrefixStrippedTwice => &super::mount::MG008,
            Rule::Modifier1Python3 => &super::mount::MG009,
            Rule::MountpointTrailingSlash => &super::mount::MG010,
            Rule::PasteAppPath => &super::mount::MG011,
            Rule::FastcgiLeftover => &super::mount::MG012,
            Rule::PublicUwsgiSocket => &super::uwsgi::MG013,
            Rule::SocketPermissions => &super::uwsgi::MG014,
            Rule::AliasTraversal => &super::nginx::MG015,
            Rule::StaticNotServed => &super::site::MG016,
            Rule::UploadLimit => &super::site::MG017,
            Rule::NoCeleryWorker => &super::site::MG018,
            Rule::UnknownUwsgiOption => &super::uwsgi::MG019,
            Rule::UwsgiPluginMissing => &super::uwsgi::MG020,
            Rule::BufferSize => &super::uwsgi::MG021,
            Rule::ScriptNameMissing => &super::mount::MG022,
            Rule::PythonMismatch => &super::process::MG023,
            Rule::UwsgiIniNotFound => &super::mount::MG024,
            Rule::LazyserverCannotStart => &super::process::MG025,
            Rule::NginxRefuses => &super::nginx::MG026,
            Rule::SuppressionProblem => &super::suppress::MG027,
            Rule::FastcgiServiceEnabled => &super::process::MG028,
            Rule::ServiceUwsgiCannotRunSite => &super::process::MG029,
            Rule::UwsgiNotStartedAtBoot => &super::process::MG030,
            Rule::AmbiguousLocation => &super::MG031,
            Rule::StillPasterHttp => &super::mount::MG032,
            Rule::ProxyLeftover => &super::mount::MG033,
        }
    }

    pub fn code(self) -> &'static str {
        self.info().code
    }
}

/// Every rule's description, in code order.
pub const RULES: &[RuleInfo] = &[
    super::MG001,
    super::nginx::MG002,
    super::nginx::MG003,
    super::mount::MG004,
    super::mount::MG005,
    super::nginx::MG006,
    super::mount::MG007,
    super::mount::MG008,
    super::mount::MG009,
    super::mount::MG010,
    super::mount::MG011,
    super::mount::MG012,
    super::uwsgi::MG013,
    super::uwsgi::MG014,
    super::nginx::MG015,
    super::site::MG016,
    super::site::MG017,
    super::site::MG018,
    super::uwsgi::MG019,
    super::uwsgi::MG020,
    super::uwsgi::MG021,
    super::mount::MG022,
    super::process::MG023,
    super::mount::MG024,
    super::process::MG025,
    super::nginx::MG026,
    super::suppress::MG027,
    super::process::MG028,
    super::process::MG029,
    super::process::MG030,
    super::MG031,
    super::mount::MG032,
    super::mount::MG033,
];

pub fn rule(code: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.code.eq_ignore_ascii_case(code))
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
        assert_eq!(Rule::ALL.len(), RULES.len());
        for (rule, info) in Rule::ALL.iter().zip(RULES) {
            assert_eq!(rule.code(), info.code);
            // The variant is the name, in another case.
            let name: String = info
                .name
                .split('-')
                .map(|w| {
                    let mut chars = w.chars();
                    chars.next().map_or_else(String::new, |c| {
                        c.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect();
            assert_eq!(format!("{rule:?}"), name);
        }
        // nginx's include loader names the code it reports without
        // depending on check.
        assert_eq!(crate::nginx::include::MISSING, Rule::IncludeProblem.code());
    }
}
