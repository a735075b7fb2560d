//! Errors as data: under `--json` every failure of `deploy run` ends with one
//! JSON object (`"type": "error"`) whose `kind` and `code` say what failed,
//! with the node, host and plan span when a run failed; the text on stderr
//! stays what people read.

mod common;

use std::process::{Child, Stdio};

use common::{Output, Test};
use serde_json::Value;

const PLAN: &str = r#"pipeline "r" {}
environment prod { hosts = ["web-1"] }
stage ship {
  target = prod
  run "exit 7"
  irreversible = "test"
}
"#;

/// The error object: the last line of stdout, which must be one.
fn error_object(output: &Output) -> Value {
    let last = output.stdout.lines().last().unwrap_or_default();
    let value: Value = serde_json::from_str(last).unwrap_or(Value::Null);
    assert_eq!(value["type"], "error", "stdout: {}\nstderr: {}", output.stdout, output.stderr);
    value
}

#[test]
fn an_unknown_env_is_a_plan_error_with_its_diagnostic_code() {
    let output = Test::new().plan(PLAN).run_with(&["run", "release.deploy", "--json", "--env", "staging"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let error = error_object(&output);
    assert_eq!(error["kind"], "plan");
    assert_eq!(error["code"], "E0134");
    assert_eq!(error["help"], "environments: prod");
    // People still get the diagnostic.
    assert!(output.stderr.contains("`--env staging`: the plan has no such environment"), "{}", output.stderr);
}

#[test]
fn without_json_no_error_object_is_printed() {
    let output = Test::new().plan(PLAN).run_with(&["run", "release.deploy", "--env", "staging"]);
    assert_eq!(output.code, 1);
    assert!(!output.stdout.contains("\"type\":\"error\""), "{}", output.stdout);
}

#[test]
fn a_damaged_state_file_is_a_state_error() {
    let test = Test::new().plan(PLAN).file(".deploy/state.db", "this is not a database");
    let output = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let error = error_object(&output);
    assert_eq!(error["kind"], "state");
    assert_eq!(error["code"], "state_corrupt");
    assert!(output.stderr.starts_with("error: the state store"), "{}", output.stderr);
    // Nothing ran.
    assert!(!output.stdout.contains("run_started"), "{}", output.stdout);
}

#[test]
fn a_state_that_cannot_be_opened_is_a_state_error() {
    let test = Test::new().plan(PLAN);
    let directory = test.path().display().to_string();
    let output = test.run_with(&["run", "release.deploy", "--json", "--state", &directory]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let error = error_object(&output);
    assert_eq!(error["kind"], "state");
    assert_eq!(error["code"], "state_unreadable");
}

#[test]
fn a_failing_step_names_its_node_host_and_span() {
    let output = Test::new().plan(PLAN).run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    let error = error_object(&output);
    assert_eq!(error["kind"], "run");
    assert_eq!(error["code"], "rolled_back");
    assert_eq!(error["node"], "ship");
    assert_eq!(error["host"], "web-1");
    assert_eq!(error["span"]["file"], "release.deploy");
    assert_eq!(error["span"]["line"], 3);
    assert_eq!(error["span"]["column"], 1);
    let start = error["span"]["start"].as_u64().unwrap_or_default() as usize;
    assert!(PLAN[start..].starts_with("stage ship"), "{error}");
    let cause = error["causes"][0].as_str().unwrap_or_default();
    assert!(cause.contains("exited with status 7"), "{error}");
    // The events came first, the run's end among them.
    let events = output.events();
    assert!(events.iter().any(|event| event["type"] == "run_finished"), "{}", output.stdout);
}

#[test]
fn a_run_that_succeeds_prints_no_error_object() {
    let plan = PLAN.replace("exit 7", "true");
    let output = Test::new().plan(&plan).run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.events().iter().all(|event| event["type"] != "error"), "{}", output.stdout);
}

const SLOW: &str = r#"pipeline "slow" {}
stage wait { run "while [ ! -f release ]; do sleep 0.02; done"  irreversible = "test" }
"#;

/// The run holding the lock: let go and reaped even when the test fails.
struct Holder {
    child: Child,
    release: std::path::PathBuf,
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.release, "");
        for _ in 0..250 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lock_is_held(test: &Test) -> bool {
    let status = test.run_with(&["status", "--json"]);
    let status: Value = serde_json::from_str(&status.stdout).unwrap_or(Value::Null);
    status["locks"].as_array().is_some_and(|locks| !locks.is_empty())
}

#[test]
fn a_held_lock_is_a_locked_error() {
    let test = Test::new().plan(SLOW);
    let child = test
        .command(&["run", "release.deploy", "--lock-message", "hotfix 42"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let _holder = Holder { child, release: test.path().join("release") };
    let held = (0..500).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        lock_is_held(&test)
    });
    assert!(held, "the first run never took the lock");
    let output = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let error = error_object(&output);
    assert_eq!(error["kind"], "locked");
    assert_eq!(error["code"], "lock_held");
    assert!(error["message"].as_str().unwrap_or_default().contains("hotfix 42"), "{error}");
    assert!(error["help"].as_str().unwrap_or_default().contains("--lock-timeout"), "{error}");
    assert!(output.stderr.contains("is locked by"), "{}", output.stderr);
}

#[test]
fn run_plan_and_simulate_name_an_unknown_env_or_host_alike() {
    let test = Test::new().plan(PLAN);
    for command in ["run", "plan", "simulate"] {
        let env = test.run_with(&[command, "release.deploy", "--env", "staging"]);
        assert_eq!(env.code, 1, "{command}: {}", env.stderr);
        assert!(env.stderr.contains("`--env staging`: the plan has no such environment"), "{command}: {}", env.stderr);
        assert!(env.stderr.contains("environments: prod"), "{command}: {}", env.stderr);
        let host = test.run_with(&[command, "release.deploy", "--limit", "db-*"]);
        assert_eq!(host.code, 1, "{command}: {}", host.stderr);
        assert!(host.stderr.contains("`--limit db-*` matches no host of the plan"), "{command}: {}", host.stderr);
        assert!(host.stderr.contains("hosts: web-1"), "{command}: {}", host.stderr);
    }
}

#[test]
fn simulate_skips_what_the_selection_leaves_out_like_run() {
    let plan = r#"pipeline "r" {}
environment staging { hosts = ["stg-1"] }
environment prod { hosts = ["web-1", "web-2"] }
stage first { target = staging  run "true"  irreversible = "test" }
stage second { needs = [first]  target = prod  run "true"  irreversible = "test" }
"#;
    let test = Test::new().plan(plan);
    let skipped = |output: &Output| -> Vec<String> {
        output
            .events()
            .iter()
            .filter(|event| event["type"] == "node_skipped")
            .filter_map(|event| event["node"].as_str().map(str::to_string))
            .collect()
    };
    let simulated = test.run_with(&["simulate", "release.deploy", "--json", "--env", "prod", "--limit", "web-1"]);
    assert_eq!(simulated.code, 0, "{}", simulated.stderr);
    let ran = test.run_with(&["run", "release.deploy", "--json", "--env", "prod", "--limit", "web-1"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(skipped(&simulated), ["first"]);
    assert_eq!(skipped(&simulated), skipped(&ran));
    let hosts = |output: &Output| -> Vec<String> {
        output
            .events()
            .iter()
            .filter(|event| event["type"] == "node_started")
            .filter_map(|event| event["host"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(hosts(&simulated), ["web-1"]);
    assert_eq!(hosts(&simulated), hosts(&ran));
}
