//! Every diagnostic code has a fixture under tests/fixtures/invalid that
//! triggers it. A fixture's first line says which codes it must produce
//! (`// expect: E0102 W0001`); an optional second line gives the command
//! (`// command: plan --set x=1`, default `check`). The rendered output is
//! snapshot-tested.

mod common;

use std::collections::BTreeSet;

use common::{root, Test};

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = root().join("tests/fixtures/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "deploy"))
        .collect();
    files.sort();
    files
}

fn header(text: &str, key: &str) -> Option<String> {
    text.lines().take(3).find_map(|line| line.strip_prefix(&format!("// {key}:")).map(|rest| rest.trim().to_string()))
}

fn run_fixture(path: &std::path::Path, json: bool) -> common::Output {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let command = header(&text, "command").unwrap_or_else(|| "check".to_string());
    let mut args: Vec<String> = command.split_whitespace().map(String::from).collect();
    args.insert(1, name);
    if json {
        args.extend(["--format".to_string(), "json".to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Test::new().current_dir(root().join("tests/fixtures/invalid")).args(&args).run()
}

#[test]
fn every_fixture_produces_exactly_its_codes() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let expected: Vec<String> = header(&text, "expect")
            .unwrap_or_else(|| panic!("{} has no `// expect:` line", path.display()))
            .split_whitespace()
            .map(String::from)
            .collect();
        let is_check = header(&text, "command").is_none();
        let output = run_fixture(&path, is_check);
        let mut found: Vec<String> = if is_check {
            let report: serde_json::Value = serde_json::from_str(&output.stdout)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", path.display(), output.stdout));
            report["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["code"].as_str().map(String::from))
                .collect()
        } else {
            output
                .stderr
                .lines()
                .filter(|l| l.starts_with('E') || l.starts_with('W'))
                .map(|l| l.trim().to_string())
                .collect()
        };
        found.sort();
        let mut wanted = expected.clone();
        wanted.sort();
        let has_error = expected.iter().any(|c| c.starts_with('E'));
        let exit = if has_error { 1 } else { 0 };
        if found != wanted || output.code != exit {
            failures.push(format!(
                "{}: expected {wanted:?} (exit {exit}), got {found:?} (exit {})",
                path.display(),
                output.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_has_a_fixture() {
    let mut covered = BTreeSet::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        covered.extend(header(&text, "expect").unwrap_or_default().split_whitespace().map(String::from));
    }
    let missing: Vec<&str> =
        deploy::diagnostic::ALL_CODES.iter().map(|c| c.as_str()).filter(|c| !covered.contains(*c)).collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn rendered_diagnostics_match_snapshots() {
    for path in fixtures() {
        let output = run_fixture(&path, false);
        let name = path.file_stem().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        insta::assert_snapshot!(name, output.stderr);
    }
}

#[test]
fn json_ranges_point_into_the_file() {
    let path = root().join("tests/fixtures/invalid/e0001_multibyte.deploy");
    let output = run_fixture(&path, true);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
    assert_eq!(report["valid"], false);
    assert_eq!(report["error_count"], 1);
    let range = &report["diagnostics"][0]["range"];
    assert_eq!(range["file"], "e0001_multibyte.deploy");
    // `stage é {`: é is the 7th character of line 5, after 6 one-byte characters.
    assert_eq!(range["start"]["line"], 5);
    assert_eq!(range["start"]["column"], 7);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let byte = range["start"]["byte"].as_u64().unwrap_or(0) as usize;
    assert!(text[byte..].starts_with('é'));
}
