//! Python's configparser as PasteDeploy uses it (`NicerConfigParser`:
//! `strict=True`, `optionxform = str`, `BasicInterpolation`, defaults `here`
//! and `__file__`). The reading rules follow CPython's `RawConfigParser._read`
//! line by line, so a file means here what it means to `paster` and uWSGI's
//! paste loader.

use std::path::Path;
use std::sync::Arc;

use super::{Document, Entry, Section};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

pub const DEFAULT_SECTION: &str = "DEFAULT";

/// configparser's `MAX_INTERPOLATION_DEPTH`.
pub const MAX_INTERPOLATION_DEPTH: usize = 10;

/// Interpolation may not grow a value past this; Python has no such limit
/// but would take forever on the files that reach it.
pub const MAX_INTERPOLATED_LEN: usize = 1 << 20;

/// Python's `str.isspace`: Unicode whitespace plus the four separator
/// controls U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `(start, end)` of `text` without surrounding Python whitespace.
fn strip_bounds(text: &str) -> (usize, usize) {
    let start = text.len() - text.trim_start_matches(is_py_space).len();
    let end = text.trim_end_matches(is_py_space).len().max(start);
    (start, end)
}

/// A line as Python's universal-newline reading yields it.
struct Line<'a> {
    number: usize,
    start: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\n') => {
                out.push(Line {
                    number: out.len() + 1,
                    start,
                    text: text.get(start..i).unwrap_or_default(),
                });
                i += 1;
                start = i;
            }
            Some(b'\r') => {
                out.push(Line {
                    number: out.len() + 1,
                    start,
                    text: text.get(start..i).unwrap_or_default(),
                });
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(Line {
            number: out.len() + 1,
            start,
            text: text.get(start..).unwrap_or_default(),
        });
    }
    out
}

/// Checks that the file is UTF-8, as Python's `open()` requires.
pub(super) fn utf8(source: &Arc<SourceFile>) -> Result<&str, Diagnostic> {
    std::str::from_utf8(source.bytes()).map_err(|error| {
        let at = error.valid_up_to();
        Diagnostic::error("the file is not valid UTF-8")
            .at(source, Span::new(at, at + 1), "this byte")
            .with_help("save the file as UTF-8")
    })
}

/// The option being read, whose continuation lines may follow.
struct Current {
    /// Index into `sections`, or `None` for DEFAULT.
    section: Option<usize>,
    entry: usize,
    lines: Vec<String>,
}

/// Reads a paste.ini or mediagoblin.ini.
pub fn read(source: &Arc<SourceFile>) -> Result<Document, Diagnostic> {
    let text = utf8(source)?;
    let mut sections: Vec<Section> = Vec::new();
    let mut defaults = Section {
        name: DEFAULT_SECTION.to_string(),
        header_span: None,
        entries: Vec::new(),
    };
    // `None` before the first header; `Some(None)` in DEFAULT.
    let mut cursect: Option<Option<usize>> = None;
    let mut current: Option<Current> = None;
    let mut indent_level = 0usize;
    let mut deferred_error: Option<Diagnostic> = None;

    let flush =
        |current: &mut Option<Current>, sections: &mut Vec<Section>, defaults: &mut Section| {
            if let Some(done) = current.take() {
                let section = match done.section {
                    Some(index) => sections.get_mut(index),
                    None => Some(defaults),
                };
                if let Some(entry) = section.and_then(|s| s.entries.get_mut(done.entry)) {
                    entry.value = done
                        .lines
                        .join("\n")
                        .trim_end_matches(is_py_space)
                        .to_string();
                }
            }
        };

    for line in lines(text) {
        let (lo, hi) = strip_bounds(line.text);
        let stripped = line.text.get(lo..hi).unwrap_or_default();
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        if stripped.is_empty() || is_comment {
            // An empty line (not a comment) belongs to the value being read.
            if !is_comment && let Some(current) = &mut current {
                current.lines.push(String::new());
            }
            continue;
        }
        let span = Span::new(line.start + lo, line.start + hi);
        let indent = line.text.get(..lo).map_or(0, |s| s.chars().count());
        if cursect.is_some()
            && indent > indent_level
            && let Some(open) = &mut current
        {
            open.lines.push(stripped.to_string());
            let section = match open.section {
                Some(index) => sections.get_mut(index),
                None => Some(&mut defaults),
            };
            if let Some(entry) = section.and_then(|s| s.entries.get_mut(open.entry)) {
                entry.value_spans.push(span);
            }
            continue;
        }
        indent_level = indent;
        if let Some(header) = section_header(stripped) {
            flush(&mut current, &mut sections, &mut defaults);
            if header == DEFAULT_SECTION {
                cursect = Some(None);
            } else if let Some(previous) = sections.iter().find(|s| s.name == header) {
                let previous_line = previous
                    .header_span
                    .map_or(0, |span| source.line_col(span.start).line);
                return Err(
                    Diagnostic::error(format!("section [{header}] appears twice"))
                        .at(source, span, "second header")
                        .with_note(format!("it was first opened on line {previous_line}"))
                        .with_help(
                            "merge the two sections; Python's configparser refuses duplicates",
                        ),
                );
            } else {
                sections.push(Section {
                    name: header.to_string(),
                    header_span: Some(span),
                    entries: Vec::new(),
                });
                cursect = Some(Some(sections.len() - 1));
            }
            continue;
        }
        let Some(section_index) = cursect else {
            return Err(Diagnostic::error("a setting before any [section] header")
                .at(source, span, "not inside a section")
                .with_help("start the file with a section header such as [app:main]"));
        };
        flush(&mut current, &mut sections, &mut defaults);
        let Some((key, value)) = split_option(stripped) else {
            deferred_error.get_or_insert_with(|| {
                Diagnostic::error(
                    "expected `key = value`, `key: value`, a [section] header or a comment",
                )
                .at(source, span, "not a setting")
            });
            continue;
        };
        if key.1 == 0 {
            deferred_error.get_or_insert_with(|| {
                Diagnostic::error("a setting with an empty name").at(
                    source,
                    span,
                    "no name before the delimiter",
                )
            });
        }
        let key_text = stripped.get(key.0..key.1).unwrap_or_default();
        let key_span = Span::new(span.start + key.0, span.start + key.1);
        let section = match section_index {
            Some(index) => sections.get_mut(index),
            None => Some(&mut defaults),
        };
        let Some(section) = section else { continue };
        if let Some(previous) = section.get(key_text) {
            return Err(Diagnostic::error(format!(
                "`{key_text}` is set twice in [{}]",
                section.name
            ))
            .at(source, key_span, "set again here")
            .with_note(format!("first set on line {}", previous.line))
            .with_help("keep one of them; paste.ini files cannot repeat a key"));
        }
        let value_text = stripped.get(value.0..value.1).unwrap_or_default();
        let value_spans = if value.0 < value.1 {
            vec![Span::new(span.start + value.0, span.start + value.1)]
        } else {
            Vec::new()
        };
        section.entries.push(Entry {
            key: key_text.to_string(),
            key_span,
            value: value_text.to_string(),
            value_spans,
            line: line.number,
        });
        current = Some(Current {
            section: section_index,
            entry: section.entries.len() - 1,
            lines: vec![value_text.to_string()],
        });
    }
    flush(&mut current, &mut sections, &mut defaults);
    if let Some(error) = deferred_error {
        return Err(error);
    }
    Ok(Document {
        source: Arc::clone(source),
        sections,
        defaults,
    })
}

/// `SECTCRE`: `\[(?P<header>.+)\]` matched at the start: the header runs to
/// the last `]`, and anything after it is ignored.
fn section_header(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| rest.get(..close)).flatten()
}

/// `OPTCRE`: the name runs to the first `=` or `:`; returns the byte ranges
/// of the name and of the value (both without surrounding whitespace).
fn split_option(stripped: &str) -> Option<((usize, usize), (usize, usize))> {
    let delimiter = stripped.find(['=', ':'])?;
    let name = stripped.get(..delimiter)?;
    let name_end = name.trim_end_matches(is_py_space).len();
    let after = delimiter + 1;
    let value = stripped.get(after..)?;
    let (lo, hi) = strip_bounds(value);
    Some(((0, name_end), (after + lo, after + hi)))
}

/// Why a value could not be interpolated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpolationError {
    /// `%(name)s` names an option that is not set.
    Missing { name: String },
    /// `%` not followed by `%` or `(name)s`.
    Syntax { rest: String },
    /// More than `MAX_INTERPOLATION_DEPTH` levels (often a loop).
    TooDeep,
    /// The value would grow past `MAX_INTERPOLATED_LEN`.
    TooLong,
}

/// Looks values up the way PasteDeploy's `ConfigParser.get` does: the
/// section, then DEFAULT (the file's own, over `here` and `__file__`).
pub struct Resolver<'d> {
    document: &'d Document,
    builtins: Vec<(&'static str, String)>,
}

impl Document {
    /// A resolver for a paste dialect document read from `path` (made
    /// absolute by the caller, as PasteDeploy does).
    pub fn resolver(&self, path: &Path) -> Resolver<'_> {
        let here = path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Resolver {
            document: self,
            builtins: vec![
                ("here", here),
                ("__file__", path.to_string_lossy().into_owned()),
            ],
        }
    }
}

impl<'d> Resolver<'d> {
    fn raw(&self, section: &str, key: &str) -> Option<&str> {
        let own = self
            .document
            .section(section)
            .filter(|s| s.name != DEFAULT_SECTION)
            .and_then(|s| s.get(key));
        if let Some(entry) = own {
            return Some(&entry.value);
        }
        if let Some(entry) = self.document.defaults.get(key) {
            return Some(&entry.value);
        }
        self.builtins
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value.as_str())
    }

    /// The keys `section` answers for, in Python's `options()` order: its own,
    /// then DEFAULT's (built-in ones first).
    pub fn keys(&self, section: &str) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        if section != DEFAULT_SECTION
            && let Some(s) = self.document.section(section)
        {
            keys.extend(s.entries.iter().map(|e| e.key.clone()));
        }
        let defaults = self
            .builtins
            .iter()
            .map(|(name, _)| name.to_string())
            .chain(self.document.defaults.entries.iter().map(|e| e.key.clone()));
        for key in defaults {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// The interpolated value of `key` in `section`; `None` if it is not set.
    pub fn get(&self, section: &str, key: &str) -> Option<Result<String, InterpolationError>> {
        let raw = self.raw(section, key)?;
        let mut out = String::new();
        Some(self.interpolate(section, raw, 1, &mut out).map(|()| out))
    }

    /// configparser's `BasicInterpolation._interpolate_some`.
    fn interpolate(
        &self,
        section: &str,
        mut rest: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(InterpolationError::TooDeep);
        }
        while !rest.is_empty() {
            let Some(percent) = rest.find('%') else {
                out.push_str(rest);
                break;
            };
            out.push_str(rest.get(..percent).unwrap_or_default());
            rest = rest.get(percent..).unwrap_or_default();
            let after = rest.get(1..).unwrap_or_default();
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('(') {
                let name_end = tail.find(')').filter(|&end| end > 0);
                let Some(name_end) =
                    name_end.filter(|&end| tail.get(end + 1..end + 2) == Some("s"))
                else {
                    return Err(InterpolationError::Syntax {
                        rest: rest.to_string(),
                    });
                };
                let name = tail.get(..name_end).unwrap_or_default();
                rest = tail.get(name_end + 2..).unwrap_or_default();
                let Some(value) = self.raw(section, name) else {
                    return Err(InterpolationError::Missing {
                        name: name.to_string(),
                    });
                };
                if value.contains('%') {
                    self.interpolate(section, value, depth + 1, out)?;
                } else {
                    out.push_str(value);
                }
            } else {
                return Err(InterpolationError::Syntax {
                    rest: rest.to_string(),
                });
            }
            if out.len() > MAX_INTERPOLATED_LEN {
                return Err(InterpolationError::TooLong);
            }
        }
        Ok(())
    }

    /// `get`, with a diagnostic pointing at the value when it fails.
    pub fn value(&self, section: &str, key: &str) -> Result<Option<String>, Diagnostic> {
        let Some(result) = self.get(section, key) else {
            return Ok(None);
        };
        result.map(Some).map_err(|error| {
            let source = &self.document.source;
            let entry = self
                .document
                .section(section)
                .and_then(|s| s.get(key))
                .or_else(|| self.document.defaults.get(key));
            let message = match &error {
                InterpolationError::Missing { name } => {
                    format!("`%({name})s` in `{key}` names a setting that [{section}] and [DEFAULT] do not have")
                }
                InterpolationError::Syntax { rest } => {
                    format!("`{key}` has a `%` that is not `%%` or `%(name)s`: {rest:?}")
                }
                InterpolationError::TooDeep => {
                    format!("`{key}` nests `%(...)s` more than {MAX_INTERPOLATION_DEPTH} levels deep (is there a loop?)")
                }
                InterpolationError::TooLong => format!("`{key}` grows past 1 MiB when interpolated"),
            };
            let diagnostic = Diagnostic::error(message);
            match entry {
                Some(entry) => diagnostic.at(source, entry.value_span(), "in this value"),
                None => diagnostic.in_file(source.path()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Document, Diagnostic> {
        read(&SourceFile::new(
            "/srv/mg/paste.ini",
            text.as_bytes().to_vec(),
        ))
    }

    #[test]
    fn continuation_comments_and_indented_headers() {
        let d = doc("[app:main]\nuse = egg:a#app\n\n  [server:main]\n  # dropped\n  ; dropped\nkey: v ; kept\n").unwrap();
        let app = d.section("app:main").unwrap();
        assert_eq!(app.get("use").unwrap().value, "egg:a#app\n\n[server:main]");
        assert_eq!(app.get("key").unwrap().value, "v ; kept");
        assert!(d.section("server:main").is_none());
    }

    #[test]
    fn keys_keep_case_and_split_at_the_first_delimiter() {
        let d = doc("[s]\nHTTP://host = 1\n").unwrap();
        let entry = &d.section("s").unwrap().entries[0];
        assert_eq!(entry.key, "HTTP");
        assert_eq!(entry.value, "//host = 1");
    }

    #[test]
    fn section_header_runs_to_the_last_bracket() {
        assert_eq!(section_header("[sec] trailing junk"), Some("sec"));
        assert_eq!(section_header("[a]b]"), Some("a]b"));
        assert_eq!(section_header("[]"), None);
    }

    #[test]
    fn duplicates_are_errors_with_positions() {
        let error = doc("[app:main]\nuse = a\nuse = b\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "/srv/mg/paste.ini:3:1: error: `use` is set twice in [app:main]"
        );
        let error = doc("[a]\nx=1\n[a]\n").unwrap_err();
        assert!(
            error.to_string().starts_with("/srv/mg/paste.ini:3:1:"),
            "{error}"
        );
    }

    #[test]
    fn interpolation_follows_basic_interpolation() {
        let d = doc("[DEFAULT]\nroot = %(here)s/x\n[app:main]\nconfig = %(root)s/mediagoblin.ini 100%%\nbad = %(nope)s\nloop = %(loop)s\n")
            .unwrap();
        let r = d.resolver(Path::new("/srv/mg/paste.ini"));
        assert_eq!(
            r.get("app:main", "config").unwrap().unwrap(),
            "/srv/mg/x/mediagoblin.ini 100%"
        );
        assert_eq!(
            r.get("app:main", "bad").unwrap(),
            Err(InterpolationError::Missing {
                name: "nope".into()
            })
        );
        assert_eq!(
            r.get("app:main", "loop").unwrap(),
            Err(InterpolationError::TooDeep)
        );
        assert_eq!(
            r.get("app:main", "__file__").unwrap().unwrap(),
            "/srv/mg/paste.ini"
        );
        assert!(r.get("app:main", "missing").is_none());
        let error = r.value("app:main", "bad").unwrap_err();
        assert!(
            error.to_string().starts_with("/srv/mg/paste.ini:5:7:"),
            "{error}"
        );
    }

    #[test]
    fn missing_header_and_garbage_lines_are_errors() {
        assert!(doc("x = 1\n").unwrap_err().to_string().contains(":1:1:"));
        assert!(
            doc("[a]\njust words\n")
                .unwrap_err()
                .to_string()
                .contains(":2:1:")
        );
    }

    #[test]
    fn universal_newlines() {
        let d = doc("[a]\r\nx = 1\r  y\r\n").unwrap();
        assert_eq!(d.section("a").unwrap().get("x").unwrap().value, "1\ny");
    }
}
