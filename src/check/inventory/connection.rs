//! Ansible's connection variables, mapped to an SSH destination:
//! `ansible_host` (the address), `ansible_port`, `ansible_user`,
//! `ansible_ssh_private_key_file`, `ansible_ssh_common_args` and
//! `ansible_ssh_extra_args` (and the older `ansible_ssh_host`, ...).
//! Every other `ansible_*` variable is reported as ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::check::ssh_settings::{parse_port, Destination};

/// The `ansible_*` variables deploy reads (the others are reported).
const USED: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_group_priority",
];

/// What the warning about ignored variables adds.
pub const IGNORED_NOTE: &str = "deploy reads ansible_host, ansible_port, ansible_user, \
     ansible_ssh_private_key_file, ansible_ssh_common_args and ansible_ssh_extra_args; \
     the others stay readable as host values but change nothing";

fn text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The host's destination, its `ansible_host` (the address), and the
/// `ansible_*` variables it has that deploy does not use.
pub fn destination(
    name: &str,
    vars: &BTreeMap<String, Json>,
    base_dir: &Path,
) -> Result<(Destination, Option<String>, Vec<String>), String> {
    let get = |keys: &[&str]| keys.iter().find_map(|key| vars.get(*key)).map(text).filter(|t| !t.is_empty());
    let address = get(&["ansible_host", "ansible_ssh_host"]);
    let mut destination = Destination::parse(address.as_deref().unwrap_or(name))
        .map_err(|problem| format!("host `{name}`: {problem}"))?;
    if let Some(user) = get(&["ansible_user", "ansible_ssh_user"]) {
        destination.user = Some(user);
    }
    if let Some(port) = get(&["ansible_port", "ansible_ssh_port"]) {
        destination.port = Some(parse_port(&port).map_err(|problem| format!("host `{name}`: {problem}"))?);
    }
    if let Some(key) = get(&["ansible_ssh_private_key_file", "ansible_private_key_file"]) {
        destination.identity = Some(match key.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME").map(|home| Path::new(&home).join(rest)).unwrap_or(key.into()),
            None => base_dir.join(key),
        });
    }
    for key in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(args) = get(&[key]) {
            let words = split_words(&args).map_err(|problem| format!("host `{name}`: {key}: {problem}"))?;
            destination.args.extend(words);
        }
    }
    let ignored = vars
        .keys()
        .filter(|key| key.starts_with("ansible_") && !USED.contains(&key.as_str()))
        .filter(|key| !(key.as_str() == "ansible_connection" && matches!(text(&vars[*key]).as_str(), "ssh" | "smart")))
        .cloned()
        .collect();
    Ok((destination, address, ignored))
}

/// Splits a line into words as a POSIX shell would (quotes and
/// backslashes), which is how Ansible reads host lines and
/// `ansible_ssh_common_args`; a `#` starting a word starts a comment.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '#' if word.is_none() => break,
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err(format!("`{line}` opens a quote `'` without closing it")),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(next @ ('"' | '\\' | '$' | '`')) => current.push(next),
                            Some(next) => {
                                current.push('\\');
                                current.push(next);
                            }
                            None => return Err(format!("`{line}` opens a quote `\"` without closing it")),
                        },
                        Some(c) => current.push(c),
                        None => return Err(format!("`{line}` opens a quote `\"` without closing it")),
                    }
                }
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(done) = word {
        words.push(done);
    }
    Ok(words)
}
