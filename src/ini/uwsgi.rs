//! uWSGI's own INI reader (core/ini.c), line for line: lines end at `\n`;
//! spaces, tabs and CRs around them are dropped; `[name]` opens a section
//! (uWSGI takes the text between the first and last character); a line
//! starting with `;` or `#` is a comment; anything else is `key = value`,
//! split at the first `=` (no `=`: the whole line is the key, the value
//! empty). Keys repeat and keep their order; `%(...)`, `$(...)`, `%d` and
//! friends are uWSGI's placeholders and stay as written.

use std::sync::Arc;

use super::{Document, Entry, Section, paste::DEFAULT_SECTION};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

fn is_ini_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// `(start, end)` of `bytes[start..end]` without uWSGI's blanks around it.
fn trim(bytes: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && bytes.get(start).copied().is_some_and(is_ini_space) {
        start += 1;
    }
    while end > start && bytes.get(end - 1).copied().is_some_and(is_ini_space) {
        end -= 1;
    }
    (start, end)
}

/// Reads a uWSGI ini file. uWSGI reads C strings, so a NUL byte is the only
/// thing it cannot mean what it says.
pub fn read(source: &Arc<SourceFile>) -> Result<Document, Diagnostic> {
    let bytes = source.bytes();
    if let Some(nul) = memchr::memchr(0, bytes) {
        return Err(Diagnostic::error("the file contains a NUL byte").at(
            source,
            Span::new(nul, nul + 1),
            "uWSGI stops reading the line here",
        ));
    }
    let text = |start: usize, end: usize| {
        String::from_utf8_lossy(bytes.get(start..end).unwrap_or_default()).into_owned()
    };
    // Settings before the first header belong to no section uWSGI reads.
    let mut sections = vec![Section {
        name: String::new(),
        header_span: None,
        entries: Vec::new(),
    }];
    let mut line_start = 0;
    let mut number = 0;
    while line_start < bytes.len() {
        number += 1;
        let rest = bytes.get(line_start..).unwrap_or_default();
        let line_end = line_start + memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let (start, end) = trim(bytes, line_start, line_end);
        let next = line_end + 1;
        match bytes.get(start) {
            None => {}
            Some(_) if start == end => {}
            Some(b'[') => sections.push(Section {
                name: text(start + 1, end.saturating_sub(1).max(start + 1)),
                header_span: Some(Span::new(start, end)),
                entries: Vec::new(),
            }),
            Some(b';' | b'#') => {}
            Some(_) => {
                let line = bytes.get(start..end).unwrap_or_default();
                let (key_end, value_start) = match memchr::memchr(b'=', line) {
                    Some(eq) => (start + eq, start + eq + 1),
                    None => (end, end),
                };
                let (key_start, key_end) = trim(bytes, start, key_end);
                let (value_start, value_end) = trim(bytes, value_start, end);
                let value_spans = if value_start < value_end {
                    vec![Span::new(value_start, value_end)]
                } else {
                    Vec::new()
                };
                if let Some(section) = sections.last_mut() {
                    section.entries.push(Entry {
                        key: text(key_start, key_end),
                        key_span: Span::new(key_start, key_end),
                        value: text(value_start, value_end),
                        value_spans,
                        line: number,
                    });
                }
            }
        }
        line_start = next;
    }
    Ok(Document {
        source: Arc::clone(source),
        sections,
        defaults: Section {
            name: DEFAULT_SECTION.to_string(),
            header_span: None,
            entries: Vec::new(),
        },
    })
}

impl Document {
    /// Every entry of every section called `name`, in file order: uWSGI
    /// reads all `[uwsgi]` sections of a file.
    pub fn entries<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.sections
            .iter()
            .filter(move |s| s.name == name)
            .flat_map(|s| s.entries.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_keep_their_order() {
        let source = SourceFile::new(
            "u.ini",
            b"[uwsgi]\r\nenv = A=1\nenv = B=%(x)\n  master\n# c\nmount = /m=config:/p.ini\n[other]\nenv = C\n[uwsgi]\nenv = D\n".to_vec(),
        );
        let doc = read(&source).unwrap();
        let env: Vec<&str> = doc
            .entries("uwsgi")
            .filter(|e| e.key == "env")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(env, ["A=1", "B=%(x)", "D"]);
        let master = doc.entries("uwsgi").find(|e| e.key == "master").unwrap();
        assert_eq!((master.value.as_str(), master.line), ("", 4));
        assert_eq!(source.text(master.key_span), "master");
    }

    #[test]
    fn header_is_first_to_last_character() {
        let source = SourceFile::new("u.ini", b"[uwsgi\nx=1\n".to_vec());
        let doc = read(&source).unwrap();
        assert_eq!(doc.sections[1].name, "uwsg");
    }
}
