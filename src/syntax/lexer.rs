//! The lossless token stream of a `.deploy` text: every byte belongs to one
//! token, trivia (whitespace, blank lines, comments) included, each with its
//! range. It is kept beside the syntax tree, not instead of it: the parser
//! builds the tree (and reads trivia with [`Lexer::trivia_end`], the one rule of
//! what lies between tokens); the formatter's comments, the editor's cursor
//! context and hover words, and the shell hint read tokens. Strings and Rhai
//! snippets are one token each, ending where the parser ends them, so a `//`
//! inside either is never taken for a comment. Lexing never fails: a string,
//! comment or snippet that is not closed is a token that says so.

use super::ident::{ident_end, is_ident_char, is_ident_start, KEYWORDS};
use super::span::Span;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces, tabs, line breaks (and the byte-order mark), as one run.
    Whitespace,
    /// `// ...` up to (not including) its line break; `///` is a doc comment.
    LineComment,
    /// `/* ... */`; one not closed runs to the end of the text.
    BlockComment { terminated: bool },
    /// A run of letters, digits and `_`: a name, a keyword, a number (`30s`).
    Word,
    /// `"..."` with its interpolations; one not closed ends before its line break.
    String { terminated: bool },
    /// `` `...` `` on one line, or ```` ```...``` ```` (`fenced`).
    Rhai { fenced: bool, terminated: bool },
    /// One ASCII punctuation byte: `{`, `=`, `,`, `.`, `-`, `%`, ...
    Punct,
    /// Any other character (non-ASCII outside strings, control characters).
    Other,
}

/// One token and the bytes it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// Whitespace or a comment: what lies between the tokens the parser reads.
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment { .. })
    }

    pub fn is_comment(&self) -> bool {
        matches!(self.kind, TokenKind::LineComment | TokenKind::BlockComment { .. })
    }

    /// A string, comment or snippet that its text ends before it is closed.
    pub fn is_unterminated(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::BlockComment { terminated: false }
                | TokenKind::String { terminated: false }
                | TokenKind::Rhai { terminated: false, .. }
        )
    }

    /// The byte `byte` as a punctuation token.
    pub fn is_punct(&self, text: &str, byte: u8) -> bool {
        self.kind == TokenKind::Punct && text.as_bytes().get(self.span.start) == Some(&byte)
    }

    pub fn text<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.span.start..self.span.end).unwrap_or_default()
    }
}

/// Every token of a text, in order; together they cover it exactly.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    list: Vec<Token>,
}

impl Tokens {
    pub fn of(text: &str) -> Tokens {
        let mut list = Vec::with_capacity(text.len() / 8);
        list.extend(Lexer::new(text).tokens(0, text.len()));
        Tokens { list }
    }

    pub fn as_slice(&self) -> &[Token] {
        &self.list
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Token> {
        self.list.iter()
    }

    /// The index of the first token that ends after `offset` (the one
    /// holding it), or the number of tokens at the end of the text.
    pub fn index_at(&self, offset: usize) -> usize {
        self.list.partition_point(|token| token.span.end <= offset)
    }

    /// The token holding the byte at `offset`.
    pub fn at(&self, offset: usize) -> Option<&Token> {
        self.list.get(self.index_at(offset))
    }

    /// The name, keyword or number under `offset`, or just before it (a
    /// cursor right after a word is on it); in a string, the words of its
    /// interpolations (`${host.zone}`), not those of its text.
    pub fn word_at(&self, text: &str, offset: usize) -> Option<Span> {
        let index = self.index_at(offset);
        if let Some(string) =
            self.list.get(index).filter(|t| matches!(t.kind, TokenKind::String { .. }) && t.span.start < offset)
        {
            let mut lexer = Lexer::new(text);
            let interpolation = lexer
                .string_pieces(string.span.start)
                .find(|(kind, piece)| *kind == PieceKind::Interpolation && piece.start <= offset && offset <= piece.end)
                .map(|(_, piece)| piece)?;
            return lexer.tokens(interpolation.start + 2, interpolation.end).find_map(|token| {
                (token.kind == TokenKind::Word && token.span.start <= offset && offset <= token.span.end)
                    .then_some(token.span)
            });
        }
        let here = self.list.get(index).filter(|t| t.kind == TokenKind::Word && t.span.start <= offset);
        let before = index
            .checked_sub(1)
            .and_then(|i| self.list.get(i))
            .filter(|t| t.kind == TokenKind::Word && t.span.end == offset);
        here.or(before).map(|token| token.span)
    }

    /// Only whitespace between the start of the line (or of the text) and
    /// the token at `index`.
    pub fn starts_line(&self, text: &str, index: usize) -> bool {
        match index.checked_sub(1).and_then(|i| self.list.get(i)) {
            None => true,
            Some(previous) => previous.kind == TokenKind::Whitespace && (index == 1 || newlines(text, previous) > 0),
        }
    }

    /// A blank line between the last token before `offset` that is not
    /// whitespace and `offset` (never at the start of the text).
    pub fn blank_line_before(&self, text: &str, offset: usize) -> bool {
        let index = self.index_at(offset);
        match index.checked_sub(1).and_then(|i| self.list.get(i)) {
            Some(previous) if previous.kind == TokenKind::Whitespace && index >= 2 => newlines(text, previous) >= 2,
            _ => false,
        }
    }

    /// The tokens in `from..to` as written, without comments, with one
    /// space where trivia was: a declaration's header (`stage build from
    /// m.t`), for the editor's outline and hover.
    pub fn header(&self, text: &str, from: usize, to: usize) -> String {
        let mut out = String::new();
        let mut spaced = false;
        for token in self.list[self.index_at(from)..].iter().take_while(|token| token.span.end <= to) {
            if token.span.start < from {
                continue;
            }
            if token.is_trivia() {
                spaced = true;
                continue;
            }
            if spaced && !out.is_empty() {
                out.push(' ');
            }
            spaced = false;
            out.push_str(token.text(text));
        }
        out
    }

    /// The first punctuation `byte` in `from..to` (comments, strings and
    /// snippets are single tokens, so what they hold never counts).
    pub fn find_punct(&self, text: &str, from: usize, to: usize, byte: u8) -> Option<usize> {
        self.list[self.index_at(from)..]
            .iter()
            .take_while(|token| token.span.start < to)
            .find(|token| token.span.start >= from && token.is_punct(text, byte))
            .map(|token| token.span.start)
    }
}

/// The line breaks in a token.
fn newlines(text: &str, token: &Token) -> usize {
    token.text(text).bytes().filter(|b| *b == b'\n').count()
}

fn is_space(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b' ' | b'\t' | b'\r' | b'\n') => 1,
        Some(0xEF) if bytes[at..].starts_with("\u{FEFF}".as_bytes()) => 3,
        _ => 0,
    }
}

/// Where the next `*/` is, remembered between searches: the searches of
/// one pass only move forward, so a text holding many `/*` (in strings'
/// interpolations, where they may be trivia) is still read in linear time.
#[derive(Clone, Copy, Debug)]
struct Closes {
    /// The last search started here...
    from: usize,
    /// ... and found the first `*/` at or after it here (`None`: none).
    found: Option<usize>,
}

impl Default for Closes {
    fn default() -> Self {
        Closes { from: usize::MAX, found: None }
    }
}

impl Closes {
    /// Just past the `*/` of the comment whose `/*` is at `start`, when it
    /// ends before `limit`.
    fn comment_end(&mut self, text: &str, start: usize, limit: usize) -> Option<usize> {
        let search = start + 2;
        let known = search >= self.from && self.found.map_or(true, |found| search <= found);
        if !known {
            self.from = search;
            self.found = text.get(search..limit).and_then(|rest| rest.find("*/")).map(|i| search + i);
        }
        self.found.map(|found| found + 2)
    }
}

/// The lexer over one text: tokens, trivia and the pieces of strings, read
/// at any position. One `Lexer` per pass over a text keeps it linear.
#[derive(Clone, Debug)]
pub struct Lexer<'t> {
    text: &'t str,
    closes: Closes,
    /// Comments end before this (see [`Lexer::within`]).
    limit: usize,
}

impl<'t> Lexer<'t> {
    pub fn new(text: &'t str) -> Self {
        Lexer { text, closes: Closes::default(), limit: text.len() }
    }

    /// A lexer for the part of `text` before `limit` (a block the outline
    /// delimited): a comment that would end after it is not closed. What
    /// lies in the part does not depend on the rest, so the search for the
    /// end of a `/*` need not go past it.
    pub fn within(text: &'t str, limit: usize) -> Self {
        Lexer { text, closes: Closes::default(), limit: limit.min(text.len()) }
    }

    pub fn text(&self) -> &'t str {
        self.text
    }

    /// The end of the trivia (whitespace and comments) that starts at
    /// `pos`: what the grammar skips between tokens. A `/*` never closed is
    /// not trivia (the parser stops before it, and says so).
    #[inline]
    pub fn trivia_end(&mut self, mut pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(pos) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => pos += 1,
                Some(0xEF) if bytes[pos..].starts_with("\u{FEFF}".as_bytes()) => pos += 3,
                Some(b'/') if bytes.get(pos + 1) == Some(&b'/') => pos = line_end(bytes, pos),
                Some(b'/') if bytes.get(pos + 1) == Some(&b'*') => {
                    match self.closes.comment_end(self.text, pos, self.limit) {
                        Some(end) => pos = end,
                        None => return pos,
                    }
                }
                _ => return pos,
            }
        }
    }

    /// The token that starts at `pos` (which is before the end of the text).
    #[inline]
    pub fn token(&mut self, pos: usize) -> Token {
        let text = self.text;
        let bytes = text.as_bytes();
        let (kind, end) = match bytes[pos] {
            _ if is_space(bytes, pos) > 0 => {
                let mut end = pos;
                loop {
                    let width = is_space(bytes, end);
                    if width == 0 {
                        break;
                    }
                    end += width;
                }
                (TokenKind::Whitespace, end)
            }
            b'/' if bytes.get(pos + 1) == Some(&b'/') => (TokenKind::LineComment, line_end(bytes, pos)),
            b'/' if bytes.get(pos + 1) == Some(&b'*') => match self.closes.comment_end(text, pos, self.limit) {
                Some(end) => (TokenKind::BlockComment { terminated: true }, end),
                None => (TokenKind::BlockComment { terminated: false }, text.len()),
            },
            b'"' => {
                let mut pieces = self.string_pieces(pos);
                for _ in pieces.by_ref() {}
                (TokenKind::String { terminated: pieces.terminated }, pieces.pos)
            }
            b'`' => {
                let (end, fenced, terminated) = rhai_end(text, pos);
                (TokenKind::Rhai { fenced, terminated }, end)
            }
            byte if is_ident_char(byte) => (TokenKind::Word, ident_end(bytes, pos)),
            byte if byte.is_ascii_punctuation() => (TokenKind::Punct, pos + 1),
            byte if byte.is_ascii() => (TokenKind::Other, pos + 1),
            _ => {
                let width = text.get(pos..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8);
                (TokenKind::Other, pos + width)
            }
        };
        Token { kind, span: Span::new(pos, end.min(text.len())) }
    }

    /// The tokens that start in `from..to`, in order.
    pub fn tokens(&mut self, from: usize, to: usize) -> TokensIn<'_, 't> {
        let to = to.min(self.text.len());
        TokensIn { lexer: self, at: from, to }
    }

    /// The pieces of the string whose `"` is at `start`, in order (the
    /// quotes are not pieces); a string ends at its line break, except
    /// inside an interpolation, which may hold trivia.
    pub fn string_pieces(&mut self, start: usize) -> StringPieces<'_, 't> {
        StringPieces { lexer: self, pos: start + 1, done: false, terminated: false, interpolation: None }
    }

    /// Just past the `}` of the interpolation whose `$` is at `dollar`,
    /// when one starts there: `${` trivia? (`raw` `(` path `)` | path)
    /// trivia? `}`.
    pub fn interpolation_end(&mut self, dollar: usize) -> Option<usize> {
        let text = self.text;
        let bytes = text.as_bytes();
        let start = self.trivia_end(dollar + 2);
        let mut raw = || {
            let open = self.trivia_end(start + 3);
            if bytes.get(open) != Some(&b'(') {
                return None;
            }
            let path = path_end(text, self.trivia_end(open + 1))?;
            let close = self.trivia_end(path);
            (bytes.get(close) == Some(&b')')).then_some(close + 1)
        };
        let after = match bytes[start..].starts_with(b"raw").then(&mut raw).flatten() {
            Some(after) => after,
            None => path_end(text, start)?,
        };
        let close = self.trivia_end(after);
        (bytes.get(close) == Some(&b'}')).then_some(close + 1)
    }
}

/// See [`Lexer::tokens`].
pub struct TokensIn<'l, 't> {
    lexer: &'l mut Lexer<'t>,
    at: usize,
    to: usize,
}

impl Iterator for TokensIn<'_, '_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        (self.at < self.to).then(|| {
            let token = self.lexer.token(self.at);
            self.at = token.span.end;
            token
        })
    }
}

/// The next line break at or after `from`, or the end of the text.
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| from + i)
}

/// The end of the Rhai snippet whose first backtick is at `start`, whether
/// it is fenced, and whether it is closed (as the parser reads it).
fn rhai_end(text: &str, start: usize) -> (usize, bool, bool) {
    if text.as_bytes()[start..].starts_with(b"```") {
        return match fenced_rhai(text, start) {
            Ok(body) => (body.end + 3, true, true),
            Err(_) => (text.len(), true, false),
        };
    }
    match inline_rhai(text, start) {
        Ok(body) => (body.end + 1, false, true),
        Err(end) => (end, false, false),
    }
}

/// The body of the fenced snippet whose ```` ``` ```` is at `start` (after
/// an optional `rhai` tag), up to its closing ```` ``` ````; `Err` with
/// where the body starts when it is never closed.
pub fn fenced_rhai(text: &str, start: usize) -> Result<Span, usize> {
    let mut body_start = start + 3;
    let tag = &text.as_bytes()[body_start.min(text.len())..];
    if tag.starts_with(b"rhai") && matches!(tag.get(4), Some(b'\n' | b'\r' | b' ')) {
        body_start += 4;
    }
    match text.get(body_start..).and_then(|rest| rest.find("```")) {
        Some(length) => Ok(Span::new(body_start, body_start + length)),
        None => Err(body_start),
    }
}

/// The body of the one-line snippet whose backtick is at `start`, up to
/// its closing backtick; `Err` with where it stops (a line break or the
/// end of the text) when it is not closed on its line.
pub fn inline_rhai(text: &str, start: usize) -> Result<Span, usize> {
    let bytes = text.as_bytes();
    match bytes[start + 1..].iter().position(|b| matches!(b, b'`' | b'\n')) {
        Some(i) if bytes[start + 1 + i] == b'`' => Ok(Span::new(start + 1, start + 1 + i)),
        Some(i) => Err(start + 1 + i),
        None => Err(text.len()),
    }
}

/// What a string literal is made of, between its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceKind {
    /// Characters as written (a `$` or `${` that starts no interpolation included).
    Text,
    /// A backslash and what it escapes.
    Escape,
    /// `${ path }` or `${ raw(path) }`, as the parser reads it.
    Interpolation,
}

/// See [`Lexer::string_pieces`].
pub struct StringPieces<'l, 't> {
    lexer: &'l mut Lexer<'t>,
    pos: usize,
    done: bool,
    terminated: bool,
    /// The interpolation a text piece ended before: (its start, its end).
    interpolation: Option<(usize, usize)>,
}

impl Iterator for StringPieces<'_, '_> {
    type Item = (PieceKind, Span);

    fn next(&mut self) -> Option<(PieceKind, Span)> {
        let text = self.lexer.text;
        let bytes = text.as_bytes();
        if self.done {
            return None;
        }
        let start = self.pos;
        match bytes.get(start) {
            None | Some(b'\n') => {
                self.done = true;
                None
            }
            Some(b'"') => {
                self.pos += 1;
                self.done = true;
                self.terminated = true;
                None
            }
            Some(b'\\') => {
                // The escaped character, whole (never a line break).
                let width = match bytes.get(start + 1) {
                    None | Some(b'\n') => 0,
                    Some(_) => text.get(start + 1..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8),
                };
                self.pos = start + 1 + width;
                Some((PieceKind::Escape, Span::new(start, self.pos)))
            }
            Some(b'$') if bytes.get(start + 1) == Some(&b'{') => match self
                .interpolation
                .take()
                .filter(|(at, _)| *at == start)
                .map(|(_, end)| end)
                .or_else(|| self.lexer.interpolation_end(start))
            {
                Some(end) => {
                    self.pos = end;
                    Some((PieceKind::Interpolation, Span::new(start, end)))
                }
                None => Some(self.text_piece(start)),
            },
            Some(_) => Some(self.text_piece(start)),
        }
    }
}

impl StringPieces<'_, '_> {
    /// Text from `start` (which is text) up to a quote, backslash, line
    /// break or interpolation.
    fn text_piece(&mut self, start: usize) -> (PieceKind, Span) {
        let bytes = self.lexer.text.as_bytes();
        let mut end = start + 1;
        while end < bytes.len() {
            match bytes[end] {
                b'"' | b'\\' | b'\n' => break,
                b'$' if bytes.get(end + 1) == Some(&b'{') => {
                    if let Some(after) = self.lexer.interpolation_end(end) {
                        self.interpolation = Some((end, after));
                        break;
                    }
                    end += 1;
                }
                _ => end += 1,
            }
        }
        self.pos = end;
        (PieceKind::Text, Span::new(start, end))
    }
}

/// The end of `ident ("." ident)*` at `start`.
fn path_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let name_end = |from: usize| {
        let end = ident_end(bytes, from);
        (bytes.get(from).copied().is_some_and(is_ident_start) && !KEYWORDS.contains(&&text[from..end])).then_some(end)
    };
    let mut end = name_end(start)?;
    while bytes.get(end) == Some(&b'.') {
        match name_end(end + 1) {
            Some(next) => end = next,
            None => break,
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        Tokens::of(text).iter().map(|t| (t.kind, t.text(text))).collect()
    }

    #[test]
    fn every_byte_is_in_one_token() {
        let text = "// c\nstage a {\n  run \"x ${v} // no\" /* b */\n  when = `1 // no`\n}\n\u{FEFF}é\"open";
        let tokens = Tokens::of(text);
        let joined: String = tokens.iter().map(|t| t.text(text)).collect();
        assert_eq!(joined, text);
        let comments: Vec<&str> = tokens.iter().filter(|t| t.is_comment()).map(|t| t.text(text)).collect();
        assert_eq!(comments, ["// c", "/* b */"]);
        assert_eq!(tokens.as_slice().last().map(|t| t.kind), Some(TokenKind::String { terminated: false }));
    }

    #[test]
    fn strings_and_snippets_end_where_the_parser_ends_them() {
        use TokenKind::*;
        assert_eq!(kinds(r#""a\"b""#), [(String { terminated: true }, r#""a\"b""#)]);
        assert_eq!(
            kinds("\"a\nb\""),
            [
                (String { terminated: false }, "\"a"),
                (Whitespace, "\n"),
                (Word, "b"),
                (String { terminated: false }, "\"")
            ]
        );
        // An interpolation may hold trivia, a quote in a comment included.
        let text = "\"${ /* \" */ a.b }\" x";
        assert_eq!(kinds(text)[0], (String { terminated: true }, "\"${ /* \" */ a.b }\""));
        assert_eq!(
            kinds("```rhai\nlet a = `x`;\n``` y")[0],
            (Rhai { fenced: true, terminated: true }, "```rhai\nlet a = `x`;\n```")
        );
        assert_eq!(kinds("`a\n`")[0], (Rhai { fenced: false, terminated: false }, "`a"));
        assert_eq!(kinds("/* a")[0], (BlockComment { terminated: false }, "/* a"));
    }

    #[test]
    fn string_pieces() {
        let text = r#""a \$ ${PORT:-1} ${ raw(x) }${b""#;
        let pieces: Vec<(PieceKind, &str)> =
            Lexer::new(text).string_pieces(0).map(|(kind, span)| (kind, &text[span.start..span.end])).collect();
        assert_eq!(
            pieces,
            [
                (PieceKind::Text, "a "),
                (PieceKind::Escape, "\\$"),
                (PieceKind::Text, " ${PORT:-1} "),
                (PieceKind::Interpolation, "${ raw(x) }"),
                (PieceKind::Text, "${b"),
            ]
        );
    }

    #[test]
    fn layout_questions() {
        let text = "a\n\n// c\nb /* d */ c";
        let tokens = Tokens::of(text);
        let comment = tokens.index_at(text.find("// c").unwrap_or(0));
        assert!(tokens.starts_line(text, comment));
        assert!(tokens.blank_line_before(text, text.find("// c").unwrap_or(0)));
        assert!(!tokens.blank_line_before(text, text.find('b').unwrap_or(0)));
        assert!(!tokens.starts_line(text, tokens.index_at(text.find("/*").unwrap_or(0))));
        assert_eq!(tokens.word_at(text, 1), Some(Span::new(0, 1)));
        assert_eq!(tokens.word_at(text, 2), None);
        let run = "run \"echo ${ host.zone }\"";
        let zone = run.find("zone").unwrap_or(0);
        assert_eq!(Tokens::of(run).word_at(run, zone + 1), Some(Span::new(zone, zone + 4)));
        assert_eq!(Tokens::of(run).word_at(run, 7), None, "the string's text holds no words");
        let header = "stage a /* x */ from\n  m.t";
        assert_eq!(Tokens::of(header).header(header, 0, header.len()), "stage a from m.t");
        let call = "f(/* ) */ \")\" a)";
        assert_eq!(Tokens::of(call).find_punct(call, 0, call.len(), b')'), Some(call.len() - 1));
    }
}
