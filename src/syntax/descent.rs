//! The recursive-descent parser: text to the lossless tree (through the
//! [`Event`] record). It accepts exactly the language of
//! `grammar/deploy.pest` (same choices in the same order, same spans; a
//! differential property test holds the two together); when the text is not
//! in it, it says where and what it expected there, wraps what does not
//! parse in `ERROR` nodes and goes on with the next item.

use rowan::{GreenNode, NodeCache};

use super::events::{self, Event};
use super::ident::{ident_end, KEYWORDS};
use super::kind::SyntaxKind::{self, *};
use super::lexer;
use super::literal::{decode_escape, out_of_range, parse_duration};
use super::span::{FileId, Span};
use super::syntax_error::{check_nesting, Expected, Want, MAX_NESTING};
use crate::diagnostic::Diagnostic;

/// A tree and what is wrong with its text.
pub(super) struct Parsed {
    pub(super) green: GreenNode,
    /// The first syntax error, if the text is not in the grammar.
    pub(super) syntax_error: Option<Box<Diagnostic>>,
    /// Literals out of range and invalid escapes, outside salvaged items.
    pub(super) errors: Vec<Diagnostic>,
}

/// Parses a whole file, always into a tree: every item that parses, and an
/// `ERROR` node for each that does not, holding what can be read of it (see
/// [`Descent::salvage`]). After an item that does not parse, parsing resumes
/// at the next line that starts with an item keyword.
pub(super) fn parse_file(file: FileId, text: &str, cache: &mut NodeCache) -> Parsed {
    let mut parser = Descent::new(file, text, 0, text.len() / 4);
    let mut syntax_error = None;
    parser.start(SOURCE_FILE);
    parser.skip();
    while parser.pos < parser.bytes.len() {
        let start = parser.pos;
        if parser.item().is_some() {
            parser.skip();
            continue;
        }
        if syntax_error.is_none() {
            parser.expected.add(parser.pos, Want::Words("end of input"));
            syntax_error = Some(Box::new(parser.syntax_error()));
        }
        let resume = next_item_line(text, start);
        parser.start(ERROR);
        parser.salvage(start, resume);
        parser.error_text(resume);
        parser.finish();
        parser.pos = resume;
        parser.expected = Expected::default();
        parser.skip();
    }
    parser.finish();
    let green = events::build(text, 0, text.len(), &parser.events, cache);
    Parsed { green, syntax_error, errors: parser.errors }
}

/// Like [`parse_file`], but the bodies of stages and gates are only
/// delimited, not parsed: each is one `LAZY_BODY` token, to be parsed with
/// [`parse_body`] when it is needed. The checker uses this to hold one
/// node's tree at a time instead of the whole file's. `None` when the
/// outline cannot be taken (the full parse will say why).
pub(super) fn parse_outline(file: FileId, text: &str) -> Option<Parsed> {
    let mut parser = Descent::new(file, text, 0, text.len() / 64);
    parser.outline = true;
    parser.start(SOURCE_FILE);
    parser.skip();
    while parser.pos < parser.bytes.len() {
        parser.item()?;
        parser.skip();
    }
    parser.finish();
    let green = events::build(text, 0, text.len(), &parser.events, &mut NodeCache::default());
    Some(Parsed { green, syntax_error: None, errors: parser.errors })
}

/// Parses the `{ ... }` block at `span` (a `LAZY_BODY` of [`parse_outline`]):
/// a tree whose root is the `BLOCK`, with offsets from `span.start`. It must
/// end where the outline said; `None` when it does not.
pub(super) fn parse_body(file: FileId, text: &str, span: Span) -> Option<Parsed> {
    let mut parser = Descent::new(file, text, span.start, (span.end - span.start) / 4);
    parser.block()?;
    if parser.pos != span.end {
        return None;
    }
    let green = events::build(text, span.start, span.end, &parser.events, &mut NodeCache::default());
    Some(Parsed { green, syntax_error: None, errors: parser.errors })
}

/// The start of the first line after the one holding `from` whose first
/// word is an item keyword; the end of the text if there is none.
fn next_item_line(text: &str, from: usize) -> usize {
    let mut line_start = text[from..].find('\n').map_or(text.len(), |i| from + i + 1);
    while line_start < text.len() {
        let line = &text[line_start..];
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let word_start = line_start + indent;
        let word_end = ident_end(text.as_bytes(), word_start);
        if KEYWORDS.contains(&&text[word_start..word_end]) {
            return line_start;
        }
        line_start = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i + 1);
    }
    text.len()
}

struct Descent<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    file: FileId,
    errors: Vec<Diagnostic>,
    /// The nodes and tokens read so far.
    events: Vec<Event>,
    /// Open brackets around the position; past [`MAX_NESTING`] the parser
    /// gives up (and says so) rather than recurse on.
    depth: usize,
    /// Skip the bodies of stages and gates (see [`parse_outline`]).
    outline: bool,
    /// What the alternatives that failed furthest in wanted there.
    expected: Expected,
    /// Salvaging an item that does not parse, which ends at this offset:
    /// blocks drop the lines that do not parse instead of failing.
    recover: Option<usize>,
}

/// A grammar rule that records a node's children.
type Rule<'t> = fn(&mut Descent<'t>) -> Option<()>;

/// What may start an entry of a block.
const ENTRY_STARTS: &[Want] = &[
    Want::Token("run"),
    Want::Token("script"),
    Want::Token("upload"),
    Want::Token("rollback"),
    Want::Token("strategy"),
    Want::Token("on"),
    Want::Token("approve"),
    Want::Token("check"),
    Want::Words("a name"),
];

/// Recording: nodes, tokens, undoing a failed alternative.
impl<'t> Descent<'t> {
    fn new(file: FileId, text: &'t str, pos: usize, events: usize) -> Self {
        Descent {
            text,
            bytes: text.as_bytes(),
            pos,
            file,
            errors: Vec::new(),
            events: Vec::with_capacity(events),
            depth: 0,
            outline: false,
            expected: Expected::default(),
            recover: None,
        }
    }

    fn start(&mut self, kind: SyntaxKind) {
        self.events.push(Event::Start(kind));
    }

    fn finish(&mut self) {
        self.events.push(Event::Finish);
    }

    /// The token from the position to `end`.
    fn bump(&mut self, kind: SyntaxKind, end: usize) {
        self.events.push(Event::Token { kind, start: self.pos as u32, end: end as u32 });
        self.pos = end;
    }

    /// Runs `rule`; on failure puts the position, the record and the errors back.
    fn attempt<T>(&mut self, rule: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let (start, events, errors) = (self.pos, self.events.len(), self.errors.len());
        let result = rule(self);
        if result.is_none() {
            self.pos = start;
            self.events.truncate(events);
            self.errors.truncate(errors);
        }
        result
    }

    /// [`Descent::attempt`] of `rule` as a node of `kind`.
    fn node(&mut self, kind: SyntaxKind, rule: impl FnOnce(&mut Self) -> Option<()>) -> Option<()> {
        self.attempt(|p| {
            p.start(kind);
            rule(p)?;
            p.finish();
            Some(())
        })
    }

    /// The text from the position to `to` (its trailing blanks left out),
    /// as trivia and error tokens.
    fn error_text(&mut self, to: usize) {
        let end = self.pos.max(self.text[..to].trim_end_matches([' ', '\t', '\r', '\n']).len());
        let (events, pos) = (&mut self.events, self.pos);
        lexer::gap_tokens(self.bytes, pos, end, |kind, start, end| {
            events.push(Event::Token { kind, start: start as u32, end: end as u32 });
        });
        self.pos = to;
    }

    /// What can be read of the item at `start` that does not parse and
    /// ends at `limit`: the entries of its blocks that do, or at least a
    /// stage's or gate's kind and name.
    fn salvage(&mut self, start: usize, limit: usize) {
        self.pos = start;
        self.recover = Some(limit);
        let (events, errors) = (self.events.len(), self.errors.len());
        if self.attempt(Self::item).is_none() || self.pos > limit {
            self.events.truncate(events);
            self.pos = start;
            let _ = self.node(NODE_DECL, |p| {
                p.node_kind()?;
                p.ident()?;
                p.start(BLOCK);
                p.finish();
                Some(())
            });
        }
        self.recover = None;
        // Literals in a salvaged item are the item's problem once it parses.
        self.errors.truncate(errors);
    }

    fn syntax_error(&self) -> Diagnostic {
        check_nesting(self.file, self.text).unwrap_or_else(|| self.expected.diagnostic(self.file, self.text))
    }

    fn want(&mut self, what: Want) {
        self.expected.add(self.pos, what);
    }
}

/// Tokens.
impl<'t> Descent<'t> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, literal: &str) -> bool {
        self.bytes[self.pos..].starts_with(literal.as_bytes())
    }

    /// WHITESPACE and COMMENT, as pest skips them between tokens (they are
    /// not recorded: the tree builder reads them again).
    fn skip(&mut self) {
        self.pos = lexer::skip_trivia(self.bytes, self.pos);
    }

    /// A literal token (`{`, `=`, ...), after trivia.
    fn token(&mut self, literal: &'static str) -> Option<()> {
        self.skip();
        if self.at(literal) {
            self.bump(punctuation(literal), self.pos + literal.len());
            Some(())
        } else {
            self.want(Want::Token(literal));
            None
        }
    }

    /// `kw = @{ "word" ~ !ident_char }`, after trivia.
    fn keyword(&mut self, word: &'static str) -> Option<()> {
        self.skip();
        match lexer::keyword(self.bytes, self.pos, word) {
            Some(end) => {
                self.bump(KEYWORD, end);
                Some(())
            }
            None => {
                self.want(Want::Token(word));
                None
            }
        }
    }

    /// Runs `rule`, which parses a construct described as `what`; when it
    /// fails where it began, it is named as a whole in the syntax error.
    fn named<T>(&mut self, what: &'static str, rule: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        self.skip();
        let start = self.pos;
        let mark = self.expected.mark();
        let result = self.attempt(rule);
        if result.is_none() {
            self.expected.name(start, mark, what);
        }
        result
    }

    /// `ident`, after trivia.
    fn ident(&mut self) -> Option<()> {
        self.skip();
        self.ident_here()
    }

    fn ident_here(&mut self) -> Option<()> {
        let end = self.name_end()?;
        self.bump(IDENT, end);
        Some(())
    }

    /// The end of the name at the position, or what was wanted there.
    fn name_end(&mut self) -> Option<usize> {
        let end = lexer::name(self.text, self.pos);
        if end.is_none() {
            self.want(Want::Words("a name"));
        }
        end
    }
}

/// The token kind of a literal the grammar names.
fn punctuation(literal: &str) -> SyntaxKind {
    match literal {
        "{" => L_BRACE,
        "}" => R_BRACE,
        "[" => L_BRACK,
        "]" => R_BRACK,
        "(" => L_PAREN,
        ")" => R_PAREN,
        "=" => EQ,
        "," => COMMA,
        ":" => COLON,
        "<" => LT,
        ">" => GT,
        _ => KEYWORD,
    }
}

/// Items.
impl<'t> Descent<'t> {
    fn item(&mut self) -> Option<()> {
        self.skip();
        let items: [(SyntaxKind, Rule<'t>); 7] = [
            (IMPORT, Self::import),
            (PIPELINE, Self::pipeline),
            (PARAM, Self::param),
            (SECRET, Self::secret),
            (ENVIRONMENT, Self::environment),
            (TEMPLATE, Self::template),
            (NODE_DECL, Self::node_decl),
        ];
        items.into_iter().find_map(|(kind, rule)| self.node(kind, rule))
    }

    fn import(&mut self) -> Option<()> {
        self.keyword("import")?;
        self.string()?;
        self.keyword("as")?;
        self.ident()
    }

    fn pipeline(&mut self) -> Option<()> {
        self.keyword("pipeline")?;
        self.string()?;
        self.block()
    }

    fn param(&mut self) -> Option<()> {
        self.keyword("param")?;
        self.ident()?;
        self.token(":")?;
        self.type_expr()?;
        self.default_value();
        Some(())
    }

    /// `("=" ~ value)?`
    fn default_value(&mut self) {
        let _ = self.attempt(|p| {
            p.token("=")?;
            p.value()
        });
    }

    fn secret(&mut self) -> Option<()> {
        self.keyword("secret")?;
        self.ident()?;
        self.token("=")?;
        self.value()
    }

    fn environment(&mut self) -> Option<()> {
        self.keyword("environment")?;
        self.ident()?;
        self.block()
    }

    fn template(&mut self) -> Option<()> {
        self.keyword("template")?;
        self.node_kind()?;
        self.ident()?;
        self.template_params()?;
        self.block()
    }

    fn node_decl(&mut self) -> Option<()> {
        self.node_kind()?;
        self.ident()?;
        let _ = self.attempt(|p| {
            p.keyword("from")?;
            p.skip();
            p.path()
        });
        if self.outline {
            self.skip_block()
        } else {
            self.block()
        }
    }

    /// Delimits a `{ ... }` block without building it (one `LAZY_BODY`
    /// token): brackets are counted outside strings, Rhai snippets and
    /// comments. For a valid block this ends exactly where
    /// [`Descent::block`] would; an invalid one is found out when the body
    /// is parsed.
    fn skip_block(&mut self) -> Option<()> {
        self.skip();
        if self.peek() != Some(b'{') {
            return None;
        }
        let end = lazy_block_end(self.text, self.pos)?;
        self.bump(LAZY_BODY, end);
        Some(())
    }

    fn node_kind(&mut self) -> Option<()> {
        self.keyword("stage").or_else(|| self.keyword("gate"))
    }

    fn template_params(&mut self) -> Option<()> {
        self.token("(")?;
        if self.named("a parameter", Self::template_param).is_some() {
            while self
                .attempt(|p| {
                    p.token(",")?;
                    p.named("a parameter", Self::template_param)
                })
                .is_some()
            {}
            let _ = self.attempt(|p| p.token(","));
        }
        self.token(")")
    }

    fn template_param(&mut self) -> Option<()> {
        self.skip();
        self.node(TEMPLATE_PARAM, |p| {
            p.ident()?;
            p.token(":")?;
            p.type_expr()?;
            p.default_value();
            Some(())
        })
    }

    fn type_expr(&mut self) -> Option<()> {
        self.named("a type", Self::type_expr_inner)
    }

    fn type_expr_inner(&mut self) -> Option<()> {
        self.skip();
        let list = self.node(TYPE_EXPR, |p| {
            p.token("list")?;
            p.token("<")?;
            p.type_expr()?;
            p.token(">")
        });
        if list.is_some() {
            return Some(());
        }
        let Some(end) = lexer::type_name(self.bytes, self.pos) else {
            self.want(Want::Words("a type"));
            return None;
        };
        self.start(TYPE_EXPR);
        self.bump(IDENT, end);
        self.finish();
        Some(())
    }
}

/// The end of the `{ ... }` at `start` by counting brackets outside
/// strings, Rhai snippets and comments; `None` if it does not close.
fn lazy_block_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = start;
    while at < bytes.len() {
        match bytes[at] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            b'"' => {
                // A string ends at an unescaped quote; `${...}` holds no quotes.
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    match bytes[at] {
                        b'\\' => at += 1,
                        b'\n' => return None,
                        _ => {}
                    }
                    at += 1;
                }
            }
            b'`' if bytes[at..].starts_with(b"```") => {
                let end = text[at + 3..].find("```")?;
                at += 3 + end + 2;
            }
            b'`' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'`' {
                    if bytes[at] == b'\n' {
                        return None;
                    }
                    at += 1;
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                let end = text[at + 2..].find("*/")?;
                at += 2 + end + 1;
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// Blocks and their entries.
impl<'t> Descent<'t> {
    fn block(&mut self) -> Option<()> {
        self.depth += 1;
        let block = if self.depth > MAX_NESTING { None } else { self.node(BLOCK, Self::block_inner) };
        self.depth -= 1;
        block
    }

    fn block_inner(&mut self) -> Option<()> {
        self.token("{")?;
        loop {
            while self.attempt(Self::entry).is_some() {}
            if self.token("}").is_some() {
                break;
            }
            // Salvaging an item that does not parse: drop the line that
            // does not, and go on with the next; the block ends with the item.
            let limit = self.recover?;
            let line_end = self.text[self.pos..].find('\n').map_or(self.bytes.len(), |i| self.pos + i + 1);
            let to = line_end.min(limit);
            self.start(ERROR);
            self.error_text(to);
            self.finish();
            if self.pos >= limit {
                break;
            }
        }
        Some(())
    }

    fn entry(&mut self) -> Option<()> {
        self.skip();
        // Cheap dispatch on the first byte: only a letter or `_` can start an entry.
        if !self.peek().is_some_and(super::ident::is_ident_start) {
            for want in ENTRY_STARTS {
                self.want(*want);
            }
            return None;
        }
        let entries: [(SyntaxKind, Rule<'t>); 10] = [
            (RUN_STEP, Self::run_step),
            (SCRIPT_STEP, Self::script_step),
            (UPLOAD_STEP, Self::upload_step),
            (ROLLBACK, Self::rollback),
            (STRATEGY, Self::strategy),
            (HOOK, Self::hook),
            (APPROVE, Self::approve),
            (CHECK, Self::check),
            (ATTRIBUTE, Self::attribute),
            (NAMED_BLOCK, Self::named_block),
        ];
        entries.into_iter().find_map(|(kind, rule)| self.node(kind, rule))
    }

    fn run_step(&mut self) -> Option<()> {
        self.keyword("run")?;
        self.string()
    }

    fn script_step(&mut self) -> Option<()> {
        self.keyword("script")?;
        self.rhai()
    }

    fn upload_step(&mut self) -> Option<()> {
        self.keyword("upload")?;
        self.string()?;
        self.keyword("to")?;
        self.string()
    }

    fn rollback(&mut self) -> Option<()> {
        self.keyword("rollback")?;
        self.block()
    }

    fn strategy(&mut self) -> Option<()> {
        self.keyword("strategy")?;
        self.ident()?;
        let _ = self.attempt(Self::block);
        Some(())
    }

    fn hook(&mut self) -> Option<()> {
        self.keyword("on")?;
        self.ident()?;
        self.block()
    }

    fn approve(&mut self) -> Option<()> {
        self.keyword("approve")?;
        self.string()?;
        let _ = self.attempt(|p| {
            p.keyword("by")?;
            p.value()
        });
        Some(())
    }

    fn check(&mut self) -> Option<()> {
        self.keyword("check")?;
        for word in ["every", "within"] {
            let _ = self.attempt(|p| {
                p.keyword(word)?;
                p.value_atom()
            });
        }
        self.rhai()
    }

    fn attribute(&mut self) -> Option<()> {
        self.ident()?;
        self.token("=")?;
        self.value()
    }

    fn named_block(&mut self) -> Option<()> {
        self.ident()?;
        self.block()
    }
}

/// Values.
impl<'t> Descent<'t> {
    /// `value = { value_atom ~ (qualifier ~ value_atom)? }`
    fn value(&mut self) -> Option<()> {
        self.skip();
        let mark = self.events.len();
        self.value_atom()?;
        let qualified = self.attempt(|p| {
            p.keyword("every").or_else(|| p.keyword("for"))?;
            p.value_atom()
        });
        if qualified.is_some() {
            self.events.insert(mark, Event::Start(QUALIFIED));
            self.finish();
        }
        Some(())
    }

    fn value_atom(&mut self) -> Option<()> {
        self.depth += 1;
        let value = if self.depth > MAX_NESTING { None } else { self.named("a value", Self::value_atom_inner) };
        self.depth -= 1;
        value
    }

    fn value_atom_inner(&mut self) -> Option<()> {
        self.skip();
        let Some(first) = self.peek() else {
            self.want(Want::Words("a value"));
            return None;
        };
        match first {
            b'"' => self.string(),
            b'`' => self.rhai(),
            b'0'..=b'9' | b'-' => self.numeric(),
            b'[' => self.node(LIST, |p| p.sequence("[", "]")),
            b'{' => self.node(MAP, |p| {
                p.bump(L_BRACE, p.pos + 1);
                while p.node(ATTRIBUTE, Self::attribute).is_some() {}
                p.token("}")
            }),
            _ => {
                let word = if self.at("true") { "true" } else { "false" };
                if let Some(end) = lexer::keyword(self.bytes, self.pos, word) {
                    self.start(LITERAL);
                    self.bump(BOOL, end);
                    self.finish();
                    return Some(());
                }
                self.want(Want::Token(word));
                self.node(CALL, |p| {
                    p.ident()?;
                    p.sequence("(", ")")
                })
                .or_else(|| self.path())
            }
        }
    }

    /// `open ~ (value ~ ("," ~ value)* ~ ","?)? ~ close`
    fn sequence(&mut self, open: &'static str, close: &'static str) -> Option<()> {
        self.token(open)?;
        if self.attempt(Self::value).is_some() {
            while self
                .attempt(|p| {
                    p.token(",")?;
                    p.value()
                })
                .is_some()
            {}
            let _ = self.attempt(|p| p.token(","));
        }
        self.token(close)
    }

    /// A duration, a percent or an integer, tried in the grammar's order.
    fn numeric(&mut self) -> Option<()> {
        let start = self.pos;
        let (kind, end) = if let Some(end) = lexer::duration(self.bytes, start) {
            if parse_duration(&self.text[start..end]).is_none() {
                self.errors.push(out_of_range(self.file, Span::new(start, end), "duration"));
            }
            (DURATION, end)
        } else if let Some(end) = lexer::percent(self.bytes, start) {
            if !self.text[start..end - 1].parse::<f64>().is_ok_and(f64::is_finite) {
                self.errors.push(out_of_range(self.file, Span::new(start, end), "percent"));
            }
            (PERCENT, end)
        } else {
            let end = lexer::integer(self.bytes, start)?;
            if self.text[start..end].parse::<i64>().is_err() {
                self.errors.push(out_of_range(self.file, Span::new(start, end), "integer"));
            }
            (INTEGER, end)
        };
        self.start(LITERAL);
        self.bump(kind, end);
        self.finish();
        Some(())
    }

    /// `path = ${ ident ~ ("." ~ ident)* }`, at the position (no trivia).
    fn path(&mut self) -> Option<()> {
        let end = self.name_end()?;
        self.start(PATH);
        self.bump(IDENT, end);
        while self.peek() == Some(b'.') {
            let dot = self.pos;
            self.pos += 1;
            let segment = self.name_end();
            self.pos = dot;
            let Some(end) = segment else { break };
            self.bump(DOT, dot + 1);
            self.bump(IDENT, end);
        }
        self.finish();
        Some(())
    }

    /// `string = ${ "\"" ~ (interpolation | escape | text)* ~ "\"" }`, after trivia.
    fn string(&mut self) -> Option<()> {
        self.skip();
        if self.peek() != Some(b'"') {
            self.want(Want::Words("a string"));
            return None;
        }
        self.attempt(|p| {
            p.start(STRING);
            p.bump(QUOTE, p.pos + 1);
            p.string_parts()?;
            p.bump(QUOTE, p.pos + 1);
            p.finish();
            Some(())
        })
    }

    /// The inside of a string, up to its closing quote.
    fn string_parts(&mut self) -> Option<()> {
        loop {
            let Some(byte) = self.peek() else {
                self.want(Want::Token("\""));
                return None;
            };
            match byte {
                b'"' => return Some(()),
                b'\n' => {
                    self.want(Want::Token("\""));
                    return None;
                }
                b'$' if self.at("${") => self.interpolation()?,
                b'\\' => self.escape()?,
                _ => {
                    let end = lexer::string_text(self.bytes, self.pos);
                    self.bump(STRING_TEXT, end);
                }
            }
        }
    }

    /// `${ path }` or `${ raw(path) }` in a string, at `${`.
    fn interpolation(&mut self) -> Option<()> {
        self.node(INTERPOLATION, |p| {
            p.bump(INTERPOLATION_OPEN, p.pos + 2);
            p.skip();
            let raw = p
                .at("raw")
                .then(|| {
                    p.attempt(|p| {
                        p.token("raw")?;
                        p.token("(")?;
                        p.skip();
                        p.path()?;
                        p.token(")")
                    })
                })
                .flatten();
            if raw.is_none() {
                p.path()?;
            }
            p.token("}")
        })
    }

    /// An escape in a string, at a backslash. A `\u{...}` that is not a
    /// unicode scalar value is an escape, with an error kept.
    fn escape(&mut self) -> Option<()> {
        let escape_start = self.pos;
        let Some(len) = lexer::escape_len(&self.bytes[self.pos + 1..]) else {
            self.expected.add(self.pos + 1, ESCAPE);
            return None;
        };
        self.bump(ESCAPE_TOKEN, self.pos + len);
        if decode_escape(&self.text[escape_start..self.pos]).is_none() {
            self.errors.push(Diagnostic::new(crate::diagnostic::Code::Syntax, "invalid unicode escape").at(
                self.file,
                Span::new(escape_start, self.pos),
                "not a unicode scalar value",
            ));
        }
        Some(())
    }

    /// `rhai = ${ rhai_fence | rhai_inline }`, after trivia.
    fn rhai(&mut self) -> Option<()> {
        self.skip();
        let start = self.pos;
        if let Some(open) = lexer::fence_open(self.bytes, start) {
            let body_start = start + open;
            if let Some(length) = self.text[body_start..].find("```") {
                let body_end = body_start + length;
                self.start(RHAI);
                self.bump(RHAI_DELIMITER, body_start);
                if body_end > body_start {
                    self.bump(RHAI_SOURCE, body_end);
                }
                self.bump(RHAI_DELIMITER, body_end + 3);
                self.finish();
                return Some(());
            }
            self.expected.add(self.bytes.len(), Want::Words("the closing ``` of the Rhai block"));
        }
        if self.peek() != Some(b'`') {
            self.want(Want::Words("a Rhai snippet in backticks"));
            return None;
        }
        let end = match lexer::inline_rhai(self.bytes, start + 1) {
            Ok(end) => end,
            Err(end) => {
                self.expected.add(end, Want::Words("a closing backtick"));
                return None;
            }
        };
        self.start(RHAI);
        self.bump(RHAI_DELIMITER, start + 1);
        if end > start + 1 {
            self.bump(RHAI_SOURCE, end);
        }
        self.bump(RHAI_DELIMITER, end + 1);
        self.finish();
        Some(())
    }
}

const ESCAPE: Want = Want::Words("an escape: `\\n`, `\\t`, `\\r`, `\\\"`, `\\\\`, `\\$` or `\\u{...}`");
const ESCAPE_TOKEN: SyntaxKind = SyntaxKind::ESCAPE;
