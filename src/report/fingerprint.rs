//! Fingerprints that name a finding across runs, for code scanning and
//! GitLab to tell a new finding from one they already know: the rule, the
//! file as git names it, the text of the line (not its number, so that
//! lines added above do not make it new), and which of identical findings
//! it is.

use std::collections::HashMap;

use crate::checksum::Sha256Hex;
use crate::diagnostic::{Diagnostic, Location};

/// One fingerprint per diagnostic, in order: 32 hex digits.
pub fn fingerprints(diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let (path, line) = match &d.location {
                Location::Span(label) => {
                    let start = label.start();
                    let text = label.source.text(label.source.line_span(start.line));
                    let words: Vec<&str> = text.split_whitespace().collect();
                    (
                        super::paths::shown_str(label.source.path()),
                        words.join(" "),
                    )
                }
                Location::File(path) => (super::paths::shown_str(path), String::new()),
                Location::None => (String::new(), d.message.clone()),
            };
            let key = format!("{}\0{path}\0{line}", d.code.unwrap_or_default());
            let occurrence = seen.entry(key.clone()).or_default();
            *occurrence += 1;
            let hash = Sha256Hex::of(format!("{key}\0{occurrence}").as_bytes());
            hash.as_str().get(..32).unwrap_or_default().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, Span};

    fn at(text: &str, needle: &str) -> Diagnostic {
        let source = SourceFile::new("/x/site.conf", text.as_bytes().to_vec());
        let start = text.find(needle).unwrap();
        Diagnostic::error("m").with_code("MG002").at(
            &source,
            Span::new(start, start + needle.len()),
            "",
        )
    }

    #[test]
    fn lines_moving_keep_the_fingerprint() {
        let before = fingerprints(&[at("a;\nuWSGI_pass x;\n", "uWSGI_pass")]);
        let after = fingerprints(&[at("# new\na;\n  uWSGI_pass   x;\n", "uWSGI_pass")]);
        assert_eq!(before, after);
        let twice = fingerprints(&[
            at("uWSGI_pass x;\n", "uWSGI"),
            at("uWSGI_pass x;\n", "uWSGI"),
        ]);
        assert_ne!(twice[0], twice[1]);
        assert_eq!(twice[0].len(), 32);
    }
}
