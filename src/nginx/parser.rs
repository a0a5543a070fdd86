//! Builds a `Config` from tokens: pairs braces with an explicit stack (no
//! recursion, so no nesting depth can overflow the stack), keeps line numbers
//! as it walks forward, and turns every kind of malformed input into one
//! precise diagnostic.

use std::sync::Arc;

use super::syntax::{Block, Comment, Config, Directive, Node, Quote, Terminator, Word};
use super::token::{Token, TokenKind};
use super::{grammar, lexer};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span, char_len, count_newlines};

/// Deeper nesting than this is refused. Real configurations nest a handful of
/// levels; the limit keeps every tree walk in mgdeploy safely shallow.
pub const MAX_NESTING: usize = 200;

/// Parses one file (includes are not followed here; see `include`).
pub fn parse(source: &Arc<SourceFile>) -> Result<Config, Diagnostic> {
    check_nul(source)?;
    let mut builder = Builder::new(source);
    lexer::lex(source.bytes(), |token| builder.push(token))?;
    builder.finish()
}

/// Parses with the pest grammar instead of the lexer. Same result, slower;
/// the test suite compares the two.
pub fn parse_with_grammar(source: &Arc<SourceFile>) -> Result<Config, Diagnostic> {
    check_nul(source)?;
    let tokens = grammar::tokens(source.bytes()).map_err(|failure| {
        let message = if failure.nested_too_deeply {
            "the file is nested too deeply to read"
        } else {
            "unexpected input"
        };
        Diagnostic::error(message).at(source, Span::at(failure.offset), "here")
    })?;
    let mut builder = Builder::new(source);
    for token in tokens {
        builder.push(token)?;
    }
    builder.finish()
}

fn check_nul(source: &Arc<SourceFile>) -> Result<(), Diagnostic> {
    match memchr::memchr(0, source.bytes()) {
        None => Ok(()),
        Some(nul) => Err(Diagnostic::error("the file contains a NUL byte")
            .at(source, Span::new(nul, nul + 1), "NUL byte here")
            .with_help("nginx configuration files are text; is this the right file?")),
    }
}

/// A directive whose name has been read but not yet its `;` or `{`.
struct Pending {
    name: Word,
    args: Vec<Word>,
    comments: Vec<Comment>,
}

impl Pending {
    fn finish(self, terminator: Terminator) -> Directive {
        Directive {
            name: self.name,
            args: self.args,
            comments: self.comments,
            terminator,
        }
    }

    fn last_token(&self) -> Span {
        self.args.last().map_or(self.name.span, |w| w.span)
    }
}

/// A block whose `}` has not been seen yet.
struct OpenBlock {
    owner: Pending,
    open: Span,
    children: Vec<Node>,
}

struct Builder<'s> {
    source: &'s Arc<SourceFile>,
    root: Vec<Node>,
    open: Vec<OpenBlock>,
    pending: Option<Pending>,
    /// Line number at byte `line_pos`, advanced as tokens are met in order.
    line: u32,
    line_pos: usize,
    /// Where the last quoted word ended, until the next token is seen.
    quoted_end: Option<usize>,
}

impl<'s> Builder<'s> {
    fn new(source: &'s Arc<SourceFile>) -> Self {
        Builder {
            source,
            root: Vec::new(),
            open: Vec::new(),
            pending: None,
            line: 1,
            line_pos: 0,
            quoted_end: None,
        }
    }

    fn line_at(&mut self, offset: usize) -> u32 {
        let bytes = self.source.bytes();
        if offset > self.line_pos {
            let end = offset.min(bytes.len());
            let lines = count_newlines(bytes.get(self.line_pos..end).unwrap_or_default());
            self.line = self
                .line
                .saturating_add(u32::try_from(lines).unwrap_or(u32::MAX));
            self.line_pos = end;
        }
        self.line
    }

    fn children(&mut self) -> &mut Vec<Node> {
        match self.open.last_mut() {
            Some(block) => &mut block.children,
            None => &mut self.root,
        }
    }

    fn word(&mut self, span: Span) -> Result<Word, Diagnostic> {
        let line = self.line_at(span.start);
        let raw = self.source.slice(span);
        let quote = match raw.first() {
            Some(b'"') => Quote::Double,
            Some(b'\'') => Quote::Single,
            _ => Quote::None,
        };
        if quote != Quote::None && !quote_is_closed(raw) {
            return Err(Diagnostic::error("this quoted string is never closed")
                .at(
                    self.source,
                    Span::new(span.start, span.start + 1),
                    "opening quote",
                )
                .with_note("a quoted string may span lines, so it ran to the end of the file")
                .with_help("add the closing quote, or escape this one with `\\`"));
        }
        Ok(Word { span, line, quote })
    }

    fn take_pending(&mut self, at: Span) -> Result<Pending, Diagnostic> {
        self.pending.take().ok_or_else(|| {
            Diagnostic::error("internal error: a terminator without a directive").at(
                self.source,
                at,
                "here",
            )
        })
    }

    /// nginx wants whitespace after a closing quote, except before `;`, `{`
    /// and the `)` that ends an `if` condition.
    fn check_space_after_quote(&mut self, token: Token) -> Result<(), Diagnostic> {
        let Some(quote_end) = self.quoted_end.take() else {
            return Ok(());
        };
        let span = token.span;
        let allowed = match token.kind {
            TokenKind::Semicolon | TokenKind::Open | TokenKind::BadMissingEnd => true,
            TokenKind::Word => self.source.slice(span).first() == Some(&b')'),
            _ => false,
        };
        if span.start != quote_end || allowed {
            return Ok(());
        }
        let length = char_len(self.source.slice(span)).max(1);
        let first = Span::new(span.start, span.start + length);
        Err(Diagnostic::error(format!(
            "unexpected `{}` right after a quoted string",
            self.source.text(first).escape_debug()
        ))
        .at(
            self.source,
            first,
            "expected a space, `;` or `{` before this",
        )
        .with_help("separate the words with a space"))
    }

    fn push(&mut self, token: Token) -> Result<(), Diagnostic> {
        self.check_space_after_quote(token)?;
        let span = token.span;
        match token.kind {
            TokenKind::Comment => {
                let comment = Comment {
                    span,
                    line: self.line_at(span.start),
                };
                match &mut self.pending {
                    Some(pending) => pending.comments.push(comment),
                    None => self.children().push(Node::Comment(comment)),
                }
            }
            TokenKind::Word | TokenKind::LuaName => {
                let word = self.word(span)?;
                if word.quote != Quote::None {
                    self.quoted_end = Some(span.end);
                }
                match &mut self.pending {
                    Some(pending) => pending.args.push(word),
                    None => {
                        self.pending = Some(Pending {
                            name: word,
                            args: Vec::new(),
                            comments: Vec::new(),
                        })
                    }
                }
            }
            TokenKind::Semicolon => {
                let directive = self.take_pending(span)?.finish(Terminator::Semicolon(span));
                self.children().push(Node::Directive(directive));
            }
            TokenKind::Open => {
                let owner = self.take_pending(span)?;
                // A Lua directive only ends up here when its code has a `{`
                // that is never closed (see `lua_block` in the grammar).
                if self
                    .source
                    .slice(owner.name.inner_span())
                    .ends_with(b"_by_lua_block")
                {
                    return Err(Diagnostic::error(
                        "the Lua code in this block has a `{` that is never closed",
                    )
                    .at(self.source, span, "the Lua block starts here")
                    .with_help("balance the braces in the Lua code"));
                }
                if self.open.len() >= MAX_NESTING {
                    return Err(Diagnostic::error(format!(
                        "blocks are nested more than {MAX_NESTING} levels deep"
                    ))
                    .at(self.source, span, "this block is too deep"));
                }
                self.open.push(OpenBlock {
                    owner,
                    open: span,
                    children: Vec::new(),
                });
            }
            TokenKind::Close => {
                let Some(block) = self.open.pop() else {
                    return Err(Diagnostic::error("unexpected `}`: no block is open here")
                        .at(self.source, span, "nothing to close")
                        .with_help("remove this `}` or add the `{` it was meant to close"));
                };
                let directive = block.owner.finish(Terminator::Block(Box::new(Block {
                    open: block.open,
                    children: block.children,
                    close: span,
                })));
                self.children().push(Node::Directive(directive));
            }
            TokenKind::LuaBlock => {
                let directive = self.take_pending(span)?.finish(Terminator::Lua(span));
                self.children().push(Node::Directive(directive));
            }
            TokenKind::UnclosedLuaBlock => {
                return Err(Diagnostic::error("this Lua block is never closed")
                    .at(
                        self.source,
                        Span::new(span.start, span.start + 1),
                        "opened here",
                    )
                    .with_help("add the `}` that ends the Lua code"));
            }
            TokenKind::BadTerminator => {
                let what = self.source.text(span).into_owned();
                return Err(Diagnostic::error(format!("unexpected `{what}`"))
                    .at(self.source, span, "no directive name before it")
                    .with_help(if what == ";" {
                        "remove the extra `;`"
                    } else {
                        "a block needs a directive before it, e.g. `location /x {`"
                    }));
            }
            TokenKind::BadMissingEnd => {
                let (after, name) = match &self.pending {
                    Some(p) => (p.last_token(), self.source.text(p.name.span).into_owned()),
                    None => (span, String::new()),
                };
                let found = if span.start >= self.source.bytes().len() {
                    "the end of the file"
                } else {
                    "`}`"
                };
                return Err(Diagnostic::error(format!(
                    "expected `;` after the `{name}` directive, found {found}"
                ))
                .at(self.source, Span::at(after.end), "expected `;` here")
                .with_help("every directive ends with `;` or a `{ ... }` block"));
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Config, Diagnostic> {
        // Point after the last token, not at the empty line after it.
        let bytes = self.source.bytes();
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        if let Some(block) = self.open.pop() {
            let name = self.source.text(block.owner.name.span).into_owned();
            return Err(Diagnostic::error(format!(
                "unexpected end of file: the `{name}` block opened on line {} is never closed",
                block.owner.name.line
            ))
            .at(
                self.source,
                Span::at(end),
                "expected `}` before the end of the file",
            )
            .with_related(self.source, block.open, "this `{` has no matching `}`")
            .with_help("add the missing `}`; check the blocks inside it too"));
        }
        Ok(Config {
            source: Arc::clone(self.source),
            children: self.root,
        })
    }
}

/// Whether a quoted word's first quote has its closing twin at the very end.
fn quote_is_closed(raw: &[u8]) -> bool {
    let Some(&quote) = raw.first() else {
        return false;
    };
    let mut i = 1;
    while let Some(&b) = raw.get(i) {
        if b == b'\\' {
            i += 2;
        } else if b == quote {
            return i + 1 == raw.len();
        } else {
            i += 1;
        }
    }
    false
}
