//! The JSON that crossplane (`crossplane parse`) prints, written straight
//! from the tree: `{"status","errors","config":[{"file","status","errors",
//! "parsed":[{"directive","line","args","includes"?,"block"?}]}]}`.
//!
//! Values follow crossplane, not nginx: a quoted word loses its quotes and
//! the backslash before its own quote character, every other escape stays as
//! written, and `if (...)` loses its parentheses.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::borrow::Cow;

use super::include::{Loaded, LoadedFile};
use super::syntax::{Comment, Config, Directive, Node, Quote, Terminator, Word};
use crate::diagnostic::Diagnostic;

/// What to put in the payload.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Add `{"directive": "#", "comment": ...}` entries.
    pub comments: bool,
    /// Add `"includes"` to include directives (crossplane omits it with
    /// `--single-file`).
    pub includes: bool,
}

/// The whole payload, ready for `serde_json::to_writer`.
pub struct Payload<'a> {
    pub loaded: &'a Loaded,
    pub options: Options,
}

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("status", status(self.loaded.is_ok()))?;
        let errors: Vec<ErrorView<'_>> = self
            .loaded
            .files
            .iter()
            .flat_map(|f| {
                f.errors().map(move |d| ErrorView {
                    file: Some(f),
                    diagnostic: d,
                })
            })
            .collect();
        map.serialize_entry("errors", &errors)?;
        let files: Vec<FileView<'_>> = self
            .loaded
            .files
            .iter()
            .map(|file| FileView {
                file,
                options: self.options,
            })
            .collect();
        map.serialize_entry("config", &files)?;
        map.end()
    }
}

fn status(ok: bool) -> &'static str {
    if ok { "ok" } else { "failed" }
}

struct ErrorView<'a> {
    /// Present in the payload-level list, absent in a file's own list.
    file: Option<&'a LoadedFile>,
    diagnostic: &'a Diagnostic,
}

impl Serialize for ErrorView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(file) = self.file {
            map.serialize_entry("file", &file.path.to_string_lossy())?;
        }
        map.serialize_entry("error", &self.diagnostic.to_string())?;
        map.serialize_entry("line", &self.diagnostic.primary().map(|l| l.start().line))?;
        map.end()
    }
}

struct FileView<'a> {
    file: &'a LoadedFile,
    options: Options,
}

impl Serialize for FileView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("file", &self.file.path.to_string_lossy())?;
        let ok = self.file.errors().next().is_none();
        map.serialize_entry("status", status(ok))?;
        let errors: Vec<ErrorView<'_>> = self
            .file
            .errors()
            .map(|d| ErrorView {
                file: None,
                diagnostic: d,
            })
            .collect();
        map.serialize_entry("errors", &errors)?;
        match &self.file.config {
            Ok(config) => map.serialize_entry(
                "parsed",
                &NodesView {
                    file: self.file,
                    config,
                    text: std::str::from_utf8(config.source.bytes()).ok(),
                    nodes: &config.children,
                    options: self.options,
                },
            )?,
            Err(_) => map.serialize_entry("parsed", &[(); 0])?,
        }
        map.end()
    }
}

struct NodesView<'a> {
    file: &'a LoadedFile,
    config: &'a Config,
    /// The whole file, when it is UTF-8: a word is then a slice of it,
    /// with no check of its own.
    text: Option<&'a str>,
    nodes: &'a [Node],
    options: Options,
}

impl Serialize for NodesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for node in self.nodes {
            match node {
                Node::Comment(comment) => {
                    if self.options.comments {
                        seq.serialize_element(&CommentView {
                            config: self.config,
                            comment,
                            line: comment.line,
                        })?;
                    }
                }
                Node::Directive(directive) => {
                    seq.serialize_element(&DirectiveView {
                        parent: self,
                        directive,
                    })?;
                    // crossplane lists comments found between the arguments
                    // after the directive, on the directive's line.
                    if self.options.comments {
                        for comment in &directive.comments {
                            seq.serialize_element(&CommentView {
                                config: self.config,
                                comment,
                                line: directive.name.line,
                            })?;
                        }
                    }
                }
            }
        }
        seq.end()
    }
}

struct CommentView<'a> {
    config: &'a Config,
    comment: &'a Comment,
    line: u32,
}

impl Serialize for CommentView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("directive", "#")?;
        map.serialize_entry("line", &self.line)?;
        map.serialize_entry("args", &[(); 0])?;
        let text = self.config.bytes(self.comment.span);
        let text = text.strip_prefix(b"#").unwrap_or(text);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        map.serialize_entry("comment", &String::from_utf8_lossy(text))?;
        map.end()
    }
}

struct DirectiveView<'a> {
    parent: &'a NodesView<'a>,
    directive: &'a Directive,
}

impl Serialize for DirectiveView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let config = self.parent.config;
        let d = self.directive;
        let mut map = s.serialize_map(None)?;
        let text = self.parent.text;
        let name = value(config, text, &d.name);
        map.serialize_entry("directive", &name)?;
        map.serialize_entry("line", &d.name.line)?;
        let lua = matches!(d.terminator, Terminator::Lua(_));
        if name == "if" || lua {
            let mut args: Vec<Cow<'_, str>> =
                d.args.iter().map(|a| value(config, text, a)).collect();
            if let Terminator::Lua(span) = &d.terminator {
                let inner = crate::source::Span::new(
                    span.start + 1,
                    span.end.saturating_sub(1).max(span.start + 1),
                );
                args.push(String::from_utf8_lossy(config.bytes(inner)));
            }
            if name == "if" {
                strip_if_parentheses(&mut args);
            }
            map.serialize_entry("args", &args)?;
        } else {
            // Most directives: each word written as it is read, no list made.
            map.serialize_entry(
                "args",
                &ArgsView {
                    config,
                    text,
                    words: &d.args,
                },
            )?;
        }
        if self.parent.options.includes
            && let Some(files) = self.parent.file.included_by(d.name.span)
        {
            map.serialize_entry("includes", files)?;
        }
        if let Some(block) = d.block() {
            map.serialize_entry(
                "block",
                &NodesView {
                    file: self.parent.file,
                    config,
                    text: self.parent.text,
                    nodes: &block.children,
                    options: self.parent.options,
                },
            )?;
        }
        map.end()
    }
}

/// A directive's arguments, serialized one by one.
struct ArgsView<'a> {
    config: &'a Config,
    text: Option<&'a str>,
    words: &'a [Word],
}

impl Serialize for ArgsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.words.len()))?;
        for word in self.words {
            seq.serialize_element(&value(self.config, self.text, word))?;
        }
        seq.end()
    }
}

/// `crossplane_value`, with the file's text when it is all UTF-8.
fn value<'c>(config: &'c Config, text: Option<&'c str>, word: &Word) -> Cow<'c, str> {
    let span = word.inner_span();
    let plain = match word.quote {
        Quote::None => true,
        Quote::Double | Quote::Single => !config.bytes(span).contains(&b'\\'),
    };
    match text.and_then(|t| t.get(span.start..span.end)) {
        Some(slice) if plain => Cow::Borrowed(slice),
        _ => crossplane_value(config, word),
    }
}

/// A word as crossplane reports it; borrowed from the file when no escape
/// needs resolving (most words: no allocation per word).
pub fn crossplane_value<'c>(config: &'c Config, word: &Word) -> Cow<'c, str> {
    let raw = config.bytes(word.inner_span());
    let quote = match word.quote {
        Quote::None => return text(raw),
        Quote::Double => b'"',
        Quote::Single => b'\'',
    };
    if !raw.contains(&b'\\') {
        return text(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'\\' {
            match raw.get(i + 1) {
                Some(&next) if next == quote => out.push(quote),
                Some(&next) => out.extend_from_slice(&[b'\\', next]),
                None => out.push(b'\\'),
            }
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Bytes as text, borrowed when they are UTF-8 (checking that is much
/// cheaper than the lossy conversion's scan).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// crossplane's `_prepare_if_args`.
fn strip_if_parentheses(args: &mut Vec<Cow<'_, str>>) {
    let (Some(first), Some(last)) = (args.first(), args.last()) else {
        return;
    };
    if !(first.starts_with('(') && last.ends_with(')')) {
        return;
    }
    if let Some(first) = args.first_mut() {
        *first = Cow::Owned(
            first
                .strip_prefix('(')
                .unwrap_or(first)
                .trim_start()
                .to_string(),
        );
    }
    // With one argument this strips the same string again, as crossplane does.
    if let Some(last) = args.last_mut() {
        *last = Cow::Owned(
            last.strip_suffix(')')
                .unwrap_or(last)
                .trim_end()
                .to_string(),
        );
    }
    if args.first().is_some_and(|a| a.is_empty()) {
        args.remove(0);
    }
    if args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
}
