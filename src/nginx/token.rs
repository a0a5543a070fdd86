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
}

impl Token {
    pub fn new(kind: TokenKind, start: usize, end: usize) -> Self {
        Token {
            kind,
            span: Span::new(start, end),
        }
    }
}
