//! The Rhai sandbox through the real binary: limits and deadline, no file or
//! process access, errors placed in the `.deploy` file, the typed context.

mod common;

use std::time::{Duration, Instant};

use common::{Output, Test};
use serde_json::Value;

fn run_test(test: Test, extra: &[&str]) -> Output {
    let mut args = vec!["run", "release.deploy", "--json"];
    args.extend_from_slice(extra);
    test.run_with(&args)
}

fn run(plan: &str) -> Output {
    run_test(Test::new().plan(plan), &[])
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn show(output: &Output) -> String {
    format!("exit {}\n{}\n{}", output.code, output.stdout, output.stderr)
}

/// The error of the (only) failed stage.
fn stage_error(output: &Output) -> String {
    let events = output.events();
    of_type(&events, "node_finished")
        .iter()
        .find(|e| e["status"] == "failed" && e.get("host").is_none())
        .and_then(|e| e["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no failed stage: {}", show(output)))
}

fn script_stage(limits: &str, body: &str) -> String {
    format!("pipeline \"s\" {{ limits {{ {limits} }} }}\nstage s {{\n  script ```\n{body}\n  ```\n  irreversible = \"test\"\n}}\n")
}

#[test]
fn an_endless_loop_is_stopped_at_its_deadline_with_the_line() {
    let plan = script_stage("timeout = 500ms  operations = 1000000000000", "    let i = 0;\n    loop { i += 1; }");
    let started = Instant::now();
    let output = run(&plan);
    let took = started.elapsed();
    assert_eq!(output.code, 2, "{}", show(&output));
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(5), "{took:?}");
    let error = stage_error(&output);
    assert!(error.contains("script exceeded its 500ms deadline"), "{error}");
    // The loop is on line 5 of release.deploy.
    assert!(error.contains("release.deploy:5:"), "{error}");
}

#[test]
fn an_endless_loop_hits_the_operation_limit() {
    let output = run(&script_stage("operations = 100000", "    loop { }"));
    assert_eq!(output.code, 2, "{}", show(&output));
    let error = stage_error(&output);
    assert!(error.contains("script exceeded 100000 operations"), "{error}");
}

#[test]
fn a_huge_string_is_capped() {
    let output = run(&script_stage("string_size = 1000", "    let s = \"x\";\n    loop { s += s; }"));
    assert_eq!(output.code, 2, "{}", show(&output));
    let error = stage_error(&output);
    assert!(error.contains("string longer than the limit of 1000 bytes"), "{error}");
    assert!(error.contains("release.deploy:5:"), "{error}");
}

#[test]
fn scripts_cannot_reach_files_or_processes() {
    let test = Test::new();
    let secret_file = test.path().join("secret.txt");
    std::fs::write(&secret_file, "top secret").unwrap_or_else(|e| panic!("{e}"));
    let path = secret_file.display().to_string();
    for body in [
        format!("    let f = open_file(\"{path}\");"),
        format!("    let text = read_string(\"{path}\");"),
        "    system(\"touch pwned\");".to_string(),
        "    let c = command(\"touch pwned\");".to_string(),
        "    import \"fs\" as fs;".to_string(),
    ] {
        let output = run_test(Test::new().plan(&script_stage("", &body)), &[]);
        let all = show(&output);
        assert!(output.code == 2 || output.code == 1, "{body}: {all}");
        assert!(!all.contains("top secret"), "{body}: {all}");
        if output.code == 2 {
            let error = stage_error(&output);
            assert!(error.contains("release.deploy:4:"), "{body}: {error}");
            assert!(error.contains("not found") || error.contains("modules are not available"), "{body}: {error}");
        }
    }
    assert!(!test.path().join("pwned").exists());
}

#[test]
fn a_runtime_error_points_at_the_deploy_line() {
    let plan = "pipeline \"e\" {}\n\n\nstage s {\n  script ```\n    let data = #{ a: 1 };\n    let x = data.a + data.b.len();\n  ```\n  irreversible = \"test\"\n}\n";
    let output = run(plan);
    assert_eq!(output.code, 2, "{}", show(&output));
    let error = stage_error(&output);
    assert!(error.contains("release.deploy:7:"), "{error}");
    // Plain output shows it too.
    let plain = Test::new().plan(plan).run_with(&["run", "release.deploy"]);
    assert!(plain.stdout.contains("release.deploy:7:"), "{}", plain.stdout);
}

#[test]
fn scripts_see_a_typed_context_with_secrets_redacted() {
    let test = Test::new()
        .file(
            "lib.deploy",
            "template stage check_types(replicas: int = 3, label: string = \"x\") {\n  script ```\n    if type_of(replicas) != \"i64\" { fail(`replicas is ${type_of(replicas)}`) }\n    log(`label=${label} replicas=${replicas}`);\n  ```\n  irreversible = \"test\"\n}\n",
        )
        .plan(
            r#"
import "./lib.deploy" as lib
pipeline "ctx" {}
param version: string = "2.1"
param fast: bool = true
param batch: percent = 25%
secret token = env("CTX_TOKEN")
environment prod { hosts = ["web-1"]  vars { region = "eu-1" } }
stage show {
  target = prod
  script ```
    if type_of(attempt) != "i64" { fail("attempt") }
    if type_of(fast) != "bool" { fail("fast") }
    log(`v=${version} prev=${previous_version} host=${host} env=${env.name}/${env.region} stage=${stage} attempt=${attempt} fast=${fast} pipeline=${pipeline}`);
    log(`token=${token} len=${token.len()}`);
  ```
  irreversible = "test"
}
stage typed from lib.check_types { needs = [show]  replicas = 5  label = "${env.region}" }
"#,
        )
        .env("CTX_TOKEN", "s3cr3t-value");
    let output = run_test(test, &["--previous-version", "2.0"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    assert!(!output.stdout.contains("s3cr3t-value"), "{}", output.stdout);
    let lines: Vec<String> = of_type(&output.events(), "step_output")
        .iter()
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        lines,
        vec![
            "v=2.1 prev=2.0 host=web-1 env=prod/eu-1 stage=show attempt=1 fast=true pipeline=ctx",
            "token=*** len=12",
            "label=eu-1 replicas=5",
        ]
    );
}

#[test]
fn a_sleeping_script_does_not_hold_up_other_hosts() {
    let plan = r#"
pipeline "p" {}
environment prod { hosts = ["a", "b", "c", "d"] }
stage wait { target = prod  script `sleep(400)`  irreversible = "test" }
"#;
    let output = run_test(Test::new().plan(plan), &["--max-parallel", "4"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    // The four sleeps overlap: every host started before the first one finished.
    let events = output.events();
    let seqs = |kind: &str| -> Vec<u64> {
        of_type(&events, kind).iter().filter(|e| e.get("host").is_some()).filter_map(|e| e["seq"].as_u64()).collect()
    };
    let last_start = seqs("node_started").into_iter().max().unwrap_or(u64::MAX);
    let first_finish = seqs("node_finished").into_iter().min().unwrap_or(0);
    assert!(last_start < first_finish, "{events:?}");
}
