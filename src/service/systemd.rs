//! systemd unit files, read as systemd reads them (systemd.syntax(7),
//! conf-parser.c): `[Section]` headers, `Key=Value` lines with blanks around
//! `=` ignored, `#` and `;` comment lines (also inside a continuation), and
//! a trailing backslash continuing the value on the next line. Keys repeat.
//! Every entry keeps its spans, so diagnostics can point into the file and
//! edits can replace exactly one setting.

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// One `Key=Value` setting, continuation lines included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitEntry {
    pub key: String,
    pub key_span: Span,
    /// The value as systemd sees it: continuation backslashes become
    /// spaces and the lines are joined, surrounding blanks stripped.
    pub value: String,
    /// From the key to the end of the last value line (line ending excluded).
    pub span: Span,
    /// 1-based line of the key.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitSection {
    pub name: String,
    pub header_span: Span,
    pub entries: Vec<UnitEntry>,
}

/// A parsed unit file.
#[derive(Clone, Debug)]
pub struct Unit {
    pub source: Arc<SourceFile>,
    pub sections: Vec<UnitSection>,
}

impl Unit {
    /// Every entry `key` of `section`, in file order.
    pub fn entries<'a, 'k>(
        &'a self,
        section: &'k str,
        key: &'k str,
    ) -> impl Iterator<Item = &'a UnitEntry> + use<'a, 'k> {
        self.sections
            .iter()
            .filter(move |s| s.name == section)
            .flat_map(|s| &s.entries)
            .filter(move |e| e.key == key)
    }

    /// The last value of `key` in `section` (later settings override).
    pub fn value(&self, section: &str, key: &str) -> Option<&str> {
        self.entries(section, key).last().map(|e| e.value.as_str())
    }

    /// `Environment=` assignments of `[Service]`, in order; an empty
    /// `Environment=` resets the list, as systemd does.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for entry in self.entries("Service", "Environment") {
            if entry.value.trim().is_empty() {
                out.clear();
                continue;
            }
            for word in split_words(&entry.value) {
                if let Some((name, value)) = word.split_once('=') {
                    out.retain(|(n, _)| n != name);
                    out.push((name.to_string(), value.to_string()));
                }
            }
        }
        out
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// Whether a line (without its ending) ends in an unescaped backslash.
fn continues(line: &[u8]) -> bool {
    let trailing = line.iter().rev().take_while(|&&b| b == b'\\').count();
    trailing % 2 == 1
}

/// Reads a unit file. A line that is neither a header, a comment nor a
/// `Key=Value` is an error at its line, as systemd warns and ignores it.
pub fn parse(source: &Arc<SourceFile>) -> Result<Unit, Diagnostic> {
    let bytes = source.bytes();
    let mut sections: Vec<UnitSection> = Vec::new();
    let mut offset = 0;
    let mut line_number = 0;
    // An entry whose value goes on: (entry, value so far).
    let mut open: Option<UnitEntry> = None;
    while offset < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |i| offset + i);
        line_number += 1;
        let mut line = &bytes[offset..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let line_start = offset;
        let line_end = line_start + line.len();
        offset = end + 1;
        let indent = line.iter().take_while(|&&b| is_blank(b)).count();
        let content = &line[indent..];
        let content_start = line_start + indent;

        if let Some(mut entry) = open.take() {
            if matches!(content.first(), Some(b'#' | b';')) {
                open = Some(entry);
                continue;
            }
            let text = String::from_utf8_lossy(content);
            entry.span = Span::new(entry.span.start, line_end);
            if continues(content) {
                entry.value.push_str(&text[..text.len() - 1]);
                entry.value.push(' ');
                open = Some(entry);
            } else {
                entry.value.push_str(&text);
                entry.value = entry.value.trim().to_string();
                push_entry(&mut sections, entry);
            }
            continue;
        }
        match content.first() {
            None | Some(b'#' | b';') => continue,
            Some(b'[') => {
                let Some(close) = content.iter().position(|&b| b == b']') else {
                    return Err(Diagnostic::error("a section header without `]`").at(
                        source,
                        Span::new(content_start, line_end),
                        "here",
                    ));
                };
                sections.push(UnitSection {
                    name: String::from_utf8_lossy(&content[1..close]).into_owned(),
                    header_span: Span::new(content_start, content_start + close + 1),
                    entries: Vec::new(),
                });
            }
            Some(_) => {
                let Some(equals) = content.iter().position(|&b| b == b'=') else {
                    return Err(Diagnostic::error("a line that is not `Key=Value`")
                        .at(source, Span::new(content_start, line_end), "no `=` here")
                        .with_help("systemd ignores such lines: remove it, or add the `=`"));
                };
                if sections.is_empty() {
                    return Err(Diagnostic::error("a setting before any [Section]").at(
                        source,
                        Span::new(content_start, line_end),
                        "here",
                    ));
                }
                let key_text = String::from_utf8_lossy(&content[..equals]);
                let key = key_text.trim_end().to_string();
                let key_span = Span::new(content_start, content_start + key.len());
                let value = String::from_utf8_lossy(&content[equals + 1..]).into_owned();
                let mut entry = UnitEntry {
                    key,
                    key_span,
                    value: String::new(),
                    span: Span::new(content_start, line_end),
                    line: line_number,
                };
                if continues(content) {
                    entry.value.push_str(&value[..value.len() - 1]);
                    entry.value.push(' ');
                    open = Some(entry);
                } else {
                    entry.value = value.trim().to_string();
                    push_entry(&mut sections, entry);
                }
            }
        }
    }
    if let Some(mut entry) = open {
        entry.value = entry.value.trim().to_string();
        push_entry(&mut sections, entry);
    }
    Ok(Unit {
        source: Arc::clone(source),
        sections,
    })
}

fn push_entry(sections: &mut [UnitSection], entry: UnitEntry) {
    if let Some(section) = sections.last_mut() {
        section.entries.push(entry);
    }
}

/// Splits a command line or an `Environment=` value into words as systemd
/// does: blanks separate words, double and single quotes group, and
/// backslash escapes (`\n`, `\t`, `\\`, `\"`, `\'`, `\xNN`, a blank) are
/// resolved. `$VAR` and `%` specifiers are left as written.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'') => quote = Some(c),
                (None, c) if c.is_whitespace() => break,
                (_, '\\') => match chars.next() {
                    Some('n') => word.push('\n'),
                    Some('t') => word.push('\t'),
                    Some('x') => {
                        let hex: String = (0..2).filter_map(|_| chars.next()).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(byte) => word.push(char::from(byte)),
                            Err(_) => {
                                word.push('x');
                                word.push_str(&hex);
                            }
                        }
                    }
                    Some(other) => word.push(other),
                    None => {}
                },
                (_, c) => word.push(c),
            }
        }
        words.push(word);
    }
}

/// The assignments of an `EnvironmentFile=`: `KEY=value` lines, `#` and
/// `;` comments, values quoted or not, as systemd reads them (no
/// expansion).
pub fn environment_file(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = split_words(value).join(" ");
        out.retain(|(n, _)| n != name.trim());
        out.push((name.trim().to_string(), value));
    }
    out
}

/// `ExecStart=` and friends: the command's words after systemd's prefixes
/// (`-`, `@`, `+`, `!`, `!!`, `:`), which change how it runs, not what.
pub fn command_words(value: &str) -> Vec<String> {
    let mut words = split_words(value);
    if let Some(first) = words.first_mut() {
        let program = first.trim_start_matches(['-', '@', '+', '!', ':']);
        *first = program.to_string();
        if first.is_empty() {
            words.remove(0);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASTER: &str = "[Unit]\nDescription=Mediagoblin\n\n[Service]\nType=forking\nEnvironment=CELERY_ALWAYS_EAGER=false\nWorkingDirectory=/srv/mg\n# a comment\nExecStart=/srv/mg/bin/paster serve \\\n              /srv/mg/paste_local.ini \\\n              # a comment inside\n              --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543\nExecStop=/srv/mg/bin/paster serve --pid-file=/run/mg.pid /srv/mg/paste_local.ini stop\n";

    fn unit(text: &str) -> Unit {
        parse(&SourceFile::new("/etc/systemd/system/x.service", text)).unwrap()
    }

    #[test]
    fn continuation_lines_join_and_keep_their_span() {
        let unit = unit(PASTER);
        let exec = unit.entries("Service", "ExecStart").next().unwrap();
        assert_eq!(
            command_words(&exec.value),
            [
                "/srv/mg/bin/paster",
                "serve",
                "/srv/mg/paste_local.ini",
                "--server-name=fcgi",
                "fcgi_host=127.0.0.1",
                "fcgi_port=26543"
            ]
        );
        let text = unit.source.text(exec.span);
        assert!(text.starts_with("ExecStart="), "{text}");
        assert!(text.ends_with("fcgi_port=26543"), "{text}");
        assert_eq!(exec.line, 9);
        assert_eq!(unit.value("Service", "Type"), Some("forking"));
        assert_eq!(
            unit.environment(),
            [("CELERY_ALWAYS_EAGER".to_string(), "false".to_string())]
        );
    }

    #[test]
    fn environment_takes_several_quoted_assignments() {
        let unit =
            unit("[Service]\nEnvironment=\"A=one two\" B=three 'C=$x 5'\nEnvironment=B=four\n");
        assert_eq!(
            unit.environment(),
            [
                ("A".to_string(), "one two".to_string()),
                ("C".to_string(), "$x 5".to_string()),
                ("B".to_string(), "four".to_string()),
            ]
        );
        let reset = self::unit("[Service]\nEnvironment=A=1\nEnvironment=\nEnvironment=B=2\n");
        assert_eq!(reset.environment(), [("B".to_string(), "2".to_string())]);
    }

    #[test]
    fn environment_files_hold_assignments() {
        assert_eq!(
            environment_file(
                "# defaults\nCELERY_ALWAYS_EAGER=false\nexport A=\"b c\"\n; x\nnot a line\n"
            ),
            [
                ("CELERY_ALWAYS_EAGER".to_string(), "false".to_string()),
                ("A".to_string(), "b c".to_string())
            ]
        );
    }

    #[test]
    fn prefixes_and_quotes_in_commands() {
        assert_eq!(
            command_words("-/bin/mkdir -p \"/run/media goblin\""),
            ["/bin/mkdir", "-p", "/run/media goblin"]
        );
        assert_eq!(
            command_words("@/usr/bin/uwsgi uwsgi"),
            ["/usr/bin/uwsgi", "uwsgi"]
        );
        assert_eq!(split_words(r#"a\ b "c\"d" e\x41"#), ["a b", "c\"d", "eA"]);
    }

    #[test]
    fn malformed_lines_are_located() {
        let source = SourceFile::new("/x.service", "[Service]\nExecStart /bin/true\n");
        let error = parse(&source).unwrap_err();
        assert!(error.to_string().contains("/x.service:2:1"), "{error}");
        assert!(parse(&SourceFile::new("/x", "[Service\n")).is_err());
        assert!(parse(&SourceFile::new("/x", "A=1\n")).is_err());
        // A file ending inside a continuation keeps what it has.
        let tail = unit("[Service]\nExecStart=/bin/a \\");
        assert_eq!(tail.value("Service", "ExecStart"), Some("/bin/a"));
    }
}
