//! The names a file declares, read from its tree: the partial tree of a file
//! that does not parse (see [`crate::syntax::parse_tolerant`]) still holds
//! every item around the one being typed, and that one's kind and name.

use crate::syntax::ast::{Entry, Item, Module, NodeKind, TypeExpr, TypeExprKind};

#[derive(Debug, Default)]
pub struct Declarations {
    pub nodes: Vec<(NodeKind, String)>,
    pub environments: Vec<String>,
    /// Name and type as written.
    pub params: Vec<(String, String)>,
    pub secrets: Vec<String>,
    /// Alias and path.
    pub imports: Vec<(String, String)>,
    /// Kind, name and parameter names.
    pub templates: Vec<(NodeKind, String, Vec<String>)>,
    /// Environment and key of each `vars { KEY = ... }`.
    pub env_vars: Vec<(String, String)>,
}

pub fn declarations(module: &Module) -> Declarations {
    let mut found = Declarations::default();
    for item in &module.items {
        match item {
            Item::Import(import) => {
                found.imports.push((import.alias.name.to_string(), import.path.as_plain().unwrap_or_default()))
            }
            Item::Param(param) => found.params.push((param.name.name.to_string(), type_name(&param.ty))),
            Item::Secret(secret) => found.secrets.push(secret.name.name.to_string()),
            Item::Environment(environment) => {
                let name = environment.name.name.to_string();
                for entry in &environment.body.entries {
                    if let Entry::Block(block) = entry {
                        if block.name.name == "vars" {
                            for key in &block.body.entries {
                                found.env_vars.push((name.clone(), key.keyword().to_string()));
                            }
                        }
                    }
                }
                found.environments.push(name);
            }
            Item::Template(template) => {
                let params = template.params.iter().map(|p| p.name.name.to_string()).collect();
                found.templates.push((template.kind, template.name.name.to_string(), params));
            }
            Item::Node(node) => found.nodes.push((node.kind, node.name.name.to_string())),
            Item::Pipeline(_) => {}
        }
    }
    found
}

/// The first word of a type as written (`list` for `list<string>`).
fn type_name(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named(name) => name.clone(),
        TypeExprKind::List(_) => "list".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::FileId;

    #[test]
    fn reads_declarations_of_a_broken_file() {
        let text = "import \"std/http\" as http\nparam version: string = \"1\"\nenvironment prod {\n  hosts = [\"a\"]\n  vars { url = \"x=y\"  region = \"eu\" }\n}\nenvironment stg {\n  vars {\n    url = \"u\"\n  }\n}\nstage build {\n  needs = [\ntemplate stage t(a: string, b: int = 1) {}\ngate smoke {";
        let (module, errors) = crate::syntax::parse_tolerant(FileId(0), text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let found = declarations(&module);
        assert_eq!(found.imports, [("http".to_string(), "std/http".to_string())]);
        assert_eq!(found.params, [("version".to_string(), "string".to_string())]);
        assert_eq!(found.nodes, [(NodeKind::Stage, "build".to_string()), (NodeKind::Gate, "smoke".to_string())]);
        let keys: Vec<String> = found.env_vars.iter().map(|(e, k)| format!("{e}.{k}")).collect();
        assert_eq!(keys, ["prod.url", "prod.region", "stg.url"]);
        assert_eq!(found.templates[0].2, ["a", "b"]);
    }
}
