//! The one shape every problem mgdeploy reports takes: a parse error, a lint
//! finding or a failed write. Renderers in `report` turn it into text, JSON,
//! SARIF or CI annotations.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::plan::Edit;
use crate::source::{LineCol, SourceFile, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A span in a file, with what to say about it.
#[derive(Clone, Debug)]
pub struct Label {
    pub source: Arc<SourceFile>,
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(source: &Arc<SourceFile>, span: Span, message: impl Into<String>) -> Self {
        Label {
            source: Arc::clone(source),
            span,
            message: message.into(),
        }
    }

    pub fn start(&self) -> LineCol {
        self.source.line_col(self.span.start)
    }

    pub fn end(&self) -> LineCol {
        self.source.line_col(self.span.end)
    }
}

/// Where a diagnostic points: a span in a loaded file, or a whole file that
/// could not be read.
#[derive(Clone, Debug)]
pub enum Location {
    Span(Label),
    File(PathBuf),
    None,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable rule code such as `MG004`, for findings of `check`.
    pub code: Option<&'static str>,
    pub message: String,
    pub location: Location,
    /// Other places that explain the first, e.g. where an unclosed block opened.
    pub related: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// Edits that resolve the finding, when mgdeploy knows them.
    pub fix: Option<Fix>,
}

/// Whether a fix may be applied without a person reading it first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applicability {
    /// Changes nothing but what the finding is about (a misspelt name).
    Safe,
    /// Likely right, but it changes behaviour: shown, applied only when asked.
    Unsafe,
}

/// An edit to one file: what a fix is made of (the same `Edit` a
/// migration's plan is made of).
#[derive(Clone, Debug)]
pub struct FileEdit {
    pub source: Arc<SourceFile>,
    pub edit: Edit,
}

impl FileEdit {
    pub fn new(source: &Arc<SourceFile>, edit: Edit) -> Self {
        FileEdit {
            source: Arc::clone(source),
            edit,
        }
    }

    pub fn span(&self) -> Span {
        self.edit.span()
    }
}

/// What resolves a finding: one or more edits, said in a line.
#[derive(Clone, Debug)]
pub struct Fix {
    pub message: String,
    pub edits: Vec<FileEdit>,
    pub applicability: Applicability,
}

impl Fix {
    /// The fix in a line, with how to make it: `check --fix`, or with
    /// `--unsafe-fixes` for one that changes behaviour.
    pub fn describe(&self) -> String {
        let how = match self.applicability {
            Applicability::Safe => "mgdeploy check --fix",
            Applicability::Unsafe => "mgdeploy check --fix --unsafe-fixes",
        };
        format!("{} (`{how}`)", self.message)
    }
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: message.into(),
            location: Location::None,
            related: Vec::new(),
            notes: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// A fix that replaces `span` of `source` with `replacement`.
    pub fn with_fix(
        mut self,
        message: impl Into<String>,
        source: &Arc<SourceFile>,
        span: Span,
        replacement: impl Into<String>,
        applicability: Applicability,
    ) -> Self {
        self.fix = Some(Fix {
            message: message.into(),
            edits: vec![FileEdit::new(source, Edit::replace(span, replacement))],
            applicability,
        });
        self
    }

    /// A fix of several edits, possibly in several files, made together
    /// or not at all.
    pub fn with_fix_edits(
        mut self,
        message: impl Into<String>,
        edits: Vec<FileEdit>,
        applicability: Applicability,
    ) -> Self {
        if !edits.is_empty() {
            self.fix = Some(Fix {
                message: message.into(),
                edits,
                applicability,
            });
        }
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Points the diagnostic at `span`, with a short label under the caret.
    pub fn at(mut self, source: &Arc<SourceFile>, span: Span, label: impl Into<String>) -> Self {
        self.location = Location::Span(Label::new(source, span, label));
        self
    }

    pub fn in_file(mut self, path: &Path) -> Self {
        self.location = Location::File(path.to_path_buf());
        self
    }

    pub fn with_related(
        mut self,
        source: &Arc<SourceFile>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        self.related.push(Label::new(source, span, label));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn primary(&self) -> Option<&Label> {
        match &self.location {
            Location::Span(label) => Some(label),
            _ => None,
        }
    }

    /// The file this diagnostic is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::Span(label) => Some(label.source.path()),
            Location::File(path) => Some(path),
            Location::None => None,
        }
    }

    /// `file:line:col` (or just `file`) for one-line summaries.
    pub fn location_text(&self) -> Option<String> {
        match &self.location {
            Location::Span(label) => Some(label.source.location(label.span.start)),
            Location::File(path) => Some(path.display().to_string()),
            Location::None => None,
        }
    }
}

/// One line: `file:line:col: error: message` — for logs and test assertions.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location_text() {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}", self.severity.as_str())?;
        if let Some(code) = self.code {
            write!(f, "[{code}]")?;
        }
        write!(f, ": {}", self.message)
    }
}
