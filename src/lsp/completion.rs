//! Completion: what may be typed at the cursor (see cursor_context), filled
//! with the names the file declares and the words the checker accepts.

use tower_lsp_server::ls_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use super::cursor_context::{cursor_context, BlockKind, Place};
use super::documents::Document;
use super::line_index::Encoding;
use super::navigation::module_of;
use super::reference_docs;
use crate::check::loader::Overlay;
use crate::check::vocabulary;
use crate::syntax::ast::NodeKind;

pub fn completions(document: &Document, offset: usize, overlay: &Overlay, encoding: Encoding) -> Vec<CompletionItem> {
    let context = cursor_context(&document.text, offset);
    let analysis = document.analysis();
    let found = &analysis.declarations;
    let current_node = match context.node() {
        Some(BlockKind::Node { name, .. } | BlockKind::Instance { name, .. }) => Some(name.as_str()),
        _ => None,
    };
    let mut items = Vec::new();
    match &context.place {
        Place::Nothing => {}
        Place::Entry => {
            for word in entry_words(context.block()) {
                items.push(keyword(word));
            }
            if let BlockKind::Instance { alias, template, .. } = context.block() {
                if let Some(module) = module_of(document, alias, overlay, encoding) {
                    if let Some((index, _)) = module.template(template) {
                        for param in module.template_params(index) {
                            items.push(item(&param.name, CompletionItemKind::FIELD, &param.header, None));
                        }
                    }
                }
            }
        }
        Place::Nodes | Place::Gates => {
            for (kind, name) in &found.nodes {
                if Some(name.as_str()) == current_node || (context.place == Place::Gates && *kind != NodeKind::Gate) {
                    continue;
                }
                items.push(item(name, CompletionItemKind::REFERENCE, kind.word(), None));
            }
        }
        Place::Environments => {
            for name in &found.environments {
                items.push(item(name, CompletionItemKind::MODULE, "environment", None));
            }
        }
        Place::Words(words) => {
            for word in *words {
                items.push(item(word, CompletionItemKind::ENUM_MEMBER, "", reference_docs::keyword(word)));
            }
        }
        Place::Modules => {
            for (alias, path) in &found.imports {
                items.push(item(alias, CompletionItemKind::MODULE, path, None));
            }
        }
        Place::Templates { alias } => {
            if let Some(module) = module_of(document, alias, overlay, encoding) {
                for definition in module.analysis.index.definitions.iter() {
                    if definition.kind == super::index::SymbolKind::Template {
                        let doc = definition.doc.as_deref();
                        items.push(item(&definition.name, CompletionItemKind::CLASS, &definition.header, doc));
                    }
                }
            }
        }
        Place::Types => {
            for ty in ["string", "int", "bool", "duration", "percent", "list"] {
                items.push(item(ty, CompletionItemKind::TYPE_PARAMETER, "type", None));
            }
        }
        Place::Interpolation { env: true } => {
            let target = target_environment(&document.text, current_node);
            for (environment, key) in &found.env_vars {
                if target.as_ref().map_or(true, |t| t == environment) {
                    items.push(item(key, CompletionItemKind::VARIABLE, &format!("var of {environment}"), None));
                }
            }
            items.push(item("name", CompletionItemKind::VARIABLE, "the environment's name", None));
        }
        Place::Interpolation { env: false } => {
            if let Some(BlockKind::Template { name, .. }) = context.node() {
                for (_, template, params) in &found.templates {
                    if template == name {
                        for param in params {
                            items.push(item(param, CompletionItemKind::VARIABLE, "template parameter", None));
                        }
                    }
                }
            } else {
                for (name, ty) in &found.params {
                    items.push(item(name, CompletionItemKind::VARIABLE, &format!("param: {ty}"), None));
                }
                for name in &found.secrets {
                    items.push(item(name, CompletionItemKind::VARIABLE, "secret", None));
                }
            }
            for (name, doc) in reference_docs::builtins() {
                items.push(item(name, CompletionItemKind::CONSTANT, "built-in", Some(doc)));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.label.clone()));
    items
}

fn keyword(word: &str) -> CompletionItem {
    item(word, CompletionItemKind::KEYWORD, "", reference_docs::keyword(word))
}

fn item(label: &str, kind: CompletionItemKind, detail: &str, doc: Option<&str>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        documentation: doc.map(|doc| {
            Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value: doc.to_string() })
        }),
        ..CompletionItem::default()
    }
}

/// The words that can start an entry in a block of this kind.
fn entry_words(block: &BlockKind) -> Vec<&'static str> {
    match block {
        BlockKind::Top => vocabulary::ITEM_KEYWORDS.to_vec(),
        BlockKind::Node { kind: NodeKind::Stage, .. } | BlockKind::Template { kind: NodeKind::Stage, .. } => {
            vocabulary::STAGE_ATTRIBUTES.to_vec()
        }
        BlockKind::Node { kind: NodeKind::Gate, .. } | BlockKind::Template { kind: NodeKind::Gate, .. } => {
            vocabulary::GATE_ATTRIBUTES.to_vec()
        }
        BlockKind::Instance { .. } => vocabulary::INSTANCE_ATTRIBUTES.to_vec(),
        BlockKind::Environment => vocabulary::ENVIRONMENT_ENTRIES.to_vec(),
        BlockKind::Pipeline => vocabulary::PIPELINE_ENTRIES.to_vec(),
        BlockKind::Steps => vec!["run", "script", "upload"],
        BlockKind::Strategy(name) => vocabulary::strategy_attributes(name).map(<[_]>::to_vec).unwrap_or_default(),
        BlockKind::Named(name) if name == "protect" => vocabulary::PROTECT_KEYS.to_vec(),
        BlockKind::Named(name) if name == "limits" => vocabulary::LIMIT_KEYS.to_vec(),
        BlockKind::Named(name) if name == "ssh" => vocabulary::SSH_KEYS.to_vec(),
        BlockKind::Named(_) | BlockKind::Other => Vec::new(),
    }
}

/// `target = ENV` of the stage named `node`, read from the text.
fn target_environment(text: &str, node: Option<&str>) -> Option<String> {
    let node = node?;
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if !line.starts_with([' ', '\t']) && !trimmed.is_empty() {
            inside =
                matches!(words.as_slice(), [kind, name, ..] if (*kind == "stage" || *kind == "gate") && *name == node);
            continue;
        }
        if inside {
            if let Some(rest) = trimmed.strip_prefix("target") {
                let value = rest.trim_start().strip_prefix('=')?.trim();
                let name: String = value.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                return (!name.is_empty()).then_some(name);
            }
        }
    }
    None
}
