//! Line-aware edits on configuration text: removing a directive removes its
//! line when nothing else is on it, a new directive gets a line of its own
//! with the indentation and line ending of its neighbour.

use crate::plan::Edit;
use crate::source::Span;

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The start of the line holding `offset`.
pub fn line_start(bytes: &[u8], offset: usize) -> usize {
    let offset = offset.min(bytes.len());
    bytes
        .get(..offset)
        .and_then(|before| before.iter().rposition(|&b| b == b'\n'))
        .map_or(0, |i| i + 1)
}

/// The end of the line holding `offset`, before its line ending.
pub fn line_end(bytes: &[u8], offset: usize) -> usize {
    let offset = offset.min(bytes.len());
    let rest = bytes.get(offset..).unwrap_or_default();
    let end = offset + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    if end > offset && bytes.get(end - 1) == Some(&b'\r') {
        end - 1
    } else {
        end
    }
}

/// Past the line ending that follows `end` (a line's end), if any.
fn after_line_ending(bytes: &[u8], end: usize) -> usize {
    match bytes.get(end) {
        Some(b'\r') if bytes.get(end + 1) == Some(&b'\n') => end + 2,
        Some(b'\n') => end + 1,
        _ => end,
    }
}

/// `\r\n` when the line holding `offset` ends so, `\n` otherwise.
pub fn line_ending(bytes: &[u8], offset: usize) -> &'static str {
    let end = line_end(bytes, offset);
    if bytes.get(end) == Some(&b'\r') {
        "\r\n"
    } else {
        "\n"
    }
}

/// The spaces and tabs that start the line holding `offset`.
pub fn indentation(bytes: &[u8], offset: usize) -> String {
    let start = line_start(bytes, offset);
    let indent: Vec<u8> = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .copied()
        .take_while(|&b| is_blank(b))
        .collect();
    String::from_utf8_lossy(&indent).into_owned()
}

/// What to delete to remove the text at `span`: its whole line (and a
/// comment after it on that line) when nothing else is on the line,
/// otherwise the text and the blanks after it, or, when it ends the line,
/// the blanks before it (no trailing blanks are left).
pub fn removal(bytes: &[u8], span: Span) -> Span {
    let start = line_start(bytes, span.start);
    let end = line_end(bytes, span.end);
    let before = bytes.get(start..span.start).unwrap_or_default();
    let after = bytes.get(span.end..end).unwrap_or_default();
    let after_trimmed: Vec<u8> = after.iter().copied().skip_while(|&b| is_blank(b)).collect();
    if before.iter().all(|&b| is_blank(b))
        && (after_trimmed.is_empty() || after_trimmed.first() == Some(&b'#'))
    {
        Span::new(start, after_line_ending(bytes, end))
    } else if after.iter().all(|&b| is_blank(b)) {
        let blanks = before.iter().rev().take_while(|&&b| is_blank(b)).count();
        Span::new(span.start - blanks, end)
    } else {
        let blanks = after.iter().take_while(|&&b| is_blank(b)).count();
        Span::new(span.start, span.end + blanks)
    }
}

/// Whole lines directly above the line starting at `start` that hold only a
/// comment, nearest last; stops at a blank line or any other text.
pub fn comment_lines_above(bytes: &[u8], start: usize) -> Vec<Span> {
    let mut lines = Vec::new();
    let mut cursor = start;
    while cursor > 0 {
        let previous_start = line_start(bytes, cursor - 1);
        let text = bytes.get(previous_start..cursor).unwrap_or_default();
        let trimmed: Vec<u8> = text.iter().copied().skip_while(|&b| is_blank(b)).collect();
        if trimmed.first() != Some(&b'#') {
            break;
        }
        lines.push(Span::new(previous_start, cursor));
        cursor = previous_start;
    }
    lines.reverse();
    lines
}

/// `text` on a line of its own after the line holding `offset`, indented
/// like it (`insert_line_after`); `None` when more than blanks or a comment
/// follow `offset` on that line (a `}` there would leave the new line
/// outside the block).
pub fn line_after(bytes: &[u8], offset: usize, text: &str) -> Option<Edit> {
    let end = line_end(bytes, offset);
    let rest = bytes
        .get(offset..end)
        .unwrap_or_default()
        .trim_ascii_start();
    if !(rest.is_empty() || rest.starts_with(b"#")) {
        return None;
    }
    Some(insert_line_after(bytes, offset, text))
}

/// The comment lines directly above the line starting at `start`, when one
/// of them speaks of what is rewritten below (`about`, given a line in
/// lower case): its first line reworded to `first` (when given), every
/// other line to remove. `(None, [])` when no line does.
pub fn reword_comment_above(
    bytes: &[u8],
    start: usize,
    about: impl Fn(&str) -> bool,
    first: Option<&str>,
) -> (Option<Edit>, Vec<Span>) {
    let comments = comment_lines_above(bytes, start);
    let speaks = comments.iter().any(|span| {
        let line = bytes.get(span.start..span.end).unwrap_or_default();
        about(&String::from_utf8_lossy(line).to_ascii_lowercase())
    });
    if !speaks {
        return (None, Vec::new());
    }
    let mut lines = comments.into_iter();
    let reword = first.and_then(|text| {
        let line = lines.next()?;
        let end = line_end(bytes, line.start);
        // The comment's indentation stays.
        let hash = bytes
            .get(line.start..end)
            .and_then(|l| l.iter().position(|&b| b == b'#'))
            .map_or(line.start, |i| line.start + i);
        Some(Edit::replace(Span::new(hash, end), text))
    });
    (reword, lines.collect())
}

/// Whether the line starting at `start` holds nothing but blanks.
fn is_blank_line(bytes: &[u8], start: usize) -> bool {
    start < bytes.len()
        && bytes
            .get(start..line_end(bytes, start))
            .is_some_and(|line| line.iter().all(|&b| is_blank(b)))
}

/// Sorts and merges removal spans, then widens them so the text left behind
/// reads well: a removal between two blank lines takes one of them, and a
/// removal that would leave a blank line just before a closing `}` takes
/// that line too. Widened spans can meet, so each step merges again: the
/// edits never overlap.
pub fn tidy_removals(bytes: &[u8], spans: Vec<Span>) -> Vec<Span> {
    let between_blanks: Vec<Span> = merge(spans)
        .into_iter()
        .map(|span| keep_one_blank_line(bytes, span))
        .collect();
    let before_brace: Vec<Span> = merge(between_blanks)
        .into_iter()
        .map(|span| take_blank_line_before_brace(bytes, span))
        .collect();
    merge(before_brace)
}

/// Between two blank lines, a removal takes the one after it.
fn keep_one_blank_line(bytes: &[u8], mut span: Span) -> Span {
    if span.start >= 1
        && is_blank_line(bytes, line_start(bytes, span.start - 1))
        && is_blank_line(bytes, span.end)
    {
        span.end = after_line_ending(bytes, line_end(bytes, span.end));
    }
    span
}

/// A removal followed by the closing `}` takes the blank line before it.
fn take_blank_line_before_brace(bytes: &[u8], mut span: Span) -> Span {
    let rest = bytes.get(span.end..).unwrap_or_default();
    let closes_block = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}')
        && rest
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .all(|&b| b != b'\n');
    if closes_block && span.start >= 1 {
        let previous_start = line_start(bytes, span.start - 1);
        let previous = bytes.get(previous_start..span.start).unwrap_or_default();
        if previous.iter().all(|b| b.is_ascii_whitespace()) && previous_start < span.start {
            span.start = previous_start;
        }
    }
    span
}

/// Sorts spans and joins those that overlap or touch.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut merged: Vec<Span> = Vec::new();
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// A new line with `text` after the line holding `offset`, indented like it.
pub fn insert_line_after(bytes: &[u8], offset: usize, text: &str) -> Edit {
    let end = line_end(bytes, offset);
    let newline = line_ending(bytes, offset);
    let indent = indentation(bytes, offset);
    match after_line_ending(bytes, end) {
        next if next > end => Edit::insert(next, format!("{indent}{text}{newline}")),
        _ => Edit::insert(end, format!("{newline}{indent}{text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &[u8] = b"location / {\n    pass a;\n    include x;\n\n    # about the next two\n    # lines\n    param A b;\n    param C \"\";\n}\n";

    /// `text` with the spans (sorted, not overlapping) cut out.
    fn without(text: &[u8], spans: &[Span]) -> Vec<u8> {
        let mut out = text.to_vec();
        for span in spans.iter().rev() {
            out.drain(span.start..span.end);
        }
        out
    }

    fn find(needle: &str) -> Span {
        let text = std::str::from_utf8(BLOCK).unwrap();
        let start = text.find(needle).unwrap();
        Span::new(start, start + needle.len())
    }

    #[test]
    fn removing_a_directive_alone_on_its_line_takes_the_line() {
        let span = removal(BLOCK, find("param A b;"));
        assert_eq!(&BLOCK[span.start..span.end], b"    param A b;\n");
        let inline = b"a; b; c;\n";
        assert_eq!(removal(inline, Span::new(3, 5)), Span::new(3, 6));
        // Last on its line: the blanks before it go, none are left behind.
        let last = b"a; b;  \nc;\n";
        assert_eq!(removal(last, Span::new(3, 5)), Span::new(2, 7));
    }

    #[test]
    fn comment_lines_above_stop_at_a_blank_line() {
        let start = line_start(BLOCK, find("param A b;").start);
        let comments = comment_lines_above(BLOCK, start);
        assert_eq!(comments.len(), 2);
        assert_eq!(
            &BLOCK[comments[0].start..comments[1].end],
            b"    # about the next two\n    # lines\n"
        );
    }

    #[test]
    fn a_removal_before_the_closing_brace_takes_the_blank_line_too() {
        let start = line_start(BLOCK, find("param A b;").start);
        let mut spans = comment_lines_above(BLOCK, start);
        spans.push(removal(BLOCK, find("param A b;")));
        spans.push(removal(BLOCK, find("param C \"\";")));
        let tidy = tidy_removals(BLOCK, spans);
        assert_eq!(tidy.len(), 1);
        assert_eq!(
            without(BLOCK, &tidy),
            b"location / {\n    pass a;\n    include x;\n}\n"
        );
    }

    #[test]
    fn a_removal_between_blank_lines_keeps_one() {
        let text = b"a;\n\n    b;\n    c;\n\n    d;\n";
        let spans = vec![
            removal(text, Span::new(8, 10)),
            removal(text, Span::new(15, 17)),
        ];
        let tidy = tidy_removals(text, spans);
        assert_eq!(without(text, &tidy), b"a;\n\n    d;\n");
    }

    #[test]
    fn widened_removals_that_meet_become_one() {
        // The first removal is between blank lines and takes the one after
        // it; the second closes the block and takes the one before it.
        let text = b"x {\n\n    a;\n\n    a;\n}\n";
        let spans = vec![
            removal(text, Span::new(9, 11)),
            removal(text, Span::new(17, 19)),
        ];
        let tidy = tidy_removals(text, spans);
        assert_eq!(tidy.len(), 1);
        assert_eq!(without(text, &tidy), b"x {\n}\n");
    }

    #[test]
    fn insertions_follow_indentation_and_line_endings() {
        let text = b"  a;\r\n  b;\r\n";
        let edit = insert_line_after(text, 1, "new;");
        assert_eq!(edit.start, 6);
        assert_eq!(edit.replacement, "  new;\r\n");
        let last = b"x {\n    a;";
        assert_eq!(insert_line_after(last, 8, "b;").replacement, "\n    b;");
    }
}
