//! `deploy fmt`: the CLI contract (exit codes, --check, --diff, refusing
//! syntax errors, atomic writes), a snapshot of the canonical layout, and
//! properties over every fixture, example and generated plan: formatting is
//! idempotent and does not change what a plan means.

mod common;

use std::path::{Path, PathBuf};

use common::{root, Test};
use deploy::syntax::span::FileId;
use proptest::prelude::*;

fn format(text: &str) -> Option<String> {
    deploy::fmt::format_source(FileId(0), text).ok()
}

/// The checked plan reduced to what it means: diagnostics without spans, the
/// model's debug form with every offset zeroed, and the graph as DOT.
fn meaning(path: &Path, text: &str) -> String {
    let checked = deploy::check::check_source(path, text.to_string());
    let mut out = String::new();
    for diagnostic in checked.diagnostics.clone().into_sorted() {
        out.push_str(&format!("{} {}\n", diagnostic.code, diagnostic.message));
    }
    if let Some(plan) = checked.plan {
        let model = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}",
            plan.pipeline, plan.params, plan.secrets, plan.environments, plan.nodes, plan.hooks
        );
        out.push_str(&zero_offsets(&model));
        out.push_str(&deploy::graph::to_dot(&deploy::graph::ExecutionGraph::build(plan)));
    }
    out
}

/// `start: 12` → `start: 0` (and `end:`, `source_start:`): spans move when the layout changes.
fn zero_offsets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, after) = rest.split_at(index);
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if before.ends_with("start: ") || before.ends_with("end: ") {
            out.push('0');
        } else {
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "tests/fixtures/valid",
        "tests/fixtures/valid/stages",
        "tests/fixtures/invalid",
        "tests/fixtures/fmt",
        "tests/fixtures/modules",
        "examples",
        "examples/containers",
        "stdlib/std",
    ] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else { continue };
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "deploy") {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn assert_formats_well(path: &Path, text: &str) -> Result<(), TestCaseError> {
    let Some(once) = format(text) else {
        // Only a text that does not parse may be refused.
        prop_assert!(deploy::syntax::parse(FileId(0), text).is_err(), "refused a valid text:\n{}", text);
        return Ok(());
    };
    let twice = format(&once);
    prop_assert_eq!(Some(&once), twice.as_ref(), "not idempotent; input:\n{}", text);
    let before = deploy::syntax::parse(FileId(0), text).map(|m| deploy::fmt::equivalence::without_spans(&m));
    let after = deploy::syntax::parse(FileId(0), &once).map(|m| deploy::fmt::equivalence::without_spans(&m));
    prop_assert_eq!(before.ok(), after.ok());
    prop_assert_eq!(meaning(path, text), meaning(path, &once), "meaning changed; input:\n{}\noutput:\n{}", text, once);
    Ok(())
}

#[test]
fn every_fixture_example_and_stdlib_module() {
    let files = corpus();
    assert!(files.len() > 30, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Err(error) = assert_formats_well(&path, &text) {
            panic!("{}: {error}", path.display());
        }
    }
}

#[test]
fn canonical_layout_snapshot() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/fmt/messy.deploy")).unwrap_or_default();
    let output = Test::new().plan(&text).args(&["fmt", "-"]).run_with(&["fmt", "release.deploy"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let formatted = format(&text).unwrap_or_default();
    insta::assert_snapshot!(formatted);
}

#[test]
fn check_exits_3_when_a_file_would_change_and_leaves_it() {
    let messy = "stage a{run \"x\"\nirreversible=\"no\"}\n";
    let test = Test::new().plan(messy);
    let output = test.run_with(&["fmt", "--check", "release.deploy"]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(output.stderr.contains("release.deploy is not formatted"), "{}", output.stderr);
    assert_eq!(std::fs::read_to_string(test.path().join("release.deploy")).unwrap_or_default(), messy);

    let diff = test.run_with(&["fmt", "--diff", "release.deploy"]);
    assert_eq!(diff.code, 0);
    assert!(diff.stdout.contains("--- a/release.deploy\n+++ b/release.deploy\n"), "{}", diff.stdout);
    assert!(diff.stdout.contains("-stage a{run \"x\"\n") && diff.stdout.contains("+stage a {\n"), "{}", diff.stdout);

    let write = test.run_with(&["fmt", "release.deploy"]);
    assert_eq!(write.code, 0, "{}", write.stderr);
    let written = std::fs::read_to_string(test.path().join("release.deploy")).unwrap_or_default();
    assert_eq!(written, "stage a {\n  run \"x\"\n  irreversible = \"no\"\n}\n");
    assert_eq!(test.run_with(&["fmt", "--check", "release.deploy"]).code, 0);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(test.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["release.deploy"]);
}

#[test]
fn a_syntax_error_is_refused_and_the_file_left_alone() {
    let broken = "stage a {\n  run \"x\n}\n";
    let test = Test::new().plan(broken);
    let output = test.run_with(&["fmt", "release.deploy"]);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("E0001"), "{}", output.stderr);
    assert!(output.stderr.contains("not formatted: it has a syntax error"), "{}", output.stderr);
    assert_eq!(std::fs::read_to_string(test.path().join("release.deploy")).unwrap_or_default(), broken);
    assert_eq!(test.run_with(&["fmt", "--check", "release.deploy"]).code, 1);
}

#[test]
fn standard_input_to_standard_output() {
    let test = Test::new().plan("param   x: int = 1\n");
    let mut child = std::process::Command::new(common::binary())
        .args(["fmt", "-"])
        .current_dir(test.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"param   x: int = 1\n");
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("wait: {e}"));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "param x: int = 1\n");
    assert_eq!(output.status.code(), Some(0));
}

/// Texts to mutate: every fixture and example (as in tests/properties.rs).
fn mutated() -> impl Strategy<Value = String> {
    let texts: Vec<String> = corpus().iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    let tokens = ["\n", " ", "// c\n", "/* c */", "\n\n", "\t", "{", "}", ",", "[", "]"];
    (0..texts.len(), proptest::collection::vec((any::<prop::sample::Index>(), 0..tokens.len(), any::<bool>()), 1..6))
        .prop_map(move |(which, edits)| {
            let mut text = texts[which].clone();
            for (at, token, insert) in edits {
                let mut position = at.index(text.len() + 1);
                while !text.is_char_boundary(position) {
                    position -= 1;
                }
                if insert {
                    text.insert_str(position, tokens[token]);
                } else {
                    let mut end = (position + 1).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(position..end, "");
                }
            }
            text
        })
}

/// Plans from the grammar's pieces, with comments and odd spacing between them.
fn generated() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z0-9_]{0,6}";
    let space = prop_oneof![Just(" "), Just("  "), Just("\n"), Just(" // note\n"), Just(" /* c */ "), Just("\n\n")];
    let value = prop_oneof![
        Just("\"text ${version}\"".to_string()),
        Just("10s".to_string()),
        Just("25%".to_string()),
        Just("[a, b, c]".to_string()),
        Just("[\n  \"x\", // first\n  \"y\",\n]".to_string()),
        Just("`1 + 1`".to_string()),
        Just("2 every 5s".to_string()),
        Just("env(\"X\", \"d\")".to_string()),
        Just("{ k = 1 }".to_string()),
        name.prop_map(|n| n),
    ];
    let entry = prop_oneof![
        (name, value.clone()).prop_map(|(n, v)| format!("{n} = {v}")),
        Just("run \"echo ${host}\"".to_string()),
        Just("script ```\n    let x = 1;\n  x + 1\n```".to_string()),
        Just("rollback { run \"undo\" }".to_string()),
        Just("strategy canary { steps = [50%, 100%] }".to_string()),
        Just("on start { run \"x\" }".to_string()),
        Just("approve \"ok?\" by [\"a\"]".to_string()),
        Just("check every 1s within 5s `true`".to_string()),
        (name, name).prop_map(|(n, m)| format!("{n} {{ {m} = 1 }}")),
    ];
    let entries = proptest::collection::vec((entry, space.clone()), 0..5)
        .prop_map(|entries| entries.into_iter().map(|(e, s)| format!("{e}{s}")).collect::<String>());
    let item = prop_oneof![
        (prop_oneof![Just("stage"), Just("gate")], name, entries.clone())
            .prop_map(|(kind, n, body)| format!("{kind} {n} {{\n{body}\n}}")),
        (name, value).prop_map(|(n, v)| format!("/// doc\nparam {n}: string = {v}")),
        (name, entries).prop_map(|(n, body)| format!("environment {n} {{ hosts = [\"h\"] {body} }}")),
        Just("import \"std/http\" as http".to_string()),
        Just("template stage t(a: string, /* c */ b: list<int> = [1]) { run \"${a}\" }".to_string()),
        (name, name).prop_map(|(n, m)| format!("stage {n} from {m}.healthy {{ url = \"u\" }}")),
    ];
    proptest::collection::vec((item, space), 0..8)
        .prop_map(|items| items.into_iter().map(|(i, s)| format!("{i}{s}")).collect::<String>())
}

/// 200 cases by default; `PROPTEST_CASES=N` for a longer search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn generated_plans_format_well(text in generated()) {
        assert_formats_well(Path::new("generated.deploy"), &text)?;
    }

    #[test]
    fn mutated_plans_format_well(text in mutated()) {
        assert_formats_well(&root().join("tests/fixtures/valid/mutated.deploy"), &text)?;
    }
}
