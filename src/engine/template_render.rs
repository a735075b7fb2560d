//! A `template "x.j2" to "..."` step on one host: the values the template
//! sees, and the rendered file written to a private temporary directory,
//! from where it is uploaded like any `upload` (atomically, mode kept).
//!
//! What a template sees: the params; `version`, `previous_version`,
//! `stage`, `attempt`, `pipeline`, `commit`; `host` (`host.name`,
//! `host.address` and every value of the host: its map in `hosts`, or its
//! inventory variables); `env` (`env.name` and the environment's vars);
//! and, as in Ansible, each host value also at the top level
//! (`{{ http_port }}`), where a param of the same name wins.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::interpolate::ValuesInScope;
use crate::check::model::Value;

fn to_json(value: &Value) -> Json {
    match value {
        Value::String(text) => Json::String(text.clone()),
        Value::Int(number) => Json::from(*number),
        Value::Bool(flag) => Json::Bool(*flag),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        other => Json::String(other.to_text()),
    }
}

/// The template's variables for the host of `scope`.
pub fn context(scope: &ValuesInScope<'_>) -> Map<String, Json> {
    let mut out = Map::new();
    let path = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let mut host = Map::new();
    if let Some(environment) = scope.environment {
        let mut keys: Vec<String> = vec!["name".into(), "address".into()];
        keys.extend(environment.vars.iter().map(|(key, _)| key.clone()));
        if let Some(def) = scope.host.and_then(|name| environment.host(name)) {
            keys.extend(def.vars.iter().map(|(key, _)| key.clone()));
        }
        for key in keys {
            if let Some(value) = scope.lookup(&path(&["host", &key])) {
                host.insert(key, to_json(&value));
            }
        }
        let mut env = Map::new();
        env.insert("name".into(), Json::String(environment.name.clone()));
        for (key, _) in &environment.vars {
            if let Some(value) = scope.lookup(&path(&["env", key])) {
                env.insert(key.clone(), to_json(&value));
            }
        }
        out.insert("env".into(), Json::Object(env));
    }
    for (key, value) in &host {
        if key != "name" && key != "address" {
            out.insert(key.clone(), value.clone());
        }
    }
    for word in ["version", "previous_version", "stage", "attempt", "pipeline", "commit"] {
        if let Some(value) = scope.lookup(&path(&[word])) {
            out.insert(word.into(), to_json(&value));
        }
    }
    for (name, value) in &scope.inputs.params {
        out.insert(name.clone(), to_json(value));
    }
    if let Some(name) = scope.host {
        // Ansible's name for the host, which its templates use.
        out.insert("inventory_hostname".into(), Json::String(name.to_string()));
        out.insert("host".into(), Json::Object(host));
    }
    out
}

/// Renders the template file `source` (relative to `cwd`) into `dir`,
/// under its name without `.j2`, with the source's mode; the path written.
pub fn render_to(source: &Path, cwd: &Path, context: &Map<String, Json>, dir: &Path) -> Result<PathBuf, String> {
    let path = cwd.join(source);
    let name = source.display().to_string();
    let text = crate::check::loader::read_to_string_limited(&path)
        .map_err(|error| format!("cannot read template {}: {error}", path.display()))?;
    let rendered = crate::check::jinja::render(&name, &text, context)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "template".into());
    let file_name = file_name.strip_suffix(".j2").filter(|n| !n.is_empty()).unwrap_or(&file_name).to_string();
    let out = dir.join(file_name);
    std::fs::write(&out, rendered).map_err(|error| format!("cannot write the rendered {name}: {error}"))?;
    if let Ok(meta) = std::fs::metadata(&path) {
        let _ = std::fs::set_permissions(&out, meta.permissions());
    }
    Ok(out)
}
