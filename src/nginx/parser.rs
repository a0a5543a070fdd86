//! Builds a `Config` from tokens: pairs braces with an explicit stack (no
//! recursion, so no nesting depth can overflow the stack), keeps line numbers
//! as the tokens carry them, and turns every kind of malformed input into one
//! precise diagnostic.
//!
//! The builder checks; what it has read goes to a `Sink`. `TreeSink` makes
//! the tree; `parse` (the command) writes crossplane's JSON as it reads
//! instead, so a fleet's configuration is never held as a tree.

use std::sync::Arc;

use super::syntax::{Block, Comment, Config, Directive, Node, Quote, Terminator, Word};
use super::token::{Token, TokenKind};
use super::{grammar, lexer};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span, char_len};

/// Deeper nesting than this is refused. Real configurations nest a handful of
/// levels; the limit keeps every tree walk in mgdeploy safely shallow.
pub const MAX_NESTING: usize = 200;

/// Parses one file (includes are not followed here; see `include`).
pub fn parse(source: &Arc<SourceFile>) -> Result<Config, Diagnostic> {
    let mut tree = TreeSink::default();
    read(source, &mut tree)?;
    Ok(tree.finish(source))
}

/// Reads one file into `sink`. On an error the sink has seen part of the
/// file and should be dropped.
pub fn read(source: &Arc<SourceFile>, sink: &mut impl Sink) -> Result<(), Diagnostic> {
    check_nul(source)?;
    let mut builder = Builder::new(source, sink);
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
    let mut tree = TreeSink::default();
    let mut builder = Builder::new(source, &mut tree);
    for token in tokens {
        builder.push(token)?;
    }
    builder.finish()?;
    Ok(tree.finish(source))
}

fn check_nul(source: &Arc<SourceFile>) -> Result<(), Diagnostic> {
    match memchr::memchr(0, source.bytes()) {
        None => Ok(()),
        Some(nul) => Err(Diagnostic::error("the file contains a NUL byte")
            .at(source, Span::new(nul, nul + 1), "NUL byte here")
            .with_help("nginx configuration files are text; is this the right file?")),
    }
}

/// A directive as read, before its `;`, `{` or Lua block: borrowed from the
/// builder, which reuses its lists from one directive to the next.
pub struct Statement<'a> {
    pub name: Word,
    pub args: &'a [Word],
    /// Comments between the arguments.
    pub comments: &'a [Comment],
}

/// Where the builder puts what it reads, in file order.
pub trait Sink {
    /// A comment between directives.
    fn comment(&mut self, comment: Comment);
    /// A directive ended by `;` or a Lua block (never `Terminator::Block`).
    fn directive(&mut self, statement: &Statement<'_>, terminator: Terminator);
    /// A directive whose block opens at `open`.
    fn open(&mut self, statement: &Statement<'_>, open: Span);
    /// The `}` of the innermost open block.
    fn close(&mut self, close: Span);
}

/// A block whose `}` has not been seen yet.
struct OpenBlock {
    name: Word,
    args: Vec<Word>,
    comments: Vec<Comment>,
    open: Span,
    children: Vec<Node>,
}

/// Makes the tree.
#[derive(Default)]
pub struct TreeSink {
    root: Vec<Node>,
    open: Vec<OpenBlock>,
}

impl TreeSink {
    fn children(&mut self) -> &mut Vec<Node> {
        match self.open.last_mut() {
            Some(block) => &mut block.children,
            None => &mut self.root,
        }
    }

    /// The tree of a file `read` accepted.
    pub fn finish(self, source: &Arc<SourceFile>) -> Config {
        Config {
            source: Arc::clone(source),
            children: self.root,
        }
    }
}

impl Sink for TreeSink {
    fn comment(&mut self, comment: Comment) {
        self.children().push(Node::Comment(comment));
    }

    fn directive(&mut self, statement: &Statement<'_>, terminator: Terminator) {
        let directive = Directive {
            name: statement.name,
            args: statement.args.to_vec(),
            comments: statement.comments.to_vec(),
            terminator,
        };
        self.children().push(Node::Directive(directive));
    }

    fn open(&mut self, statement: &Statement<'_>, open: Span) {
        self.open.push(OpenBlock {
            name: statement.name,
            args: statement.args.to_vec(),
            comments: statement.comments.to_vec(),
            open,
            children: Vec::new(),
        });
    }

    fn close(&mut self, close: Span) {
        // The builder only closes what it opened.
        let Some(block) = self.open.pop() else {
            return;
        };
        let directive = Directive {
            name: block.name,
            args: block.args,
            comments: block.comments,
            terminator: Terminator::Block(Box::new(Block {
                open: block.open,
                children: block.children,
                close,
            })),
        };
        self.children().push(Node::Directive(directive));
    }
}

struct Builder<'s, S> {
    source: &'s Arc<SourceFile>,
    sink: &'s mut S,
    /// The name and `{` of each open block, for the errors about them.
    open: Vec<(Word, Span)>,
    /// The directive being read: its name, once seen, and what follows it.
    name: Option<Word>,
    args: Vec<Word>,
    comments: Vec<Comment>,
    /// Where the last quoted word ended, until the next token is seen.
    quoted_end: Option<usize>,
}

impl<'s, S: Sink> Builder<'s, S> {
    fn new(source: &'s Arc<SourceFile>, sink: &'s mut S) -> Self {
        Builder {
            source,
            sink,
            open: Vec::new(),
            name: None,
            args: Vec::new(),
            comments: Vec::new(),
            quoted_end: None,
        }
    }

    fn word(&self, token: Token) -> Result<Word, Diagnostic> {
        let (span, line) = (token.span, token.line);
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

    /// The directive being read, ended at `at`, and the sink to hand it to
    /// (borrowed apart so both can be used at once).
    fn statement(&mut self, at: Span) -> Result<(Statement<'_>, &mut S), Diagnostic> {
        match self.name {
            Some(name) => Ok((
                Statement {
                    name,
                    args: &self.args,
                    comments: &self.comments,
                },
                &mut *self.sink,
            )),
            None => Err(self.no_directive(at)),
        }
    }

    /// The lexer never ends a statement it did not start; said, not assumed.
    fn no_directive(&self, at: Span) -> Diagnostic {
        Diagnostic::error("internal error: a terminator without a directive").at(
            self.source,
            at,
            "here",
        )
    }

    fn end_statement(&mut self) {
        self.name = None;
        self.args.clear();
        self.comments.clear();
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
                    line: token.line,
                };
                if self.name.is_some() {
                    self.comments.push(comment);
                } else {
                    self.sink.comment(comment);
                }
            }
            TokenKind::Word | TokenKind::LuaName => {
                let word = self.word(token)?;
                if word.quote != Quote::None {
                    self.quoted_end = Some(span.end);
                }
                if self.name.is_some() {
                    self.args.push(word);
                } else {
                    self.name = Some(word);
                }
            }
            TokenKind::Semicolon | TokenKind::LuaBlock => {
                let terminator = if token.kind == TokenKind::Semicolon {
                    Terminator::Semicolon(span)
                } else {
                    Terminator::Lua(span)
                };
                let (statement, sink) = self.statement(span)?;
                sink.directive(&statement, terminator);
                self.end_statement();
            }
            TokenKind::Open => {
                let Some(name) = self.name else {
                    return Err(self.no_directive(span));
                };
                // A Lua directive only ends up here when its code has a `{`
                // that is never closed (see `lua_block` in the grammar).
                if self
                    .source
                    .slice(name.inner_span())
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
                let (statement, sink) = self.statement(span)?;
                sink.open(&statement, span);
                self.open.push((name, span));
                self.end_statement();
            }
            TokenKind::Close => {
                if self.open.pop().is_none() {
                    return Err(Diagnostic::error("unexpected `}`: no block is open here")
                        .at(self.source, span, "nothing to close")
                        .with_help("remove this `}` or add the `{` it was meant to close"));
                }
                self.sink.close(span);
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
                let (after, name) = match self.name {
                    Some(name) => (
                        self.args.last().map_or(name.span, |w| w.span),
                        self.source.text(name.span).into_owned(),
                    ),
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

    fn finish(mut self) -> Result<(), Diagnostic> {
        // Point after the last token, not at the empty line after it.
        let bytes = self.source.bytes();
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        if let Some((name, open)) = self.open.pop() {
            let text = self.source.text(name.span).into_owned();
            return Err(Diagnostic::error(format!(
                "unexpected end of file: the `{text}` block opened on line {} is never closed",
                name.line
            ))
            .at(
                self.source,
                Span::at(end),
                "expected `}` before the end of the file",
            )
            .with_related(self.source, open, "this `{` has no matching `}`")
            .with_help("add the missing `}`; check the blocks inside it too"));
        }
        Ok(())
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
