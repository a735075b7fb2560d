//! The canonical layout (docs/fmt.md): syntax tree + comments → text.
//! Literals (strings, numbers, durations, names, Rhai snippets) are copied
//! from the source as written; only the space between tokens is decided here.

use super::layout::{indent, push_blank, write_lines, Line, Piece};
use crate::syntax::ast::*;
use crate::syntax::lexer::{TokenKind, Tokens};
use crate::syntax::span::Span;

/// Lines longer than this are broken where the layout allows (lists, template parameters).
pub const MAX_WIDTH: usize = 100;

/// One comment of the source (a comment token), with what its
/// surroundings say about placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    /// The comment as written, without trailing whitespace.
    pub text: String,
    /// `// ...` (ends its line) rather than `/* ... */`.
    pub is_line: bool,
    /// Nothing but whitespace before it on its line.
    pub own_line: bool,
    /// A blank line separates it from what comes before.
    pub blank_before: bool,
}

/// Every comment of `text`, in order, from its tokens.
pub fn comments(text: &str, tokens: &Tokens) -> Vec<Comment> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, token)| token.is_comment())
        .map(|(index, token)| Comment {
            span: token.span,
            text: token.text(text).trim_end().to_string(),
            is_line: token.kind == TokenKind::LineComment,
            own_line: tokens.starts_line(text, index),
            blank_before: tokens.blank_line_before(text, token.span.start),
        })
        .collect()
}

pub struct Printer<'t> {
    text: &'t str,
    tokens: &'t Tokens,
    comments: Vec<Comment>,
    /// The first comment not yet printed.
    next: usize,
}

impl<'t> Printer<'t> {
    pub fn new(text: &'t str, tokens: &'t Tokens, comments: Vec<Comment>) -> Self {
        Printer { text, tokens, comments, next: 0 }
    }

    pub fn module(mut self, module: &Module) -> String {
        let multi_line: Vec<bool> = module.items.iter().map(has_block).collect();
        let mut lines = Vec::new();
        let mut header_trailing = Vec::new();
        for (index, item) in module.items.iter().enumerate() {
            let separate = index > 0 && (multi_line[index] || multi_line[index - 1]);
            self.gap(item.span().start, &mut lines, &mut header_trailing, separate);
            let piece = self.item(item);
            lines.push(Line::Entry(piece));
        }
        self.gap(self.text.len(), &mut lines, &mut header_trailing, false);
        // Comments trailing nothing (impossible at the top) still get printed.
        let mut out: String = header_trailing.iter().map(|c| format!("{c}\n")).collect();
        out.push_str(&write_lines(&lines, 0, ""));
        out
    }

    // --- comments --------------------------------------------------------

    /// Takes the comments that start before `pos`.
    fn take_before(&mut self, pos: usize) -> Vec<Comment> {
        let start = self.next;
        while self.next < self.comments.len() && self.comments[self.next].span.start < pos {
            self.next += 1;
        }
        self.comments[start..self.next].to_vec()
    }

    fn has_comments_in(&self, span: Span) -> bool {
        self.comments[self.next..].iter().any(|c| c.span.start >= span.start && c.span.start < span.end)
    }

    /// The comments before `pos` in a sequence of lines: own-line comments
    /// become lines, the others trail the line before. `separate` asks for a
    /// blank line before what comes next.
    fn gap(&mut self, pos: usize, lines: &mut Vec<Line>, header_trailing: &mut Vec<String>, separate: bool) {
        let mut separated = false;
        for comment in self.take_before(pos) {
            if !comment.own_line {
                match lines.last_mut() {
                    Some(Line::Entry(piece)) => piece.trailing.push(comment.text),
                    Some(Line::Comment(text)) => {
                        text.push(' ');
                        text.push_str(&comment.text);
                    }
                    _ => header_trailing.push(comment.text),
                }
                continue;
            }
            if comment.blank_before || (separate && !separated) {
                push_blank(lines);
            }
            separated = true;
            lines.push(Line::Comment(comment.text));
        }
        if pos < self.text.len() && (self.tokens.blank_line_before(self.text, pos) || (separate && !separated)) {
            push_blank(lines);
        }
    }

    /// Comments before `pos` inside a line: kept next to the token at `pos`.
    fn lead(&mut self, pos: usize, out: &mut String, level: usize) {
        for comment in self.take_before(pos) {
            if !out.is_empty() && !out.ends_with([' ', '\n', '(', '[']) {
                out.push(' ');
            }
            out.push_str(&comment.text);
            if comment.is_line {
                out.push('\n');
                out.push_str(&indent(level + 1));
            } else {
                out.push(' ');
            }
        }
    }

    fn source(&self, span: Span) -> &'t str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// Lines between `open` and `close` (the bracket positions) for a
    /// sequence of children, and the comments trailing the opening line.
    fn sequence<T>(
        &mut self,
        children: &[T],
        start_of: impl Fn(&T) -> usize,
        close: usize,
        mut render: impl FnMut(&mut Self, &T) -> Piece,
    ) -> (Vec<String>, Vec<Line>) {
        let mut lines = Vec::new();
        let mut header_trailing = Vec::new();
        for child in children {
            self.gap(start_of(child), &mut lines, &mut header_trailing, false);
            let piece = render(self, child);
            lines.push(Line::Entry(piece));
        }
        self.gap(close, &mut lines, &mut header_trailing, false);
        while matches!(lines.last(), Some(Line::Blank)) {
            lines.pop();
        }
        (header_trailing, lines)
    }

    /// `open` + the lines at `level + 1` + `close` at `level`.
    fn multi_line(
        open: &str,
        (trailing, lines): (Vec<String>, Vec<Line>),
        level: usize,
        separator: &str,
        close: &str,
    ) -> String {
        let mut out = String::from(open);
        for comment in trailing {
            out.push(' ');
            out.push_str(&comment);
        }
        out.push('\n');
        out.push_str(&write_lines(&lines, level + 1, separator));
        out.push_str(&indent(level));
        out.push_str(close);
        out
    }

    // --- items -----------------------------------------------------------

    fn item(&mut self, item: &Item) -> Piece {
        let mut out = String::new();
        match item {
            Item::Import(import) => {
                out.push_str("import ");
                self.lead(import.path.span.start, &mut out, 0);
                out.push_str(self.source(import.path.span));
                out.push_str(" as ");
                self.lead(import.alias.span.start, &mut out, 0);
                out.push_str(&import.alias.name);
            }
            Item::Pipeline(pipeline) => {
                out.push_str("pipeline ");
                self.lead(pipeline.name.span.start, &mut out, 0);
                out.push_str(self.source(pipeline.name.span));
                self.block_after(&pipeline.body, &mut out, 0, false);
            }
            Item::Param(param) => {
                out.push_str("param ");
                self.lead(param.name.span.start, &mut out, 0);
                out.push_str(&param.name.name);
                out.push_str(": ");
                self.lead(param.ty.span.start, &mut out, 0);
                out.push_str(&type_text(&param.ty));
                if let Some(value) = &param.default {
                    out.push_str(" = ");
                    self.lead(value.span.start, &mut out, 0);
                    let rendered = self.value(value, 0, column(0, &out));
                    out.push_str(&rendered);
                }
            }
            Item::Secret(secret) => {
                out.push_str("secret ");
                self.lead(secret.name.span.start, &mut out, 0);
                out.push_str(&secret.name.name);
                out.push_str(" = ");
                self.lead(secret.value.span.start, &mut out, 0);
                let rendered = self.value(&secret.value, 0, column(0, &out));
                out.push_str(&rendered);
            }
            Item::Environment(environment) => {
                out.push_str("environment ");
                self.lead(environment.name.span.start, &mut out, 0);
                out.push_str(&environment.name.name);
                self.block_after(&environment.body, &mut out, 0, false);
            }
            Item::Template(template) => {
                out.push_str("template ");
                out.push_str(template.kind.word());
                out.push(' ');
                self.lead(template.name.span.start, &mut out, 0);
                out.push_str(&template.name.name);
                self.template_params(template, &mut out);
                self.block_after(&template.body, &mut out, 0, false);
            }
            Item::Node(node) => {
                out.push_str(node.kind.word());
                out.push(' ');
                self.lead(node.name.span.start, &mut out, 0);
                out.push_str(&node.name.name);
                if let Some(from) = &node.from {
                    out.push_str(" from ");
                    self.lead(from.span.start, &mut out, 0);
                    out.push_str(self.source(from.span));
                }
                self.block_after(&node.body, &mut out, 0, false);
            }
        }
        Piece::plain(out)
    }

    fn template_params(&mut self, template: &Template, out: &mut String) {
        let open = template.name.span.end;
        let from = template.params.last().map_or(open, |p| p.span.end);
        let close = self
            .tokens
            .find_punct(self.text, from, template.body.span.start, b')')
            .unwrap_or(template.body.span.start.saturating_sub(1));
        let region = Span::new(open, close + 1);
        if !self.has_comments_in(region) {
            let params: Vec<String> = template.params.iter().map(|p| self.template_param(p).text).collect();
            let flat = format!("({})", params.join(", "));
            if !flat.contains('\n') && column(0, out) + flat.len() + 2 <= MAX_WIDTH {
                out.push_str(&flat);
                return;
            }
        }
        let lines = self.sequence(&template.params, |p| p.span.start, close, |p, param| p.template_param(param));
        out.push_str(&Self::multi_line("(", lines, 0, ",", ")"));
    }

    fn template_param(&mut self, param: &TemplateParam) -> Piece {
        let mut out = param.name.name.to_string();
        out.push_str(": ");
        self.lead(param.ty.span.start, &mut out, 1);
        out.push_str(&type_text(&param.ty));
        if let Some(value) = &param.default {
            out.push_str(" = ");
            self.lead(value.span.start, &mut out, 1);
            let rendered = self.value(value, 1, column(1, &out));
            out.push_str(&rendered);
        }
        Piece::plain(out)
    }

    // --- blocks ----------------------------------------------------------

    /// ` { ... }` after a header in `out`. Nested blocks with one short entry
    /// and no comments stay on one line.
    fn block_after(&mut self, block: &Block, out: &mut String, level: usize, nested: bool) {
        out.push(' ');
        self.lead(block.span.start, out, level);
        let close = block.span.end.saturating_sub(1);
        let has_comments = self.has_comments_in(Span::new(block.span.start, close + 1));
        if block.entries.is_empty() && !has_comments {
            out.push_str("{}");
            return;
        }
        if nested && block.entries.len() == 1 && !has_comments {
            let piece = self.entry(&block.entries[0], level + 1);
            if !piece.text.contains('\n') && column(level, out) + piece.text.len() + 4 <= MAX_WIDTH {
                out.push_str("{ ");
                out.push_str(&piece.text);
                out.push_str(" }");
                return;
            }
        }
        let lines = self.sequence(&block.entries, |e| e.span().start, close, |p, entry| p.entry(entry, level + 1));
        out.push_str(&Self::multi_line("{", lines, level, "", "}"));
    }

    fn entry(&mut self, entry: &Entry, level: usize) -> Piece {
        let mut out = String::new();
        match entry {
            Entry::Attribute(attribute) => return self.attribute(attribute, level),
            Entry::Block(named) => {
                out.push_str(&named.name.name);
                self.block_after(&named.body, &mut out, level, true);
            }
            Entry::Run(run) => {
                out.push_str("run ");
                self.lead(run.command.span.start, &mut out, level);
                out.push_str(self.source(run.command.span));
            }
            Entry::Script(script) => {
                out.push_str("script ");
                self.lead(script.script.span.start, &mut out, level);
                out.push_str(self.source(script.script.span));
            }
            Entry::Upload(upload) => {
                out.push_str(if upload.render { "template " } else { "upload " });
                self.lead(upload.local.span.start, &mut out, level);
                out.push_str(self.source(upload.local.span));
                out.push_str(" to ");
                self.lead(upload.remote.span.start, &mut out, level);
                out.push_str(self.source(upload.remote.span));
            }
            Entry::Rollback(rollback) => {
                out.push_str("rollback");
                self.block_after(&rollback.body, &mut out, level, true);
            }
            Entry::Strategy(strategy) => {
                out.push_str("strategy ");
                self.lead(strategy.name.span.start, &mut out, level);
                out.push_str(&strategy.name.name);
                if let Some(body) = &strategy.body {
                    self.block_after(body, &mut out, level, true);
                }
            }
            Entry::Hook(hook) => {
                out.push_str("on ");
                self.lead(hook.event.span.start, &mut out, level);
                out.push_str(&hook.event.name);
                self.block_after(&hook.body, &mut out, level, true);
            }
            Entry::Approve(approve) => {
                out.push_str("approve ");
                self.lead(approve.question.span.start, &mut out, level);
                out.push_str(self.source(approve.question.span));
                if let Some(by) = &approve.by {
                    out.push_str(" by ");
                    self.lead(by.span.start, &mut out, level);
                    let rendered = self.value(by, level, column(level, &out));
                    out.push_str(&rendered);
                }
            }
            Entry::Check(check) => {
                out.push_str("check");
                for (word, value) in [("every", &check.every), ("within", &check.within)] {
                    if let Some(value) = value {
                        out.push(' ');
                        out.push_str(word);
                        out.push(' ');
                        self.lead(value.span.start, &mut out, level);
                        let rendered = self.value(value, level, column(level, &out));
                        out.push_str(&rendered);
                    }
                }
                out.push(' ');
                self.lead(check.script.span.start, &mut out, level);
                out.push_str(self.source(check.script.span));
            }
        }
        Piece::plain(out)
    }

    fn attribute(&mut self, attribute: &Attribute, level: usize) -> Piece {
        let mut out = attribute.name.name.to_string();
        let align = Some(out.len());
        out.push_str(" = ");
        self.lead(attribute.value.span.start, &mut out, level);
        let rendered = self.value(&attribute.value, level, column(level, &out));
        out.push_str(&rendered);
        Piece { text: out, align, trailing: Vec::new() }
    }

    // --- values ----------------------------------------------------------

    /// A value starting at `column` of a line at `level`.
    fn value(&mut self, value: &Value, level: usize, column: usize) -> String {
        match &value.kind {
            ValueKind::List(items) => {
                let close = value.span.end.saturating_sub(1);
                let has_comments = self.has_comments_in(value.span);
                if !has_comments {
                    let rendered: Vec<String> = items.iter().map(|item| self.value(item, level, column)).collect();
                    let flat = format!("[{}]", rendered.join(", "));
                    if items.is_empty() || (!flat.contains('\n') && column + flat.len() <= MAX_WIDTH) {
                        return flat;
                    }
                }
                let inner = column_at(level + 1);
                let lines = self.sequence(
                    items,
                    |v| v.span.start,
                    close,
                    |p, item| Piece::plain(p.value(item, level + 1, inner)),
                );
                Self::multi_line("[", lines, level, ",", "]")
            }
            ValueKind::Map(attributes) => {
                let close = value.span.end.saturating_sub(1);
                let has_comments = self.has_comments_in(value.span);
                if !has_comments && attributes.is_empty() {
                    return "{}".to_string();
                }
                if !has_comments && attributes.len() == 1 {
                    let piece = self.attribute(&attributes[0], level);
                    let flat = format!("{{ {} }}", piece.text);
                    if !flat.contains('\n') && column + flat.len() <= MAX_WIDTH {
                        return flat;
                    }
                }
                let lines = self.sequence(
                    attributes,
                    |a| a.span.start,
                    close,
                    |p, attribute| p.attribute(attribute, level + 1),
                );
                Self::multi_line("{", lines, level, "", "}")
            }
            ValueKind::Call { name, args } => {
                let mut out = name.name.to_string();
                out.push('(');
                for (index, arg) in args.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    self.lead(arg.span.start, &mut out, level);
                    let rendered = self.value(arg, level, column + out.len());
                    out.push_str(&rendered);
                }
                self.lead(value.span.end.saturating_sub(1), &mut out, level);
                out.push(')');
                out
            }
            ValueKind::Qualified { value: inner, qualifier, by } => {
                let mut out = self.value(inner, level, column);
                out.push_str(match qualifier {
                    Qualifier::Every => " every ",
                    Qualifier::For => " for ",
                });
                self.lead(by.span.start, &mut out, level);
                let rendered = self.value(by, level, column + out.len());
                out.push_str(&rendered);
                out
            }
            ValueKind::String(_)
            | ValueKind::Rhai(_)
            | ValueKind::Duration(_)
            | ValueKind::Percent(_)
            | ValueKind::Int(_)
            | ValueKind::Bool(_)
            | ValueKind::Path(_) => self.source(value.span).to_string(),
        }
    }
}

fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named(name) => name.to_string(),
        TypeExprKind::List(inner) => format!("list<{}>", type_text(inner)),
    }
}

fn has_block(item: &Item) -> bool {
    matches!(item, Item::Pipeline(_) | Item::Environment(_) | Item::Template(_) | Item::Node(_))
}

/// The column after `out`, which starts at `level`'s indentation.
fn column(level: usize, out: &str) -> usize {
    match out.rfind('\n') {
        Some(index) => out[index + 1..].chars().count(),
        None => column_at(level) + out.chars().count(),
    }
}

fn column_at(level: usize) -> usize {
    indent(level).len()
}
