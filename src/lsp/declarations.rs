//! The names a file declares, read line by line from its text. Completion
//! needs them while the file is being typed and does not parse; a
//! declaration starts its line (`stage build {`, `param version: string`).

use crate::syntax::ast::NodeKind;

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

fn words(line: &str) -> Vec<&str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect()
}

fn node_kind(word: &str) -> Option<NodeKind> {
    match word {
        "stage" => Some(NodeKind::Stage),
        "gate" => Some(NodeKind::Gate),
        _ => None,
    }
}

pub fn declarations(text: &str) -> Declarations {
    let mut found = Declarations::default();
    let mut in_fence = false;
    let mut environment: Option<String> = None;
    let mut in_vars = false;
    for line in text.lines() {
        let fences = line.matches("```").count();
        let was_in_fence = in_fence;
        if fences % 2 == 1 {
            in_fence = !in_fence;
        }
        if was_in_fence {
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let line_words = words(trimmed);
        match line_words.as_slice() {
            ["import", .., "as", alias] => {
                let path = trimmed.split('"').nth(1).unwrap_or_default();
                found.imports.push((alias.to_string(), path.to_string()));
            }
            ["param", name, ty, ..] => found.params.push((name.to_string(), ty.to_string())),
            ["secret", name, ..] => found.secrets.push(name.to_string()),
            ["environment", name, ..] => {
                found.environments.push(name.to_string());
                environment = Some(name.to_string());
            }
            ["template", kind, name, ..] => {
                if let Some(kind) = node_kind(kind) {
                    let inside = trimmed.split_once('(').map(|(_, rest)| rest).unwrap_or_default();
                    let inside = inside.split(')').next().unwrap_or_default();
                    let params = inside
                        .split(',')
                        .filter_map(|param| param.split(':').next())
                        .map(|name| name.trim().to_string())
                        .filter(|name| !name.is_empty())
                        .collect();
                    found.templates.push((kind, name.to_string(), params));
                }
            }
            [kind, name, ..] if node_kind(kind).is_some() && !line.starts_with([' ', '\t']) => {
                if let Some(kind) = node_kind(kind) {
                    found.nodes.push((kind, name.to_string()));
                }
            }
            _ => {}
        }
        if !line.starts_with([' ', '\t', '}']) && !trimmed.is_empty() && !trimmed.starts_with("environment") {
            environment = None;
        }
        // vars { KEY = ... } on one line, or over the lines up to `}`.
        if let (Some(env), Some(rest)) = (&environment, trimmed.strip_prefix("vars")) {
            if let Some(body) = rest.trim_start().strip_prefix('{') {
                in_vars = !body.contains('}');
                collect_keys(env, body.split('}').next().unwrap_or_default(), &mut found.env_vars);
                continue;
            }
        }
        if in_vars {
            if let Some(env) = &environment {
                let body = trimmed.split('}').next().unwrap_or_default();
                collect_keys(env, body, &mut found.env_vars);
            }
            if trimmed.contains('}') {
                in_vars = false;
            }
        }
    }
    found
}

/// `KEY = value` pairs in `body`: the words before each `=` outside strings.
fn collect_keys(environment: &str, body: &str, keys: &mut Vec<(String, String)>) {
    let mut outside = String::new();
    for (index, part) in body.split('"').enumerate() {
        if index % 2 == 0 {
            outside.push_str(part);
            outside.push(' ');
        }
    }
    for chunk in outside.split('=').collect::<Vec<_>>().iter().rev().skip(1).rev() {
        if let Some(key) = words(chunk).last() {
            keys.push((environment.to_string(), key.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_declarations_of_a_broken_file() {
        let text = "import \"std/http\" as http\nparam version: string = \"1\"\nenvironment prod {\n  hosts = [\"a\"]\n  vars { url = \"x=y\"  region = \"eu\" }\n}\nenvironment stg {\n  vars {\n    url = \"u\"\n  }\n}\nstage build {\n  needs = [\ntemplate stage t(a: string, b: int = 1) {}\ngate smoke {";
        let found = declarations(text);
        assert_eq!(found.imports, [("http".to_string(), "std/http".to_string())]);
        assert_eq!(found.params, [("version".to_string(), "string".to_string())]);
        assert_eq!(found.nodes, [(NodeKind::Stage, "build".to_string()), (NodeKind::Gate, "smoke".to_string())]);
        let keys: Vec<String> = found.env_vars.iter().map(|(e, k)| format!("{e}.{k}")).collect();
        assert_eq!(keys, ["prod.url", "prod.region", "stg.url"]);
        assert_eq!(found.templates[0].2, ["a", "b"]);
    }
}
