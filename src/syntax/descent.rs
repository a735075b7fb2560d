//! The hand-written recursive-descent parser: the fast path from text to
//! [`Module`]. It accepts exactly the language of `grammar/deploy.pest`
//! (same choices in the same order, same spans); a differential property
//! test holds the two together. When it fails, the caller asks pest, whose
//! error detail names what was expected.

use super::ast::*;
use super::literal::{decode_escape, out_of_range, parse_duration};
use super::span::{FileId, Span};
use crate::diagnostic::Diagnostic;

/// Why the fast parser gave up.
pub enum Failure {
    /// The text is not in the grammar; pest will say why.
    Syntax,
    /// The text parses, but a literal is out of range.
    Invalid(Vec<Diagnostic>),
}

/// Words that begin items; they cannot be identifiers.
pub const KEYWORDS: &[&str] = &["import", "pipeline", "param", "secret", "environment", "template", "stage", "gate"];

pub fn parse(file: FileId, text: &str) -> Result<Module, Failure> {
    parse_items(file, text, false)
}

/// Like [`parse`], but the bodies of stages and gates are only delimited,
/// not parsed: each `NodeDecl` gets an empty body whose span covers the
/// `{ ... }`, to be parsed with [`parse_body`] when it is needed. The checker
/// uses this to hold one node's tree at a time instead of the whole file's.
pub fn parse_outline(file: FileId, text: &str) -> Result<Module, Failure> {
    parse_items(file, text, true)
}

/// Parses the `{ ... }` block that starts at `start` (a span from
/// [`parse_outline`]); it must end where the outline said.
pub fn parse_body(file: FileId, text: &str, span: Span) -> Result<Block, Failure> {
    let mut parser =
        Descent { text, bytes: text.as_bytes(), pos: span.start, file, errors: Vec::new(), depth: 0, outline: false };
    let block = parser.block().ok_or(Failure::Syntax)?;
    if block.span != span {
        return Err(Failure::Syntax);
    }
    if parser.errors.is_empty() {
        Ok(block)
    } else {
        Err(Failure::Invalid(parser.errors))
    }
}

fn parse_items(file: FileId, text: &str, outline: bool) -> Result<Module, Failure> {
    let mut parser = Descent { text, bytes: text.as_bytes(), pos: 0, file, errors: Vec::new(), depth: 0, outline };
    let mut items = Vec::new();
    parser.skip();
    while parser.pos < parser.bytes.len() {
        let item = parser.item().ok_or(Failure::Syntax)?;
        items.push(item);
        parser.skip();
    }
    if parser.errors.is_empty() {
        Ok(Module { items })
    } else {
        Err(Failure::Invalid(parser.errors))
    }
}

struct Descent<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    file: FileId,
    errors: Vec<Diagnostic>,
    /// Open brackets around the position; past [`MAX_DEPTH`] the parser
    /// gives up (and the caller reports the nesting) rather than recurse on.
    depth: usize,
    /// Skip the bodies of stages and gates (see [`parse_outline`]).
    outline: bool,
}

const MAX_DEPTH: usize = 64;

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_ident_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

impl<'t> Descent<'t> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, literal: &str) -> bool {
        self.bytes[self.pos..].starts_with(literal.as_bytes())
    }

    /// WHITESPACE and COMMENT, as pest skips them between tokens.
    fn skip(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(0xEF) if self.at("\u{FEFF}") => self.pos += 3,
                Some(b'/') if self.at("//") => {
                    self.pos += 2;
                    while let Some(byte) = self.peek() {
                        if byte == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                Some(b'/') if self.at("/*") => match self.text[self.pos + 2..].find("*/") {
                    Some(end) => self.pos += 2 + end + 2,
                    None => return,
                },
                _ => return,
            }
        }
    }

    /// A literal token (`{`, `=`, ...), after trivia.
    fn token(&mut self, literal: &str) -> Option<Span> {
        self.skip();
        if self.at(literal) {
            let start = self.pos;
            self.pos += literal.len();
            Some(Span::new(start, self.pos))
        } else {
            None
        }
    }

    /// `kw = @{ "word" ~ !ident_char }`, after trivia.
    fn keyword(&mut self, word: &str) -> Option<Span> {
        self.skip();
        if self.at(word) && !self.bytes.get(self.pos + word.len()).copied().is_some_and(is_ident_char) {
            let start = self.pos;
            self.pos += word.len();
            Some(Span::new(start, self.pos))
        } else {
            None
        }
    }

    /// Runs `rule`; on failure puts the position back.
    fn attempt<T>(&mut self, rule: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let start = self.pos;
        let errors = self.errors.len();
        let result = rule(self);
        if result.is_none() {
            self.pos = start;
            self.errors.truncate(errors);
        }
        result
    }

    /// The identifier characters at the position (no trivia).
    fn word_end(&self) -> usize {
        let mut end = self.pos;
        while end < self.bytes.len() && is_ident_char(self.bytes[end]) {
            end += 1;
        }
        end
    }

    /// `ident`, after trivia.
    fn ident(&mut self) -> Option<Ident> {
        self.skip();
        self.ident_here()
    }

    fn ident_here(&mut self) -> Option<Ident> {
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        let end = self.word_end();
        let word = &self.text[self.pos..end];
        if KEYWORDS.contains(&word) {
            return None;
        }
        let span = Span::new(self.pos, end);
        self.pos = end;
        Some(Ident { name: Name::from(word), span })
    }

    fn item(&mut self) -> Option<Item> {
        self.skip();
        let start = self.pos;
        if let Some(item) = self.attempt(|p| {
            p.keyword("import")?;
            let path = p.string()?;
            p.keyword("as")?;
            let alias = p.ident()?;
            Some(Item::Import(Import { path, alias, span: Span::new(start, p.pos) }))
        }) {
            return Some(item);
        }
        if let Some(item) = self.attempt(|p| {
            p.keyword("pipeline")?;
            let name = p.string()?;
            let body = p.block()?;
            Some(Item::Pipeline(Pipeline { name, body, span: Span::new(start, p.pos) }))
        }) {
            return Some(item);
        }
        if let Some(item) = self.attempt(|p| {
            p.keyword("param")?;
            let name = p.ident()?;
            p.token(":")?;
            let ty = p.type_expr()?;
            let default = p.attempt(|p| {
                p.token("=")?;
                p.value()
            });
            Some(Item::Param(Param { name, ty, default, span: Span::new(start, p.pos) }))
        }) {
            return Some(item);
        }
        if let Some(item) = self.attempt(|p| {
            p.keyword("secret")?;
            let name = p.ident()?;
            p.token("=")?;
            let value = p.value()?;
            Some(Item::Secret(Secret { name, value, span: Span::new(start, p.pos) }))
        }) {
            return Some(item);
        }
        if let Some(item) = self.attempt(|p| {
            p.keyword("environment")?;
            let name = p.ident()?;
            let body = p.block()?;
            Some(Item::Environment(Environment { name, body, span: Span::new(start, p.pos) }))
        }) {
            return Some(item);
        }
        if let Some(item) = self.attempt(|p| {
            p.keyword("template")?;
            let kind = p.node_kind()?;
            let name = p.ident()?;
            let params = p.template_params()?;
            let body = p.block()?;
            Some(Item::Template(Template { kind, name, params, body, span: Span::new(start, p.pos) }))
        }) {
            return Some(item);
        }
        self.attempt(|p| {
            let kind = p.node_kind()?;
            let name = p.ident()?;
            let from = p.attempt(|p| {
                p.keyword("from")?;
                p.skip();
                p.path()
            });
            let body = if p.outline { p.skip_block()? } else { p.block()? };
            Some(Item::Node(NodeDecl { kind, name, from, body, span: Span::new(start, p.pos) }))
        })
    }

    /// Delimits a `{ ... }` block without building it: brackets are counted
    /// outside strings, Rhai snippets and comments. For a valid block this
    /// ends exactly where [`Descent::block`] would; an invalid one is found
    /// out when the body is parsed.
    fn skip_block(&mut self) -> Option<Block> {
        self.skip();
        if self.peek() != Some(b'{') {
            return None;
        }
        let start = self.pos;
        let bytes = self.bytes;
        let mut depth = 0usize;
        let mut at = start;
        while at < bytes.len() {
            match bytes[at] {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.pos = at + 1;
                        return Some(Block { entries: Vec::new(), span: Span::new(start, self.pos) });
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
                    let end = self.text[at + 3..].find("```")?;
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
                    let end = self.text[at + 2..].find("*/")?;
                    at += 2 + end + 1;
                }
                _ => {}
            }
            at += 1;
        }
        None
    }

    fn node_kind(&mut self) -> Option<NodeKind> {
        if self.keyword("stage").is_some() {
            Some(NodeKind::Stage)
        } else if self.keyword("gate").is_some() {
            Some(NodeKind::Gate)
        } else {
            None
        }
    }

    fn template_params(&mut self) -> Option<Vec<TemplateParam>> {
        self.token("(")?;
        let mut params = Vec::new();
        if let Some(first) = self.attempt(Self::template_param) {
            params.push(first);
            while let Some(next) = self.attempt(|p| {
                p.token(",")?;
                p.template_param()
            }) {
                params.push(next);
            }
            self.attempt(|p| p.token(","));
        }
        self.token(")")?;
        Some(params)
    }

    fn template_param(&mut self) -> Option<TemplateParam> {
        self.skip();
        let start = self.pos;
        let name = self.ident()?;
        self.token(":")?;
        let ty = self.type_expr()?;
        let default = self.attempt(|p| {
            p.token("=")?;
            p.value()
        });
        Some(TemplateParam { name, ty, default, span: Span::new(start, self.pos) })
    }

    fn type_expr(&mut self) -> Option<TypeExpr> {
        self.skip();
        let start = self.pos;
        if let Some(inner) = self.attempt(|p| {
            p.token("list")?;
            p.token("<")?;
            let inner = p.type_expr()?;
            p.token(">")?;
            Some(inner)
        }) {
            return Some(TypeExpr { kind: TypeExprKind::List(Box::new(inner)), span: Span::new(start, self.pos) });
        }
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        let end = self.word_end();
        let name = self.text[start..end].to_string();
        self.pos = end;
        Some(TypeExpr { kind: TypeExprKind::Named(name), span: Span::new(start, end) })
    }

    fn block(&mut self) -> Option<Block> {
        self.depth += 1;
        let block = if self.depth > MAX_DEPTH { None } else { self.block_inner() };
        self.depth -= 1;
        block
    }

    fn block_inner(&mut self) -> Option<Block> {
        let open = self.token("{")?;
        let mut entries = Vec::new();
        while let Some(entry) = self.attempt(Self::entry) {
            entries.push(entry);
        }
        entries.shrink_to_fit();
        self.token("}")?;
        Some(Block { entries, span: Span::new(open.start, self.pos) })
    }

    fn entry(&mut self) -> Option<Entry> {
        self.skip();
        let start = self.pos;
        let span = |p: &Self| Span::new(start, p.pos);
        // Cheap dispatch on the first byte: only a letter or `_` can start an entry.
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("run")?;
            let command = p.string()?;
            Some(Entry::Run(RunStep { command, keyword, span: span(p) }))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("script")?;
            let script = p.rhai()?;
            Some(Entry::Script(ScriptStep { script, keyword, span: span(p) }))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("upload")?;
            let local = p.string()?;
            p.keyword("to")?;
            let remote = p.string()?;
            Some(Entry::Upload(Box::new(UploadStep { local, remote, keyword, span: span(p) })))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("rollback")?;
            let body = p.block()?;
            Some(Entry::Rollback(Box::new(RollbackBlock { body, keyword, span: span(p) })))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("strategy")?;
            let name = p.ident()?;
            let body = p.attempt(Self::block);
            Some(Entry::Strategy(Box::new(StrategyDecl { name, body, keyword, span: span(p) })))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("on")?;
            let event = p.ident()?;
            let body = p.block()?;
            Some(Entry::Hook(Box::new(HookDecl { event, body, keyword, span: span(p) })))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("approve")?;
            let question = p.string()?;
            let by = p.attempt(|p| {
                p.keyword("by")?;
                p.value()
            });
            Some(Entry::Approve(Box::new(ApproveDecl { question, by, keyword, span: span(p) })))
        }) {
            return Some(entry);
        }
        if let Some(entry) = self.attempt(|p| {
            let keyword = p.keyword("check")?;
            let every = p.attempt(|p| {
                p.keyword("every")?;
                p.value_atom()
            });
            let within = p.attempt(|p| {
                p.keyword("within")?;
                p.value_atom()
            });
            let script = p.rhai()?;
            Some(Entry::Check(Box::new(CheckDecl { every, within, script, keyword, span: span(p) })))
        }) {
            return Some(entry);
        }
        if let Some(attribute) = self.attempt(Self::attribute) {
            return Some(Entry::Attribute(attribute));
        }
        self.attempt(|p| {
            let name = p.ident()?;
            let body = p.block()?;
            Some(Entry::Block(Box::new(NamedBlock { name, body, span: span(p) })))
        })
    }

    fn attribute(&mut self) -> Option<Attribute> {
        let name = self.ident()?;
        self.token("=")?;
        let value = self.value()?;
        Some(Attribute { span: Span::new(name.span.start, self.pos), name, value })
    }

    /// `value = { value_atom ~ (qualifier ~ value_atom)? }`
    fn value(&mut self) -> Option<Value> {
        let atom = self.value_atom()?;
        let qualified = self.attempt(|p| {
            let qualifier = if p.keyword("every").is_some() {
                Qualifier::Every
            } else if p.keyword("for").is_some() {
                Qualifier::For
            } else {
                return None;
            };
            let by = p.value_atom()?;
            Some((qualifier, by))
        });
        Some(match qualified {
            Some((qualifier, by)) => Value {
                span: Span::new(atom.span.start, by.span.end),
                kind: ValueKind::Qualified { value: Box::new(atom), qualifier, by: Box::new(by) },
            },
            None => atom,
        })
    }

    fn value_atom(&mut self) -> Option<Value> {
        self.depth += 1;
        let value = if self.depth > MAX_DEPTH { None } else { self.value_atom_inner() };
        self.depth -= 1;
        value
    }

    fn value_atom_inner(&mut self) -> Option<Value> {
        self.skip();
        let start = self.pos;
        let kind = match self.peek()? {
            b'"' => ValueKind::String(self.string()?),
            b'`' => ValueKind::Rhai(self.rhai()?),
            b'0'..=b'9' | b'-' => self.numeric()?,
            b'[' => self.list()?,
            b'{' => {
                self.pos += 1;
                let mut attributes = Vec::new();
                while let Some(attribute) = self.attempt(Self::attribute) {
                    attributes.push(attribute);
                }
                self.token("}")?;
                ValueKind::Map(attributes)
            }
            _ => {
                if let Some(flag) = self.attempt(|p| {
                    let word = if p.at("true") { "true" } else { "false" };
                    p.keyword(word).map(|_| word == "true")
                }) {
                    ValueKind::Bool(flag)
                } else if let Some(call) = self.attempt(Self::call) {
                    call
                } else {
                    ValueKind::Path(self.path()?)
                }
            }
        };
        Some(Value { kind, span: Span::new(start, self.pos) })
    }

    /// duration | percent | number, tried in that order.
    fn numeric(&mut self) -> Option<ValueKind> {
        let start = self.pos;
        let digits = |p: &Self, from: usize| {
            let mut end = from;
            while end < p.bytes.len() && p.bytes[end].is_ascii_digit() {
                end += 1;
            }
            end
        };
        // duration = @{ (ASCII_DIGIT+ ~ ("ms" | "s" | "m" | "h" | "d"))+ ~ !ident_char }
        let mut end = start;
        loop {
            let number_end = digits(self, end);
            if number_end == end {
                break;
            }
            let unit = &self.bytes[number_end..];
            let unit_len = if unit.starts_with(b"ms") {
                2
            } else if matches!(unit.first(), Some(b's' | b'm' | b'h' | b'd')) {
                1
            } else {
                0
            };
            if unit_len == 0 {
                break;
            }
            end = number_end + unit_len;
        }
        if end > start && !self.bytes.get(end).copied().is_some_and(is_ident_char) {
            self.pos = end;
            let text = &self.text[start..end];
            return Some(match parse_duration(text) {
                Some(duration) => ValueKind::Duration(duration),
                None => {
                    self.errors.push(out_of_range(self.file, Span::new(start, end), "duration"));
                    ValueKind::Duration(std::time::Duration::ZERO)
                }
            });
        }
        // percent = @{ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+)? ~ "%" }
        let integer_end = digits(self, start);
        if integer_end > start {
            let mut end = integer_end;
            if self.bytes.get(end) == Some(&b'.') {
                let fraction_end = digits(self, end + 1);
                if fraction_end > end + 1 {
                    end = fraction_end;
                }
            }
            if self.bytes.get(end) == Some(&b'%') {
                self.pos = end + 1;
                let text = &self.text[start..end];
                return Some(match text.parse::<f64>() {
                    Ok(percent) if percent.is_finite() => ValueKind::Percent(percent),
                    _ => {
                        self.errors.push(out_of_range(self.file, Span::new(start, self.pos), "percent"));
                        ValueKind::Percent(0.0)
                    }
                });
            }
        }
        // number = @{ "-"? ~ ASCII_DIGIT+ ~ !(ident_char | ".") }
        let sign = usize::from(self.bytes.get(start) == Some(&b'-'));
        let end = digits(self, start + sign);
        if end == start + sign {
            return None;
        }
        if self.bytes.get(end).copied().is_some_and(|b| is_ident_char(b) || b == b'.') {
            return None;
        }
        self.pos = end;
        Some(match self.text[start..end].parse::<i64>() {
            Ok(number) => ValueKind::Int(number),
            Err(_) => {
                self.errors.push(out_of_range(self.file, Span::new(start, end), "integer"));
                ValueKind::Int(0)
            }
        })
    }

    fn list(&mut self) -> Option<ValueKind> {
        self.token("[")?;
        let mut items = Vec::new();
        if let Some(first) = self.attempt(Self::value) {
            items.push(first);
            while let Some(next) = self.attempt(|p| {
                p.token(",")?;
                p.value()
            }) {
                items.push(next);
            }
            self.attempt(|p| p.token(","));
        }
        self.token("]")?;
        items.shrink_to_fit();
        Some(ValueKind::List(items))
    }

    fn call(&mut self) -> Option<ValueKind> {
        let name = self.ident()?;
        self.token("(")?;
        let mut args = Vec::new();
        if let Some(first) = self.attempt(Self::value) {
            args.push(first);
            while let Some(next) = self.attempt(|p| {
                p.token(",")?;
                p.value()
            }) {
                args.push(next);
            }
            self.attempt(|p| p.token(","));
        }
        self.token(")")?;
        Some(ValueKind::Call { name, args })
    }

    /// `path = ${ ident ~ ("." ~ ident)* }`, at the position (no trivia).
    fn path(&mut self) -> Option<Path> {
        let start = self.pos;
        let mut segments = vec![self.ident_here()?];
        while self.peek() == Some(b'.') {
            let dot = self.pos;
            self.pos += 1;
            match self.ident_here() {
                Some(segment) => segments.push(segment),
                None => {
                    self.pos = dot;
                    break;
                }
            }
        }
        Some(Path { segments, span: Span::new(start, self.pos) })
    }

    /// `string = ${ "\"" ~ (interpolation | escape | text)* ~ "\"" }`, after trivia.
    fn string(&mut self) -> Option<StringLit> {
        self.skip();
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        let mut parts: Vec<StringPart> = Vec::with_capacity(1);
        let mut text = String::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\n' => return None,
                b'$' if self.at("${") => {
                    let interpolation_start = self.pos;
                    let interpolation = self.attempt(|p| {
                        p.pos += 2;
                        p.skip();
                        let raw = p.attempt(|p| {
                            p.token("raw")?;
                            p.token("(")?;
                            p.skip();
                            let path = p.path()?;
                            p.token(")")?;
                            Some(path)
                        });
                        let (path, raw) = match raw {
                            Some(path) => (path, true),
                            None => (p.path()?, false),
                        };
                        p.token("}")?;
                        Some((path, raw))
                    });
                    let (path, raw) = interpolation?;
                    if !text.is_empty() {
                        parts.push(StringPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(StringPart::Interpolation { path, raw, span: Span::new(interpolation_start, self.pos) });
                }
                b'\\' => {
                    let escape_start = self.pos;
                    let rest = &self.bytes[self.pos + 1..];
                    let len = match rest.first()? {
                        b'"' | b'\\' | b'n' | b't' | b'r' | b'$' => 2,
                        b'u' if rest.get(1) == Some(&b'{') => {
                            let hex = rest[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
                            if hex == 0 || rest.get(2 + hex.min(6)) != Some(&b'}') {
                                return None;
                            }
                            4 + hex.min(6)
                        }
                        _ => return None,
                    };
                    self.pos += len;
                    match decode_escape(&self.text[escape_start..self.pos]) {
                        Some(c) => text.push(c),
                        None => self.errors.push(
                            Diagnostic::new(crate::diagnostic::Code::Syntax, "invalid unicode escape").at(
                                self.file,
                                Span::new(escape_start, self.pos),
                                "not a unicode scalar value",
                            ),
                        ),
                    }
                }
                _ => {
                    // text: up to the next quote, backslash, `${` or newline.
                    let from = self.pos;
                    let mut end = from;
                    while end < self.bytes.len() {
                        match self.bytes[end] {
                            b'"' | b'\\' | b'\n' => break,
                            b'$' if self.bytes.get(end + 1) == Some(&b'{') => break,
                            _ => end += 1,
                        }
                    }
                    text.push_str(&self.text[from..end]);
                    self.pos = end;
                }
            }
        }
        if !text.is_empty() {
            parts.push(StringPart::Text(text));
        }
        Some(StringLit { parts, span: Span::new(start, self.pos) })
    }

    /// `rhai = ${ rhai_fence | rhai_inline }`, after trivia.
    fn rhai(&mut self) -> Option<Rhai> {
        self.skip();
        let start = self.pos;
        if self.at("```") {
            let mut body_start = start + 3;
            let tag = &self.bytes[body_start..];
            if tag.starts_with(b"rhai") && matches!(tag.get(4), Some(b'\n' | b'\r' | b' ')) {
                body_start += 4;
            }
            if let Some(length) = self.text[body_start..].find("```") {
                let body_end = body_start + length;
                self.pos = body_end + 3;
                return Some(Rhai {
                    source: self.text[body_start..body_end].to_string(),
                    source_start: body_start,
                    fenced: true,
                    span: Span::new(start, self.pos),
                });
            }
        }
        if self.peek() != Some(b'`') {
            return None;
        }
        let body_start = start + 1;
        let mut end = body_start;
        while end < self.bytes.len() && self.bytes[end] != b'`' && self.bytes[end] != b'\n' {
            end += 1;
        }
        if self.bytes.get(end) != Some(&b'`') {
            return None;
        }
        self.pos = end + 1;
        Some(Rhai {
            source: self.text[body_start..end].to_string(),
            source_start: body_start,
            fenced: false,
            span: Span::new(start, self.pos),
        })
    }
}
