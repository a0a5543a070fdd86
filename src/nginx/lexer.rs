//! The fast twin of `grammar.pest`: the same tokens from one forward pass over
//! the bytes. Each function names the grammar rule it stands for; the test
//! suite and the fuzz target hold the two to identical output.

use super::token::{Token, TokenKind, newlines};

const LUA_SUFFIX: &[u8] = b"by_lua_block";

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `bare_char`: everything but NUL, whitespace, `$ ; \ {`.
const fn is_bare_char(b: u8) -> bool {
    !matches!(
        b,
        0 | b' ' | b'\t' | b'\r' | b'\n' | b'$' | b';' | b'\\' | b'{'
    )
}

/// `is_bare_char` for every byte.
const BARE_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_bare_char(b as u8);
        b += 1;
    }
    table
};

/// `bare_start`: as `bare_char`, without `" # ' }`.
fn is_bare_start(b: u8) -> bool {
    is_bare_char(b) && !matches!(b, b'"' | b'#' | b'\'' | b'}')
}

/// Reads `bytes` and hands each token to `sink`, stopping at the first error
/// the sink returns.
pub fn lex<E>(bytes: &[u8], mut sink: impl FnMut(Token) -> Result<(), E>) -> Result<(), E> {
    let mut lexer = Lexer {
        bytes,
        pos: 0,
        line: 1,
    };
    let mut lua_tokens = Vec::new();
    loop {
        lexer.skip_ws();
        let Some(b) = lexer.peek() else {
            return Ok(());
        };
        let start = lexer.pos;
        let line = lexer.line;
        match b {
            b'}' => {
                lexer.pos += 1;
                sink(Token::new(TokenKind::Close, start, lexer.pos, line))?;
            }
            b'#' => sink(lexer.comment())?,
            b';' | b'{' => {
                lexer.pos += 1;
                sink(Token::new(TokenKind::BadTerminator, start, lexer.pos, line))?;
            }
            _ => {
                lua_tokens.clear();
                if lexer.lua_statement(&mut lua_tokens) {
                    for token in lua_tokens.drain(..) {
                        sink(token)?;
                    }
                } else {
                    lexer.pos = start;
                    lexer.line = line;
                    lexer.plain_statement(&mut sink)?;
                }
            }
        }
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The line `pos` is on.
    line: u32,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn starts_with(&self, pos: usize, prefix: &[u8]) -> bool {
        self.bytes
            .get(pos..)
            .is_some_and(|rest| rest.starts_with(prefix))
    }

    /// `ws`
    fn skip_ws(&mut self) {
        while let Some(b) = self.peek().filter(|&b| is_ws(b)) {
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
            }
            self.pos += 1;
        }
    }

    fn token(&self, kind: TokenKind, start: usize, line: u32) -> Token {
        Token::new(kind, start, self.pos, line)
    }

    /// `comment`: `#` up to the line end.
    fn comment(&mut self) -> Token {
        let start = self.pos;
        let rest = self.bytes.get(start..).unwrap_or_default();
        self.pos = start + memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        self.token(TokenKind::Comment, start, self.line)
    }

    /// `word`: a bare or quoted word starting at `self.pos`; false if none.
    fn word(&mut self) -> Option<Token> {
        let start = self.pos;
        let line = self.line;
        let first = self.peek()?;
        if first == b'"' || first == b'\'' {
            self.pos = self.quoted_end(start, first);
            let quoted = self.bytes.get(start..self.pos).unwrap_or_default();
            self.line = self.line.saturating_add(newlines(quoted));
        } else if first == b'\\' || first == b'$' || is_bare_start(first) {
            self.bare();
        } else {
            return None;
        }
        Some(self.token(TokenKind::Word, start, line))
    }

    /// `double_quoted` / `single_quoted`, or `bad_unclosed_quote` (to the end
    /// of the file) when the closing quote is missing.
    fn quoted_end(&self, start: usize, quote: u8) -> usize {
        let len = self.bytes.len();
        let mut pos = start + 1;
        loop {
            let rest = self.bytes.get(pos..).unwrap_or_default();
            match memchr::memchr2(quote, b'\\', rest) {
                None => return len,
                Some(i) if rest.get(i) == Some(&quote) => return pos + i + 1,
                // A backslash at the very end leaves the string unclosed.
                Some(i) if pos + i + 1 >= len => return len,
                Some(i) => pos += i + 2,
            }
        }
    }

    /// `bare`: the first byte is known to start a bare word, so from there
    /// on only `bare_char`, `\\` and `$` matter.
    fn bare(&mut self) {
        loop {
            while self.peek().is_some_and(|b| BARE_CHAR[usize::from(b)]) {
                self.pos += 1;
            }
            match self.peek() {
                Some(b'\\') => {
                    // `'\\' ~ ANY?`
                    if self.at(self.pos + 1) == Some(b'\n') {
                        self.line = self.line.saturating_add(1);
                    }
                    self.pos = (self.pos + 2).min(self.bytes.len());
                }
                Some(b'$') => {
                    // `'$' ~ "{"?`
                    self.pos += 1;
                    if self.peek() == Some(b'{') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// `(ws | !(";" | "{" | "}") ~ (word | comment))*`: the arguments and
    /// comments after a directive name.
    fn arguments<E>(&mut self, sink: &mut impl FnMut(Token) -> Result<(), E>) -> Result<(), E> {
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(b';' | b'{' | b'}') => return Ok(()),
                Some(b'#') => {
                    let token = self.comment();
                    sink(token)?;
                }
                Some(_) => match self.word() {
                    Some(token) => sink(token)?,
                    None => return Ok(()),
                },
            }
        }
    }

    /// `plain_statement`: a name, its arguments, then `;`, `{` or what is
    /// missing.
    fn plain_statement<E>(
        &mut self,
        sink: &mut impl FnMut(Token) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(name) = self.word() {
            sink(name)?;
        }
        self.arguments(sink)?;
        let start = self.pos;
        let kind = match self.peek() {
            Some(b';') => TokenKind::Semicolon,
            Some(b'{') => TokenKind::Open,
            _ => return sink(self.token(TokenKind::BadMissingEnd, start, self.line)),
        };
        self.pos += 1;
        sink(self.token(kind, start, self.line))
    }

    /// `lua_statement`: on success its tokens are in `out`; on failure the
    /// caller rewinds and reads a plain statement instead.
    fn lua_statement(&mut self, out: &mut Vec<Token>) -> bool {
        let start = self.pos;
        if !self.lua_hint(start) {
            return false;
        }
        let Some(name_end) = self.lua_name(start) else {
            return false;
        };
        out.push(Token::new(TokenKind::LuaName, start, name_end, self.line));
        self.pos = name_end;
        let Ok(()) = self.arguments(&mut |token| {
            out.push(token);
            Ok::<(), ()>(())
        }) else {
            return false;
        };
        if self.peek() != Some(b'{') {
            return false;
        }
        let open = self.pos;
        match self.lua_block_end(open) {
            Some((end, closed)) => {
                let kind = if closed {
                    TokenKind::LuaBlock
                } else {
                    TokenKind::UnclosedLuaBlock
                };
                out.push(Token::new(kind, open, end, self.line));
                let block = self.bytes.get(open..end).unwrap_or_default();
                self.line = self.line.saturating_add(newlines(block));
                self.pos = end;
                true
            }
            None => false,
        }
    }

    /// `lua_hint`: does `_by_lua_block` come before the next space or newline?
    fn lua_hint(&self, start: usize) -> bool {
        // A plain loop: a name is a few bytes, shorter than a vector
        // search's setup.
        let rest = self.bytes.get(start..).unwrap_or_default();
        for (i, &b) in rest.iter().enumerate() {
            match b {
                b' ' | b'\n' => return false,
                b'_' if rest
                    .get(i + 1..)
                    .is_some_and(|after| after.starts_with(LUA_SUFFIX)) =>
                {
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    /// `lua_name`: `(!"by_lua_block" ~ piece ~ "_")+ ~ "by_lua_block"`, maybe
    /// quoted, then whitespace or `{`. Returns the end of the name.
    fn lua_name(&self, start: usize) -> Option<usize> {
        let end = match self.at(start)? {
            quote @ (b'"' | b'\'') => {
                let end = self.lua_bare_name(start + 1)?;
                if self.at(end) != Some(quote) {
                    return None;
                }
                end + 1
            }
            _ => self.lua_bare_name(start)?,
        };
        match self.at(end) {
            Some(b) if is_ws(b) || b == b'{' => Some(end),
            _ => None,
        }
    }

    /// `lua_bare_name`: the unquoted name; returns its end.
    fn lua_bare_name(&self, start: usize) -> Option<usize> {
        let mut pos = start;
        let mut pieces = 0;
        while !self.starts_with(pos, LUA_SUFFIX) {
            let mut end = pos;
            while self.at(end).is_some_and(|b| b.is_ascii_alphanumeric()) {
                end += 1;
            }
            if end == pos || self.at(end) != Some(b'_') {
                break;
            }
            pos = end + 1;
            pieces += 1;
        }
        if pieces == 0 || !self.starts_with(pos, LUA_SUFFIX) {
            return None;
        }
        Some(pos + LUA_SUFFIX.len())
    }

    /// `lua_block` starting at the `{` at `open`: the end of the block and
    /// whether its `}` was found (`bad_unclosed_lua` otherwise). `None` when a
    /// nested `{` is never closed, which makes the grammar give up on the
    /// whole Lua statement. Nesting is counted rather than recursed, which
    /// matches the grammar because a group can only fail at the file's end.
    fn lua_block_end(&self, open: usize) -> Option<(usize, bool)> {
        let mut pos = open + 1;
        let mut depth = 0usize;
        loop {
            let Some(b) = self.at(pos) else {
                return if depth == 0 {
                    Some((self.bytes.len(), false))
                } else {
                    None
                };
            };
            match b {
                b'-' if self.at(pos + 1) == Some(b'-') => pos = self.lua_comment_end(pos),
                b'[' => pos = self.lua_long_string_end(pos).unwrap_or(pos + 1),
                b'"' | b'\'' => pos = self.lua_string_end(pos).unwrap_or(pos + 1),
                b'{' => {
                    depth += 1;
                    pos += 1;
                }
                b'}' => {
                    pos += 1;
                    if depth == 0 {
                        return Some((pos, true));
                    }
                    depth -= 1;
                }
                b'-' => pos += 1,
                _ => {
                    while self
                        .at(pos)
                        .is_some_and(|b| !matches!(b, b'{' | b'}' | b'"' | b'\'' | b'[' | b'-'))
                    {
                        pos += 1;
                    }
                }
            }
        }
    }

    /// `lua_comment`: `--` then a long bracket or the rest of the line.
    fn lua_comment_end(&self, start: usize) -> usize {
        let pos = start + 2;
        if self.at(pos) == Some(b'[')
            && let Some(end) = self.lua_long_string_end(pos)
        {
            return end;
        }
        let rest = self.bytes.get(pos..).unwrap_or_default();
        pos + memchr::memchr(b'\n', rest).unwrap_or(rest.len())
    }

    /// `lua_long_string`: `[[ ]]` up to `[====[ ]====]`.
    fn lua_long_string_end(&self, start: usize) -> Option<usize> {
        let mut level = 0;
        while self.at(start + 1 + level) == Some(b'=') {
            level += 1;
        }
        if level > 4 || self.at(start + 1 + level) != Some(b'[') {
            return None;
        }
        let mut close = Vec::with_capacity(level + 2);
        close.push(b']');
        close.extend(std::iter::repeat_n(b'=', level));
        close.push(b']');
        let body = start + level + 2;
        let rest = self.bytes.get(body..).unwrap_or_default();
        memchr::memmem::find(rest, &close).map(|i| body + i + close.len())
    }

    /// `lua_string`: a one-line Lua string with `\` escapes.
    fn lua_string_end(&self, start: usize) -> Option<usize> {
        let quote = self.at(start)?;
        let mut pos = start + 1;
        loop {
            match self.at(pos)? {
                b'\\' => {
                    self.at(pos + 1)?;
                    pos += 2;
                }
                b'\n' => return None,
                b if b == quote => return Some(pos + 1),
                _ => pos += 1,
            }
        }
    }
}
