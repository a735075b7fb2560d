//! Two texts mean the same when their syntax trees are equal once spans are
//! forgotten. The formatter checks this of its own output before handing it
//! out, and the tests check it over every fixture and generated plans.

use crate::syntax::ast::*;
use crate::syntax::span::Span;

/// The tree with every span (and script offset) zeroed.
pub fn without_spans(module: &Module) -> Module {
    let mut module = module.clone();
    for item in &mut module.items {
        item_spans(item);
    }
    module
}

fn ident(ident: &mut Ident) {
    ident.span = Span::default();
}

fn item_spans(item: &mut Item) {
    match item {
        Item::Import(import) => {
            string(&mut import.path);
            ident(&mut import.alias);
            import.span = Span::default();
        }
        Item::Pipeline(pipeline) => {
            string(&mut pipeline.name);
            block(&mut pipeline.body);
            pipeline.span = Span::default();
        }
        Item::Param(param) => {
            ident(&mut param.name);
            type_expr(&mut param.ty);
            if let Some(default) = &mut param.default {
                value(default);
            }
            param.span = Span::default();
        }
        Item::Secret(secret) => {
            ident(&mut secret.name);
            value(&mut secret.value);
            secret.span = Span::default();
        }
        Item::Environment(environment) => {
            ident(&mut environment.name);
            block(&mut environment.body);
            environment.span = Span::default();
        }
        Item::Template(template) => {
            ident(&mut template.name);
            for param in &mut template.params {
                ident(&mut param.name);
                type_expr(&mut param.ty);
                if let Some(default) = &mut param.default {
                    value(default);
                }
                param.span = Span::default();
            }
            block(&mut template.body);
            template.span = Span::default();
        }
        Item::Node(node) => {
            ident(&mut node.name);
            if let Some(from) = &mut node.from {
                path(from);
            }
            block(&mut node.body);
            node.span = Span::default();
        }
    }
}

fn type_expr(ty: &mut TypeExpr) {
    ty.span = Span::default();
    if let TypeExprKind::List(inner) = &mut ty.kind {
        type_expr(inner);
    }
}

fn block(body: &mut Block) {
    body.span = Span::default();
    for entry in &mut body.entries {
        match entry {
            Entry::Attribute(a) => attribute(a),
            Entry::Block(named) => {
                ident(&mut named.name);
                block(&mut named.body);
                named.span = Span::default();
            }
            Entry::Run(run) => {
                string(&mut run.command);
                run.keyword = Span::default();
                run.span = Span::default();
            }
            Entry::Script(script) => {
                rhai(&mut script.script);
                script.keyword = Span::default();
                script.span = Span::default();
            }
            Entry::Upload(upload) => {
                string(&mut upload.local);
                string(&mut upload.remote);
                upload.keyword = Span::default();
                upload.span = Span::default();
            }
            Entry::Rollback(rollback) => {
                block(&mut rollback.body);
                rollback.keyword = Span::default();
                rollback.span = Span::default();
            }
            Entry::Strategy(strategy) => {
                ident(&mut strategy.name);
                if let Some(body) = &mut strategy.body {
                    block(body);
                }
                strategy.keyword = Span::default();
                strategy.span = Span::default();
            }
            Entry::Hook(hook) => {
                ident(&mut hook.event);
                block(&mut hook.body);
                hook.keyword = Span::default();
                hook.span = Span::default();
            }
            Entry::Approve(approve) => {
                string(&mut approve.question);
                if let Some(by) = &mut approve.by {
                    value(by);
                }
                approve.keyword = Span::default();
                approve.span = Span::default();
            }
            Entry::Check(check) => {
                for v in check.every.iter_mut().chain(check.within.iter_mut()) {
                    value(v);
                }
                rhai(&mut check.script);
                check.keyword = Span::default();
                check.span = Span::default();
            }
        }
    }
}

fn attribute(a: &mut Attribute) {
    ident(&mut a.name);
    value(&mut a.value);
    a.span = Span::default();
}

fn value(v: &mut Value) {
    v.span = Span::default();
    match &mut v.kind {
        ValueKind::String(s) => string(s),
        ValueKind::Rhai(r) => rhai(r),
        ValueKind::List(items) => items.iter_mut().for_each(value),
        ValueKind::Map(attributes) => attributes.iter_mut().for_each(attribute),
        ValueKind::Call { name, args } => {
            ident(name);
            args.iter_mut().for_each(value);
        }
        ValueKind::Path(p) => path(p),
        ValueKind::Qualified { value: inner, by, .. } => {
            value(inner);
            value(by);
        }
        ValueKind::Duration(_) | ValueKind::Percent(_) | ValueKind::Int(_) | ValueKind::Bool(_) => {}
    }
}

fn path(p: &mut Path) {
    p.span = Span::default();
    p.segments.iter_mut().for_each(ident);
}

fn string(s: &mut StringLit) {
    s.span = Span::default();
    for part in &mut s.parts {
        if let StringPart::Interpolation { path: p, span, .. } = part {
            path(p);
            *span = Span::default();
        }
    }
}

fn rhai(r: &mut Rhai) {
    r.span = Span::default();
    r.source_start = 0;
}
