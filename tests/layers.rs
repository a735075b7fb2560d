//! The layers of src/ only point down: syntax → check → graph → record →
//! engine and state (siblings: neither imports the other) → session →
//! front ends. A module may import (`crate::...`) only
//! modules of a lower layer than its own (docs/architecture.md).
//!
//! A new top-level module must be given its place in `LAYERS`: the test
//! fails until it is, so nobody adds one without deciding what it may use.
//!
//! Inside a module, the files under one parent import each other without
//! a cycle: `engine/gates.rs` may use `engine/steps.rs` or the other way
//! round, not both (a child using its parent, `super::*`, is not a cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// From the bottom up; modules in one layer may not import each other.
const LAYERS: &[&[&str]] = &[
    &["source", "duration", "process_group", "exit_code", "shell_quote"],
    &["diagnostic", "script", "remote"],
    &["syntax"],
    &["stdlib", "fmt"],
    &["check"],
    &["graph", "canonical", "inputs", "lsp"],
    &["record"],
    &["engine", "state"],
    &["session"],
    &["simulate", "server"],
    &["watch"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/engine/hosts.rs` → `engine`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Every `crate::NAME` in code (comments left out).
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

#[test]
fn modules_import_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            problems.push(format!("src/{module}: not in a layer; give it its place in tests/layers.rs"));
            continue;
        };
        let text = fs::read_to_string(file).unwrap_or_default();
        for imported in imports(&text) {
            if imported == module {
                continue;
            }
            match layer_of(&imported) {
                Some(layer) if layer < own => {}
                Some(_) => problems.push(format!(
                    "{}: `{module}` imports `crate::{imported}`, which is not below it",
                    file.strip_prefix(&src).unwrap_or(file).display()
                )),
                None => problems.push(format!("{}: imports unknown module `crate::{imported}`", file.display())),
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}

#[test]
fn the_scanner_sees_imports_and_skips_comments() {
    let found = imports("use crate::engine::Event; // crate::cli\nlet x = crate::state::open();\n");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), vec!["engine".to_string(), "state".to_string()]);
}

/// The module path of a file: `src/engine/hosts.rs` → `[engine, hosts]`,
/// `src/check/node/mod.rs` → `[check, node]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let Ok(relative) = file.strip_prefix(src) else { return Vec::new() };
    let mut path: Vec<String> = relative
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .map(|c| c.trim_end_matches(".rs").to_string())
        .collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// Whether a module path names a file or folder under `src`.
fn module_exists(src: &Path, path: &[String]) -> bool {
    let joined: PathBuf = path.iter().collect();
    let dir = src.join(&joined);
    dir.is_dir() || dir.with_extension("rs").is_file()
}

/// The paths a `use`/expression names after `crate::` or `super::`:
/// `a::b::C` → `[a, b, C]`; `a::{b::C, d}` → `[a, b, C]` and `[a, d]`.
fn named_paths(rest: &str) -> Vec<Vec<String>> {
    let word = |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut segments = Vec::new();
    let mut rest = rest;
    loop {
        let name = word(rest);
        if name.is_empty() {
            break;
        }
        rest = &rest[name.len()..];
        segments.push(name);
        match rest.strip_prefix("::") {
            Some(after) => rest = after,
            None => return vec![segments],
        }
    }
    let Some(group) = rest.strip_prefix('{') else { return vec![segments] };
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(&group[start..at]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&group[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    out.iter()
        .map(|item| {
            let mut path = segments.clone();
            path.extend(item.trim().split("::").map(word).take_while(|s| !s.is_empty()));
            path
        })
        .collect()
}

/// The modules one file refers to through `crate::` and `super::` paths,
/// each cut to the longest prefix that is a file or folder of `src`.
/// Code after `#[cfg(test)]` (the file's tests) is left out.
fn file_imports(src: &Path, own: &[String], text: &str) -> BTreeSet<Vec<String>> {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = BTreeSet::new();
    // Inline `mod name { ... }` blocks: `super::` inside one is the file's module.
    let (mut depth, mut inline) = (0i64, Vec::<i64>::new());
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let opens_mod = {
            let t = code.trim_start();
            let t = t.strip_prefix("pub(crate) ").or_else(|| t.strip_prefix("pub ")).unwrap_or(t);
            t.starts_with("mod ") && t.trim_end().ends_with('{')
        };
        if opens_mod {
            inline.push(depth);
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::").into_iter().chain(rest.find("super::")).min() {
            let mut base: Vec<String> = Vec::new();
            let mut after = &rest[at..];
            if let Some(tail) = after.strip_prefix("crate::") {
                after = tail;
            } else {
                base = own.to_vec();
                base.extend(inline.iter().map(|_| "{inline}".to_string()));
                while let Some(tail) = after.strip_prefix("super::") {
                    base.pop();
                    after = tail;
                }
            }
            for named in named_paths(after) {
                let mut path = base.clone();
                path.extend(named);
                while !path.is_empty() && !module_exists(src, &path) {
                    path.pop();
                }
                if !path.is_empty() {
                    out.insert(path);
                }
            }
            rest = &rest[at + 6..];
        }
        depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
        while inline.last().is_some_and(|opened| depth <= *opened) {
            inline.pop();
        }
    }
    out
}

/// The cycles among the children of each module: for every import from
/// one file to another that is not its ancestor or descendant, an edge
/// between the two children of their closest common parent.
fn sibling_cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<String> {
    let mut siblings: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, targets) in edges {
        for to in targets {
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue;
            }
            siblings
                .entry(from[..common].to_vec())
                .or_default()
                .entry(from[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    let mut problems = Vec::new();
    let mut seen: BTreeSet<Vec<String>> = BTreeSet::new();
    for (parent, graph) in &siblings {
        for start in graph.keys() {
            let Some(path) = path_back(graph, start) else { continue };
            // Each cycle once, whichever of its children it was found from.
            let mut members: Vec<String> = parent.iter().chain(&path).cloned().collect();
            members.sort();
            if !seen.insert(members) {
                continue;
            }
            let parent = if parent.is_empty() { String::new() } else { format!("{}/", parent.join("/")) };
            let cycle: Vec<String> = path.iter().map(|child| format!("{parent}{child}")).collect();
            problems.push(format!("import cycle between files: {} → {start}", cycle.join(" → ")));
        }
    }
    problems
}

/// A path from `start` back to itself, if there is one (the first found,
/// searched breadth-first so it is a shortest one).
fn path_back(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_string()]);
    while let Some(at) = queue.pop_front() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                let mut path = vec![at.clone()];
                let mut back = at.clone();
                while let Some(previous) = seen.get(&back) {
                    path.push(previous.clone());
                    back = previous.clone();
                }
                path.reverse();
                return Some(path);
            }
            if next != start && !seen.contains_key(next) {
                seen.insert(next.clone(), at.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

#[test]
fn files_import_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let own = module_path(&src, file);
        if own.is_empty() || own == ["lib"] || own == ["main"] {
            continue;
        }
        let text = fs::read_to_string(file).unwrap_or_default();
        let targets = file_imports(&src, &own, &text);
        edges.entry(own).or_default().extend(targets);
    }
    let mut problems = sibling_cycles(&edges);
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_cycle_finder_sees_a_cycle_between_sibling_files() {
    let path = |p: &str| p.split('/').map(str::to_string).collect::<Vec<_>>();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    edges.entry(path("engine/a")).or_default().insert(path("engine/b"));
    edges.entry(path("engine/b")).or_default().insert(path("engine/c/d"));
    // A child using its parent, and the parent its child: not a cycle.
    edges.entry(path("engine/c/d")).or_default().insert(path("engine/c"));
    edges.entry(path("engine/c")).or_default().insert(path("engine/c/d"));
    assert!(sibling_cycles(&edges).is_empty());
    edges.entry(path("engine/c/d")).or_default().insert(path("engine/a"));
    let found = sibling_cycles(&edges);
    assert_eq!(found, vec!["import cycle between files: engine/a → engine/b → engine/c → a".to_string()]);
}

#[test]
fn the_path_reader_splits_groups() {
    let paths = named_paths("engine::{context::RunContext, event::{Event, EventData}};");
    assert_eq!(
        paths,
        vec![
            vec!["engine".to_string(), "context".to_string(), "RunContext".to_string()],
            vec!["engine".to_string(), "event".to_string()],
        ]
    );
}
