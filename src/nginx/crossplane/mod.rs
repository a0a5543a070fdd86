//! The JSON that crossplane (`crossplane parse`) prints, written straight
//! from the tree: `{"status","errors","config":[{"file","status","errors",
//! "parsed":[{"directive","line","args","includes"?,"block"?}]}]}`.
//!
//! Values follow crossplane, not nginx: a quoted word loses its quotes and
//! the backslash before its own quote character, every other escape stays as
//! written, and `if (...)` loses its parentheses.

mod json;
pub mod stream;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::borrow::Cow;

use super::include::{Loaded, LoadedFile};
use super::syntax::{Comment, Directive, Node, Quote, Terminator, Word};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

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
        map.serialize_entry("errors", &payload_errors(self.loaded))?;
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

/// The payload's `"errors"`: every file's, each naming its file.
fn payload_errors(loaded: &Loaded) -> Vec<ErrorView<'_>> {
    loaded
        .files
        .iter()
        .flat_map(|file| {
            file.errors().map(move |diagnostic| ErrorView {
                file: Some(file),
                diagnostic,
            })
        })
        .collect()
}

/// A file's own `"errors"`.
fn file_errors(file: &LoadedFile) -> Vec<ErrorView<'_>> {
    file.errors()
        .map(|diagnostic| ErrorView {
            file: None,
            diagnostic,
        })
        .collect()
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
        map.serialize_entry("errors", &file_errors(self.file))?;
        match &self.file.config {
            Ok(config) => map.serialize_entry(
                "parsed",
                &NodesView {
                    file: self.file,
                    words: FileText::new(config.source.bytes()),
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
    words: FileText<'a>,
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
                            words: self.words,
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
                                words: self.words,
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
    words: FileText<'a>,
    comment: &'a Comment,
    line: u32,
}

impl Serialize for CommentView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("directive", "#")?;
        map.serialize_entry("line", &self.line)?;
        map.serialize_entry("args", &[(); 0])?;
        map.serialize_entry("comment", &self.words.comment(self.comment))?;
        map.end()
    }
}

struct DirectiveView<'a> {
    parent: &'a NodesView<'a>,
    directive: &'a Directive,
}

impl Serialize for DirectiveView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let words = self.parent.words;
        let d = self.directive;
        let mut map = s.serialize_map(None)?;
        let name = words.value(&d.name);
        map.serialize_entry("directive", &name)?;
        map.serialize_entry("line", &d.name.line)?;
        match special_args(words, &name, &d.args, lua_block(&d.terminator)) {
            Some(args) => map.serialize_entry("args", &args)?,
            // Most directives: each word written as it is read, no list made.
            None => map.serialize_entry(
                "args",
                &ArgsView {
                    words,
                    args: &d.args,
                },
            )?,
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
                    words,
                    nodes: &block.children,
                    options: self.parent.options,
                },
            )?;
        }
        map.end()
    }
}

/// The arguments of `if` (parentheses stripped) and of a Lua block (its
/// code added), which crossplane changes; `None` for every other directive.
fn special_args<'a>(
    words: FileText<'a>,
    name: &str,
    args: &[Word],
    lua: Option<Span>,
) -> Option<Vec<Cow<'a, str>>> {
    if name != "if" && lua.is_none() {
        return None;
    }
    let mut values: Vec<Cow<'_, str>> = args.iter().map(|a| words.value(a)).collect();
    if let Some(block) = lua {
        values.push(words.lua(block));
    }
    if name == "if" {
        strip_if_parentheses(&mut values);
    }
    Some(values)
}

/// The span of a Lua directive's `{ ... }`.
fn lua_block(terminator: &Terminator) -> Option<Span> {
    match terminator {
        Terminator::Lua(span) => Some(*span),
        _ => None,
    }
}

/// A directive's arguments, serialized one by one.
struct ArgsView<'a> {
    words: FileText<'a>,
    args: &'a [Word],
}

impl Serialize for ArgsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.args.len()))?;
        for word in self.args {
            seq.serialize_element(&self.words.value(word))?;
        }
        seq.end()
    }
}

/// The file words are read from: its bytes, and the same as text when the
/// whole file is UTF-8 (a word is then a slice of it, with no check of its
/// own).
#[derive(Clone, Copy)]
pub(crate) struct FileText<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> FileText<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        FileText {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    fn slice(&self, span: Span) -> &'a [u8] {
        let end = span.end.min(self.bytes.len());
        self.bytes.get(span.start.min(end)..end).unwrap_or_default()
    }

    /// A word as crossplane reports it: quotes gone, and the backslash
    /// before the word's own quote character; every other escape stays.
    /// Borrowed from the file when no escape needs resolving (most words).
    pub(crate) fn value(&self, word: &Word) -> Cow<'a, str> {
        let span = word.inner_span();
        let raw = self.slice(span);
        let quote = match word.quote {
            Quote::None => None,
            Quote::Double => Some(b'"'),
            Quote::Single => Some(b'\''),
        };
        let escaped = quote.is_some() && raw.contains(&b'\\');
        if !escaped {
            return match self.text.and_then(|t| t.get(span.start..span.end)) {
                Some(slice) => Cow::Borrowed(slice),
                None => text(raw),
            };
        }
        let quote = quote.unwrap_or(b'"');
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

    /// A comment's text as crossplane reports it: without `#` and a CR.
    fn comment(&self, comment: &Comment) -> Cow<'a, str> {
        let raw = self.slice(comment.span);
        let raw = raw.strip_prefix(b"#").unwrap_or(raw);
        String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw))
    }

    /// The Lua code between a Lua block's braces, which crossplane lists as
    /// the directive's last argument.
    fn lua(&self, block: Span) -> Cow<'a, str> {
        let inner = Span::new(
            block.start + 1,
            block.end.saturating_sub(1).max(block.start + 1),
        );
        String::from_utf8_lossy(self.slice(inner))
    }
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
