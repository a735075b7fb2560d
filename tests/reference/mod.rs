//! The reference parser: `grammar/deploy.pest`, the normative grammar, with
//! a builder from its pairs to the same [`Module`] the parser produces. Only
//! the tests run it, to hold the parser to the grammar.

#![allow(dead_code)]

use std::time::Duration;

use pest::iterators::Pair;
use pest::Parser as _;

use deploy::diagnostic::{Code, Diagnostic};
use deploy::duration::parse_duration;
use deploy::syntax::ast::*;
use deploy::syntax::literal::{decode_escape, out_of_range};
use deploy::syntax::span::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/deploy.pest"]
pub struct DeployParser;

/// Whether the grammar accepts `text`, and the tree it builds: the same
/// `Err` as the parser for literals out of range; for a syntax error, one
/// diagnostic (its words are the parser's business, not the grammar's).
pub fn parse(file: FileId, text: &str) -> Result<Module, Vec<Diagnostic>> {
    let pairs = match DeployParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(error) => return Err(vec![Diagnostic::new(Code::Syntax, error.to_string())]),
    };
    let mut builder = Builder { file, errors: Vec::new() };
    let mut items = Vec::new();
    for pair in pairs.take(1) {
        for item in pair.into_inner() {
            if item.as_rule() != Rule::EOI {
                items.push(builder.item(item));
            }
        }
    }
    if builder.errors.is_empty() {
        Ok(Module { items })
    } else {
        Err(builder.errors)
    }
}

struct Builder {
    file: FileId,
    errors: Vec<Diagnostic>,
}

impl Builder {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        Span::new(pair.as_span().start(), pair.as_span().end())
    }

    fn item(&mut self, pair: Pair<Rule>) -> Item {
        let item_span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner().peekable();
        // Skip the leading keyword, where there is one.
        match rule {
            Rule::import => {
                inner.next();
                let path = self.string(inner.next());
                inner.next();
                let alias = self.ident(inner.next());
                Item::Import(Import { path, alias, span: item_span })
            }
            Rule::pipeline => {
                inner.next();
                let name = self.string(inner.next());
                let body = self.block(inner.next());
                Item::Pipeline(Pipeline { name, body, span: item_span })
            }
            Rule::param => {
                inner.next();
                let name = self.ident(inner.next());
                let ty = self.type_expr(inner.next());
                let default = self.optional_value(inner);
                // pest's span of a rule ending in a failed optional includes the
                // trivia before it; end the span at the last child instead.
                let end = default.as_ref().map_or(ty.span.end, |v| v.span.end);
                Item::Param(Param { name, ty, default, span: Span::new(item_span.start, end) })
            }
            Rule::secret => {
                inner.next();
                let name = self.ident(inner.next());
                let value = self.value_or_empty(inner.next(), item_span);
                let end = value.span.end;
                Item::Secret(Secret { name, value, span: Span::new(item_span.start, end) })
            }
            Rule::environment => {
                inner.next();
                let name = self.ident(inner.next());
                let body = self.block(inner.next());
                Item::Environment(Environment { name, body, span: item_span })
            }
            Rule::template => {
                inner.next();
                let kind = node_kind(inner.next());
                let name = self.ident(inner.next());
                let mut params = Vec::new();
                if let Some(list) = inner.next() {
                    for param in list.into_inner().filter(|p| p.as_rule() == Rule::template_param) {
                        let param_span = self.span(&param);
                        let mut parts = param.into_inner();
                        let name = self.ident(parts.next());
                        let ty = self.type_expr(parts.next());
                        let default = self.optional_value(parts.peekable());
                        let end = default.as_ref().map_or(ty.span.end, |v| v.span.end);
                        params.push(TemplateParam { name, ty, default, span: Span::new(param_span.start, end) });
                    }
                }
                let body = self.block(inner.next());
                Item::Template(Template { kind, name, params, body, span: item_span })
            }
            _ => {
                let kind = node_kind(inner.next());
                let name = self.ident(inner.next());
                let from = match inner.peek().map(|p| p.as_rule()) {
                    Some(Rule::from_clause) => {
                        inner.next().and_then(|clause| clause.into_inner().nth(1)).map(|p| self.path(p))
                    }
                    _ => None,
                };
                let body = self.block(inner.next());
                Item::Node(NodeDecl { kind, name, from, body, span: item_span })
            }
        }
    }

    /// `= value` at the end of a param.
    fn optional_value<'i>(&mut self, rest: impl Iterator<Item = Pair<'i, Rule>>) -> Option<Value> {
        rest.filter(|p| p.as_rule() == Rule::value).map(|p| self.value(p)).next()
    }

    fn block(&mut self, pair: Option<Pair<Rule>>) -> Block {
        let Some(pair) = pair else {
            return Block { entries: Vec::new(), span: Span::default() };
        };
        let block_span = self.span(&pair);
        let entries = pair
            .into_inner()
            .filter(|p| !matches!(p.as_rule(), Rule::open_brace | Rule::close_brace))
            .map(|p| self.entry(p))
            .collect();
        Block { entries, span: block_span }
    }

    fn entry(&mut self, pair: Pair<Rule>) -> Entry {
        let entry_span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let first = inner.next();
        let keyword = first.as_ref().map(|p| self.span(p)).unwrap_or(entry_span);
        match rule {
            Rule::attribute => {
                let value = self.value_or_empty(inner.next(), entry_span);
                Entry::Attribute(Attribute {
                    name: self.ident(first),
                    span: Span::new(entry_span.start, value.span.end),
                    value,
                })
            }
            Rule::named_block => Entry::Block(Box::new(NamedBlock {
                name: self.ident(first),
                body: self.block(inner.next()),
                span: entry_span,
            })),
            Rule::run_step => Entry::Run(RunStep { command: self.string(inner.next()), keyword, span: entry_span }),
            Rule::script_step => {
                Entry::Script(ScriptStep { script: self.rhai(inner.next()), keyword, span: entry_span })
            }
            Rule::upload_step => {
                let render = first.as_ref().is_some_and(|p| p.as_rule() == Rule::kw_template);
                let local = self.string(inner.next());
                inner.next();
                let remote = self.string(inner.next());
                Entry::Upload(Box::new(UploadStep { local, remote, render, keyword, span: entry_span }))
            }
            Rule::rollback_block => {
                Entry::Rollback(Box::new(RollbackBlock { body: self.block(inner.next()), keyword, span: entry_span }))
            }
            Rule::strategy => {
                let name = self.ident(inner.next());
                let body = inner.next().map(|b| self.block(Some(b)));
                let end = body.as_ref().map_or(name.span.end, |b| b.span.end);
                Entry::Strategy(Box::new(StrategyDecl { name, body, keyword, span: Span::new(entry_span.start, end) }))
            }
            Rule::hook => {
                let event = self.ident(inner.next());
                Entry::Hook(Box::new(HookDecl { event, body: self.block(inner.next()), keyword, span: entry_span }))
            }
            Rule::approve => {
                let question = self.string(inner.next());
                let by = inner.find(|p| p.as_rule() == Rule::value).map(|p| self.value(p));
                let end = by.as_ref().map_or(question.span.end, |v| v.span.end);
                Entry::Approve(Box::new(ApproveDecl { question, by, keyword, span: Span::new(entry_span.start, end) }))
            }
            _ => {
                let mut every = None;
                let mut within = None;
                let mut script = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::check_every => every = part.into_inner().nth(1).map(|p| self.value_atom(p)),
                        Rule::check_within => within = part.into_inner().nth(1).map(|p| self.value_atom(p)),
                        _ => script = Some(self.rhai(Some(part))),
                    }
                }
                let script = script.unwrap_or_else(|| self.rhai(None));
                Entry::Check(Box::new(CheckDecl { every, within, script, keyword, span: entry_span }))
            }
        }
    }

    fn value_or_empty(&mut self, pair: Option<Pair<Rule>>, fallback: Span) -> Value {
        match pair {
            Some(pair) => self.value(pair),
            None => Value { kind: ValueKind::List(Vec::new()), span: fallback },
        }
    }

    /// `value = { value_atom ~ (qualifier ~ value_atom)? }`
    fn value(&mut self, pair: Pair<Rule>) -> Value {
        let value_span = self.span(&pair);
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else {
            return Value { kind: ValueKind::List(Vec::new()), span: value_span };
        };
        let atom = self.value_atom(first);
        match (inner.next(), inner.next()) {
            (Some(qualifier), Some(by)) => {
                let qualifier = if qualifier.as_str().starts_with("every") { Qualifier::Every } else { Qualifier::For };
                let by = self.value_atom(by);
                Value {
                    kind: ValueKind::Qualified { value: Box::new(atom), qualifier, by: Box::new(by) },
                    span: value_span,
                }
            }
            _ => atom,
        }
    }

    fn value_atom(&mut self, pair: Pair<Rule>) -> Value {
        let value_span = self.span(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::string => ValueKind::String(self.string(Some(pair))),
            Rule::rhai => ValueKind::Rhai(self.rhai(Some(pair))),
            Rule::duration => match parse_duration(text) {
                Some(duration) => ValueKind::Duration(duration),
                None => {
                    self.out_of_range(value_span, "duration");
                    ValueKind::Duration(Duration::ZERO)
                }
            },
            Rule::percent => match text.trim_end_matches('%').parse::<f64>() {
                Ok(percent) if percent.is_finite() => ValueKind::Percent(percent),
                _ => {
                    self.out_of_range(value_span, "percent");
                    ValueKind::Percent(0.0)
                }
            },
            Rule::number => match text.parse::<i64>() {
                Ok(number) => ValueKind::Int(number),
                Err(_) => {
                    self.out_of_range(value_span, "integer");
                    ValueKind::Int(0)
                }
            },
            Rule::boolean => ValueKind::Bool(text == "true"),
            Rule::list => ValueKind::List(
                pair.into_inner().filter(|p| p.as_rule() == Rule::value).map(|p| self.value(p)).collect(),
            ),
            Rule::map => ValueKind::Map(
                pair.into_inner().filter(|p| p.as_rule() == Rule::attribute).map(|p| self.attribute(p)).collect(),
            ),
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.ident(inner.next());
                let args = inner.filter(|p| p.as_rule() == Rule::value).map(|p| self.value(p)).collect();
                ValueKind::Call { name, args }
            }
            Rule::word => {
                let segment = Ident { name: Name::from(text), span: value_span };
                ValueKind::Path(Path { segments: vec![segment], span: value_span })
            }
            _ => ValueKind::Path(self.path(pair)),
        };
        Value { kind, span: value_span }
    }

    fn attribute(&mut self, pair: Pair<Rule>) -> Attribute {
        let attribute_span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next());
        let value = self.value_or_empty(inner.next(), attribute_span);
        Attribute { name, span: Span::new(attribute_span.start, value.span.end), value }
    }

    fn out_of_range(&mut self, at: Span, what: &str) {
        self.errors.push(out_of_range(self.file, at, what));
    }

    fn string(&mut self, pair: Option<Pair<Rule>>) -> StringLit {
        let Some(pair) = pair else {
            return StringLit { parts: Vec::new(), span: Span::default() };
        };
        let string_span = self.span(&pair);
        let mut parts: Vec<StringPart> = Vec::new();
        let push_text = |parts: &mut Vec<StringPart>, text: &str| match parts.last_mut() {
            Some(StringPart::Text(existing)) => existing.push_str(text),
            _ => parts.push(StringPart::Text(text.to_string())),
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::text => push_text(&mut parts, part.as_str()),
                Rule::escape => {
                    let decoded = decode_escape(part.as_str());
                    match decoded {
                        Some(c) => push_text(&mut parts, c.encode_utf8(&mut [0; 4])),
                        None => self.errors.push(Diagnostic::new(Code::Syntax, "invalid unicode escape").at(
                            self.file,
                            self.span(&part),
                            "not a unicode scalar value",
                        )),
                    }
                }
                Rule::interpolation => {
                    let part_span = self.span(&part);
                    if let Some(inner) = part.into_inner().next() {
                        let raw = inner.as_rule() == Rule::raw_call;
                        let target = if raw { inner.into_inner().next() } else { Some(inner) };
                        if let Some(target) = target {
                            parts.push(StringPart::Interpolation { path: self.path(target), raw, span: part_span });
                        }
                    }
                }
                _ => {}
            }
        }
        StringLit { parts, span: string_span }
    }

    fn ident(&self, pair: Option<Pair<Rule>>) -> Ident {
        match pair {
            Some(pair) => Ident { name: Name::from(pair.as_str()), span: self.span(&pair) },
            None => Ident { name: Name::new(), span: Span::default() },
        }
    }

    fn path(&self, pair: Pair<Rule>) -> Path {
        let path_span = self.span(&pair);
        let segments = pair.into_inner().map(|p| self.ident(Some(p))).collect();
        Path { segments, span: path_span }
    }

    fn type_expr(&self, pair: Option<Pair<Rule>>) -> TypeExpr {
        let Some(pair) = pair else {
            return TypeExpr { kind: TypeExprKind::Named(String::new()), span: Span::default() };
        };
        let type_span = self.span(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return TypeExpr { kind: TypeExprKind::Named(String::new()), span: type_span };
        };
        let kind = match inner.as_rule() {
            Rule::list_type => TypeExprKind::List(Box::new(self.type_expr(inner.into_inner().next()))),
            _ => TypeExprKind::Named(inner.as_str().to_string()),
        };
        TypeExpr { kind, span: type_span }
    }

    fn rhai(&self, pair: Option<Pair<Rule>>) -> Rhai {
        let Some(pair) = pair else {
            return Rhai { source: String::new(), source_start: 0, fenced: false, span: Span::default() };
        };
        let rhai_span = self.span(&pair);
        // rhai → rhai_fence | rhai_inline → body
        let Some(form) = pair.into_inner().next() else {
            return Rhai { source: String::new(), source_start: rhai_span.start, fenced: false, span: rhai_span };
        };
        let fenced = form.as_rule() == Rule::rhai_fence;
        match form.into_inner().last() {
            Some(body) => Rhai {
                source: body.as_str().to_string(),
                source_start: body.as_span().start(),
                fenced,
                span: rhai_span,
            },
            None => Rhai { source: String::new(), source_start: rhai_span.start, fenced, span: rhai_span },
        }
    }
}

fn node_kind(pair: Option<Pair<Rule>>) -> NodeKind {
    match pair.map(|p| p.as_str().starts_with("gate")) {
        Some(true) => NodeKind::Gate,
        _ => NodeKind::Stage,
    }
}
