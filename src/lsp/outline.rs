//! Document symbols: the file's items, with an environment's vars and a
//! template's parameters beneath them.

use tower_lsp_server::ls_types::{DocumentSymbol, SymbolKind as LspKind};

use super::documents::Document;
use super::index::SymbolKind;

pub fn outline(document: &Document) -> Option<Vec<DocumentSymbol>> {
    let analysis = document.analysis();
    let definitions = &analysis.index.definitions;
    let symbol = |index: usize| -> Option<DocumentSymbol> {
        let definition = definitions.get(index)?;
        let kind = match definition.kind {
            SymbolKind::Stage => LspKind::FUNCTION,
            SymbolKind::Gate => LspKind::EVENT,
            SymbolKind::Param => LspKind::VARIABLE,
            SymbolKind::Secret => LspKind::KEY,
            SymbolKind::Environment => LspKind::NAMESPACE,
            SymbolKind::Template => LspKind::CLASS,
            SymbolKind::Import => LspKind::MODULE,
            SymbolKind::TemplateParam => LspKind::TYPE_PARAMETER,
            SymbolKind::EnvVar => LspKind::FIELD,
            SymbolKind::EnvSecret => LspKind::KEY,
            SymbolKind::Pipeline => LspKind::PACKAGE,
        };
        #[allow(deprecated)]
        Some(DocumentSymbol {
            name: if definition.name.is_empty() { definition.kind.word().to_string() } else { definition.name.clone() },
            detail: Some(definition.header.clone()),
            kind,
            tags: None,
            deprecated: None,
            range: document.range(definition.item_span),
            selection_range: document.range(definition.name_span),
            children: None,
        })
    };
    let mut symbols = Vec::new();
    for (index, definition) in definitions.iter().enumerate() {
        if definition.parent.is_some() {
            continue;
        }
        let Some(mut top) = symbol(index) else { continue };
        let children: Vec<DocumentSymbol> = definitions
            .iter()
            .enumerate()
            .filter(|(_, d)| d.parent == Some(index))
            .filter_map(|(child, _)| symbol(child))
            .collect();
        if !children.is_empty() {
            top.children = Some(children);
        }
        symbols.push(top);
    }
    Some(symbols)
}
