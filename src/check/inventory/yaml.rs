//! YAML inventories and variable files, as Ansible's `yaml` plugin reads
//! them:
//!
//! ```yaml
//! all:
//!   vars: { ntp: time.example.net }
//!   children:
//!     web:
//!       hosts:
//!         web-1: { ansible_host: 10.0.0.11, role: primary }
//!         web-[2:3]:
//!       vars: { http_port: 8080 }
//! ```

use serde_json::Value as Json;
use yaml_rust2::{Yaml, YamlLoader};

use super::{expand, split_host_port, Inventory, Var};

/// The first document of `text`, or why it does not parse.
fn load(text: &str) -> Result<Yaml, String> {
    let documents = YamlLoader::load_from_str(text).map_err(|error| {
        format!("line {} column {}: {}", error.marker().line(), error.marker().col() + 1, error.info())
    })?;
    Ok(documents.into_iter().next().unwrap_or(Yaml::Null))
}

pub fn parse(text: &str) -> Result<Inventory, String> {
    let mut inventory = Inventory::default();
    match load(text)? {
        Yaml::Hash(groups) => {
            for (name, body) in groups {
                let name = key_text(&name)?;
                read_group(&mut inventory, &name, &body, 0)?;
            }
        }
        Yaml::Null => {}
        other => return Err(format!("a YAML inventory is a map of groups, found {}", describe(&other))),
    }
    Ok(inventory)
}

fn read_group(inventory: &mut Inventory, name: &str, body: &Yaml, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err(format!("group `{name}` is nested too deeply"));
    }
    inventory.group(name);
    let entries = match body {
        Yaml::Hash(entries) => entries,
        Yaml::Null => return Ok(()),
        other => return Err(format!("group `{name}` is a map of hosts, vars and children, found {}", describe(other))),
    };
    for (key, value) in entries {
        match key_text(key)?.as_str() {
            "hosts" => match value {
                Yaml::Hash(hosts) => {
                    for (host, vars) in hosts {
                        let mut own = mapping(vars, &format!("host `{}`", key_text(host)?))?;
                        let (pattern, port) = split_host_port(&key_text(host)?);
                        if let Some(port) = port {
                            own.insert(0, ("ansible_port".into(), Json::String(port)));
                        }
                        for host in expand(&pattern)? {
                            inventory.add_host(name, &host, own.clone());
                        }
                    }
                }
                Yaml::Null => {}
                other => return Err(format!("`hosts` of group `{name}` is a map, found {}", describe(other))),
            },
            "vars" => {
                let vars = mapping(value, &format!("`vars` of group `{name}`"))?;
                inventory.group(name).vars.extend(vars);
            }
            "children" => match value {
                Yaml::Hash(children) => {
                    for (child, body) in children {
                        let child = key_text(child)?;
                        let own = &mut inventory.group(name).children;
                        if !own.contains(&child) {
                            own.push(child.clone());
                        }
                        read_group(inventory, &child, body, depth + 1)?;
                    }
                }
                Yaml::Null => {}
                other => return Err(format!("`children` of group `{name}` is a map, found {}", describe(other))),
            },
            other => return Err(format!("group `{name}` has `{other}`: a group holds `hosts`, `vars` and `children`")),
        }
    }
    Ok(())
}

/// A variables file (`group_vars/web.yml`): a map of variables.
pub fn vars_file(text: &str) -> Result<Vec<Var>, String> {
    mapping(&load(text)?, "the file")
}

fn mapping(value: &Yaml, what: &str) -> Result<Vec<Var>, String> {
    match value {
        Yaml::Hash(entries) => entries.iter().map(|(k, v)| Ok((key_text(k)?, to_json(v)?))).collect(),
        Yaml::Null => Ok(Vec::new()),
        other => Err(format!("{what} is a map of variables, found {}", describe(other))),
    }
}

fn key_text(key: &Yaml) -> Result<String, String> {
    match key {
        Yaml::String(text) | Yaml::Real(text) => Ok(text.clone()),
        Yaml::Integer(number) => Ok(number.to_string()),
        Yaml::Boolean(flag) => Ok(flag.to_string()),
        other => Err(format!("a key is a name, found {}", describe(other))),
    }
}

fn to_json(value: &Yaml) -> Result<Json, String> {
    Ok(match value {
        Yaml::String(text) => Json::String(text.clone()),
        Yaml::Integer(number) => Json::from(*number),
        Yaml::Real(text) => {
            text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Json::Number).unwrap_or(Json::Null)
        }
        Yaml::Boolean(flag) => Json::Bool(*flag),
        Yaml::Array(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(entries) => {
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                map.insert(key_text(key)?, to_json(value)?);
            }
            Json::Object(map)
        }
        Yaml::Null => Json::Null,
        Yaml::Alias(_) | Yaml::BadValue => return Err("an alias or value that cannot be read".into()),
    })
}

fn describe(value: &Yaml) -> &'static str {
    match value {
        Yaml::String(_) | Yaml::Real(_) | Yaml::Integer(_) | Yaml::Boolean(_) => "a single value",
        Yaml::Array(_) => "a list",
        Yaml::Hash(_) => "a map",
        Yaml::Null => "nothing",
        Yaml::Alias(_) | Yaml::BadValue => "an alias",
    }
}
