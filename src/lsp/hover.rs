//! Hover: a declaration with its doc comment, a keyword's or attribute's
//! documentation, a built-in name, a Rhai host function's signature and docs.

use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use super::documents::Document;
use super::index::{Definition, SymbolKind, Target};
use super::line_index::Encoding;
use super::navigation::module_of;
use super::reference_docs;
use crate::check::loader::Overlay;
use crate::syntax::lexer::TokenKind;
use crate::syntax::span::Span;

pub fn hover(document: &Document, offset: usize, overlay: &Overlay, encoding: Encoding) -> Option<Hover> {
    let (markdown, span) = describe(document, offset, overlay, encoding)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range: Some(document.range(span)),
    })
}

fn describe(document: &Document, offset: usize, overlay: &Overlay, encoding: Encoding) -> Option<(String, Span)> {
    let tokens = document.tokens();
    if let Some(script) = tokens.at(offset).filter(|t| matches!(t.kind, TokenKind::Rhai { .. })) {
        let source = script.text(&document.text);
        let (start, end) = super::rhai_names::path_at(source, offset - script.span.start)?;
        let name = &source[start..end];
        let span = Span::new(script.span.start + start, script.span.start + end);
        if let Some(doc) = reference_docs::host_function(name) {
            return Some((doc, span));
        }
        return reference_docs::builtin(name).map(|doc| (doc.to_string(), span));
    }
    let span = tokens.word_at(&document.text, offset)?;
    let word = document.text.get(span.start..span.end)?;
    {
        let analysis = document.analysis();
        if let Some(target) = analysis.index.at(offset) {
            let text = match target {
                Target::Local(index) => declaration(analysis.index.definitions.get(index)?, None),
                Target::Template { alias, name } => {
                    let module = module_of(document, &alias, overlay, encoding)?;
                    let (_, template) = module.template(&name)?;
                    declaration(template, Some(&module.name))
                }
                Target::TemplateArgument { alias, template, argument } => {
                    let module = module_of(document, &alias, overlay, encoding)?;
                    let (index, definition) = module.template(&template)?;
                    let param = module.template_params(index).into_iter().find(|p| p.name == argument)?;
                    format!("```deploy\n{}\n```\n\nargument of template `{}.{}`", param.header, alias, definition.name)
                }
                Target::Module { alias } => {
                    let module = module_of(document, &alias, overlay, encoding)?;
                    let templates: Vec<String> = module
                        .analysis
                        .index
                        .definitions
                        .iter()
                        .filter(|d| d.kind == super::index::SymbolKind::Template)
                        .map(|d| format!("- `{}`", d.header))
                        .collect();
                    format!("module `{}` as `{alias}`\n\n{}", module.name, templates.join("\n"))
                }
                Target::Builtin(name) => reference_docs::builtin(&name)?.to_string(),
                Target::HostValue { key, environment } => host_value(&analysis.declarations, &key, environment),
            };
            return Some((text, span));
        }
    }
    reference_docs::keyword(word).map(|doc| (doc.to_string(), span))
}

/// `${host.KEY}`: what it is, and which hosts of the environment give it.
fn host_value(found: &super::declarations::Declarations, key: &str, environment: Option<String>) -> String {
    let mut text = reference_docs::host_value(key);
    let hosts: Vec<String> = found
        .host_values
        .iter()
        .filter(|v| v.key == key && environment.as_ref().map_or(true, |e| *e == v.environment))
        .map(|v| format!("`{}` ({})", v.host, v.environment))
        .collect();
    if !hosts.is_empty() {
        text.push_str(&format!("\n\nset by {}", hosts.join(", ")));
    }
    text
}

fn declaration(definition: &Definition, module: Option<&str>) -> String {
    let header = match definition.kind {
        SymbolKind::Template => template_header(&definition.header),
        _ => definition.header.clone(),
    };
    let mut text = format!("```deploy\n{header}\n```");
    if let Some(module) = module {
        text.push_str(&format!("\n\nfrom module `{module}`"));
    }
    if let Some(doc) = &definition.doc {
        text.push_str("\n\n");
        text.push_str(doc);
    }
    text
}

/// `template stage NAME(a: string, b: int = 1)` with its parameters one
/// per line; as it is when it has none (or its list cannot be split).
fn template_header(header: &str) -> String {
    let Some(open) = header.find('(') else { return header.to_string() };
    let Some(close) = header.rfind(')') else { return header.to_string() };
    let Some(inside) = header.get(open + 1..close) else { return header.to_string() };
    let mut params = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    let mut previous = ' ';
    for (at, c) in inside.char_indices() {
        match c {
            '"' if previous != '\\' => quoted = !quoted,
            '[' | '(' | '{' if !quoted => depth += 1,
            ']' | ')' | '}' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                params.push(inside[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
        previous = c;
    }
    params.push(inside[start..].trim());
    params.retain(|p| !p.is_empty());
    if params.is_empty() {
        return header.to_string();
    }
    let lines: String = params.iter().map(|p| format!("  {p},\n")).collect();
    format!("{}(\n{lines}){}", &header[..open], &header[close + 1..])
}
