//! The recursive-descent parser: text to [`Module`]. It accepts exactly the
//! language of `grammar/deploy.pest` (same choices in the same order, same
//! spans; a differential property test holds the two together), and when
//! the text is not in it, says where and what it expected there.

use super::ast::*;
use super::ident::{ident_end, is_ident_char, is_ident_start, KEYWORDS};
use super::lexer::{fenced_rhai, inline_rhai, Lexer, TokenKind};
use super::literal::{decode_escape, out_of_range};
use super::span::{FileId, LineIndex, Span};
use super::syntax_error::{nested_too_deep, Expected, Want, MAX_NESTING};
use super::unclosed::{delimiter_problem, delimiter_problem_in};
use crate::diagnostic::{Diagnostic, Label};
use crate::duration::parse_duration;
use std::cell::OnceCell;
use std::collections::HashSet;

/// Why the parser gave up.
pub(super) enum ParseFailure {
    /// The text is not in the grammar: the diagnostic that says why.
    Syntax(Box<Diagnostic>),
    /// The text parses, but a literal is out of range.
    Invalid(Vec<Diagnostic>),
}

impl ParseFailure {
    pub(super) fn into_diagnostics(self) -> Vec<Diagnostic> {
        match self {
            ParseFailure::Syntax(diagnostic) => vec![*diagnostic],
            ParseFailure::Invalid(errors) => errors,
        }
    }
}

pub(super) fn parse(file: FileId, text: &str) -> Result<Module, ParseFailure> {
    parse_items(file, text, false)
}

/// Like [`parse`], but the bodies of stages and gates are only delimited,
/// not parsed: each `NodeDecl` gets an empty body whose span covers the
/// `{ ... }`, to be parsed with [`parse_body`] when it is needed. The checker
/// uses this to hold one node's tree at a time instead of the whole file's.
/// `None` when the outline cannot be taken (the full parse will say why).
pub(super) fn parse_outline(file: FileId, text: &str) -> Option<Result<Module, ParseFailure>> {
    let mut parser = Descent::new(file, text, 0);
    parser.outline = true;
    let mut items = Vec::new();
    parser.skip();
    while parser.pos < parser.bytes.len() {
        items.push(parser.item()?);
        parser.skip();
    }
    Some(parser.finish(Module { items }))
}

/// Parses the `{ ... }` block at `span` (a span from [`parse_outline`]); it
/// must end where the outline said. `None` when it does not.
pub(super) fn parse_body(file: FileId, text: &str, span: Span) -> Option<Result<Block, ParseFailure>> {
    let mut parser = Descent::new(file, text, span.start);
    parser.lexer = Lexer::within(text, span.end);
    let block = parser.block()?;
    if block.span != span {
        return None;
    }
    Some(parser.finish(block))
}

fn parse_items(file: FileId, text: &str, outline: bool) -> Result<Module, ParseFailure> {
    let mut parser = Descent::new(file, text, 0);
    parser.outline = outline;
    let mut items = Vec::new();
    parser.skip();
    while parser.pos < parser.bytes.len() {
        match parser.item() {
            Some(item) => items.push(item),
            None => {
                parser.expected.add(parser.pos, Want::Words("end of input"));
                return Err(ParseFailure::Syntax(Box::new(parser.syntax_error())));
            }
        }
        parser.skip();
    }
    parser.finish(Module { items })
}

/// Parses as much of a file as parses: every item that does, in order, what
/// can be read of those that do not (see [`Descent::salvage`]), and the
/// diagnostics of what does not (see [`parse_recovering`]). For the editor,
/// which must work on a file while it is being typed.
pub(super) fn parse_tolerant(file: FileId, text: &str) -> (Module, Vec<Diagnostic>) {
    let partial = parse_recovering(file, text);
    (partial.module, partial.diagnostics)
}

/// A file parsed as far as it parses (see [`parse_recovering`]).
pub struct Partial {
    /// Every item that parses, and what can be read of those that do not.
    pub module: Module,
    /// The syntax errors of the file and its literals out of range.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the text did not parse (an item that does not, a literal out of
    /// range): what is said of the tree there is the syntax error's to say.
    pub broken: Vec<Span>,
}

/// The parse behind [`parse_tolerant`]. After an item that does not parse,
/// parsing resumes at the next line that starts with an item keyword, and
/// each such item has its syntax error: a delimiter it leaves open or closes
/// wrongly, said at the opening one, or what was expected where it stopped.
/// The first error is the one [`parse`] gives (a mistake of the whole file
/// when there is one); should it lie outside the item that does not parse,
/// that item's own error follows. Only nesting too deep ends the search,
/// and an unterminated `/*` makes the rest of the file a comment. For a
/// file that parses, the tree of [`parse`] and no diagnostics.
pub(super) fn parse_recovering(file: FileId, text: &str) -> Partial {
    let mut parser = Descent::new(file, text, 0);
    let mut items = Vec::new();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    // The primary labels said so far: an item's own error may be the one
    // of the whole file, said once.
    let mut said: HashSet<Option<Label>> = HashSet::new();
    let mut broken = Vec::new();
    let mut too_deep = false;
    parser.skip();
    while parser.pos < parser.bytes.len() {
        let start = parser.pos;
        match parser.item() {
            Some(item) => items.push(item),
            None => {
                parser.expected.add(parser.pos, Want::Words("end of input"));
                let mut resume = next_item_line(text, start);
                let mut found = Vec::new();
                if diagnostics.is_empty() {
                    too_deep = parser.too_deep_at.is_some();
                    let (diagnostic, whole_file) = parser.syntax_error_kind();
                    let elsewhere =
                        diagnostic.primary.as_ref().is_some_and(|l| l.span.start < start || l.span.start >= resume);
                    found.push(diagnostic);
                    if whole_file && elsewhere && !too_deep {
                        found.push(parser.item_error(start, resume));
                    }
                } else if !too_deep {
                    found.push(parser.item_error(start, resume));
                }
                // An unterminated `/*`: the rest of the file is a comment.
                let comment = parser
                    .lexer
                    .tokens(start, resume)
                    .find(|token| token.kind == TokenKind::BlockComment { terminated: false })
                    .map(|token| token.span.start);
                for diagnostic in found {
                    if said.insert(diagnostic.primary.clone()) {
                        diagnostics.push(diagnostic);
                    }
                }
                if let Some(comment) = comment {
                    resume = text.len();
                    if comment > start {
                        items.extend(parser.salvage(start, comment));
                    }
                    broken.push(Span::new(start, resume));
                    break;
                }
                broken.push(Span::new(start, resume));
                items.extend(parser.salvage(start, resume));
                parser.pos = resume;
                parser.expected = Expected::default();
            }
        }
        parser.skip();
    }
    broken.extend(parser.errors.iter().filter_map(|d| d.primary.as_ref().map(|label| label.span)));
    diagnostics.append(&mut parser.errors);
    Partial { module: Module { items }, diagnostics, broken }
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
    /// Trivia and tokens, as the lexer reads them.
    lexer: Lexer<'t>,
    pos: usize,
    file: FileId,
    errors: Vec<Diagnostic>,
    /// Open brackets around the position; past [`MAX_NESTING`] the parser
    /// gives up (and says so) rather than recurse on.
    depth: usize,
    /// The bracket where the parser first went past [`MAX_NESTING`].
    too_deep_at: Option<usize>,
    /// Where the text's lines start, for the diagnostics that name a line
    /// (found once, when the first is made).
    lines: OnceCell<LineIndex>,
    /// Skip the bodies of stages and gates (see [`parse_outline`]).
    outline: bool,
    /// What the alternatives that failed furthest in wanted there.
    expected: Expected,
    /// Salvaging an item that does not parse, which ends at this offset:
    /// blocks drop the lines that do not parse instead of failing.
    recover: Option<usize>,
}

/// What may start an entry of a block.
const ENTRY_STARTS: &[Want] = &[
    Want::Token("run"),
    Want::Token("script"),
    Want::Token("upload"),
    Want::Token("template"),
    Want::Token("rollback"),
    Want::Token("strategy"),
    Want::Token("on"),
    Want::Token("approve"),
    Want::Token("check"),
    Want::Words("a name"),
];

impl<'t> Descent<'t> {
    fn new(file: FileId, text: &'t str, pos: usize) -> Self {
        Descent {
            text,
            bytes: text.as_bytes(),
            lexer: Lexer::new(text),
            pos,
            file,
            errors: Vec::new(),
            depth: 0,
            too_deep_at: None,
            lines: OnceCell::new(),
            outline: false,
            expected: Expected::default(),
            recover: None,
        }
    }

    /// What can be read of the item at `start` that does not parse and
    /// ends at `limit`: the entries of its blocks that do, or at least a
    /// stage's or gate's kind and name.
    fn salvage(&mut self, start: usize, limit: usize) -> Option<Item> {
        self.pos = start;
        self.recover = Some(limit);
        let errors = self.errors.len();
        let item = self
            .attempt(Self::item)
            .filter(|item| item.span().end <= limit)
            .or_else(|| {
                self.pos = start;
                self.attempt(Self::salvage_template).filter(|item| item.span().end <= limit)
            })
            .or_else(|| {
                self.pos = start;
                let kind = self.node_kind()?;
                let name = self.ident()?;
                let body = Block { entries: Vec::new(), span: Span::new(name.span.end, name.span.end) };
                Some(Item::Node(NodeDecl { kind, name, from: None, body, span: Span::new(start, self.pos) }))
            });
        self.recover = None;
        // Literals in a salvaged item are the item's problem once it parses.
        self.errors.truncate(errors);
        item
    }

    /// A template whose parameter list does not parse: its kind, name and
    /// the parameters before the first that does not, so its instances
    /// still find it; its body if one parses after them (with `)` or not).
    fn salvage_template(&mut self) -> Option<Item> {
        let start = self.pos;
        self.keyword("template")?;
        let kind = self.node_kind()?;
        let name = self.ident()?;
        self.token("(")?;
        let mut params = Vec::new();
        while let Some(param) = self.attempt(Self::template_param) {
            params.push(param);
            if self.attempt(|p| p.token(",")).is_none() {
                break;
            }
        }
        let end = self.pos;
        // With or without the `)`: `t(a: string {` is a parameter list not
        // closed before a body that may well be whole.
        let body = self.attempt(|p| {
            p.attempt(|p| p.token(")"));
            p.block()
        });
        let body = match body {
            Some(body) => body,
            None => {
                self.pos = end;
                Block { entries: Vec::new(), span: Span::new(end, end) }
            }
        };
        Some(Item::Template(Template { kind, name, params, body, span: Span::new(start, self.pos) }))
    }

    fn finish<T>(self, tree: T) -> Result<T, ParseFailure> {
        if self.errors.is_empty() {
            Ok(tree)
        } else {
            Err(ParseFailure::Invalid(self.errors))
        }
    }

    fn syntax_error(&self) -> Diagnostic {
        self.syntax_error_kind().0
    }

    /// The syntax error, and whether it is one of the whole file (an
    /// unclosed delimiter or comment, nesting too deep) rather than of the
    /// item where the parser stopped.
    fn syntax_error_kind(&self) -> (Diagnostic, bool) {
        let nesting = self.too_deep_at.map(|at| nested_too_deep(self.file, at));
        let lines = self.lines.get_or_init(|| LineIndex::of(self.text));
        match nesting.or_else(|| delimiter_problem(self.file, self.text, lines)) {
            Some(diagnostic) => (diagnostic, true),
            None => (self.expected.diagnostic(self.file, self.text), false),
        }
    }

    /// The syntax error of the item in `start..resume` that does not parse
    /// (the parser stopped in it): a delimiter it leaves open or closes
    /// wrongly, or what was expected where it stopped.
    fn item_error(&mut self, start: usize, resume: usize) -> Diagnostic {
        let lines = self.lines.get_or_init(|| LineIndex::of(self.text));
        delimiter_problem_in(self.file, &mut self.lexer, lines, start, resume)
            .unwrap_or_else(|| self.expected.diagnostic(self.file, self.text))
    }

    /// Gives up on brackets nested past [`MAX_NESTING`], remembering the
    /// first one (whose opening follows the position's trivia).
    fn too_deep<T>(&mut self) -> Option<T> {
        if self.too_deep_at.is_none() {
            self.too_deep_at = Some(self.lexer.trivia_end(self.pos));
        }
        None
    }

    fn want(&mut self, what: Want) {
        self.expected.add(self.pos, what);
    }
}

impl<'t> Descent<'t> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at(&self, literal: &str) -> bool {
        self.bytes[self.pos..].starts_with(literal.as_bytes())
    }

    /// WHITESPACE and COMMENT, as pest skips them between tokens (the
    /// lexer's one rule of trivia).
    fn skip(&mut self) {
        self.pos = self.lexer.trivia_end(self.pos);
    }

    /// A literal token (`{`, `=`, ...), after trivia.
    fn token(&mut self, literal: &'static str) -> Option<Span> {
        self.skip();
        if self.at(literal) {
            let start = self.pos;
            self.pos += literal.len();
            Some(Span::new(start, self.pos))
        } else {
            self.want(Want::Token(literal));
            None
        }
    }

    /// `kw = @{ "word" ~ !ident_char }`, after trivia.
    fn keyword(&mut self, word: &'static str) -> Option<Span> {
        self.skip();
        if self.at(word) && !self.bytes.get(self.pos + word.len()).copied().is_some_and(is_ident_char) {
            let start = self.pos;
            self.pos += word.len();
            Some(Span::new(start, self.pos))
        } else {
            self.want(Want::Token(word));
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
        ident_end(self.bytes, self.pos)
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
    fn ident(&mut self) -> Option<Ident> {
        self.skip();
        self.ident_here()
    }

    fn ident_here(&mut self) -> Option<Ident> {
        if !self.peek().is_some_and(is_ident_start) {
            self.want(Want::Words("a name"));
            return None;
        }
        let end = self.word_end();
        let word = &self.text[self.pos..end];
        if KEYWORDS.contains(&word) {
            self.want(Want::Words("a name"));
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
        let mut depth = 0usize;
        for token in self.lexer.tokens(start, self.bytes.len()) {
            match token.kind {
                TokenKind::Punct if self.bytes[token.span.start] == b'{' => depth += 1,
                TokenKind::Punct if self.bytes[token.span.start] == b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.pos = token.span.end;
                        return Some(Block { entries: Vec::new(), span: Span::new(start, self.pos) });
                    }
                }
                _ if token.is_unterminated() => return None,
                _ => {}
            }
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
        if let Some(first) = self.named("a parameter", Self::template_param) {
            params.push(first);
            while let Some(next) = self.attempt(|p| {
                p.token(",")?;
                p.named("a parameter", Self::template_param)
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
        self.named("a type", Self::type_expr_inner)
    }

    fn type_expr_inner(&mut self) -> Option<TypeExpr> {
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
            self.want(Want::Words("a type"));
            return None;
        }
        let end = self.word_end();
        let name = self.text[start..end].to_string();
        self.pos = end;
        Some(TypeExpr { kind: TypeExprKind::Named(name), span: Span::new(start, end) })
    }

    fn block(&mut self) -> Option<Block> {
        self.depth += 1;
        let block = if self.depth > MAX_NESTING { self.too_deep() } else { self.block_inner() };
        self.depth -= 1;
        block
    }

    fn block_inner(&mut self) -> Option<Block> {
        let open = self.token("{")?;
        let mut entries = Vec::new();
        loop {
            while let Some(entry) = self.attempt(Self::entry) {
                entries.push(entry);
            }
            if self.token("}").is_some() {
                break;
            }
            // Salvaging an item that does not parse: drop the line that
            // does not, and go on with the next; the block ends with the item.
            let limit = self.recover?;
            // Never backwards: a nested block may already be past the limit.
            if self.pos >= limit {
                break;
            }
            let line_end = self.text[self.pos..].find('\n').map_or(self.bytes.len(), |i| self.pos + i + 1);
            self.pos = line_end.min(limit);
            if self.pos >= limit {
                break;
            }
        }
        entries.shrink_to_fit();
        Some(Block { entries, span: Span::new(open.start, self.pos) })
    }

    fn entry(&mut self) -> Option<Entry> {
        self.skip();
        let start = self.pos;
        // Cheap dispatch on the first byte: only a letter or `_` can start an entry.
        if !self.peek().is_some_and(is_ident_start) {
            for want in ENTRY_STARTS {
                self.want(*want);
            }
            return None;
        }
        if let Some(entry) = self.step_entry(start).or_else(|| self.decision_entry(start)) {
            return Some(entry);
        }
        if let Some(attribute) = self.attempt(Self::attribute) {
            return Some(Entry::Attribute(attribute));
        }
        self.attempt(|p| {
            let name = p.ident()?;
            let body = p.block()?;
            Some(Entry::Block(Box::new(NamedBlock { name, body, span: Span::new(start, p.pos) })))
        })
    }

    /// `run`, `script`, `upload` and `rollback`, in the grammar's order.
    fn step_entry(&mut self, start: usize) -> Option<Entry> {
        let span = |p: &Self| Span::new(start, p.pos);
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
        for (word, render) in [("upload", false), ("template", true)] {
            if let Some(entry) = self.attempt(|p| {
                let keyword = p.keyword(word)?;
                let local = p.string()?;
                p.keyword("to")?;
                let remote = p.string()?;
                Some(Entry::Upload(Box::new(UploadStep { local, remote, render, keyword, span: span(p) })))
            }) {
                return Some(entry);
            }
        }
        self.attempt(|p| {
            let keyword = p.keyword("rollback")?;
            let body = p.block()?;
            Some(Entry::Rollback(Box::new(RollbackBlock { body, keyword, span: span(p) })))
        })
    }

    /// `strategy`, `on`, `approve` and `check`, in the grammar's order.
    fn decision_entry(&mut self, start: usize) -> Option<Entry> {
        let span = |p: &Self| Span::new(start, p.pos);
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
        self.attempt(|p| {
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
        let value =
            if self.depth > MAX_NESTING { self.too_deep() } else { self.named("a value", Self::value_atom_inner) };
        self.depth -= 1;
        value
    }

    fn value_atom_inner(&mut self) -> Option<Value> {
        self.skip();
        let start = self.pos;
        let Some(first) = self.peek() else {
            self.want(Want::Words("a value"));
            return None;
        };
        let kind = match first {
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
                } else if let Some(word) = self.attempt(Self::hyphenated_word) {
                    ValueKind::Path(word)
                } else {
                    ValueKind::Path(self.path()?)
                }
            }
        };
        Some(Value { kind, span: Span::new(start, self.pos) })
    }

    /// duration | percent | number, tried in that order.
    /// A duration, a percent or an integer, tried in the grammar's order.
    fn numeric(&mut self) -> Option<ValueKind> {
        self.duration().or_else(|| self.percent()).or_else(|| self.integer()).or_else(|| self.malformed_number())
    }

    /// A word that starts like a number but is none of duration, percent or
    /// integer (`1.5s`, `5sec`, `-5s`, `1.5`): an error that says what the
    /// forms are, and the word is taken so the rest of the file is read.
    fn malformed_number(&mut self) -> Option<ValueKind> {
        let start = self.pos;
        let digits_from = start + usize::from(self.bytes.get(start) == Some(&b'-'));
        if !self.bytes.get(digits_from).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut end = digits_from;
        while end < self.bytes.len() && (is_ident_char(self.bytes[end]) || matches!(self.bytes[end], b'.' | b'%')) {
            end += 1;
        }
        let word = &self.text[start..end];
        let has_unit = word.bytes().any(|b| b.is_ascii_alphabetic());
        let (message, label, help) = if has_unit && word.starts_with('-') {
            ("a duration cannot be negative", "negative duration", DURATION_FORMS)
        } else if has_unit {
            ("this is not a duration", "not a duration", DURATION_FORMS)
        } else if word.ends_with('%') {
            ("this is not a percent", "not a percent", "a percent is a number and `%`: `5%`, `12.5%`")
        } else {
            ("this is not a number", "not a number", "numbers are whole (`3`, `-1`); a share is a percent (`12.5%`)")
        };
        self.errors.push(
            Diagnostic::new(crate::diagnostic::Code::InvalidValue, format!("`{word}`: {message}"))
                .at(self.file, Span::new(start, end), label)
                .with_help(help),
        );
        self.pos = end;
        Some(if has_unit { ValueKind::Duration(std::time::Duration::ZERO) } else { ValueKind::Int(0) })
    }

    /// The end of the digits from `from`.
    fn digits(&self, from: usize) -> usize {
        let mut end = from;
        while end < self.bytes.len() && self.bytes[end].is_ascii_digit() {
            end += 1;
        }
        end
    }

    /// `duration = @{ (ASCII_DIGIT+ ~ ("ms" | "s" | "m" | "h" | "d"))+ ~ !ident_char }`
    fn duration(&mut self) -> Option<ValueKind> {
        let start = self.pos;
        let mut end = start;
        loop {
            let number_end = self.digits(end);
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
        if end == start || self.bytes.get(end).copied().is_some_and(is_ident_char) {
            return None;
        }
        self.pos = end;
        Some(match parse_duration(&self.text[start..end]) {
            Some(duration) => ValueKind::Duration(duration),
            None => {
                self.errors.push(out_of_range(self.file, Span::new(start, end), "duration"));
                ValueKind::Duration(std::time::Duration::ZERO)
            }
        })
    }

    /// `percent = @{ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+)? ~ "%" }`
    fn percent(&mut self) -> Option<ValueKind> {
        let start = self.pos;
        let mut end = self.digits(start);
        if end == start {
            return None;
        }
        if self.bytes.get(end) == Some(&b'.') {
            let fraction_end = self.digits(end + 1);
            if fraction_end > end + 1 {
                end = fraction_end;
            }
        }
        if self.bytes.get(end) != Some(&b'%') {
            return None;
        }
        self.pos = end + 1;
        Some(match self.text[start..end].parse::<f64>() {
            Ok(percent) if percent.is_finite() => ValueKind::Percent(percent),
            _ => {
                self.errors.push(out_of_range(self.file, Span::new(start, self.pos), "percent"));
                ValueKind::Percent(0.0)
            }
        })
    }

    /// `number = @{ "-"? ~ ASCII_DIGIT+ ~ !(ident_char | ".") }`
    fn integer(&mut self) -> Option<ValueKind> {
        let start = self.pos;
        let sign = usize::from(self.bytes.get(start) == Some(&b'-'));
        let end = self.digits(start + sign);
        if end == start + sign || self.bytes.get(end).copied().is_some_and(|b| is_ident_char(b) || b == b'.') {
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

    /// `word = @{ ident ~ ("-" ~ ident_char+)+ }`, at the position: a bare
    /// word with dashes, such as `accept-new` (what OpenSSH calls its
    /// settings), as a one-segment path. It names nothing, so it is only
    /// ever one of the words an entry allows.
    fn hyphenated_word(&mut self) -> Option<Path> {
        let start = self.pos;
        let first = self.ident_here()?;
        while self.peek() == Some(b'-') && self.bytes.get(self.pos + 1).copied().is_some_and(is_ident_char) {
            self.pos = ident_end(self.bytes, self.pos + 1);
        }
        if self.pos == first.span.end {
            return None;
        }
        let span = Span::new(start, self.pos);
        Some(Path { segments: vec![Ident { name: Name::from(&self.text[start..self.pos]), span }], span })
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
            self.want(Want::Words("a string"));
            return None;
        }
        self.pos += 1;
        let mut parts: Vec<StringPart> = Vec::with_capacity(1);
        let mut text = String::new();
        loop {
            let Some(byte) = self.peek() else {
                self.want(Want::Token("\""));
                return None;
            };
            match byte {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\n' => {
                    self.want(Want::Token("\""));
                    return None;
                }
                b'$' if self.at("${") => {
                    let interpolation = self.interpolation()?;
                    if !text.is_empty() {
                        parts.push(StringPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(interpolation);
                }
                b'\\' => {
                    if let Some(c) = self.escape()? {
                        text.push(c);
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

    /// `${ path }` or `${ raw(path) }` in a string, at `${`.
    fn interpolation(&mut self) -> Option<StringPart> {
        let start = self.pos;
        let (path, raw) = self.attempt(|p| {
            p.pos += 2;
            p.skip();
            let raw = p
                .at("raw")
                .then(|| {
                    p.attempt(|p| {
                        p.token("raw")?;
                        p.token("(")?;
                        p.skip();
                        let path = p.path()?;
                        p.token(")")?;
                        Some(path)
                    })
                })
                .flatten();
            let (path, raw) = match raw {
                Some(path) => (path, true),
                None => (p.path()?, false),
            };
            p.token("}")?;
            Some((path, raw))
        })?;
        Some(StringPart::Interpolation { path, raw, span: Span::new(start, self.pos) })
    }

    /// An escape in a string, at a backslash: `None` when it is not one, `Some(None)`
    /// for a `\u{...}` that is not a unicode scalar value (an error is kept).
    fn escape(&mut self) -> Option<Option<char>> {
        let escape_start = self.pos;
        let Some(len) = escape_len(&self.bytes[self.pos + 1..]) else {
            self.expected.add(self.pos + 1, ESCAPE);
            return None;
        };
        self.pos += len;
        let decoded = decode_escape(&self.text[escape_start..self.pos]);
        if decoded.is_none() {
            self.errors.push(Diagnostic::new(crate::diagnostic::Code::Syntax, "invalid unicode escape").at(
                self.file,
                Span::new(escape_start, self.pos),
                "not a unicode scalar value",
            ));
        }
        Some(decoded)
    }

    /// `rhai = ${ rhai_fence | rhai_inline }`, after trivia.
    fn rhai(&mut self) -> Option<Rhai> {
        self.skip();
        let start = self.pos;
        if self.at("```") {
            match fenced_rhai(self.text, start) {
                Ok(body) => {
                    self.pos = body.end + 3;
                    return Some(Rhai {
                        source: self.text[body.start..body.end].to_string(),
                        source_start: body.start,
                        fenced: true,
                        span: Span::new(start, self.pos),
                    });
                }
                Err(_) => self.expected.add(self.bytes.len(), Want::Words("the closing ``` of the Rhai block")),
            }
        }
        if self.peek() != Some(b'`') {
            self.want(Want::Words("a Rhai snippet in backticks"));
            return None;
        }
        match inline_rhai(self.text, start) {
            Ok(body) => {
                self.pos = body.end + 1;
                Some(Rhai {
                    source: self.text[body.start..body.end].to_string(),
                    source_start: body.start,
                    fenced: false,
                    span: Span::new(start, self.pos),
                })
            }
            Err(end) => {
                self.expected.add(end, Want::Words("a closing backtick"));
                None
            }
        }
    }
}

const DURATION_FORMS: &str =
    "a duration is whole numbers with units, without sign, fraction or space: `500ms`, `30s`, `5m`, `1h30m`, `2d`";

const ESCAPE: Want = Want::Words("an escape: `\\n`, `\\t`, `\\r`, `\\\"`, `\\\\`, `\\$` or `\\u{...}`");

/// The length of the escape whose backslash comes just before `rest`:
/// `escape = @{ "\\" ~ ("\"" | "\\" | "n" | "t" | "r" | "$" | ("u{" ~ ASCII_HEX_DIGIT{1, 6} ~ "}")) }`.
fn escape_len(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b'"' | b'\\' | b'n' | b't' | b'r' | b'$' => Some(2),
        b'u' if rest.get(1) == Some(&b'{') => {
            let hex = rest[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if hex == 0 || rest.get(2 + hex.min(6)) != Some(&b'}') {
                return None;
            }
            Some(4 + hex.min(6))
        }
        _ => None,
    }
}
