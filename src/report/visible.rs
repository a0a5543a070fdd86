//! Text from files, made safe to show on a terminal: a configuration or a
//! file name can hold escape sequences (colors, a window title, an OSC 52
//! write to the clipboard) that a terminal would obey. Every control
//! character but the line break and the tab is shown as `cat -v` shows it
//! (`^[` for ESC, `^M` for a carriage return, `M-^[` for a C1 control), and
//! the bidirectional overrides that reorder a line as `<U+202E>`. The
//! machine formats (a patch for `git apply`, JSON) keep the bytes exact.

use std::borrow::Cow;

/// How one character is shown; `None` when as itself.
fn shown(c: char) -> Option<String> {
    let code = u32::from(c);
    match c {
        '\n' | '\t' => None,
        '\u{7f}' => Some("^?".to_string()),
        c if c.is_ascii_control() => Some(format!("^{}", char::from_u32(code + 64)?)),
        '\u{80}'..='\u{9f}' => Some(format!("M-^{}", char::from_u32(code - 0x80 + 64)?)),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
            Some(format!("<U+{code:04X}>"))
        }
        _ => None,
    }
}

/// `text` with its control characters shown, as the module says.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| shown(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match shown(c) {
            Some(seen) => out.push_str(&seen),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `visible`, and where each byte offset of `text` (and its end) lands in
/// the result: for a source line shown with a caret under a span.
pub fn visible_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len() + 1);
    for c in text.chars() {
        for _ in 0..c.len_utf8() {
            offsets.push(out.len());
        }
        match shown(c) {
            Some(seen) => out.push_str(&seen),
            None => out.push(c),
        }
    }
    offsets.push(out.len());
    (out, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(visible("a\u{1b}]52;c;aGk=\u{7}b\r"), "a^[]52;c;aGk=^Gb^M");
        assert_eq!(visible("\u{9b}31m\u{7f}"), "M-^[31m^?");
        assert_eq!(visible("x\u{202e}y"), "x<U+202E>y");
        let (text, offsets) = visible_with_offsets("a\u{1b}b");
        assert_eq!(text, "a^[b");
        assert_eq!(offsets, [0, 1, 3, 4]);
    }
}
