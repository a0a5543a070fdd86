//! The tokens both nginx readers (the pest grammar and the hand-written
//! lexer) hand to the tree builder. Everything between tokens is whitespace.

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare or quoted word: the first of a statement is its name.
    Word,
    /// The name of a `*_by_lua_block` directive.
    LuaName,
    Comment,
    Semicolon,
    Open,
    Close,
    /// `{ lua }` of a Lua directive, braces included.
    LuaBlock,
    /// A Lua block that runs to the end of the file.
    UnclosedLuaBlock,
    /// `;` or `{` with no directive before it.
    BadTerminator,
    /// The block or file ends before the directive's `;` (an empty span).
    BadMissingEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
    /// The line the token starts on, from 1.
    pub line: u32,
}

impl Token {
    pub fn new(kind: TokenKind, start: usize, end: usize, line: u32) -> Self {
        Token {
            kind,
            span: Span::new(start, end),
            line,
        }
    }
}

/// Newlines in `bytes`, as a line count that saturates.
pub fn newlines(bytes: &[u8]) -> u32 {
    // Most spans are a word or two: a plain loop beats a vector search's
    // setup.
    let count = if bytes.len() < 128 {
        bytes.iter().filter(|&&b| b == b'\n').count()
    } else {
        crate::source::count_newlines(bytes)
    };
    u32::try_from(count).unwrap_or(u32::MAX)
}
