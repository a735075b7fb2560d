//! The language commands through the real binary: check, explain, graph,
//! plan, completions, and bad input of every kind.

mod common;

use common::{root, Test};

const GOOD: &str = r#"
pipeline "demo" { description = "a small plan" }
param version: string = "1.0"
secret token = env("DEMO_TOKEN", "")
environment prod { hosts = ["web-1", "web-2", "web-3"]  vars { url = "http://127.0.0.1:9" } }
stage build { run "make VERSION=${version}"  rollback { run "make clean" } }
stage ship {
  needs = [build]
  target = prod
  strategy rolling { batch = 2 }
  run "./install ${version} ${host} ${env.url}"
  rollback { run "./install ${previous_version} ${host}" }
}
gate smoke { needs = [ship]  check every 1s within 5s `true` }
"#;

#[test]
fn check_accepts_a_good_plan() {
    let output = Test::new().plan(GOOD).args(&["check", "release.deploy"]).run();
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stderr.contains("no problems"), "{}", output.stderr);
}

#[test]
fn check_reports_all_errors_of_a_file_at_once() {
    let plan = r#"
stage a { needs = [nope]  run "x"  irreversible = "demo" }
stage b { target = nowhere  run "y"  irreversible = "demo" }
stage c { timeout = "soon"  run "z"  irreversible = "demo" }
"#;
    let output = Test::new().plan(plan).args(&["check", "release.deploy", "--format", "json"]).run();
    assert_eq!(output.code, 1);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
    assert_eq!(report["error_count"], 3, "{}", output.stdout);
    let codes: Vec<&str> =
        report["diagnostics"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, vec!["E0100", "E0103", "E0110"]);
    let first = &report["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["range"]["file"], "release.deploy");
    assert_eq!(first["range"]["start"]["line"], 2);
    assert_eq!(first["range"]["start"]["column"], 20);
    assert_eq!(first["range"]["end"]["column"], 24);
}

#[test]
fn strict_turns_warnings_into_errors() {
    let plan = "stage build { run \"make\" }\n";
    let relaxed = Test::new().plan(plan).args(&["check", "release.deploy"]).run();
    assert_eq!(relaxed.code, 0, "{}", relaxed.stderr);
    assert!(relaxed.stderr.contains("W0001"));
    let strict = Test::new().plan(plan).args(&["check", "--strict", "release.deploy"]).run();
    assert_eq!(strict.code, 1);
}

#[test]
fn check_takes_several_files() {
    let output = Test::new()
        .file("a.deploy", GOOD)
        .file("b.deploy", "stage x { needs = [y] run \"x\" irreversible = \"demo\" }\n")
        .args(&["check", "a.deploy", "b.deploy", "--format", "json"])
        .run();
    assert_eq!(output.code, 1);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
    assert_eq!(report["diagnostics"][0]["range"]["file"], "b.deploy");
}

#[test]
fn explain_prints_every_code() {
    for code in deploy::diagnostic::ALL_CODES {
        let output = Test::new().args(&["explain", code.as_str()]).run();
        assert_eq!(output.code, 0);
        assert!(output.stdout.starts_with(code.as_str()), "{}", output.stdout);
        assert!(output.stdout.len() > 80, "explanation of {code} is too short");
    }
    let lower = Test::new().args(&["explain", "e0102"]).run();
    assert!(lower.stdout.contains("cycle"));
    let unknown = Test::new().args(&["explain", "E9999"]).run();
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("not a diagnostic code"));
    let list = Test::new().args(&["explain"]).run();
    assert_eq!(list.stdout.lines().count(), deploy::diagnostic::ALL_CODES.len());
}

#[test]
fn docs_list_every_code() {
    let path = root().join("docs/diagnostics.md");
    let expected = deploy::diagnostic::catalogue_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap_or_default();
    }
    let docs = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        docs == expected,
        "docs/diagnostics.md is out of date: run `UPDATE_DOCS=1 cargo test --test cli docs_list_every_code`"
    );
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let dot = Test::new().plan(GOOD).args(&["graph", "release.deploy"]).run();
    assert_eq!(dot.code, 0, "{}", dot.stderr);
    assert!(dot.stdout.starts_with("digraph \"demo\""));
    assert!(dot.stdout.contains("\"build\" -> \"ship\""));
    assert!(dot.stdout.contains("\"smoke\" [label=\"smoke\", shape=diamond"));
    let mermaid = Test::new().plan(GOOD).args(&["graph", "release.deploy", "--format", "mermaid"]).run();
    assert!(mermaid.stdout.starts_with("flowchart LR"));
    assert!(mermaid.stdout.contains("n0 --> n1"));
}

#[test]
fn graph_dot_renders_with_graphviz() {
    let test = Test::new().plan(GOOD);
    let dot = test.run_with(&["graph", "release.deploy"]);
    let path = test.path().join("graph.dot");
    std::fs::write(&path, dot.stdout).unwrap_or_default();
    match std::process::Command::new("dot").arg("-Tsvg").arg(&path).output() {
        Ok(output) => {
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
        }
        Err(_) if std::env::var_os("CI").is_none() => eprintln!("SKIPPED: graphviz `dot` is not installed"),
        Err(error) => panic!("CI must have graphviz: {error}"),
    }
}

#[test]
fn plan_shows_waves_commands_batches_and_coverage() {
    let output = Test::new()
        .plan(GOOD)
        .env("DEMO_TOKEN", "hunter2")
        .args(&["plan", "release.deploy", "--set", "version=2.0"])
        .run();
    assert_eq!(output.code, 0, "{}", output.stderr);
    let text = &output.stdout;
    assert!(text.contains("Wave 1: build"), "{text}");
    assert!(text.contains("Wave 2: ship"), "{text}");
    assert!(text.contains("$ make VERSION=2.0"), "{text}");
    assert!(text.contains("$ [web-3] ./install 2.0 web-3 http://127.0.0.1:9"), "{text}");
    assert!(text.contains("batch 1 of 2: web-1, web-2"), "{text}");
    assert!(text.contains("batch 2 of 2: web-3"), "{text}");
    assert!(text.contains("Rollback coverage: 2 of 2 stages can be undone"), "{text}");
    assert!(text.contains("token=***"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn plan_as_json() {
    let output = Test::new().plan(GOOD).args(&["plan", "release.deploy", "--format", "json"]).run();
    assert_eq!(output.code, 0, "{}", output.stderr);
    let preview: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
    assert_eq!(preview["version"], "1.0");
    assert_eq!(preview["waves"][0][0], "build");
    let ship = &preview["nodes"][1];
    assert_eq!(ship["target"], "prod");
    assert_eq!(ship["batches"][0]["hosts"].as_array().map(Vec::len), Some(2));
    assert_eq!(ship["rollback"]["kind"], "steps");
}

#[test]
fn plan_quotes_interpolated_values_for_the_shell() {
    let plan = "param msg: string = \"a b; rm -rf /\"\nstage say { run \"echo ${msg} ${raw(msg)}\"  irreversible = \"demo\" }\n";
    let output = Test::new().plan(plan).args(&["plan", "release.deploy"]).run();
    assert!(output.stdout.contains("$ echo 'a b; rm -rf /' a b; rm -rf /"), "{}", output.stdout);
}

#[test]
fn plan_rejects_a_bad_set_with_the_check_diagnostics() {
    let output = Test::new().plan(GOOD).args(&["plan", "release.deploy", "--set", "version"]).run();
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("E0122"), "{}", output.stderr);
}

#[test]
fn help_version_and_completions() {
    let help = Test::new().args(&["--help"]).run();
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("check"));
    let version = Test::new().args(&["--version"]).run();
    assert!(version.stdout.starts_with("deploy "));
    for shell in ["bash", "zsh", "fish"] {
        let completions = Test::new().args(&["completions", shell]).run();
        assert_eq!(completions.code, 0);
        assert!(completions.stdout.contains("deploy"));
    }
}

#[test]
fn bad_input_never_panics() {
    let deep = format!("stage a {{ needs = {}{} }}\n", "[".repeat(5000), "]".repeat(5000));
    let long_line = format!("stage a {{ run \"{}\" irreversible = \"x\" }}\n", "x".repeat(50 * 1024 * 1024));
    let test = Test::new()
        .file("deep.deploy", deep)
        .file("long.deploy", long_line)
        .file("latin1.deploy", b"stage caf\xe9 { }\n")
        .file("dir.deploy/keep", "")
        .file("empty.deploy", "")
        .file("nul.deploy", "stage \0 {}");
    for (args, code) in [
        (vec!["check", "missing.deploy"], 1),
        (vec!["check", "dir.deploy"], 1),
        (vec!["check", "latin1.deploy"], 1),
        (vec!["check", "deep.deploy"], 1),
        (vec!["check", "long.deploy"], 0),
        (vec!["check", "empty.deploy"], 0),
        (vec!["check", "nul.deploy"], 1),
        (vec!["check", "--no-such-flag", "x.deploy"], 1),
        (vec!["check"], 1),
        (vec!["frobnicate"], 1),
        (vec!["graph", "missing.deploy"], 1),
        (vec!["plan", "dir.deploy"], 1),
    ] {
        let output = test.run_with(&args);
        assert_eq!(output.code, code, "{args:?}: {}", output.stderr);
        assert!(!output.stderr.contains("panicked"), "{args:?}: {}", output.stderr);
        if code != 0 {
            assert!(!output.stderr.trim().is_empty(), "{args:?} printed no error");
        }
    }
}

#[test]
fn every_example_and_valid_fixture_checks_clean() {
    let mut files = Vec::new();
    for dir in ["examples", "examples/containers", "tests/fixtures/valid"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "deploy") {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty());
    for file in files {
        let output = Test::new().args(&["check", "--strict", &file.to_string_lossy()]).run();
        assert_eq!(output.code, 0, "{}: {}", file.display(), output.stderr);
    }
}

#[test]
fn syntax_errors_land_on_the_right_column_after_tabs() {
    let plan = "stage build {\n\t\trun 5\n}\n";
    let output = Test::new().plan(plan).args(&["check", "release.deploy", "--format", "json"]).run();
    assert_eq!(output.code, 1);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(diagnostic["code"], "E0001");
    // Two tabs and `run ` come before the `5`: column 7 in characters, byte 20.
    assert_eq!(diagnostic["range"]["start"]["line"], 2);
    assert_eq!(diagnostic["range"]["start"]["column"], 7);
    assert_eq!(diagnostic["range"]["start"]["byte"], 20);
    let message = diagnostic["message"].as_str().unwrap_or_default();
    assert!(message.contains("expected") && message.contains("a string"), "{message}");
}
