//! The lossless syntax tree of one nginx file.
//!
//! Nodes hold byte spans into the file, never copies of its text. Everything
//! between the tokens of the tree is whitespace (space, tab, CR, LF), so the
//! tree, its source and those gaps give back the file byte for byte
//! (`Config::print`).

use std::sync::Arc;

use crate::source::{SourceFile, Span};

/// How a word was written; nginx treats all three the same once unescaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    None,
    Double,
    Single,
}

/// A directive name or argument, as written (quotes and escapes included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    pub span: Span,
    pub line: u32,
    pub quote: Quote,
}

impl Word {
    /// The span inside the quotes (the whole word when it is bare).
    pub fn inner_span(&self) -> Span {
        match self.quote {
            Quote::None => self.span,
            _ => Span::new(
                (self.span.start + 1).min(self.span.end),
                self.span.end.saturating_sub(1).max(self.span.start),
            ),
        }
    }
}

/// `#` up to the end of its line (the line ending is not part of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Directive(Directive),
    Comment(Comment),
}

impl Node {
    pub fn span(&self) -> Span {
        match self {
            Node::Directive(d) => d.span(),
            Node::Comment(c) => c.span,
        }
    }
}

/// `{ ... }` and what is inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub open: Span,
    pub children: Vec<Node>,
    pub close: Span,
}

/// How a directive ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminator {
    Semicolon(Span),
    /// Boxed: most directives end with `;`, and the tree stays smaller.
    Block(Box<Block>),
    /// `*_by_lua_block { ... }`: the span covers the braces; the Lua between
    /// them is kept as written.
    Lua(Span),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub name: Word,
    pub args: Vec<Word>,
    /// Comments between the name and the terminator, in order.
    pub comments: Vec<Comment>,
    pub terminator: Terminator,
}

impl Directive {
    /// From the first byte of the name to the `;` or the closing `}`.
    pub fn span(&self) -> Span {
        let end = match &self.terminator {
            Terminator::Semicolon(span) | Terminator::Lua(span) => *span,
            Terminator::Block(block) => block.close,
        };
        self.name.span.to(end)
    }

    pub fn line(&self) -> usize {
        self.name.line as usize
    }

    pub fn block(&self) -> Option<&Block> {
        match &self.terminator {
            Terminator::Block(block) => Some(block),
            _ => None,
        }
    }

    pub fn children(&self) -> &[Node] {
        self.block().map_or(&[], |b| b.children.as_slice())
    }

    /// Child directives of the block, comments skipped.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        directives(self.children())
    }
}

/// The directives among `nodes`, comments skipped.
pub fn directives(nodes: &[Node]) -> impl Iterator<Item = &Directive> {
    nodes.iter().filter_map(|node| match node {
        Node::Directive(d) => Some(d),
        Node::Comment(_) => None,
    })
}

/// One parsed file.
#[derive(Clone, Debug)]
pub struct Config {
    pub source: Arc<SourceFile>,
    pub children: Vec<Node>,
}

impl Config {
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        directives(&self.children)
    }

    /// Raw bytes of a span of this file.
    pub fn bytes(&self, span: Span) -> &[u8] {
        self.source.slice(span)
    }

    /// The text of a word with nginx's unescaping, quotes removed: what nginx
    /// itself passes to the directive handler.
    pub fn value(&self, word: &Word) -> String {
        self.value_ref(word).into_owned()
    }

    /// `value`, borrowed from the file when there is nothing to unescape
    /// (most words: no allocation).
    pub fn value_ref(&self, word: &Word) -> std::borrow::Cow<'_, str> {
        let bytes = self.bytes(word.inner_span());
        if !bytes.contains(&b'\\') {
            return match std::str::from_utf8(bytes) {
                Ok(text) => std::borrow::Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            };
        }
        std::borrow::Cow::Owned(String::from_utf8_lossy(&unescape(bytes)).into_owned())
    }

    /// `value` as bytes, which a file name may need (nginx's words are
    /// bytes; only paths are not shown before they are opened).
    pub fn value_bytes(&self, word: &Word) -> std::borrow::Cow<'_, [u8]> {
        let bytes = self.bytes(word.inner_span());
        if bytes.contains(&b'\\') {
            std::borrow::Cow::Owned(unescape(bytes))
        } else {
            std::borrow::Cow::Borrowed(bytes)
        }
    }

    /// The text of a word exactly as written.
    pub fn raw(&self, word: &Word) -> std::borrow::Cow<'_, str> {
        self.source.text(word.span)
    }

    /// A directive's name as written: nginx compares names byte for byte.
    pub fn name_of(&self, directive: &Directive) -> &[u8] {
        self.bytes(directive.name.span)
    }

    /// Argument `index` of a directive, as nginx reads it.
    pub fn arg(&self, directive: &Directive, index: usize) -> Option<String> {
        directive.args.get(index).map(|word| self.value(word))
    }

    /// Every token of the tree in file order: the spans that are not
    /// whitespace.
    pub fn tokens(&self) -> Vec<Span> {
        let mut out = Vec::new();
        let mut stack: Vec<std::slice::Iter<'_, Node>> = vec![self.children.iter()];
        // Closing braces wait on their own stack until their block is done.
        let mut closes: Vec<Span> = Vec::new();
        while let Some(iter) = stack.last_mut() {
            let Some(node) = iter.next() else {
                stack.pop();
                if let Some(close) = closes.pop() {
                    out.push(close);
                }
                continue;
            };
            match node {
                Node::Comment(c) => out.push(c.span),
                Node::Directive(d) => {
                    let mut inner: Vec<Span> = std::iter::once(d.name.span)
                        .chain(d.args.iter().map(|a| a.span))
                        .chain(d.comments.iter().map(|c| c.span))
                        .collect();
                    inner.sort_unstable();
                    out.extend(inner);
                    match &d.terminator {
                        Terminator::Semicolon(s) | Terminator::Lua(s) => out.push(*s),
                        Terminator::Block(b) => {
                            out.push(b.open);
                            closes.push(b.close);
                            stack.push(b.children.iter());
                        }
                    }
                }
            }
        }
        out
    }

    /// Rebuilds the file from the tree: every token, and the whitespace
    /// between them. Fails if anything but whitespace falls between tokens,
    /// which would mean the tree lost part of the file.
    pub fn print(&self) -> Result<Vec<u8>, Span> {
        let bytes = self.source.bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut pos = 0;
        for token in self.tokens().into_iter().chain([Span::at(bytes.len())]) {
            if token.start < pos {
                return Err(token);
            }
            let gap = &bytes[pos..token.start];
            if !gap
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                return Err(Span::new(pos, token.start));
            }
            out.extend_from_slice(gap);
            out.extend_from_slice(self.source.slice(token));
            pos = token.end;
        }
        Ok(out)
    }
}

/// nginx's unescaping of a word (`ngx_conf_read_token`): `\"`, `\'` and `\\`
/// lose their backslash, `\t` `\r` `\n` become control characters, any other
/// backslash stays.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'\\' {
            match raw.get(i + 1) {
                Some(&c @ (b'"' | b'\'' | b'\\')) => {
                    out.push(c);
                    i += 2;
                    continue;
                }
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Every directive of `nodes`, nested blocks included, in file order, with
/// the blocks around it (outermost first). The one walk over a tree that
/// `check` and `migrate` share.
pub fn walk<'c>(nodes: &'c [Node], mut visit: impl FnMut(&'c Directive, &[&'c Directive])) {
    // Iterative, like the parser: nesting is bounded, but deep.
    let mut parents: Vec<&'c Directive> = Vec::new();
    let mut stack: Vec<std::slice::Iter<'c, Node>> = vec![nodes.iter()];
    while let Some(iter) = stack.last_mut() {
        let Some(node) = iter.next() else {
            stack.pop();
            parents.pop();
            continue;
        };
        let Node::Directive(d) = node else { continue };
        visit(d, &parents);
        if let Some(block) = d.block() {
            parents.push(d);
            stack.push(block.children.iter());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_follows_nginx() {
        assert_eq!(unescape(br#"a\"b\\c\td\x"#), b"a\"b\\c\td\\x".to_vec());
        assert_eq!(unescape(b"end\\"), b"end\\".to_vec());
    }
}
