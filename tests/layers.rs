//! The layers of src/ only point down: syntax → check → graph → engine →
//! state → session → front ends. A module may import (`crate::...`) only
//! modules of a lower layer than its own (docs/architecture.md).
//!
//! A new top-level module must be given its place in `LAYERS`: the test
//! fails until it is, so nobody adds one without deciding what it may use.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// From the bottom up; modules in one layer may not import each other.
const LAYERS: &[&[&str]] = &[
    &["source", "exit_code"],
    &["diagnostic"],
    &["syntax"],
    &["stdlib", "script"],
    &["check"],
    &["graph", "canonical"],
    &["engine"],
    &["state"],
    &["session"],
    &["simulate", "server"],
    &["watch"],
    &["fmt"],
    &["lsp"],
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
