//! Completion: what may be typed at the cursor (see cursor_context), filled
//! with the names the file declares and the words the checker accepts.

use tower_lsp_server::ls_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use super::cursor_context::{cursor_context, BlockKind, CursorContext, Interpolated, Place};
use super::declarations::Declarations;
use super::documents::Document;
use super::line_index::Encoding;
use super::navigation::module_of;
use super::reference_docs;
use crate::check::loader::Overlay;
use crate::check::vocabulary;
use crate::syntax::ast::NodeKind;

pub fn completions(document: &Document, offset: usize, overlay: &Overlay, encoding: Encoding) -> Vec<CompletionItem> {
    if let Some(items) = super::import_paths::completions(document, offset) {
        return items;
    }
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
        Place::Entry => entries(document, &context, overlay, encoding, &mut items),
        Place::Nodes | Place::Gates => {
            for (kind, name) in &found.nodes {
                if Some(name.as_str()) == current_node || (context.place == Place::Gates && *kind != NodeKind::Gate) {
                    continue;
                }
                items.push(item(name, CompletionItemKind::REFERENCE, kind.word(), None));
            }
        }
        Place::Routers => routers(document, current_node, overlay, encoding, &mut items),
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
        Place::Calls(functions) => {
            for function in *functions {
                let doc = reference_docs::keyword(function);
                items.push(item(function, CompletionItemKind::FUNCTION, "function", doc));
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
        Place::Interpolation(what) => interpolated(found, &context, current_node, *what, &mut items),
    }
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.label.clone()));
    items
}

/// The words that start an entry of the block at the cursor, and a template
/// instance's arguments.
fn entries(
    document: &Document,
    context: &CursorContext,
    overlay: &Overlay,
    encoding: Encoding,
    items: &mut Vec<CompletionItem>,
) {
    for word in entry_words(context.block(), context.blocks.iter().rev().nth(1)) {
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

/// The stages a canary's `traffic` may name: instances of a template with a
/// `weight` parameter (`std/nginx.split`, `std/haproxy.weights`, your own).
fn routers(
    document: &Document,
    current_node: Option<&str>,
    overlay: &Overlay,
    encoding: Encoding,
    items: &mut Vec<CompletionItem>,
) {
    let found = &document.analysis().declarations;
    for (node, path) in &found.instances {
        if Some(node.as_str()) == current_node || !found.nodes.contains(&(NodeKind::Stage, node.clone())) {
            continue;
        }
        let has_weight = match path.as_slice() {
            [template] => {
                found.templates.iter().any(|(_, t, params)| t == template && params.iter().any(|p| p == "weight"))
            }
            [alias, template] => module_of(document, alias, overlay, encoding).is_some_and(|module| {
                module
                    .template(template)
                    .is_some_and(|(index, _)| module.template_params(index).iter().any(|p| p.name == "weight"))
            }),
            _ => false,
        };
        if has_weight {
            items.push(item(node, CompletionItemKind::REFERENCE, &format!("router: {}", path.join(".")), None));
        }
    }
}

/// What `${`, `${env.` and `${host.` may name at the cursor.
fn interpolated(
    found: &Declarations,
    context: &CursorContext,
    current_node: Option<&str>,
    what: Interpolated,
    items: &mut Vec<CompletionItem>,
) {
    let target = current_node.and_then(|node| found.target_of(node));
    let in_target = |environment: &String| target.map_or(true, |t| t == environment);
    match what {
        Interpolated::EnvVars => {
            for (environment, key) in found.env_vars.iter().filter(|(e, _)| in_target(e)) {
                items.push(item(key, CompletionItemKind::VARIABLE, &format!("var of {environment}"), None));
            }
            items.push(item("name", CompletionItemKind::VARIABLE, "the environment's name", None));
        }
        Interpolated::HostValues => {
            for key in found.host_keys(target) {
                let doc = reference_docs::host_value(key);
                items.push(item(key, CompletionItemKind::FIELD, "value of the host", Some(&doc)));
            }
            for (environment, key) in found.env_vars.iter().filter(|(e, _)| in_target(e)) {
                let detail = format!("var of {environment} (for hosts without their own)");
                items.push(item(key, CompletionItemKind::VARIABLE, &detail, None));
            }
        }
        Interpolated::Names => {
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
                for (environment, name) in found.env_secrets.iter().filter(|(e, _)| in_target(e)) {
                    items.push(item(name, CompletionItemKind::VARIABLE, &format!("secret of {environment}"), None));
                }
            }
            for (name, doc) in reference_docs::builtins() {
                items.push(item(name, CompletionItemKind::CONSTANT, "built-in", Some(doc)));
            }
        }
    }
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
fn entry_words(block: &BlockKind, parent: Option<&BlockKind>) -> Vec<&'static str> {
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
        BlockKind::Steps => vec!["run", "script", "upload", "template"],
        BlockKind::Strategy(name) => {
            let mut words = vocabulary::strategy_attributes(name).map(<[_]>::to_vec).unwrap_or_default();
            if name == "canary" {
                // `retire { steps }` of a traffic canary.
                words.push("retire");
            }
            words
        }
        BlockKind::Named(name) if name == "protect" => vocabulary::PROTECT_KEYS.to_vec(),
        BlockKind::Named(name) if name == "limits" => vocabulary::LIMIT_KEYS.to_vec(),
        BlockKind::Named(name) if name == "ssh" => vocabulary::SSH_KEYS.to_vec(),
        BlockKind::Named(name) if name == "watch" && parent == Some(&BlockKind::Pipeline) => {
            vocabulary::WATCH_KEYS.to_vec()
        }
        BlockKind::Named(_) | BlockKind::Other => Vec::new(),
    }
}
