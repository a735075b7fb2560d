//! Completion of the path of an `import "...`: the stdlib's modules after
//! `std/` (or nothing yet), and the `.deploy` files and directories beside
//! the document after `./` or `../`, inside the plan's repository (the
//! directories imports may come from, see [`ImportRoots`]).

use std::path::Path;

use tower_lsp_server::ls_types::{CompletionItem, CompletionItemKind, CompletionTextEdit, TextEdit};

use super::documents::Document;
use crate::check::loader::ImportRoots;
use crate::syntax::lexer::TokenKind;
use crate::syntax::span::Span;

/// What is typed of an import's path before `offset`: the cursor is in
/// the string token right after an `import` that starts its line.
fn typed_path(document: &Document, offset: usize) -> Option<&str> {
    let tokens = document.tokens();
    let text = &*document.text;
    let index = tokens.index_at(offset.checked_sub(1)?);
    let string = tokens.as_slice().get(index).filter(|t| matches!(t.kind, TokenKind::String { .. }))?;
    let space = tokens.as_slice().get(index.checked_sub(1)?).filter(|t| t.kind == TokenKind::Whitespace)?;
    let import = tokens.as_slice().get(index.checked_sub(2)?)?;
    if space.text(text).contains('\n') || import.text(text) != "import" || !tokens.starts_line(text, index - 2) {
        return None;
    }
    let typed = text.get(string.span.start + 1..offset)?;
    (!typed.contains(['"', '\\'])).then_some(typed)
}

/// The completions of the import path the cursor is in, if it is in one:
/// each replaces what is typed of the path.
pub fn completions(document: &Document, offset: usize) -> Option<Vec<CompletionItem>> {
    let typed = typed_path(document, offset)?;
    let range = document.range(Span::new(offset - typed.len(), offset));
    let edit = |label: &str, kind: CompletionItemKind, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        filter_text: Some(label.to_string()),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, label.to_string()))),
        ..CompletionItem::default()
    };
    let mut items = Vec::new();
    if "std/".starts_with(typed) || typed.starts_with("std/") {
        for (name, source) in crate::stdlib::MODULES {
            let docs = crate::syntax::DocComments::of(source);
            let summary = docs.first_line().unwrap_or_default().trim();
            items.push(edit(name, CompletionItemKind::MODULE, summary));
        }
    }
    if typed.is_empty() || typed.starts_with("./") || typed.starts_with("../") || "./".starts_with(typed) {
        files(document, typed, &mut |label, is_dir| {
            let kind = if is_dir { CompletionItemKind::FOLDER } else { CompletionItemKind::FILE };
            items.push(edit(label, kind, ""));
        });
    }
    items.sort_by(|a, b| a.label.cmp(&b.label));
    Some(items)
}

/// The directories and `.deploy` files of the directory `typed` is in
/// (relative to the document), as paths to import: `./stages/db.deploy`.
fn files(document: &Document, typed: &str, found: &mut dyn FnMut(&str, bool)) {
    let typed = if typed.starts_with('.') { typed } else { "./" };
    let dir_part = typed.rfind('/').map_or("./", |i| &typed[..=i]);
    let Some(base) = document.path.parent() else { return };
    let dir = base.join(dir_part);
    let Ok(canonical) = std::fs::canonicalize(&dir) else { return };
    if !ImportRoots::for_plan(&document.path).contains(&canonical) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(&canonical) else { return };
    let own = std::fs::canonicalize(&document.path).ok();
    for entry in entries.flatten().take(1000) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.contains('"') || name.contains('\\') {
            continue;
        }
        let path = entry.path();
        let is_dir = path.is_dir();
        if !is_dir && (Path::new(&name).extension().map_or(true, |e| e != "deploy") || own.as_deref() == Some(&*path)) {
            continue;
        }
        let label = if is_dir { format!("{dir_part}{name}/") } else { format!("{dir_part}{name}") };
        found(&label, is_dir);
    }
}
