//! Go to definition, find references and rename: answered from the index of
//! the document (and of the imported module, for templates).

use std::collections::HashMap;

use tower_lsp_server::ls_types::{Location, Range, TextEdit, Uri, WorkspaceEdit};

use super::documents::Document;
use super::index::{Definition, FileIndex, SymbolKind, Target};
use super::line_index::Encoding;
use super::modules::{load_module, ModuleFile};
use crate::check::loader::Overlay;

/// The module an import alias of `document` names.
pub fn module_of(document: &Document, alias: &str, overlay: &Overlay, encoding: Encoding) -> Option<ModuleFile> {
    let analysis = document.analysis();
    let (_, path) = analysis.declarations.imports.iter().find(|(name, _)| name == alias)?;
    load_module(&document.path, path, overlay, encoding)
}

pub fn definition(document: &Document, offset: usize, overlay: &Overlay, encoding: Encoding) -> Option<Location> {
    let analysis = document.analysis();
    match analysis.index.at(offset)? {
        Target::Local(index) => {
            let definition = analysis.index.definitions.get(index)?;
            Some(Location::new(document.uri.clone(), document.range(definition.name_span)))
        }
        Target::Template { alias, name } => {
            let module = module_of(document, &alias, overlay, encoding)?;
            let (_, template) = module.template(&name)?;
            Some(Location::new(module.location()?, module.lines.range(&module.text, template.name_span)))
        }
        Target::TemplateArgument { alias, template, argument } => {
            let module = module_of(document, &alias, overlay, encoding)?;
            let (index, _) = module.template(&template)?;
            let param = module.template_params(index).into_iter().find(|p| p.name == argument)?;
            Some(Location::new(module.location()?, module.lines.range(&module.text, param.name_span)))
        }
        Target::Module { alias } => {
            let module = module_of(document, &alias, overlay, encoding)?;
            Some(Location::new(module.location()?, Range::default()))
        }
        Target::Builtin(_) | Target::HostValue { .. } => None,
    }
}

pub fn references(document: &Document, offset: usize, include_declaration: bool) -> Option<Vec<Location>> {
    let analysis = document.analysis();
    let Target::Local(index) = analysis.index.at(offset)? else { return None };
    let definition = analysis.index.definitions.get(index)?.name_span;
    let locations = analysis
        .index
        .occurrences(index)
        .into_iter()
        .filter(|span| include_declaration || *span != definition)
        .map(|span| Location::new(document.uri.clone(), document.range(span)))
        .collect();
    Some(locations)
}

/// Kinds whose names can be renamed within their file.
const RENAMEABLE: &[SymbolKind] = &[
    SymbolKind::Stage,
    SymbolKind::Gate,
    SymbolKind::Param,
    SymbolKind::Secret,
    SymbolKind::Environment,
    SymbolKind::TemplateParam,
    SymbolKind::Import,
    SymbolKind::EnvVar,
    SymbolKind::EnvSecret,
];

/// Names that share a namespace with `definition`'s: two of them cannot
/// have one name (a param and a secret; a stage and a gate; the vars of one
/// environment; a template's parameters and the values they shadow).
fn same_namespace(definition: &Definition, other: &Definition) -> bool {
    use SymbolKind::*;
    let values = [Param, Secret, TemplateParam, EnvSecret];
    match (definition.kind, other.kind) {
        (Stage | Gate, Stage | Gate) => true,
        (EnvVar, EnvVar) => definition.parent == other.parent,
        (TemplateParam, TemplateParam) => definition.parent == other.parent,
        (EnvSecret, EnvSecret) => definition.parent == other.parent,
        (a, b) if values.contains(&a) && values.contains(&b) => {
            // A template parameter is only in scope in its template.
            !(a == TemplateParam && b == TemplateParam)
        }
        (a, b) => a == b && !matches!(a, Pipeline),
    }
}

/// Why `definition` cannot be named `new_name`, if it cannot.
fn refusal(index: &FileIndex, at: usize, definition: &Definition, new_name: &str) -> Option<String> {
    use SymbolKind::*;
    if new_name == definition.name {
        return None;
    }
    let is_value = matches!(definition.kind, Param | Secret | TemplateParam | EnvSecret);
    if is_value && (new_name == "env" || crate::check::BUILTINS.iter().any(|(name, _)| *name == new_name)) {
        return Some(format!(
            "`{new_name}` is a built-in name (`${{{new_name}}}` already means something in every stage); choose another"
        ));
    }
    if is_value && crate::check::script_words::is_rhai_word(new_name) {
        return Some(format!("`{new_name}` is a Rhai keyword, so no script could use the {}", definition.kind.word()));
    }
    let taken = index
        .definitions
        .iter()
        .enumerate()
        .find(|(other_at, other)| *other_at != at && other.name == new_name && same_namespace(definition, other));
    taken.map(|(_, other)| format!("`{new_name}` is already the name of a {} in this file", other.kind.word()))
}

/// The range of the renameable name at `offset`.
pub fn prepare_rename(document: &Document, offset: usize) -> Option<Range> {
    let analysis = document.analysis();
    let Target::Local(index) = analysis.index.at(offset)? else { return None };
    if !RENAMEABLE.contains(&analysis.index.definitions.get(index)?.kind) {
        return None;
    }
    let covers = |span: crate::syntax::span::Span| span.start <= offset && offset <= span.end;
    let span = analysis.index.occurrences(index).into_iter().find(|span| covers(*span))?;
    Some(document.range(span))
}

/// Every occurrence of the name at `offset` renamed; an error message when
/// the new name is not a valid name or the cursor is not on one.
pub fn rename(document: &Document, offset: usize, new_name: &str) -> Result<Option<WorkspaceEdit>, String> {
    if crate::syntax::KEYWORDS.contains(&new_name) {
        return Err(format!("`{new_name}` is a keyword"));
    }
    if !crate::syntax::ident::is_ident(new_name) {
        return Err(format!(
            "`{new_name}` is not a valid name: use letters, digits and `_`, not starting with a digit"
        ));
    }
    let analysis = document.analysis();
    if !analysis.complete {
        return Err("the file has a syntax error; fix it first".to_string());
    }
    let Some(Target::Local(index)) = analysis.index.at(offset) else { return Ok(None) };
    let Some(definition) = analysis.index.definitions.get(index) else { return Ok(None) };
    if !RENAMEABLE.contains(&definition.kind) {
        return Err(format!("a {} cannot be renamed here", definition.kind.word()));
    }
    if let Some(reason) = refusal(&analysis.index, index, definition, new_name) {
        return Err(reason);
    }
    let edits: Vec<TextEdit> = analysis
        .index
        .occurrences(index)
        .into_iter()
        .map(|span| TextEdit::new(document.range(span), new_name.to_string()))
        .collect();
    let changes: HashMap<Uri, Vec<TextEdit>> = HashMap::from([(document.uri.clone(), edits)]);
    Ok(Some(WorkspaceEdit::new(changes)))
}
