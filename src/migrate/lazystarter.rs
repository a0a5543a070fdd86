//! Patching lazystarter.sh so that lazyserver.sh starts uWSGI instead of
//! `paster serve`. The three generations MediaGoblin shipped (no `;` up to
//! 0.7, a gunicorn if/else in 0.8, a `;` from 0.9) share the two lines that
//! change; everything else stays as it is.

use super::notes::Notes;
use crate::deploy::Lazystarter;
use crate::plan::Edit;
use crate::source::Span;

const STARTER: &str = "starter_cmd=paster";
const SERVE: &str = "serve \"$ini_file\" \"$@\" --reload";

/// Finds `needle` once in `text` as a whole line's content (blanks and an
/// optional `;` around it); its span, or `None` when it is not there once.
fn find_line(text: &str, needle: &str, before: &str) -> Option<Span> {
    let mut found = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']).trim();
        let content = content.strip_suffix(';').unwrap_or(content).trim_end();
        if content == format!("{before}{needle}") {
            if found.is_some() {
                return None;
            }
            let at = line.find(needle).map(|i| offset + i)?;
            found = Some(Span::new(at, at + needle.len()));
        }
        offset += line.len();
    }
    found
}

/// The edits, or nothing (with a note) when the script is already patched
/// or is not one mgdeploy knows.
pub fn patch(starter: &Lazystarter, plugin: &str, notes: &mut Notes) -> Vec<Edit> {
    let text = String::from_utf8_lossy(starter.source.bytes());
    let name = starter.path.display();
    let starter_line = find_line(&text, STARTER, "");
    let serve_line = find_line(&text, SERVE, "$starter ");
    match (starter_line, serve_line) {
        (Some(starter_span), Some(serve_span)) => {
            notes.changed(format!(
                "{name}: lazyserver.sh starts `uwsgi --plugin {plugin} --ini-paste` instead of `paster serve --reload`"
            ));
            if text.contains("use_gunicorn") {
                notes.warning(format!(
                    "{name} prefers gunicorn when it is installed (MediaGoblin 0.8); lazyserver.sh uses uWSGI only where gunicorn is not installed"
                ));
            }
            vec![
                Edit::replace(
                    Span::new(starter_span.end - "paster".len(), starter_span.end),
                    "uwsgi",
                ),
                Edit::replace(
                    serve_span,
                    format!("--plugin {plugin} --ini-paste \"$ini_file\" \"$@\""),
                ),
            ]
        }
        _ if text.contains("starter_cmd=uwsgi") => Vec::new(),
        _ => {
            notes.warning(format!(
                "{name} is not a lazystarter.sh mgdeploy knows; it was left as it is (start uWSGI with the ini instead)"
            ));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use std::path::PathBuf;

    fn starter(text: &str) -> Lazystarter {
        Lazystarter {
            path: PathBuf::from("/srv/mg/lazystarter.sh"),
            source: SourceFile::new("/srv/mg/lazystarter.sh", text.as_bytes().to_vec()),
            links: Vec::new(),
        }
    }

    fn patched(text: &str) -> String {
        let starter = starter(text);
        let edits = patch(&starter, "python3", &mut Notes::default());
        String::from_utf8(crate::plan::apply_edits(text.as_bytes(), &edits).unwrap()).unwrap()
    }

    #[test]
    fn each_generation_is_patched() {
        assert_eq!(
            patched(
                "        starter_cmd=paster\n        $starter serve \"$ini_file\" \"$@\" --reload\n"
            ),
            "        starter_cmd=uwsgi\n        $starter --plugin python3 --ini-paste \"$ini_file\" \"$@\"\n"
        );
        assert_eq!(
            patched(
                "        starter_cmd=paster;\n        $starter serve \"$ini_file\" \"$@\" --reload;\n"
            ),
            "        starter_cmd=uwsgi;\n        $starter --plugin python3 --ini-paste \"$ini_file\" \"$@\";\n"
        );
        let patched_once =
            patched("starter_cmd=paster;\n$starter serve \"$ini_file\" \"$@\" --reload;\n");
        assert_eq!(
            patched(&patched_once),
            patched_once,
            "a patched script has nothing left to do"
        );
    }
}
