//! Ansible inventories: `hosts = inventory("inventory.ini", "web")`.
//!
//! Read as Ansible reads them: an INI file (ini.rs) or a YAML one (yaml.rs),
//! with host variables, `[group:vars]`, `[group:children]`, ranges
//! (`web-[01:20]`), `host:port`, the implicit groups `all` and `ungrouped`,
//! and `group_vars/GROUP.yml` / `host_vars/HOST.yml` beside the inventory
//! (vars_files.rs). A host's variables are merged with Ansible's precedence
//! (see [`Inventory::host_vars`]); the connection variables (`ansible_host`,
//! `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`,
//! `ansible_ssh_common_args`) make the host's SSH destination.

mod connection;
mod ini;
mod vars_files;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use connection::IGNORED_NOTE;
use serde_json::Value as Json;

use super::ssh_settings::Destination;

/// One variable: its name and value (YAML or INI, as JSON).
pub type Var = (String, Json);

/// One host of a group, resolved: its name in the plan, where SSH reaches
/// it, and every variable it has after precedence.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryHost {
    pub name: String,
    pub destination: Destination,
    /// `ansible_host`, when set: what `${host.address}` is.
    pub address: Option<String>,
    /// Every variable of the host (connection variables too), by name.
    pub vars: BTreeMap<String, Json>,
}

/// What reading a group gave: its hosts and the `ansible_*` variables that
/// deploy does not use (each with a host that has it).
#[derive(Debug, Default)]
pub struct GroupRead {
    pub hosts: Vec<InventoryHost>,
    pub ignored: Vec<(String, String)>,
    /// Every group of the inventory (but `all`) with those of `hosts` it holds.
    pub groups: Vec<(String, Vec<String>)>,
}

/// A group as written: its own hosts, child groups and variables, in order.
#[derive(Clone, Debug, Default)]
pub struct Group {
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub vars: Vec<Var>,
}

/// A parsed inventory, before variables are merged.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Every host, in the order it first appears.
    pub hosts: Vec<String>,
    /// The variables written on a host's own line(s), later ones winning.
    pub host_vars: BTreeMap<String, Vec<Var>>,
    /// Every group by name (`all` and `ungrouped` included once resolved).
    pub groups: BTreeMap<String, Group>,
    /// Group names in the order they first appear.
    pub group_order: Vec<String>,
}

impl Inventory {
    /// The group `name`, created (in order) when new.
    pub fn group(&mut self, name: &str) -> &mut Group {
        if !self.groups.contains_key(name) {
            self.group_order.push(name.to_string());
        }
        self.groups.entry(name.to_string()).or_default()
    }

    /// Adds `host` to `group` (once), with its own variables.
    pub fn add_host(&mut self, group: &str, host: &str, vars: Vec<Var>) {
        if !self.hosts.iter().any(|known| known == host) {
            self.hosts.push(host.to_string());
        }
        self.host_vars.entry(host.to_string()).or_default().extend(vars);
        let group = self.group(group);
        if !group.hosts.iter().any(|known| known == host) {
            group.hosts.push(host.to_string());
        }
    }

    /// Makes the implicit groups: `all` holds every group without a parent,
    /// `ungrouped` every host in no group but `all`.
    fn finish(&mut self) -> Result<(), String> {
        for name in self.group_order.clone() {
            let children = self.groups.get(&name).map(|g| g.children.clone()).unwrap_or_default();
            for child in children {
                if !self.groups.contains_key(&child) {
                    self.group(&child);
                }
            }
        }
        let grouped: Vec<String> = self
            .groups
            .iter()
            .filter(|(name, _)| name.as_str() != "all" && name.as_str() != "ungrouped")
            .flat_map(|(_, group)| group.hosts.iter().cloned())
            .collect();
        let loose: Vec<String> = self.hosts.iter().filter(|h| !grouped.contains(h)).cloned().collect();
        for host in loose {
            if !self.groups.get("ungrouped").is_some_and(|g| g.hosts.contains(&host)) {
                self.group("ungrouped").hosts.push(host);
            }
        }
        // `all` holds every host anyway; the hosts written under it went to `ungrouped`.
        if let Some(all) = self.groups.get_mut("all") {
            all.hosts.clear();
        }
        let with_parent: Vec<String> = self.groups.values().flat_map(|g| g.children.iter().cloned()).collect();
        let tops: Vec<String> = self
            .group_order
            .iter()
            .filter(|name| name.as_str() != "all" && !with_parent.contains(name))
            .cloned()
            .collect();
        let all = self.group("all");
        for top in tops {
            if !all.children.contains(&top) {
                all.children.push(top);
            }
        }
        // A cycle through `:children` would make the depth endless.
        for name in self.group_order.clone() {
            self.depth(&name, &mut Vec::new())?;
        }
        Ok(())
    }

    /// Ansible's group depth: `all` is 0, its children 1, theirs 2, ...
    fn depth(&self, group: &str, path: &mut Vec<String>) -> Result<usize, String> {
        if group == "all" {
            return Ok(0);
        }
        if path.iter().any(|seen| seen == group) {
            return Err(format!("group `{group}` contains itself through `:children`"));
        }
        path.push(group.to_string());
        let mut depth = 0;
        for (name, parent) in &self.groups {
            if parent.children.iter().any(|child| child == group) {
                depth = depth.max(self.depth(name, path)? + 1);
            }
        }
        path.pop();
        Ok(depth.max(1))
    }

    /// The hosts of `group` and of its descendants, in Ansible's order
    /// (`all`: every host in file order), each once.
    pub fn hosts_of(&self, group: &str) -> Vec<String> {
        if group == "all" {
            return self.hosts.clone();
        }
        let mut out: Vec<String> = Vec::new();
        let mut seen_groups = Vec::new();
        self.collect_hosts(group, &mut seen_groups, &mut out);
        out
    }

    fn collect_hosts(&self, group: &str, seen: &mut Vec<String>, out: &mut Vec<String>) {
        if seen.iter().any(|g| g == group) {
            return;
        }
        seen.push(group.to_string());
        let Some(found) = self.groups.get(group) else { return };
        for host in &found.hosts {
            if !out.contains(host) {
                out.push(host.clone());
            }
        }
        for child in &found.children {
            self.collect_hosts(child, seen, out);
        }
    }

    /// The groups `host` is in, directly or through a parent, `all` included.
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        let mut out: Vec<String> = vec!["all".to_string()];
        let mut queue: Vec<String> =
            self.groups.iter().filter(|(_, g)| g.hosts.iter().any(|h| h == host)).map(|(n, _)| n.clone()).collect();
        while let Some(group) = queue.pop() {
            if out.contains(&group) {
                continue;
            }
            for (name, parent) in &self.groups {
                if parent.children.contains(&group) {
                    queue.push(name.clone());
                }
            }
            out.push(group);
        }
        out
    }

    /// Every group name that exists.
    pub fn group_names(&self) -> Vec<String> {
        let mut names = vec!["all".to_string()];
        names.extend(self.group_order.iter().filter(|n| n.as_str() != "all").cloned());
        if !names.iter().any(|n| n == "ungrouped") && self.groups.contains_key("ungrouped") {
            names.push("ungrouped".into());
        }
        names
    }

    /// The host's variables, merged as Ansible does, lowest first:
    /// the inventory's `all` vars; the inventory vars of the host's other
    /// groups (sorted by depth, `ansible_group_priority`, name: a child
    /// group after its parents); `group_vars/all`; `group_vars/GROUP` in
    /// the same order; the host's own inventory vars; `host_vars/HOST`.
    pub fn host_vars(&self, host: &str, files: &vars_files::VarsFiles) -> Result<BTreeMap<String, Json>, String> {
        let mut groups: Vec<(usize, i64, String)> = Vec::new();
        for name in self.groups_of(host) {
            if name == "all" {
                continue;
            }
            let priority = self
                .groups
                .get(&name)
                .and_then(|g| g.vars.iter().rev().find(|(k, _)| k == "ansible_group_priority"))
                .and_then(|(_, v)| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
                .unwrap_or(1);
            groups.push((self.depth(&name, &mut Vec::new())?, priority, name));
        }
        groups.sort();
        let mut merged = BTreeMap::new();
        let mut apply = |vars: &[Var]| {
            for (key, value) in vars {
                merged.insert(key.clone(), value.clone());
            }
        };
        if let Some(all) = self.groups.get("all") {
            apply(&all.vars);
        }
        for (_, _, name) in &groups {
            if let Some(group) = self.groups.get(name) {
                apply(&group.vars);
            }
        }
        apply(&files.group("all")?);
        for (_, _, name) in &groups {
            apply(&files.group(name)?);
        }
        if let Some(own) = self.host_vars.get(host) {
            apply(own);
        }
        apply(&files.host(host)?);
        Ok(merged)
    }
}

/// Parses an inventory file's text: YAML when the file says so (by its
/// extension, or a first line that is `---` or `all:`), else INI.
pub fn parse(path: &Path, text: &str) -> Result<Inventory, String> {
    let mut inventory = if is_yaml(path, text) { yaml::parse(text)? } else { ini::parse(text)? };
    inventory.finish()?;
    Ok(inventory)
}

fn is_yaml(path: &Path, text: &str) -> bool {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    if matches!(extension, "yml" | "yaml" | "json") {
        return true;
    }
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or_default();
    first == "---" || first == "all:" || first.starts_with('{')
}

/// Reads `group` of the inventory at `path` (`text` is its content):
/// its hosts with their variables and destinations. `base_dir` resolves a
/// relative `ansible_ssh_private_key_file`.
pub fn read_group(path: &Path, text: &str, group: &str, base_dir: &Path) -> Result<GroupRead, String> {
    let inventory = parse(path, text)?;
    if !inventory.group_names().iter().any(|name| name == group) {
        return Err(format!("the inventory has no group `{group}` (groups: {})", inventory.group_names().join(", ")));
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let files = vars_files::VarsFiles::new(&dir);
    let mut read = GroupRead::default();
    for name in inventory.hosts_of(group) {
        let vars = inventory.host_vars(&name, &files)?;
        let (destination, address, ignored) = connection::destination(&name, &vars, base_dir)?;
        for key in ignored {
            if !read.ignored.iter().any(|(known, _)| *known == key) {
                read.ignored.push((key, name.clone()));
            }
        }
        read.hosts.push(InventoryHost { name, destination, address, vars });
    }
    for name in inventory.group_names().into_iter().filter(|name| name != "all") {
        let within: Vec<String> =
            inventory.hosts_of(&name).into_iter().filter(|host| read.hosts.iter().any(|h| &h.name == host)).collect();
        if !within.is_empty() {
            read.groups.push((name, within));
        }
    }
    Ok(read)
}

/// The hosts of `group`, resolved (the unit tests read inventories so).
#[cfg(test)]
pub fn group_hosts(text: &str, group: &str) -> Result<Vec<InventoryHost>, String> {
    Ok(read_group(Path::new("inventory.ini"), text, group, Path::new("."))?.hosts)
}

/// `web-[01:03]` → web-01, web-02, web-03 (the width of the first bound is
/// kept); `[a:c]` letters too; an optional `:STEP` as Ansible allows.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some((before, rest)) = pattern.split_once('[') else { return Ok(vec![pattern.to_string()]) };
    let Some((range, after)) = rest.split_once(']') else {
        return Err(format!("`{pattern}` opens `[` without closing it"));
    };
    let mut parts = range.split(':');
    let (Some(low), Some(high)) = (parts.next(), parts.next()) else {
        return Ok(vec![pattern.to_string()]);
    };
    let step = parts.next();
    let bad = || format!("`{pattern}`: a range is `[FIRST:LAST]` (or `[FIRST:LAST:STEP]`) with FIRST <= LAST");
    let step: u64 = match step {
        Some(step) => step.parse().ok().filter(|s| *s > 0).ok_or_else(bad)?,
        None => 1,
    };
    let tails = expand(after)?;
    let mut out = Vec::new();
    if let (Some(first), Some(last)) = (single_letter(low), single_letter(high)) {
        if first > last {
            return Err(bad());
        }
        for letter in (first..=last).step_by(step as usize) {
            for tail in &tails {
                out.push(format!("{before}{letter}{tail}"));
            }
        }
        return Ok(out);
    }
    let (first, last) = (low.parse::<u64>().map_err(|_| bad())?, high.parse::<u64>().map_err(|_| bad())?);
    if first > last || last - first > 100_000 {
        return Err(bad());
    }
    let width = if low.starts_with('0') { low.len() } else { 0 };
    for number in (first..=last).step_by(step as usize) {
        for tail in &tails {
            out.push(format!("{before}{number:0width$}{tail}"));
        }
    }
    Ok(out)
}

fn single_letter(text: &str) -> Option<char> {
    let mut chars = text.chars();
    let letter = chars.next().filter(char::is_ascii_alphabetic)?;
    chars.next().is_none().then_some(letter)
}

/// `host:port` in an inventory's host column: the name and the port.
pub fn split_host_port(word: &str) -> (String, Option<String>) {
    if word.matches(':').count() == 1 && !word.contains('[') {
        if let Some((name, port)) = word.split_once(':') {
            if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
                return (name.to_string(), Some(port.to_string()));
            }
        }
    }
    (word.to_string(), None)
}

#[cfg(test)]
mod tests;
