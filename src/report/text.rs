//! Diagnostics as rustc prints them: `error[CODE]: message`, then
//! `--> file:line:col`, the source line and a caret under the problem.
//! Everything is for a terminal: a file's control characters are shown,
//! not obeyed (`visible`). Files are named as in every other format
//! (`paths`: relative to the work tree inside one).

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::paths::shown_str;
use super::visible::{visible, visible_with_offsets};
use crate::diagnostic::{Diagnostic, Label, Location, Severity};
use crate::source::Span;

/// Renders diagnostics one after the other, separated by blank lines.
pub fn render(diagnostics: &[Diagnostic], color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for diagnostic in diagnostics {
        let excerpts: Vec<Excerpt> = diagnostic
            .primary()
            .into_iter()
            .chain(&diagnostic.related)
            .map(Excerpt::of)
            .collect();
        let report = [group(diagnostic, &excerpts)];
        out.push_str(&renderer.render(&report));
        out.push_str("\n\n");
    }
    out
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

fn group<'a>(diagnostic: &'a Diagnostic, excerpts: &'a [Excerpt]) -> Group<'a> {
    let mut title = level(diagnostic.severity).primary_title(visible(&diagnostic.message));
    if let Some(code) = diagnostic.code {
        title = title.id(code);
    }
    let mut group = Group::with_title(title);
    if let Location::File(path) = &diagnostic.location {
        group = group.element(Origin::path(visible(&shown_str(path)).into_owned()));
    }
    for (index, excerpt) in excerpts.iter().enumerate() {
        let kind = if index == 0 && diagnostic.primary().is_some() {
            AnnotationKind::Primary
        } else {
            AnnotationKind::Context
        };
        // A window of a huge line: annotate-snippets would count the column
        // from the window, so the real place and the text are said apart.
        if let Some(column) = excerpt.column {
            group = group
                .element(
                    Origin::path(excerpt.path.as_str())
                        .line(excerpt.line_start)
                        .char_column(column),
                )
                .element(Level::NOTE.message(excerpt.window.as_str()));
            continue;
        }
        group = group.element(
            Snippet::source(excerpt.text.as_str())
                .line_start(excerpt.line_start)
                .path(excerpt.path.as_str())
                .annotation(
                    kind.span(excerpt.span.clone())
                        .label(excerpt.label.as_str()),
                ),
        );
    }
    for note in &diagnostic.notes {
        group = group.element(Level::NOTE.message(visible(note)));
    }
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(visible(help)));
    }
    if let Some(fix) = &diagnostic.fix {
        group = group.element(
            Level::HELP.message(visible(&format!("fix: {}", fix.describe())).into_owned()),
        );
    }
    group
}

/// Lines longer than this are shown as a window around the span.
const LONG_LINE: usize = 64 * 1024;
/// Bytes of a long line shown on each side of a span.
const CONTEXT: usize = 80;

/// The lines a label covers, as text, with the label's span inside them.
struct Excerpt {
    path: String,
    line_start: usize,
    text: String,
    span: Range<usize>,
    label: String,
    /// The span's real column, when the line is too long to show whole.
    column: Option<usize>,
    /// Then: what the line holds around the span, and the label.
    window: String,
}

impl Excerpt {
    fn of(label: &Label) -> Excerpt {
        let source = &label.source;
        let bytes = source.bytes();
        let mut span = label.span;
        // "Missing at the end of the file": point after the last token, not
        // at the empty line after the final newline.
        if span.is_empty() && span.start >= bytes.len() {
            let trimmed = bytes
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .map_or(0, |i| i + 1);
            span = Span::at(trimmed);
        }
        let start = source.line_col(span.start);
        let end = source.line_col(span.end);
        let first = source.line_span(start.line);
        let last = source.line_span(end.line.max(start.line));
        let from = span.start.clamp(first.start, last.end.max(first.start));
        let to = span.end.clamp(from, last.end.max(from));
        // Built from three separately converted pieces, so that the span's
        // ends fall on character boundaries even where the file is not UTF-8.
        if last.end.saturating_sub(first.start) > LONG_LINE {
            // A file without line breaks: only a window, so that memory
            // stays near the file's size.
            let from_window = from.saturating_sub(CONTEXT).max(first.start);
            let to_window = (to.min(from + CONTEXT) + CONTEXT).min(last.end.max(to));
            let window = format!(
                "{}: the line is {} bytes long; around there it reads: {:?}",
                visible(&label.message),
                last.end - first.start,
                source.text(Span::new(from_window, to_window))
            );
            return Excerpt {
                path: visible(&shown_str(source.path())).into_owned(),
                line_start: start.line,
                text: String::new(),
                span: 0..0,
                label: visible(&label.message).into_owned(),
                column: Some(start.column),
                window,
            };
        }
        let before = source.text(Span::new(first.start, from));
        let inside = source.text(Span::new(from, to));
        let after = source.text(Span::new(to, last.end.max(to)));
        let (text, offsets) = visible_with_offsets(&format!("{before}{inside}{after}"));
        let at = |offset: usize| offsets.get(offset).copied().unwrap_or(text.len());
        let from = at(before.len());
        let to = at(before.len() + inside.len());
        Excerpt {
            path: visible(&shown_str(source.path())).into_owned(),
            line_start: start.line,
            text,
            span: from..to,
            label: visible(&label.message).into_owned(),
            column: None,
            window: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn a_huge_line_is_shown_around_the_span() {
        let mut bytes = vec![b'x'; 1_000_000];
        bytes[500_000] = 0;
        let source = SourceFile::new("f.conf", bytes);
        let diagnostic = Diagnostic::error("NUL").at(&source, Span::new(500_000, 500_001), "here");
        let text = render(&[diagnostic], false);
        assert!(text.len() < 2_000, "{} bytes", text.len());
        assert!(text.contains("f.conf:1:500001"), "{text}");
        assert!(
            text.contains("the line is 1000000 bytes long; around there it reads: \"xxx"),
            "{text}"
        );
        assert!(text.contains("\\0xxx"), "{text}");
    }

    /// Found by the fuzzer: a span whose ends are inside characters, or
    /// next to bytes that are not UTF-8.
    #[test]
    fn spans_inside_characters_render() {
        let source = SourceFile::new("f.conf", b"''\xb8 \xd0\xb5\xb5 caf\xc3\xa9\n".to_vec());
        for start in 0..source.bytes().len() {
            for end in start..=source.bytes().len() {
                let diagnostic = Diagnostic::error("x").at(&source, Span::new(start, end), "here");
                render(&[diagnostic], false);
            }
        }
    }
}
