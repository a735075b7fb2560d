//! The checker's [`ast`](super::ast) read from the typed views of the
//! lossless tree: spans are the nodes' and tokens' ranges (plus the offset
//! of a body parsed on its own), values are decoded from their tokens.

use std::time::Duration;

use super::ast::{self, Ident, Name};
use super::cst;
use super::kind::{SyntaxKind, SyntaxNode, SyntaxToken};
use super::literal::{decode_escape, parse_duration};
use super::span::Span;

/// The items of a file's tree (`SOURCE_FILE`), salvaged ones included.
pub(super) fn module(root: &SyntaxNode) -> ast::Module {
    let lower = Lower { base: 0 };
    let items = cst::SourceFile::cast(root.clone())
        .map(|file| file.items().filter_map(|item| lower.item(item)).collect())
        .unwrap_or_default();
    ast::Module { items }
}

/// A block parsed on its own, whose tree starts at byte `base` of the file.
pub(super) fn block(root: &SyntaxNode, base: usize) -> Option<ast::Block> {
    Lower { base }.block(cst::Block::cast(root.clone())?)
}

struct Lower {
    base: usize,
}

impl Lower {
    fn span(&self, range: rowan::TextRange) -> Span {
        Span::new(self.base + usize::from(range.start()), self.base + usize::from(range.end()))
    }

    fn node_span(&self, node: &SyntaxNode) -> Span {
        self.span(node.text_range())
    }

    fn ident(&self, token: Option<SyntaxToken>) -> Option<Ident> {
        let token = token?;
        Some(Ident { name: Name::from(token.text()), span: self.span(token.text_range()) })
    }

    fn item(&self, item: cst::Item) -> Option<ast::Item> {
        Some(match item {
            cst::Item::Import(import) => ast::Item::Import(ast::Import {
                path: self.string(import.path()?),
                alias: self.ident(import.alias())?,
                span: self.node_span(import.syntax()),
            }),
            cst::Item::Pipeline(pipeline) => ast::Item::Pipeline(ast::Pipeline {
                name: self.string(pipeline.name()?),
                body: self.block(pipeline.body()?)?,
                span: self.node_span(pipeline.syntax()),
            }),
            cst::Item::Param(param) => ast::Item::Param(ast::Param {
                name: self.ident(param.name())?,
                ty: self.type_expr(param.ty()?)?,
                default: param.default().and_then(|value| self.value(value)),
                span: self.node_span(param.syntax()),
            }),
            cst::Item::Secret(secret) => ast::Item::Secret(ast::Secret {
                name: self.ident(secret.name())?,
                value: self.value(secret.value()?)?,
                span: self.node_span(secret.syntax()),
            }),
            cst::Item::Environment(environment) => ast::Item::Environment(ast::Environment {
                name: self.ident(environment.name())?,
                body: self.block(environment.body()?)?,
                span: self.node_span(environment.syntax()),
            }),
            cst::Item::Template(template) => ast::Item::Template(self.template(template)?),
            cst::Item::Node(node) => ast::Item::Node(self.node_decl(node)?),
        })
    }

    fn template(&self, template: cst::Template) -> Option<ast::Template> {
        let mut params = Vec::new();
        for param in template.params() {
            params.push(ast::TemplateParam {
                name: self.ident(param.name())?,
                ty: self.type_expr(param.ty()?)?,
                default: param.default().and_then(|value| self.value(value)),
                span: self.node_span(param.syntax()),
            });
        }
        Some(ast::Template {
            kind: node_kind(&template.kind_keyword()?)?,
            name: self.ident(template.name())?,
            params,
            body: self.block(template.body()?)?,
            span: self.node_span(template.syntax()),
        })
    }

    fn node_decl(&self, node: cst::NodeDecl) -> Option<ast::NodeDecl> {
        let body = match node.lazy_body() {
            Some(lazy) => ast::Block { entries: Vec::new(), span: self.span(lazy.text_range()) },
            None => self.block(node.body()?)?,
        };
        Some(ast::NodeDecl {
            kind: node_kind(&node.kind_keyword()?)?,
            name: self.ident(node.name())?,
            from: node.from().and_then(|path| self.path(path)),
            body,
            span: self.node_span(node.syntax()),
        })
    }

    fn type_expr(&self, ty: cst::TypeExpr) -> Option<ast::TypeExpr> {
        let kind = match ty.element() {
            Some(element) => ast::TypeExprKind::List(Box::new(self.type_expr(element)?)),
            None => ast::TypeExprKind::Named(ty.name()?.text().to_string()),
        };
        Some(ast::TypeExpr { kind, span: self.node_span(ty.syntax()) })
    }

    fn block(&self, block: cst::Block) -> Option<ast::Block> {
        let mut entries: Vec<ast::Entry> = block.entries().filter_map(|entry| self.entry(entry)).collect();
        entries.shrink_to_fit();
        Some(ast::Block { entries, span: self.node_span(block.syntax()) })
    }
}

fn node_kind(keyword: &SyntaxToken) -> Option<ast::NodeKind> {
    match keyword.text() {
        "stage" => Some(ast::NodeKind::Stage),
        "gate" => Some(ast::NodeKind::Gate),
        _ => None,
    }
}

/// Entries.
impl Lower {
    fn entry(&self, entry: cst::Entry) -> Option<ast::Entry> {
        use ast::Entry as E;
        Some(match entry {
            cst::Entry::Attribute(attribute) => E::Attribute(self.attribute(attribute)?),
            cst::Entry::Block(named) => E::Block(Box::new(ast::NamedBlock {
                name: self.ident(named.name())?,
                body: self.block(named.body()?)?,
                span: self.node_span(named.syntax()),
            })),
            cst::Entry::Run(run) => E::Run(ast::RunStep {
                command: self.string(run.command()?),
                keyword: self.span(run.keyword()?.text_range()),
                span: self.node_span(run.syntax()),
            }),
            cst::Entry::Script(script) => E::Script(ast::ScriptStep {
                script: self.rhai(script.script()?)?,
                keyword: self.span(script.keyword()?.text_range()),
                span: self.node_span(script.syntax()),
            }),
            cst::Entry::Upload(upload) => E::Upload(Box::new(ast::UploadStep {
                local: self.string(upload.local()?),
                remote: self.string(upload.remote()?),
                keyword: self.span(upload.keyword()?.text_range()),
                span: self.node_span(upload.syntax()),
            })),
            cst::Entry::Rollback(rollback) => E::Rollback(Box::new(ast::RollbackBlock {
                body: self.block(rollback.body()?)?,
                keyword: self.span(rollback.keyword()?.text_range()),
                span: self.node_span(rollback.syntax()),
            })),
            other => self.decision(other)?,
        })
    }

    /// `strategy`, `on`, `approve`, `check`.
    fn decision(&self, entry: cst::Entry) -> Option<ast::Entry> {
        use ast::Entry as E;
        Some(match entry {
            cst::Entry::Strategy(strategy) => E::Strategy(Box::new(ast::StrategyDecl {
                name: self.ident(strategy.name())?,
                body: strategy.body().and_then(|body| self.block(body)),
                keyword: self.span(strategy.keyword()?.text_range()),
                span: self.node_span(strategy.syntax()),
            })),
            cst::Entry::Hook(hook) => E::Hook(Box::new(ast::HookDecl {
                event: self.ident(hook.event())?,
                body: self.block(hook.body()?)?,
                keyword: self.span(hook.keyword()?.text_range()),
                span: self.node_span(hook.syntax()),
            })),
            cst::Entry::Approve(approve) => E::Approve(Box::new(ast::ApproveDecl {
                question: self.string(approve.question()?),
                by: approve.by().and_then(|value| self.value(value)),
                keyword: self.span(approve.keyword()?.text_range()),
                span: self.node_span(approve.syntax()),
            })),
            cst::Entry::Check(check) => E::Check(Box::new(ast::CheckDecl {
                every: check.every().and_then(|value| self.value(value)),
                within: check.within().and_then(|value| self.value(value)),
                script: self.rhai(check.script()?)?,
                keyword: self.span(check.keyword()?.text_range()),
                span: self.node_span(check.syntax()),
            })),
            _ => return None,
        })
    }

    fn attribute(&self, attribute: cst::Attribute) -> Option<ast::Attribute> {
        Some(ast::Attribute {
            name: self.ident(attribute.name())?,
            value: self.value(attribute.value()?)?,
            span: self.node_span(attribute.syntax()),
        })
    }
}

/// Values.
impl Lower {
    fn value(&self, value: cst::Value) -> Option<ast::Value> {
        use ast::ValueKind as K;
        let span = self.node_span(value.syntax());
        let kind = match value {
            cst::Value::Literal(literal) => literal_kind(&literal.token()?)?,
            cst::Value::String(string) => K::String(self.string(string)),
            cst::Value::Rhai(rhai) => K::Rhai(self.rhai(rhai)?),
            cst::Value::List(list) => {
                let mut items: Vec<ast::Value> = list.items().filter_map(|item| self.value(item)).collect();
                items.shrink_to_fit();
                K::List(items)
            }
            cst::Value::Map(map) => K::Map(map.attributes().filter_map(|a| self.attribute(a)).collect()),
            cst::Value::Call(call) => K::Call {
                name: self.ident(call.name())?,
                args: call.args().filter_map(|arg| self.value(arg)).collect(),
            },
            cst::Value::Path(path) => K::Path(self.path(path)?),
            cst::Value::Qualified(qualified) => K::Qualified {
                value: Box::new(self.value(qualified.value()?)?),
                qualifier: match qualified.qualifier()?.text() {
                    "every" => ast::Qualifier::Every,
                    _ => ast::Qualifier::For,
                },
                by: Box::new(self.value(qualified.by()?)?),
            },
        };
        Some(ast::Value { kind, span })
    }

    fn path(&self, path: cst::Path) -> Option<ast::Path> {
        let segments: Vec<Ident> = path.segments().filter_map(|segment| self.ident(Some(segment))).collect();
        (!segments.is_empty()).then(|| ast::Path { segments, span: self.node_span(path.syntax()) })
    }

    /// A string's parts: runs of text and escapes, decoded, between interpolations.
    fn string(&self, string: cst::StringLit) -> ast::StringLit {
        let mut parts: Vec<ast::StringPart> = Vec::with_capacity(1);
        let mut text = String::new();
        for part in string.parts() {
            match part {
                rowan::NodeOrToken::Token(token) if token.kind() == SyntaxKind::ESCAPE => {
                    text.extend(decode_escape(token.text()));
                }
                rowan::NodeOrToken::Token(token) => text.push_str(token.text()),
                rowan::NodeOrToken::Node(node) => {
                    let Some(interpolation) = cst::Interpolation::cast(node) else { continue };
                    let Some(path) = interpolation.path().and_then(|path| self.path(path)) else { continue };
                    if !text.is_empty() {
                        parts.push(ast::StringPart::Text(std::mem::take(&mut text)));
                    }
                    let span = self.node_span(interpolation.syntax());
                    parts.push(ast::StringPart::Interpolation { path, raw: interpolation.is_raw(), span });
                }
            }
        }
        if !text.is_empty() {
            parts.push(ast::StringPart::Text(text));
        }
        ast::StringLit { parts, span: self.node_span(string.syntax()) }
    }

    fn rhai(&self, rhai: cst::Rhai) -> Option<ast::Rhai> {
        let open = rhai.open()?;
        let source_start = self.base + usize::from(open.text_range().end());
        Some(ast::Rhai {
            source: rhai.source().map(|source| source.text().to_string()).unwrap_or_default(),
            source_start,
            fenced: open.text().starts_with("```"),
            span: self.node_span(rhai.syntax()),
        })
    }
}

/// The value of a literal token; out of range is zero (the parser reported it).
fn literal_kind(token: &SyntaxToken) -> Option<ast::ValueKind> {
    let text = token.text();
    Some(match token.kind() {
        SyntaxKind::DURATION => ast::ValueKind::Duration(parse_duration(text).unwrap_or(Duration::ZERO)),
        SyntaxKind::PERCENT => {
            let percent = text.trim_end_matches('%').parse::<f64>().ok().filter(|p| p.is_finite());
            ast::ValueKind::Percent(percent.unwrap_or(0.0))
        }
        SyntaxKind::INTEGER => ast::ValueKind::Int(text.parse().unwrap_or(0)),
        SyntaxKind::BOOL => ast::ValueKind::Bool(text == "true"),
        _ => return None,
    })
}
