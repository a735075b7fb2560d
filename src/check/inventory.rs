//! Ansible-style INI inventories: `hosts = inventory("inventory.ini", "web")`.
//!
//! Understood: `[group]` sections of host lines (`name key=value ...`, with
//! `ansible_host`, `ansible_port` and `ansible_user`), numeric ranges
//! (`web-[01:20]`), `[group:children]` and `[group:vars]` (the same three
//! keys, for every host of the group). Other keys are ignored.

use std::collections::BTreeMap;

use super::ssh_settings::{parse_port, Destination};

/// One host of a group: its name in the plan and where SSH reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryHost {
    pub name: String,
    pub destination: Destination,
}

/// `key=value` pairs, in file order.
type Vars = Vec<(String, String)>;

#[derive(Default)]
struct Inventory {
    /// group → (host name, its own key=value pairs), in file order.
    hosts: BTreeMap<String, Vec<(String, Vars)>>,
    children: BTreeMap<String, Vec<String>>,
    vars: BTreeMap<String, Vec<(String, String)>>,
}

/// The hosts of `group` (and of its children), in file order, each once.
pub fn group_hosts(text: &str, group: &str) -> Result<Vec<InventoryHost>, String> {
    let inventory = parse(text)?;
    let known = |name: &str| {
        inventory.hosts.contains_key(name) || inventory.children.contains_key(name) || inventory.vars.contains_key(name)
    };
    if group != "all" && !known(group) {
        let groups: Vec<&String> = inventory.hosts.keys().chain(inventory.children.keys()).collect();
        let listed: Vec<&str> = groups.iter().map(|g| g.as_str()).collect();
        return Err(format!("the inventory has no group `{group}` (groups: {})", listed.join(", ")));
    }
    let mut out: Vec<InventoryHost> = Vec::new();
    let mut path = Vec::new();
    collect(&inventory, group, &mut path, &BTreeMap::new(), &mut out)?;
    Ok(out)
}

fn collect(
    inventory: &Inventory,
    group: &str,
    path: &mut Vec<String>,
    inherited: &BTreeMap<String, String>,
    out: &mut Vec<InventoryHost>,
) -> Result<(), String> {
    if path.iter().any(|seen| seen == group) {
        return Err(format!("group `{group}` contains itself through `:children`"));
    }
    path.push(group.to_string());
    let mut vars = inherited.clone();
    for (key, value) in inventory.vars.get(group).into_iter().flatten() {
        vars.insert(key.clone(), value.clone());
    }
    let groups: Vec<&String> = if group == "all" {
        inventory.hosts.keys().collect()
    } else {
        inventory.hosts.get_key_value(group).map(|(name, _)| name).into_iter().collect()
    };
    for name in groups {
        for (host, own) in &inventory.hosts[name] {
            if out.iter().any(|known| &known.name == host) {
                continue;
            }
            let mut merged = vars.clone();
            merged.extend(own.iter().cloned());
            out.push(InventoryHost { name: host.clone(), destination: destination(host, &merged)? });
        }
    }
    for child in inventory.children.get(group).into_iter().flatten() {
        collect(inventory, child, path, &vars, out)?;
    }
    path.pop();
    Ok(())
}

fn destination(name: &str, vars: &BTreeMap<String, String>) -> Result<Destination, String> {
    let address = vars.get("ansible_host").map(String::as_str).unwrap_or(name);
    let mut destination = Destination::parse(address).map_err(|problem| format!("host `{name}`: {problem}"))?;
    if let Some(user) = vars.get("ansible_user") {
        destination.user = Some(user.clone());
    }
    if let Some(port) = vars.get("ansible_port") {
        destination.port = Some(parse_port(port).map_err(|problem| format!("host `{name}`: {problem}"))?);
    }
    Ok(destination)
}

fn parse(text: &str) -> Result<Inventory, String> {
    let mut inventory = Inventory::default();
    let mut section = ("ungrouped".to_string(), Section::Hosts);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split_once(" #").map(|(before, _)| before).unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let number = index + 1;
        if let Some(header) = line.strip_prefix('[') {
            let Some(header) = header.strip_suffix(']') else {
                return Err(format!("line {number}: a section header must end with `]`"));
            };
            section = match header.split_once(':') {
                Some((group, "children")) => (group.to_string(), Section::Children),
                Some((group, "vars")) => (group.to_string(), Section::Vars),
                Some((_, other)) => return Err(format!("line {number}: unknown section kind `:{other}`")),
                None => (header.to_string(), Section::Hosts),
            };
            if section.1 == Section::Hosts {
                inventory.hosts.entry(section.0.clone()).or_default();
            }
            continue;
        }
        let group = section.0.clone();
        match section.1 {
            Section::Children => inventory.children.entry(group).or_default().push(line.to_string()),
            Section::Vars => {
                let pair = key_value(line).ok_or_else(|| format!("line {number}: expected `key=value`"))?;
                inventory.vars.entry(group).or_default().push(pair);
            }
            Section::Hosts => {
                let mut words = line.split_whitespace();
                let pattern = words.next().unwrap_or_default();
                let mut own = Vec::new();
                for word in words {
                    own.push(
                        key_value(word)
                            .ok_or_else(|| format!("line {number}: expected `key=value`, found `{word}`"))?,
                    );
                }
                for name in expand(pattern).map_err(|problem| format!("line {number}: {problem}"))? {
                    inventory.hosts.entry(group.clone()).or_default().push((name, own.clone()));
                }
            }
        }
    }
    Ok(inventory)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Children,
    Vars,
}

fn key_value(text: &str) -> Option<(String, String)> {
    let (key, value) = text.split_once('=')?;
    let value = value.trim().trim_matches('"').trim_matches('\'');
    Some((key.trim().to_string(), value.to_string()))
}

/// `web-[01:03]` → web-01, web-02, web-03 (the width of the first bound is kept).
fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some((before, rest)) = pattern.split_once('[') else { return Ok(vec![pattern.to_string()]) };
    let Some((range, after)) = rest.split_once(']') else {
        return Err(format!("`{pattern}` opens `[` without closing it"));
    };
    let Some((low, high)) = range.split_once(':') else {
        return Ok(vec![pattern.to_string()]);
    };
    let bad = || format!("`{pattern}`: a range is `[FIRST:LAST]` with numbers, FIRST <= LAST");
    let (first, last) = (low.parse::<u64>().map_err(|_| bad())?, high.parse::<u64>().map_err(|_| bad())?);
    if first > last || last - first > 100_000 {
        return Err(bad());
    }
    let width = if low.starts_with('0') { low.len() } else { 0 };
    let mut out = Vec::new();
    for number in first..=last {
        for tail in expand(after)? {
            out.push(format!("{before}{number:0width$}{tail}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVENTORY: &str = "\
# fleet
[web]
web-1 ansible_host=10.0.0.11 ansible_user=deploy
web-[02:03] ansible_port=2222

[db]
db-1

[web:vars]
ansible_user=ops

[prod:children]
web
db
";

    #[test]
    fn groups_children_and_vars() {
        let web = group_hosts(INVENTORY, "web").unwrap();
        let names: Vec<&str> = web.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["web-1", "web-02", "web-03"]);
        assert_eq!(web[0].destination.display(), "deploy@10.0.0.11");
        assert_eq!(web[1].destination.display(), "ops@web-02:2222");
        let prod = group_hosts(INVENTORY, "prod").unwrap();
        assert_eq!(prod.len(), 4);
        assert!(group_hosts(INVENTORY, "cache").unwrap_err().contains("no group `cache`"));
        assert!(group_hosts("[a:children]\na\n", "a").unwrap_err().contains("itself"));
        assert!(group_hosts("[a]\nx ansible_port=0\n", "a").is_err());
    }
}
