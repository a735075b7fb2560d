//! Comments are not in the syntax tree, so the formatter finds them in the
//! text: everything outside string literals and Rhai snippets (which are
//! copied as written) that starts with `//` or `/*`.

use crate::syntax::ast::*;
use crate::syntax::span::Span;

/// One comment of the source, with what its surroundings say about placement.
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

/// Every comment of `text`, in order. `module` is its syntax tree: the spans
/// of strings and Rhai snippets in it are skipped.
pub fn find_comments(text: &str, module: &Module) -> Vec<Comment> {
    let mut opaque = Vec::new();
    for item in &module.items {
        opaque_in_item(item, &mut opaque);
    }
    opaque.sort();
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut opaque_index = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        while opaque_index < opaque.len() && opaque[opaque_index].end <= pos {
            opaque_index += 1;
        }
        if let Some(span) = opaque.get(opaque_index) {
            if span.start <= pos {
                pos = span.end.max(pos + 1);
                continue;
            }
        }
        if bytes[pos] == b'/' && bytes.get(pos + 1) == Some(&b'/') {
            let end = text[pos..].find('\n').map_or(text.len(), |n| pos + n);
            comments.push(comment(text, Span::new(pos, end), true));
            pos = end;
        } else if bytes[pos] == b'/' && bytes.get(pos + 1) == Some(&b'*') {
            let end = text[pos + 2..].find("*/").map_or(text.len(), |n| pos + 2 + n + 2);
            comments.push(comment(text, Span::new(pos, end), false));
            pos = end;
        } else {
            pos += 1;
        }
    }
    comments
}

fn comment(text: &str, span: Span, is_line: bool) -> Comment {
    Comment {
        span,
        text: text.get(span.start..span.end).unwrap_or_default().trim_end().to_string(),
        is_line,
        own_line: starts_line(text, span.start),
        blank_before: blank_line_before(text, span.start),
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}')
}

/// Only whitespace between the start of the line (or file) and `pos`.
pub fn starts_line(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or_default();
    match before.rfind(|c: char| !is_space(c)) {
        None => true,
        Some(index) => before[index..].contains('\n'),
    }
}

/// A blank line between the last thing before `pos` and `pos` (never at the
/// start of the file).
pub fn blank_line_before(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or_default();
    match before.rfind(|c: char| !is_space(c)) {
        None => false,
        Some(index) => before[index..].matches('\n').count() >= 2,
    }
}

fn opaque_in_item(item: &Item, out: &mut Vec<Span>) {
    match item {
        Item::Import(import) => out.push(import.path.span),
        Item::Pipeline(pipeline) => {
            out.push(pipeline.name.span);
            opaque_in_block(&pipeline.body, out);
        }
        Item::Param(param) => {
            if let Some(value) = &param.default {
                opaque_in_value(value, out);
            }
        }
        Item::Secret(secret) => opaque_in_value(&secret.value, out),
        Item::Environment(environment) => opaque_in_block(&environment.body, out),
        Item::Template(template) => {
            for param in &template.params {
                if let Some(value) = &param.default {
                    opaque_in_value(value, out);
                }
            }
            opaque_in_block(&template.body, out);
        }
        Item::Node(node) => opaque_in_block(&node.body, out),
    }
}

fn opaque_in_block(block: &Block, out: &mut Vec<Span>) {
    for entry in &block.entries {
        match entry {
            Entry::Attribute(attribute) => opaque_in_value(&attribute.value, out),
            Entry::Block(named) => opaque_in_block(&named.body, out),
            Entry::Run(run) => out.push(run.command.span),
            Entry::Script(script) => out.push(script.script.span),
            Entry::Upload(upload) => {
                out.push(upload.local.span);
                out.push(upload.remote.span);
            }
            Entry::Rollback(rollback) => opaque_in_block(&rollback.body, out),
            Entry::Strategy(strategy) => {
                if let Some(body) = &strategy.body {
                    opaque_in_block(body, out);
                }
            }
            Entry::Hook(hook) => opaque_in_block(&hook.body, out),
            Entry::Approve(approve) => {
                out.push(approve.question.span);
                if let Some(by) = &approve.by {
                    opaque_in_value(by, out);
                }
            }
            Entry::Check(check) => {
                for value in check.every.iter().chain(&check.within) {
                    opaque_in_value(value, out);
                }
                out.push(check.script.span);
            }
        }
    }
}

fn opaque_in_value(value: &Value, out: &mut Vec<Span>) {
    match &value.kind {
        ValueKind::String(string) => out.push(string.span),
        ValueKind::Rhai(rhai) => out.push(rhai.span),
        ValueKind::List(items) => items.iter().for_each(|item| opaque_in_value(item, out)),
        ValueKind::Map(attributes) => attributes.iter().for_each(|a| opaque_in_value(&a.value, out)),
        ValueKind::Call { args, .. } => args.iter().for_each(|arg| opaque_in_value(arg, out)),
        ValueKind::Qualified { value, by, .. } => {
            opaque_in_value(value, out);
            opaque_in_value(by, out);
        }
        ValueKind::Duration(_)
        | ValueKind::Percent(_)
        | ValueKind::Int(_)
        | ValueKind::Bool(_)
        | ValueKind::Path(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::FileId;

    #[test]
    fn comments_inside_strings_and_scripts_are_not_comments() {
        let text = "// a\nstage s { run \"echo // no\" /* b */\n script `1 // no` }\n";
        let Ok(module) = crate::syntax::parse(FileId(0), text) else { panic!("parse") };
        let found: Vec<String> = find_comments(text, &module).into_iter().map(|c| c.text).collect();
        assert_eq!(found, ["// a", "/* b */"]);
    }
}
