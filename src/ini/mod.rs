//! INI files in the two dialects a MediaGoblin deployment uses:
//!
//! - `paste`: Python's configparser exactly as PasteDeploy sets it up
//!   (paste.ini, mediagoblin.ini): continuation lines, `=` and `:`,
//!   `[DEFAULT]`, `%(name)s` interpolation with `here` and `__file__`,
//!   duplicate keys rejected.
//! - `uwsgi`: uWSGI's own reader (core/ini.c): one `key = value` per line,
//!   keys repeat and keep their order, no continuation lines, uWSGI's
//!   placeholders left as written.
//!
//! Both keep the span of every section header, key and value line, so
//! diagnostics can point into the file and edits can splice it.

pub mod paste;
pub mod typed;
pub mod uwsgi;

use std::sync::Arc;

use crate::source::{SourceFile, Span};

/// One `key = value` (or `key: value`) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    /// The value as the dialect reads it (continuation lines joined with
    /// `\n`), before any interpolation.
    pub value: String,
    /// The text of each value line, without surrounding whitespace.
    pub value_spans: Vec<Span>,
    /// 1-based line of the key.
    pub line: usize,
}

impl Entry {
    /// From the key to the end of the last value line.
    pub fn span(&self) -> Span {
        self.value_spans
            .iter()
            .fold(self.key_span, |span, value| span.to(*value))
    }

    /// The span of the whole value (empty, right after the delimiter, when
    /// the value is empty).
    pub fn value_span(&self) -> Span {
        match (self.value_spans.first(), self.value_spans.last()) {
            (Some(first), Some(last)) => first.to(*last),
            _ => Span::at(self.key_span.end),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The `[name]` header; `None` for the implicit DEFAULT section.
    pub header_span: Option<Span>,
    pub entries: Vec<Entry>,
}

impl Section {
    /// The first entry with this key.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Every entry with this key, in file order (uWSGI keys repeat).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.key == key)
    }
}

/// A parsed INI file.
#[derive(Clone, Debug)]
pub struct Document {
    pub source: Arc<SourceFile>,
    /// Sections in file order; `[DEFAULT]` (paste dialect) is kept apart.
    pub sections: Vec<Section>,
    pub defaults: Section,
}

impl Document {
    pub fn section(&self, name: &str) -> Option<&Section> {
        if name == paste::DEFAULT_SECTION {
            return Some(&self.defaults);
        }
        self.sections.iter().find(|s| s.name == name)
    }

    /// Sections whose name starts with `prefix`, e.g. every `server:`.
    pub fn sections_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections
            .iter()
            .filter(move |s| s.name.starts_with(prefix))
    }
}
