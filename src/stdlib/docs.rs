//! Documentation of a module from its doc comments: the module's own
//! (`///` lines at the top of the file, followed by a blank line), each
//! template's and each parameter's. `deploy doc`, `deploy modules` and
//! docs/stdlib.md are rendered from it.

use crate::diagnostic::Diagnostic;
use crate::syntax::ast::{Item, NodeKind};
use crate::syntax::span::{FileId, Span};
use crate::syntax::DocComments;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleDoc {
    /// How the module is imported: `std/http`, `./stages/db.deploy`, `platform/k8s`.
    pub name: String,
    pub doc: Option<String>,
    pub templates: Vec<TemplateDoc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateDoc {
    pub kind: NodeKind,
    pub name: String,
    pub doc: Option<String>,
    pub params: Vec<ParamDoc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamDoc {
    pub name: String,
    /// The type as written: `string`, `list<string>`.
    pub ty: String,
    /// The default as written, when there is one.
    pub default: Option<String>,
    pub doc: Option<String>,
}

/// Documents the module `name` whose source is `text`; the syntax errors
/// when it does not parse.
pub fn document(name: &str, text: &str) -> Result<ModuleDoc, Vec<Diagnostic>> {
    let ast = crate::syntax::parse(FileId(0), text)?;
    let docs = DocComments::of(text);
    let doc = |start: usize| docs.above(start).map(str::to_string);
    let slice = |span: Span| text.get(span.start..span.end).unwrap_or_default().to_string();
    let templates = ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Template(template) => Some(TemplateDoc {
                kind: template.kind,
                name: template.name.name.to_string(),
                doc: doc(template.span.start),
                params: template
                    .params
                    .iter()
                    .map(|param| ParamDoc {
                        name: param.name.name.to_string(),
                        ty: slice(param.ty.span),
                        default: param.default.as_ref().map(|value| slice(value.span)),
                        doc: doc(param.span.start),
                    })
                    .collect(),
            }),
            _ => None,
        })
        .collect();
    Ok(ModuleDoc { name: name.to_string(), doc: docs.module().map(str::to_string), templates })
}

/// Every stdlib module's documentation, in [`super::MODULES`] order.
pub fn stdlib() -> Vec<ModuleDoc> {
    super::MODULES.iter().filter_map(|(name, text)| document(name, text).ok()).collect()
}

impl TemplateDoc {
    /// `template gate healthy(url: string, within: duration = 2m)`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match &p.default {
                Some(default) => format!("{}: {} = {default}", p.name, p.ty),
                None => format!("{}: {}", p.name, p.ty),
            })
            .collect();
        format!("template {} {}({})", self.kind.word(), self.name, params.join(", "))
    }

    /// `healthy(url, within?, ...)`: the parameters, optional ones marked.
    pub fn short(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| if p.default.is_some() { format!("{}?", p.name) } else { p.name.clone() })
            .collect();
        format!("{} {}({})", self.kind.word(), self.name, params.join(", "))
    }
}

impl ModuleDoc {
    /// The first sentence of the module's doc, for listings.
    pub fn summary(&self) -> String {
        first_sentence(self.doc.as_deref().unwrap_or(""))
    }

    /// For the terminal: the module (all templates) or one template.
    pub fn render_text(&self, template: Option<&TemplateDoc>) -> String {
        let mut out = String::new();
        match template {
            None => {
                out.push_str(&format!("module {}\n", self.name));
                if let Some(doc) = &self.doc {
                    out.push_str(&indent(doc, "  "));
                }
                for template in &self.templates {
                    out.push('\n');
                    out.push_str(&render_template_text(template));
                }
            }
            Some(template) => {
                out.push_str(&format!("{}.{} (module {})\n\n", self.name, template.name, self.name));
                out.push_str(&render_template_text(template));
            }
        }
        out
    }

    /// A section of docs/stdlib.md.
    pub fn render_markdown(&self) -> String {
        let mut out = format!("## `{}`\n\n", self.name);
        if let Some(doc) = &self.doc {
            out.push_str(doc);
            out.push_str("\n\n");
        }
        out.push_str(&format!("```deploy\nimport \"{}\" as {}\n```\n", self.name, alias_of(&self.name)));
        for template in &self.templates {
            out.push_str(&format!("\n### `{}.{}`\n\n", alias_of(&self.name), template.name));
            out.push_str(&format!("```deploy\n{}\n```\n\n", template.signature()));
            if let Some(doc) = &template.doc {
                out.push_str(doc);
                out.push_str("\n\n");
            }
            if !template.params.is_empty() {
                out.push_str("| parameter | type | default | meaning |\n| --- | --- | --- | --- |\n");
                for p in &template.params {
                    let default = p.default.as_deref().map(|d| format!("`{d}`")).unwrap_or_else(|| "required".into());
                    let doc = p.doc.as_deref().unwrap_or("").replace('\n', " ").replace('|', "\\|");
                    out.push_str(&format!("| `{}` | `{}` | {default} | {doc} |\n", p.name, p.ty.replace('|', "\\|")));
                }
            }
        }
        out
    }
}

fn render_template_text(template: &TemplateDoc) -> String {
    let mut out = format!("{}\n", template.signature());
    if let Some(doc) = &template.doc {
        out.push_str(&indent(doc, "  "));
    }
    if !template.params.is_empty() {
        out.push_str("\n  parameters:\n");
        let width = template.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for p in &template.params {
            let default = p.default.as_deref().map(|d| format!(" = {d}")).unwrap_or_default();
            out.push_str(&format!("    {:width$}  {}{default}\n", p.name, p.ty));
            if let Some(doc) = &p.doc {
                out.push_str(&indent(doc, &format!("    {:width$}    ", "")));
            }
        }
    }
    out
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|line| format!("{prefix}{line}\n")).collect()
}

fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(end) => flat[..end + 1].to_string(),
        None => flat.trim_end_matches('.').to_string() + if flat.is_empty() { "" } else { "." },
    }
}

/// The alias a plan would naturally import a module as: its last path segment.
pub fn alias_of(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    let stem = last.strip_suffix(".deploy").unwrap_or(last);
    stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// docs/stdlib.md: every stdlib module, generated from the doc comments.
pub fn stdlib_markdown() -> String {
    let mut out = String::from(
        "# The standard library\n\nModules written in the `.deploy` language and shipped inside the binary. \
         Import them as `import \"std/NAME\" as NAME` and instantiate their templates with \
         `stage NAME from MODULE.TEMPLATE { ... }` (see [language.md](language.md#templates-and-instances)). \
         `deploy modules` lists them, `deploy doc std/NAME[.TEMPLATE]` prints the same text as this page.\n\n\
         This file is generated from the doc comments in `stdlib/std/*.deploy`; \
         `UPDATE_DOCS=1 cargo test --test stdlib docs_stdlib_is_up_to_date` rewrites it.\n\n",
    );
    let modules = stdlib();
    for module in &modules {
        out.push_str(&format!("- [`{}`](#{}) — {}\n", module.name, anchor(&module.name), module.summary()));
    }
    for module in &modules {
        out.push('\n');
        out.push_str(&module.render_markdown());
    }
    out
}

fn anchor(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stdlib_module_parses_and_documents_everything() {
        for (name, text) in super::super::MODULES {
            let module = match document(name, text) {
                Ok(module) => module,
                Err(errors) => panic!("{name} does not parse: {errors:?}"),
            };
            assert!(module.doc.is_some(), "{name} has no module doc comment");
            assert!(!module.templates.is_empty(), "{name} has no templates");
            for template in &module.templates {
                assert!(template.doc.is_some(), "{name}.{} has no doc comment", template.name);
                for param in &template.params {
                    assert!(
                        param.doc.is_some(),
                        "{name}.{}: parameter {} has no doc comment",
                        template.name,
                        param.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_leading_comment_attached_to_a_template_is_not_the_module_doc() {
        let module = document("x", "/// Says hi.\ntemplate stage hi() { run \"echo\" rollback {} }\n");
        let module = module.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(module.doc, None);
        assert_eq!(module.templates[0].doc.as_deref(), Some("Says hi."));
    }
}
