//! The application paste.ini defines, followed as PasteDeploy loads it:
//! `main` (an `app:`, `pipeline:` or `composite:` section), a pipeline's
//! filters and final app, a urlmap composite's apps. A name with no section
//! is what makes uWSGI's paste loader fail at start (`LookupError: No
//! section`), so it stops mgdeploy first, at the line that names it.

use super::IniFile;
use crate::diagnostic::Diagnostic;
use crate::ini::Entry;

/// Section kinds that define an application under a name.
const APP_KINDS: [&str; 4] = ["app", "pipeline", "composite", "filter-app"];
/// Section kinds that define a filter.
const FILTER_KINDS: [&str; 2] = ["filter", "filter-app"];

fn defines(paste: &IniFile, kinds: &[&str], name: &str) -> bool {
    kinds
        .iter()
        .any(|kind| paste.document.section(&format!("{kind}:{name}")).is_some())
}

/// An entry that is really a section header missing its `]` (configparser
/// reads `[app:mediagoblin` as the key `[app` with the value `mediagoblin`),
/// and its text.
fn unclosed_header<'a>(paste: &'a IniFile, name: &str) -> Option<(&'a Entry, String)> {
    paste
        .document
        .sections
        .iter()
        .flat_map(|s| &s.entries)
        .filter(|e| e.key.starts_with('['))
        .map(|e| (e, paste.document.source.text(e.span()).trim().to_string()))
        .find(|(_, text)| text.contains(name) && !text.contains(']'))
}

fn undefined(paste: &IniFile, entry: &Entry, name: &str, wanted: &str) -> Diagnostic {
    let mut diagnostic = Diagnostic::error(format!(
        "`{}` names {wanted} `{name}`, which paste.ini does not define",
        entry.key
    ))
    .at(
        &paste.document.source,
        entry.value_span(),
        "uWSGI's paste loader would fail here (LookupError: No section)",
    );
    match unclosed_header(paste, name) {
        Some((header, text)) => {
            diagnostic = diagnostic
                .with_related(
                    &paste.document.source,
                    header.span(),
                    "this header has no closing `]`: configparser reads it as a setting",
                )
                .with_help(format!("close it: `{text}]`"));
        }
        None => {
            diagnostic = diagnostic.with_help(format!(
                "add the section (for example `[app:{name}]`), or name one paste.ini has"
            ));
        }
    }
    diagnostic
}

/// Checks that `main` and everything it names are defined.
pub fn check(paste: &IniFile) -> Result<(), Diagnostic> {
    let document = &paste.document;
    if !defines(paste, &APP_KINDS, "main") {
        return Err(Diagnostic::error(
            "paste.ini defines no `main` application ([app:main], [pipeline:main] or [composite:main])",
        )
        .in_file(&paste.path)
        .with_note("uWSGI's paste loader, like paster, loads `main`"));
    }
    for section in document.sections_with_prefix("pipeline:") {
        let Some(entry) = section.get("pipeline") else {
            continue;
        };
        let names: Vec<&str> = entry.value.split_whitespace().collect();
        if let Some((app, filters)) = names.split_last() {
            for filter in filters {
                if !defines(paste, &FILTER_KINDS, filter) {
                    return Err(undefined(paste, entry, filter, "the filter"));
                }
            }
            if !defines(paste, &APP_KINDS, app) {
                return Err(undefined(paste, entry, app, "the application"));
            }
        }
    }
    for section in document.sections_with_prefix("composite:") {
        if !section
            .get("use")
            .is_some_and(|u| u.value.contains("urlmap"))
        {
            continue;
        }
        for entry in section.entries.iter().filter(|e| e.key.starts_with('/')) {
            let name = entry.value.trim();
            if !defines(paste, &APP_KINDS, name) {
                return Err(undefined(paste, entry, name, "the application"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn paste(text: &str) -> IniFile {
        let source = SourceFile::new("/srv/mg/paste.ini", text.as_bytes().to_vec());
        IniFile {
            path: "/srv/mg/paste.ini".into(),
            document: crate::ini::paste::read(&source).unwrap(),
        }
    }

    #[test]
    fn every_generation_of_paste_ini_is_whole() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/mediagoblin/paste.ini");
        let mut checked = 0;
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            check(&paste(&text)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
        assert!(checked >= 10);
    }

    #[test]
    fn an_unclosed_header_is_named() {
        let error = check(&paste(
            "[pipeline:main]\npipeline = mediagoblin\n\n[app:mediagoblin\nuse = egg:mediagoblin#app\n",
        ))
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("paste.ini:2:12"), "{text}");
        assert!(
            text.contains("names the application `mediagoblin`"),
            "{text}"
        );
        assert_eq!(error.help.as_deref(), Some("close it: `[app:mediagoblin]`"));
        assert!(
            check(&paste(
                "[composite:main]\nuse = egg:Paste#urlmap\n/ = mediagoblin\n"
            ))
            .is_err()
        );
        assert!(check(&paste("[app:other]\nuse = egg:x#app\n")).is_err());
        assert!(
            check(&paste(
                "[pipeline:main]\npipeline = errors app\n[app:app]\nuse = x\n"
            ))
            .is_err()
        );
    }
}
