//! The pest grammar (`grammar.pest`), the specification of nginx's syntax.
//! `lexer.rs` must produce exactly the tokens this produces; tests compare
//! the two on every corpus file and on generated and fuzzed input.

use std::borrow::Cow;

use pest::Parser as _;

use super::token::{Token, TokenKind, newlines};

#[derive(pest_derive::Parser)]
#[grammar = "src/nginx/grammar.pest"]
struct Grammar;

/// Why the grammar could not read the input at all (only resource limits:
/// every other malformed input becomes a `bad_*` token).
#[derive(Debug)]
pub struct GrammarFailure {
    pub offset: usize,
    pub nested_too_deeply: bool,
}

/// Runs the grammar over `bytes` and returns its tokens in order.
pub fn tokens(bytes: &[u8]) -> Result<Vec<Token>, GrammarFailure> {
    let text = lexable_text(bytes);
    let pairs = Grammar::parse(Rule::file, &text).map_err(|error| {
        let offset = match error.location {
            pest::error::InputLocation::Pos(pos) => pos,
            pest::error::InputLocation::Span((start, _)) => start,
        };
        GrammarFailure {
            offset,
            nested_too_deeply: error.variant.message().contains("limit"),
        }
    })?;
    let mut out = Vec::new();
    // Lines counted forward from one token's start to the next.
    let (mut line, mut line_pos) = (1u32, 0usize);
    for file in pairs {
        for pair in file.into_inner() {
            let span = pair.as_span();
            let kind = match pair.as_rule() {
                Rule::word => TokenKind::Word,
                Rule::lua_name => TokenKind::LuaName,
                Rule::comment => TokenKind::Comment,
                Rule::semicolon => TokenKind::Semicolon,
                Rule::open => TokenKind::Open,
                Rule::close => TokenKind::Close,
                Rule::lua_block => {
                    if pair
                        .into_inner()
                        .any(|p| p.as_rule() == Rule::bad_unclosed_lua)
                    {
                        TokenKind::UnclosedLuaBlock
                    } else {
                        TokenKind::LuaBlock
                    }
                }
                Rule::bad_terminator => TokenKind::BadTerminator,
                Rule::bad_missing_end => TokenKind::BadMissingEnd,
                _ => continue,
            };
            line = line.saturating_add(newlines(
                bytes.get(line_pos..span.start()).unwrap_or_default(),
            ));
            line_pos = span.start();
            out.push(Token::new(kind, span.start(), span.end(), line));
        }
    }
    Ok(out)
}

/// The grammar reads `&str`; bytes that are not UTF-8 are replaced one for
/// one by `?`, which nginx's lexer treats the same way (an ordinary word
/// byte), so every offset still points at the original byte.
fn lexable_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            let mut copy = Vec::with_capacity(bytes.len());
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(valid) => {
                        copy.extend_from_slice(valid.as_bytes());
                        break;
                    }
                    Err(error) => {
                        let (valid, after) = rest.split_at(error.valid_up_to());
                        copy.extend_from_slice(valid);
                        let bad = error.error_len().unwrap_or(after.len()).max(1);
                        copy.extend(std::iter::repeat_n(b'?', bad.min(after.len())));
                        rest = after.get(bad..).unwrap_or_default();
                    }
                }
            }
            Cow::Owned(String::from_utf8_lossy(&copy).into_owned())
        }
    }
}
