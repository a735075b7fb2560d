//! The entries of an environment's `hosts` list: a host name
//! (`"web-1"`), or a map with the host's own values
//! (`{ name = "web-2"  address = "10.0.0.2"  weight = 3 }`), reachable as
//! `${host.KEY}` in the stages that run on it.

use super::model::{Expr, HostDef, Location, Value};
use super::values::infer_type;
use super::values::Typer;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{self, ValueKind};

/// The keys every host has: `${host.name}` and `${host.address}` (the name
/// when no address is given).
pub const HOST_KEYS: &[&str] = &["name", "address"];

/// Lowers `hosts = [...]`; `None` after reporting that it is not a list.
pub fn lower_hosts(typer: &mut Typer, environment: &str, value: &ast::Value) -> Option<Vec<HostDef>> {
    let ValueKind::List(items) = &value.kind else {
        typer.diagnostics.push(
            Diagnostic::new(Code::TypeMismatch, format!("expected a list of hosts, found {}", value.kind.describe()))
                .at(typer.file, value.span, "not a list")
                .with_help("write hosts = [\"web-1\", { name = \"web-2\"  address = \"10.0.0.2\" }]"),
        );
        return None;
    };
    if items.is_empty() {
        typer.diagnostics.push(
            Diagnostic::new(Code::InvalidValue, format!("environment `{environment}` has no hosts"))
                .at(typer.file, value.span, "empty list")
                .with_help("list at least one host, for example hosts = [\"localhost\"]"),
        );
    }
    let mut hosts: Vec<HostDef> = Vec::new();
    // The names listed so far: a list of 100,000 hosts is checked for
    // repeats in linear time.
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let Some(host) = lower_host(typer, item) else { continue };
        if host.name.trim().is_empty() || !names.insert(host.name.clone()) {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidValue, format!("host `{}` is empty or listed twice", host.name)).at(
                    typer.file,
                    item.span,
                    "in this list",
                ),
            );
            continue;
        }
        hosts.push(host);
    }
    Some(hosts)
}

fn lower_host(typer: &mut Typer, item: &ast::Value) -> Option<HostDef> {
    let location = Location { file: typer.file, span: item.span };
    match &item.kind {
        ValueKind::String(_) | ValueKind::Path(_) | ValueKind::Call { .. } => {
            let Value::String(name) = typer.constant(item, &super::model::Type::String)? else { return None };
            Some(HostDef { name, address: None, vars: Vec::new(), location })
        }
        ValueKind::Map(entries) => lower_host_map(typer, item, entries, location),
        other => {
            typer.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, format!("a host is a name or a map, found {}", other.describe()))
                    .at(typer.file, item.span, "not a host")
                    .with_help("write \"web-1\" or { name = \"web-1\"  address = \"10.0.0.1\"  weight = 3 }"),
            );
            None
        }
    }
}

fn lower_host_map(
    typer: &mut Typer,
    item: &ast::Value,
    entries: &[ast::Attribute],
    location: Location,
) -> Option<HostDef> {
    let mut name = None;
    let mut address = None;
    let mut vars: Vec<(String, Expr)> = Vec::new();
    for entry in entries {
        let key = entry.name.name.as_str();
        if vars.iter().any(|(k, _)| k == key) || (key == "name" && name.is_some()) {
            typer.diagnostics.push(
                Diagnostic::new(Code::DuplicateAttribute, format!("`{key}` is given twice for one host")).at(
                    typer.file,
                    entry.name.span,
                    "given again here",
                ),
            );
            continue;
        }
        match key {
            "name" | "address" => {
                let Some(Value::String(text)) = typer.constant(&entry.value, &super::model::Type::String) else {
                    continue;
                };
                if key == "name" {
                    name = Some(text);
                } else {
                    address = Some(text);
                }
            }
            _ => {
                if let Some(expr) = typer.expr(&entry.value, &infer_type(&entry.value)) {
                    vars.push((key.to_string(), expr));
                }
            }
        }
    }
    let Some(name) = name else {
        typer.diagnostics.push(
            Diagnostic::new(Code::MissingValue, "a host given as a map needs a `name`")
                .at(typer.file, item.span, "no name")
                .with_help("write { name = \"web-2\"  address = \"10.0.0.2\" }"),
        );
        return None;
    };
    Some(HostDef { name, address, vars, location })
}

/// An inventory host's variables as host values (`${host.role}`): strings,
/// numbers, booleans and lists as such; a map as its JSON text; `name` and
/// `address` stay the host's own.
pub fn inventory_vars(vars: &std::collections::BTreeMap<String, serde_json::Value>) -> Vec<(String, Expr)> {
    vars.iter()
        .filter(|(key, _)| !HOST_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), Expr::Literal(inventory_value(value))))
        .collect()
}

fn inventory_value(value: &serde_json::Value) -> Value {
    use serde_json::Value as Json;
    match value {
        Json::String(text) => Value::String(text.clone()),
        Json::Bool(flag) => Value::Bool(*flag),
        Json::Number(number) => match number.as_i64() {
            Some(whole) => Value::Int(whole),
            None => Value::String(number.to_string()),
        },
        Json::Null => Value::String(String::new()),
        Json::Array(items) => Value::List(items.iter().map(inventory_value).collect()),
        Json::Object(_) => Value::String(value.to_string()),
    }
}

/// Checks a use of `${host.KEY}` against the hosts of the environment the
/// node runs in: every host must have the key, or the environment a var of
/// that name (a host's value overrides the environment's).
pub fn check_host_key(environment: &super::model::EnvironmentDef, key: &str, at: Location) -> Option<Diagnostic> {
    if HOST_KEYS.contains(&key) || environment.vars.iter().any(|(name, _)| name == key) {
        return None;
    }
    let missing: Vec<&str> = environment
        .host_defs
        .iter()
        .filter(|h| !h.vars.iter().any(|(k, _)| k == key))
        .map(|h| h.name.as_str())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut candidates: Vec<String> = HOST_KEYS.iter().map(|k| format!("host.{k}")).collect();
    for host in &environment.host_defs {
        candidates.extend(host.vars.iter().map(|(k, _)| format!("host.{k}")));
    }
    candidates.extend(environment.vars.iter().map(|(k, _)| format!("host.{k}")));
    candidates.sort();
    candidates.dedup();
    let dotted = format!("host.{key}");
    let why = if missing.len() == environment.host_defs.len() {
        format!("no host of environment `{}` has a `{key}`, nor does its `vars`", environment.name)
    } else {
        format!("host(s) {} of environment `{}` have no `{key}`", missing.join(", "), environment.name)
    };
    let mut diagnostic = Diagnostic::new(Code::UnknownName, format!("unknown name `{dotted}`: {why}")).at(
        at.file,
        at.span,
        "not defined here",
    );
    diagnostic = match did_you_mean(&dotted, candidates.iter().map(String::as_str)) {
        Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
        None => diagnostic.with_help(format!(
            "give every host a `{key}` ({{ name = \"web-1\"  {key} = ... }}) or the environment a var `{key}`; names here: {}",
            candidates.join(", ")
        )),
    };
    Some(diagnostic)
}
