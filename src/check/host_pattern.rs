//! Ansible's host patterns, as `--limit` takes them: `web-1,web-2` (a
//! union), globs `web-*` and `db-?`, ranges `web[1:3]` (hosts web1 to web3)
//! and subscripts `web[0:1]` of a group (its first two hosts), inventory
//! groups (`web`, `all`, `ungrouped`), `!excluded`, `group:&intersected`
//! and `@file` (one pattern a line). As in Ansible, the plain terms are
//! added first, then `&` terms intersect, then `!` terms take away, so the
//! order on the command line does not matter; only `&`/`!` terms start
//! from every host.

use std::collections::HashSet;
use std::path::Path;

/// The hosts and groups a pattern is matched against.
#[derive(Debug, Default)]
pub struct HostUniverse {
    /// Every host, in plan order, each once.
    pub hosts: Vec<String>,
    /// Inventory groups and their hosts (in inventory order).
    pub groups: Vec<(String, Vec<String>)>,
    /// The names in `hosts`, so adding 100,000 hosts takes linear time.
    known: HashSet<String>,
}

impl HostUniverse {
    pub fn add_host(&mut self, host: &str) {
        if self.known.insert(host.to_string()) {
            self.hosts.push(host.to_string());
        }
    }

    pub fn add_group(&mut self, group: &str, hosts: &[String]) {
        match self.groups.iter_mut().find(|(name, _)| name == group) {
            Some((_, known)) => {
                for host in hosts {
                    if !known.contains(host) {
                        known.push(host.clone());
                    }
                }
            }
            None => self.groups.push((group.to_string(), hosts.to_vec())),
        }
    }

    fn group(&self, name: &str) -> Option<&[String]> {
        if name == "all" {
            return Some(&self.hosts);
        }
        self.groups.iter().find(|(group, _)| group == name).map(|(_, hosts)| hosts.as_slice())
    }

    /// Every name a term can be: hosts, then groups (for the help).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        for (group, _) in &self.groups {
            if !names.contains(&group.as_str()) {
                names.push(group);
            }
        }
        names
    }
}

/// Splits `--limit` values into terms: on `,`, and on `:` outside
/// brackets (Ansible's older separator, as in `web:&prod` and `web:!db-1`);
/// `@FILE` is replaced by the patterns of the file (one a line, `#`
/// comments), or kept as written when it cannot be read (the check says why).
pub fn terms(values: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for value in values {
        for part in value.split(',') {
            for term in split_colons(part.trim()) {
                if term.is_empty() {
                    continue;
                }
                match term.strip_prefix('@').map(|path| std::fs::read_to_string(Path::new(path))) {
                    Some(Ok(text)) => {
                        for line in text.lines().map(str::trim) {
                            if !line.is_empty() && !line.starts_with('#') {
                                out.extend(split_colons(line).into_iter().filter(|t| !t.is_empty()));
                            }
                        }
                    }
                    _ => out.push(term),
                }
            }
        }
    }
    out
}

fn split_colons(text: &str) -> Vec<String> {
    // An IPv6 address is one term.
    if text.contains("::") || text.starts_with('@') {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                out.push(std::mem::take(&mut current).trim().to_string());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out
}

/// A term that selects nothing, or cannot be read: what to tell the user.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownTerm {
    pub term: String,
    /// Why, when it is not simply unknown (an unreadable `@file`, a bad range).
    pub why: Option<String>,
}

/// The hosts `terms` select, in plan order; every term must match a host
/// or a group.
pub fn select(terms: &[String], universe: &HostUniverse) -> Result<Vec<String>, Vec<UnknownTerm>> {
    let mut unknown = Vec::new();
    let mut matched = |term: &str| -> Vec<String> {
        match matches(term, universe) {
            Ok(hosts) if !hosts.is_empty() => hosts,
            Ok(_) => {
                unknown.push(UnknownTerm { term: term.to_string(), why: None });
                Vec::new()
            }
            Err(why) => {
                unknown.push(UnknownTerm { term: term.to_string(), why: Some(why) });
                Vec::new()
            }
        }
    };
    let plain: Vec<&String> = terms.iter().filter(|t| !t.starts_with('&') && !t.starts_with('!')).collect();
    // Sets, so a pattern over 100,000 hosts is matched in linear time.
    let mut chosen: HashSet<String> =
        if plain.is_empty() { universe.hosts.iter().cloned().collect() } else { HashSet::new() };
    for term in plain {
        chosen.extend(matched(term));
    }
    for term in terms.iter().filter_map(|t| t.strip_prefix('&')) {
        let keep: HashSet<String> = matched(term).into_iter().collect();
        chosen.retain(|host| keep.contains(host));
    }
    for term in terms.iter().filter_map(|t| t.strip_prefix('!')) {
        let drop: HashSet<String> = matched(term).into_iter().collect();
        chosen.retain(|host| !drop.contains(host));
    }
    if !unknown.is_empty() {
        for problem in &mut unknown {
            if let Some(original) = terms.iter().find(|t| t.trim_start_matches(['&', '!']) == problem.term) {
                problem.term = original.clone();
            }
        }
        return Err(unknown);
    }
    Ok(universe.hosts.iter().filter(|host| chosen.contains(*host)).cloned().collect())
}

/// The hosts one term names (empty: none).
fn matches(term: &str, universe: &HostUniverse) -> Result<Vec<String>, String> {
    if let Some(path) = term.strip_prefix('@') {
        return match std::fs::read_to_string(path) {
            Ok(_) => Ok(Vec::new()),
            Err(error) => Err(format!("cannot read {path}: {error}")),
        };
    }
    if let Some(hosts) = universe.group(term) {
        return Ok(hosts.to_vec());
    }
    if universe.hosts.iter().any(|host| host == term) {
        return Ok(vec![term.to_string()]);
    }
    // `group[0]`, `group[1:2]`, `group[-1]`: positions in a group.
    if let Some((name, inside)) = term.strip_suffix(']').and_then(|t| t.split_once('[')) {
        if let Some(hosts) = universe.group(name) {
            return subscript(hosts, inside).ok_or_else(|| {
                format!("`[{inside}]` is not a position (`[0]`, `[-1]`) or span (`[0:2]`) of group `{name}`")
            });
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut add = |hosts: &[String]| {
        for host in hosts {
            if !out.contains(host) {
                out.push(host.clone());
            }
        }
    };
    let names = super::inventory::expand(term).map_err(|problem| problem.replace('`', "'"))?;
    for name in &names {
        let glob = name.contains(['*', '?']);
        for (group, hosts) in &universe.groups {
            if glob && glob_matches(name, group) {
                add(hosts);
            }
        }
        let hosts: Vec<String> = universe
            .hosts
            .iter()
            .filter(|host| if glob { glob_matches(name, host) } else { *host == name })
            .cloned()
            .collect();
        add(&hosts);
    }
    Ok(out)
}

/// `0`, `-1`, `1:3`, `:2`, `1:` over a group's hosts (both ends included, as Ansible's).
fn subscript(hosts: &[String], inside: &str) -> Option<Vec<String>> {
    let count = hosts.len() as i64;
    let position = |text: &str| -> Option<i64> {
        let value: i64 = text.trim().parse().ok()?;
        Some(if value < 0 { count + value } else { value })
    };
    let (first, last) = match inside.split_once(':') {
        Some((low, high)) => (
            if low.trim().is_empty() { 0 } else { position(low)? },
            if high.trim().is_empty() { count - 1 } else { position(high)? },
        ),
        None => {
            let at = position(inside)?;
            (at, at)
        }
    };
    if first < 0 || first > last {
        return None;
    }
    Some(hosts.iter().skip(first as usize).take((last - first + 1) as usize).cloned().collect())
}

/// `*` (any run of characters) and `?` (one character); anything else literal.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn universe() -> HostUniverse {
        let hosts: Vec<String> = ["web1", "web2", "web3", "db-1", "db-2"].iter().map(|h| h.to_string()).collect();
        let mut universe = HostUniverse::default();
        for host in &hosts {
            universe.add_host(host);
        }
        universe.add_group("web", &hosts[..3]);
        universe.add_group("db", &hosts[3..]);
        universe.add_group("prod", &[hosts[0].clone(), hosts[3].clone()]);
        universe
    }

    fn pick(limit: &str) -> Result<Vec<String>, Vec<UnknownTerm>> {
        select(&terms(&[limit.to_string()]), &universe())
    }

    #[test]
    fn globs() {
        assert!(glob_matches("web-*", "web-1"));
        assert!(glob_matches("web-?", "web-2"));
        assert!(!glob_matches("web-*", "db-1"));
        assert!(glob_matches("db-1", "db-1"));
        assert!(!glob_matches("db-1", "db-10"));
    }

    #[test]
    fn ansible_patterns() {
        assert_eq!(pick("web1,db-2").unwrap(), ["web1", "db-2"]);
        assert_eq!(pick("db").unwrap(), ["db-1", "db-2"]);
        assert_eq!(pick("web*").unwrap(), ["web1", "web2", "web3"]);
        assert_eq!(pick("web[1:2]").unwrap(), ["web2", "web3"], "a group's positions, from 0, both ends in");
        assert_eq!(pick("db-[1:2]").unwrap(), ["db-1", "db-2"], "a range of names");
        assert_eq!(pick("web[-1]").unwrap(), ["web3"]);
        assert_eq!(pick("all,!web").unwrap(), ["db-1", "db-2"]);
        assert_eq!(pick("!web").unwrap(), ["db-1", "db-2"]);
        assert_eq!(pick("web:&prod").unwrap(), ["web1"]);
        assert_eq!(pick("!db-1,prod").unwrap(), ["web1"]);
        assert_eq!(pick("web:!web2").unwrap(), ["web1", "web3"]);
        let unknown = pick("web1,cache,!mail").unwrap_err();
        let named: Vec<&str> = unknown.iter().map(|u| u.term.as_str()).collect();
        assert_eq!(named, ["cache", "!mail"]);
        assert!(pick("web[7:9]").is_err());
        assert!(pick("@/no/such/file").unwrap_err()[0].why.as_deref().unwrap_or("").contains("cannot read"));
    }

    #[test]
    fn a_file_of_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("retry");
        std::fs::write(&path, "# failed last time\nweb2\ndb-1\n").unwrap();
        assert_eq!(pick(&format!("@{}", path.display())).unwrap(), ["web2", "db-1"]);
    }
}
