//! The names a file declares, read from its tree: the partial tree of a file
//! that does not parse (see [`crate::syntax::parse_tolerant`]) still holds
//! every item around the one being typed, and that one's kind and name.

use crate::syntax::ast::{Entry, Environment, Item, Module, NodeKind, TypeExpr, TypeExprKind, ValueKind};

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
    /// Environment and name of each `secrets { NAME = ... }`.
    pub env_secrets: Vec<(String, String)>,
    /// Node and template path (`db.migrate`, or `migrate` in this file) of each instance.
    pub instances: Vec<(String, Vec<String>)>,
    /// Node and environment of each `target = ENV`.
    pub targets: Vec<(String, String)>,
    /// The values hosts give themselves in `hosts = [{ name = ... KEY = ... }]`.
    pub host_values: Vec<HostValue>,
}

/// `KEY = ...` in the map of one host of an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostValue {
    pub environment: String,
    pub host: String,
    pub key: String,
}

impl Declarations {
    /// The environment node `node` targets.
    pub fn target_of(&self, node: &str) -> Option<&str> {
        self.targets.iter().find(|(n, _)| n == node).map(|(_, env)| env.as_str())
    }

    /// The keys `${host.KEY}` may name on the hosts of `environment`
    /// (every environment when `None`): `name`, `address`, each host's own.
    pub fn host_keys(&self, environment: Option<&str>) -> Vec<&str> {
        let mut keys = vec!["name", "address"];
        for value in &self.host_values {
            if environment.map_or(true, |e| e == value.environment) && !keys.contains(&value.key.as_str()) {
                keys.push(&value.key);
            }
        }
        keys
    }
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
            Item::Environment(environment) => environment_declarations(environment, &mut found),
            Item::Template(template) => {
                let params = template.params.iter().map(|p| p.name.name.to_string()).collect();
                found.templates.push((template.kind, template.name.name.to_string(), params));
            }
            Item::Node(node) => {
                let name = node.name.name.to_string();
                let target = node.body.entries.iter().find_map(|entry| match entry {
                    Entry::Attribute(a) if a.name.name == "target" => match &a.value.kind {
                        ValueKind::Path(path) => Some(path.dotted()),
                        _ => None,
                    },
                    _ => None,
                });
                if let Some(target) = target {
                    found.targets.push((name.clone(), target));
                }
                if let Some(from) = &node.from {
                    let path = from.segments.iter().map(|s| s.name.to_string()).collect();
                    found.instances.push((name.clone(), path));
                }
                found.nodes.push((node.kind, name));
            }
            Item::Pipeline(_) => {}
        }
    }
    found
}

fn environment_declarations(environment: &Environment, found: &mut Declarations) {
    let name = environment.name.name.to_string();
    for entry in &environment.body.entries {
        match entry {
            Entry::Block(block) if block.name.name == "vars" => {
                for key in &block.body.entries {
                    found.env_vars.push((name.clone(), key.keyword().to_string()));
                }
            }
            Entry::Block(block) if block.name.name == "secrets" => {
                for key in &block.body.entries {
                    found.env_secrets.push((name.clone(), key.keyword().to_string()));
                }
            }
            Entry::Attribute(hosts) if hosts.name.name == "hosts" => {
                let ValueKind::List(hosts) = &hosts.value.kind else { continue };
                for host in hosts {
                    let ValueKind::Map(values) = &host.kind else { continue };
                    let host_name = values
                        .iter()
                        .find(|a| a.name.name == "name")
                        .and_then(|a| match &a.value.kind {
                            ValueKind::String(s) => s.as_plain(),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for value in values.iter().filter(|a| a.name.name != "name" && a.name.name != "address") {
                        found.host_values.push(HostValue {
                            environment: name.clone(),
                            host: host_name.clone(),
                            key: value.name.name.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    found.environments.push(name);
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
        // The gate's block, and the `needs` list of the stage before the template.
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["this block is not closed", "missing `]`"], "{errors:?}");
        let found = declarations(&module);
        assert_eq!(found.imports, [("http".to_string(), "std/http".to_string())]);
        assert_eq!(found.params, [("version".to_string(), "string".to_string())]);
        assert_eq!(found.nodes, [(NodeKind::Stage, "build".to_string()), (NodeKind::Gate, "smoke".to_string())]);
        let keys: Vec<String> = found.env_vars.iter().map(|(e, k)| format!("{e}.{k}")).collect();
        assert_eq!(keys, ["prod.url", "prod.region", "stg.url"]);
        assert_eq!(found.templates[0].2, ["a", "b"]);
    }

    #[test]
    fn reads_host_values_and_environment_secrets() {
        let text = "environment prod {\n  hosts = [\"a\", { name = \"b\"  address = \"10.0.0.2\"  weight = 3  zone = \"eu\" }]\n  secrets { db = file(\"db.txt\") }\n}\nenvironment stg {\n  hosts = [{ name = \"c\"  rack = 1 }]\n}\n";
        let (module, errors) = crate::syntax::parse_tolerant(FileId(0), text);
        assert!(errors.is_empty(), "{errors:?}");
        let found = declarations(&module);
        assert_eq!(found.env_secrets, [("prod".to_string(), "db".to_string())]);
        let keys: Vec<String> =
            found.host_values.iter().map(|v| format!("{}.{}.{}", v.environment, v.host, v.key)).collect();
        assert_eq!(keys, ["prod.b.weight", "prod.b.zone", "stg.c.rack"]);
        assert_eq!(found.host_keys(Some("prod")), ["name", "address", "weight", "zone"]);
        assert_eq!(found.host_keys(None), ["name", "address", "weight", "zone", "rack"]);
    }
}
