//! The INI inventory format, as Ansible's `ini` plugin reads it:
//! `[group]` sections of host lines (`name[:port] key=value ...`), hosts
//! before any section in `ungrouped`, `[group:children]`, `[group:vars]`.
//! Values on a host line are read as literals (`8080` a number, `True` a
//! boolean, quotes taken off); values under `:vars` are strings.

use serde_json::Value as Json;

use super::connection::split_words;
use super::{expand, split_host_port, Inventory, Var};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Children,
    Vars,
}

pub fn parse(text: &str) -> Result<Inventory, String> {
    let mut inventory = Inventory::default();
    let mut section = ("ungrouped".to_string(), Section::Hosts);
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.split_once(" #").map(|(before, _)| before).unwrap_or(header).trim_end();
            let Some(header) = header.strip_suffix(']') else {
                return Err(format!("line {number}: a section header must end with `]`"));
            };
            section = match header.split_once(':') {
                Some((group, "children")) => (group.to_string(), Section::Children),
                Some((group, "vars")) => (group.to_string(), Section::Vars),
                Some((_, other)) => return Err(format!("line {number}: unknown section kind `:{other}`")),
                None => (header.to_string(), Section::Hosts),
            };
            if section.0.is_empty() || section.0.chars().any(char::is_whitespace) {
                return Err(format!("line {number}: `[{header}]` does not name a group"));
            }
            inventory.group(&section.0);
            continue;
        }
        let words = split_words(line).map_err(|problem| format!("line {number}: {problem}"))?;
        let Some(first) = words.first() else { continue };
        let group = section.0.clone();
        match section.1 {
            Section::Children => {
                if words.len() > 1 {
                    return Err(format!("line {number}: a `:children` line names one group, found `{line}`"));
                }
                let children = &mut inventory.group(&group).children;
                if !children.contains(first) {
                    children.push(first.clone());
                }
            }
            Section::Vars => {
                let (key, value) = line
                    .split_once('=')
                    .map(|(key, value)| (key.trim(), value.trim()))
                    .filter(|(key, _)| !key.is_empty())
                    .ok_or_else(|| format!("line {number}: expected `key=value`, found `{line}`"))?;
                let value = unquote(value.split_once(" #").map(|(v, _)| v.trim_end()).unwrap_or(value));
                inventory.group(&group).vars.push((key.to_string(), Json::String(value)));
            }
            Section::Hosts => {
                let mut own: Vec<Var> = Vec::new();
                for word in &words[1..] {
                    let (key, value) = word
                        .split_once('=')
                        .filter(|(key, _)| !key.is_empty())
                        .ok_or_else(|| format!("line {number}: expected `key=value`, found `{word}`"))?;
                    own.push((key.to_string(), literal(value)));
                }
                let (pattern, port) = split_host_port(first);
                if let Some(port) = port {
                    own.insert(0, ("ansible_port".into(), literal(&port)));
                }
                for name in expand(&pattern).map_err(|problem| format!("line {number}: {problem}"))? {
                    inventory.add_host(&group, &name, own.clone());
                }
            }
        }
    }
    Ok(inventory)
}

/// A host-line value as Ansible reads it (Python literals): numbers,
/// `True`/`False`, quoted strings; anything else is the text itself.
fn literal(text: &str) -> Json {
    if let Ok(number) = text.parse::<i64>() {
        return Json::from(number);
    }
    if text.contains('.') {
        if let Some(number) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return Json::Number(number);
        }
    }
    match text {
        "True" => Json::Bool(true),
        "False" => Json::Bool(false),
        _ => Json::String(text.to_string()),
    }
}

fn unquote(text: &str) -> String {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return text[1..text.len() - 1].to_string();
        }
    }
    text.to_string()
}
