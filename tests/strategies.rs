//! Rollout strategies through the real binary: the batch order and the
//! rollback set of rolling, canary and blue/green, asserted from `--json`.

mod common;

use common::{Output, Test};
use serde_json::Value;

fn run(plan: &str, extra: &[&str]) -> Output {
    let test = Test::new().env("DEPLOY_KILL_GRACE_MS", "200").plan(plan);
    let mut args = vec!["run", "release.deploy", "--json"];
    args.extend_from_slice(extra);
    test.run_with(&args)
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn show(output: &Output) -> String {
    format!("exit {}\n{}\n{}", output.code, output.stdout, output.stderr)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// (label, hosts) of every `rollout_step` of `node`.
fn steps(events: &[Value], node: &str) -> Vec<(String, Vec<String>)> {
    of_type(events, "rollout_step")
        .iter()
        .filter(|e| e["node"] == node)
        .map(|e| (e["label"].as_str().unwrap_or("").to_string(), strings(&e["hosts"])))
        .collect()
}

/// The `node@host` units the rollback undid, in order.
fn rolled_back(events: &[Value]) -> Vec<String> {
    of_type(events, "rollback_step")
        .iter()
        .map(|e| {
            let label = format!("{}@{}", e["node"].as_str().unwrap_or(""), e["host"].as_str().unwrap_or(""));
            if e["switch_back"] == true {
                format!("{label} (switch back)")
            } else {
                label
            }
        })
        .collect()
}

/// Hosts in the order they started (first attempt) for `node`.
fn started_hosts(events: &[Value], node: &str) -> Vec<String> {
    of_type(events, "node_started")
        .iter()
        .filter(|e| e["node"] == node && e["attempt"] == 1)
        .filter_map(|e| e["host"].as_str().map(str::to_string))
        .collect()
}

fn hosts(n: usize) -> String {
    (1..=n).map(|i| format!("\"web-{i}\"")).collect::<Vec<_>>().join(", ")
}

#[test]
fn rolling_batches_in_host_order_and_tolerates_max_failures() {
    let plan = format!(
        r#"
pipeline "r" {{}}
param bad: string = "none"
environment prod {{ hosts = [{}] }}
stage deploy {{
  target = prod
  strategy rolling {{ batch = 2  max_failures = 1 }}
  run "echo deploy ${{host}}; test ${{host}} != ${{bad}}"
  rollback {{ run "echo undo ${{host}}" }}
}}
"#,
        hosts(5)
    );
    let output = run(&plan, &["--set", "bad=web-2"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    let events = output.events();
    assert_eq!(
        steps(&events, "deploy"),
        vec![
            ("batch 1 of 3".to_string(), vec!["web-1".to_string(), "web-2".to_string()]),
            ("batch 2 of 3".to_string(), vec!["web-3".to_string(), "web-4".to_string()]),
            ("batch 3 of 3".to_string(), vec!["web-5".to_string()]),
        ]
    );
    // Every batch starts after the one before it finished.
    let seq = |kind: &str, host: &str| {
        events.iter().find(|e| e["type"] == kind && e["host"] == host).and_then(|e| e["seq"].as_u64()).unwrap_or(0)
    };
    assert!(seq("node_started", "web-3") > seq("node_finished", "web-1").max(seq("node_finished", "web-2")));
    assert!(seq("node_started", "web-5") > seq("node_finished", "web-3").max(seq("node_finished", "web-4")));
    let warning = of_type(&events, "warning")[0]["message"].as_str().unwrap_or("").to_string();
    assert!(warning.contains("web-2 failed (1 of 1 tolerated failures)"), "{warning}");
    assert_eq!(of_type(&events, "run_finished")[0]["status"], "succeeded");
}

#[test]
fn rolling_stops_and_rolls_back_when_failures_exceed_the_limit() {
    let plan = format!(
        r#"
pipeline "r" {{}}
environment prod {{ hosts = [{}] }}
stage deploy {{
  target = prod
  strategy rolling {{ batch = 1  max_failures = 1 }}
  run "case ${{host}} in web-2|web-3) exit 1;; esac"
  rollback {{ run "echo undo ${{host}}" }}
}}
"#,
        hosts(5)
    );
    let output = run(&plan, &[]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    // web-2 is tolerated, web-3 is one too many: web-4 and web-5 never start.
    assert_eq!(started_hosts(&events, "deploy"), vec!["web-1", "web-2", "web-3"]);
    assert_eq!(rolled_back(&events), vec!["deploy@web-3", "deploy@web-2", "deploy@web-1"]);
    let error = of_type(&events, "run_finished")[0]["summary"]["failure"]["message"].to_string();
    assert!(error.contains("2 of 5 hosts failed"), "{error}");
}

const CANARY: &str = r#"
pipeline "c" {}
param fail_step: int = 0
param fail_host: string = "none"
environment prod { hosts = ["web-1", "web-2", "web-3", "web-4", "web-5", "web-6", "web-7", "web-8", "web-9", "web-10"] }
gate analysis {
  check every 50ms within 150ms ```
    log(`analysing ${hosts.len()} hosts in ${env.name} for ${stage}`);
    if fail_step > 0 && hosts.len() >= fail_step { fail(`error rate too high on ${hosts.len()} hosts`) }
    true
  ```
}
stage build { run "echo build"  rollback { run "echo undo build" } }
stage deploy {
  needs = [build]
  target = prod
  strategy canary { steps = [10%, 50%, 100%]  pause = 200ms  analysis = analysis }
  run "echo deploy ${host}; test ${host} != ${fail_host}"
  rollback { run "echo undo ${host}" }
}
"#;

fn web(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("web-{i}")).collect()
}

#[test]
fn canary_steps_pause_and_analyse() {
    let output = run(CANARY, &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    let events = output.events();
    assert_eq!(
        steps(&events, "deploy"),
        vec![
            ("canary 10%".to_string(), web(1..=1)),
            ("canary 50%".to_string(), web(2..=5)),
            ("canary 100%".to_string(), web(6..=10))
        ]
    );
    assert_eq!(of_type(&events, "rollout_pause").len(), 3);
    let analyses: Vec<&Value> =
        of_type(&events, "gate_outcome").into_iter().filter(|e| e["role"] == "analysis").collect();
    assert_eq!(analyses.len(), 3);
    let logs: Vec<String> = of_type(&events, "step_output")
        .iter()
        .filter(|e| e["node"] == "analysis")
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        logs,
        vec![
            "analysing 1 hosts in prod for deploy",
            "analysing 5 hosts in prod for deploy",
            "analysing 10 hosts in prod for deploy"
        ]
    );
}

#[test]
fn a_canary_failing_its_second_analysis_rolls_back_exactly_the_hosts_done() {
    let output = run(CANARY, &["--set", "fail_step=2"]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    // Steps 1 and 2 ran; step 3 never started.
    assert_eq!(steps(&events, "deploy").len(), 2);
    let mut started = started_hosts(&events, "deploy");
    started.sort_by_key(|h| h.trim_start_matches("web-").parse::<u32>().unwrap_or(0));
    assert_eq!(started, web(1..=5));
    let analysis =
        of_type(&events, "gate_outcome").into_iter().find(|e| e["outcome"] == "fail").cloned().unwrap_or_default();
    assert_eq!(analysis["stage"], "deploy");
    assert_eq!(analysis["role"], "analysis");
    assert_eq!(analysis["message"], "error rate too high on 5 hosts");
    let mut undone = rolled_back(&events);
    assert_eq!(undone.pop().as_deref(), Some("build@"));
    undone.sort();
    let mut expected: Vec<String> = web(1..=5).iter().map(|h| format!("deploy@{h}")).collect();
    expected.sort();
    assert_eq!(undone, expected);
    let failure = &of_type(&events, "run_finished")[0]["summary"]["failure"];
    assert_eq!(failure["node"], "deploy");
    assert!(failure["message"].as_str().unwrap_or("").starts_with("analysis gate analysis failed"), "{failure}");
}

#[test]
fn a_canary_host_failing_at_the_second_step_stops_the_rollout() {
    let output = run(CANARY, &["--set", "fail_host=web-3"]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    assert_eq!(steps(&events, "deploy").len(), 2);
    // No analysis after the failed step.
    assert_eq!(of_type(&events, "gate_outcome").len(), 1);
    let mut undone: Vec<String> = rolled_back(&events).into_iter().filter(|unit| unit.starts_with("deploy@")).collect();
    undone.sort();
    let mut expected: Vec<String> = web(1..=5).iter().map(|h| format!("deploy@{h}")).collect();
    expected.sort();
    // web-3 failed (undone too: it may have changed something); web-1..5 are every host the canary touched.
    assert_eq!(undone, expected);
}

const BLUE_GREEN: &str = r#"
pipeline "bg" {}
param version: string = "2.0"
param fail_after: bool = false
param verify_ok: bool = true
environment prod { hosts = ["web-1", "web-2", "web-3"] }
gate ready { check every 50ms within 120ms `verify_ok` }
stage deploy {
  target = prod
  strategy blue_green {
    switch { run "echo switch ${host} to ${version}" }
    verify = ready
    keep_previous = 30m
  }
  run "echo install ${version} on ${host}"
  rollback { run "echo remove ${version} from ${host}" }
}
stage smoke { needs = [deploy]  run "test ${fail_after} = false"  irreversible = "read only" }
"#;

#[test]
fn blue_green_installs_everywhere_verifies_then_switches() {
    let output = run(BLUE_GREEN, &["--previous-version", "1.0"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    let events = output.events();
    let phases: Vec<String> =
        of_type(&events, "rollout_step").iter().map(|e| e["phase"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(phases, vec!["install", "verify", "switch"]);
    let lines: Vec<String> = of_type(&events, "step_output")
        .iter()
        .filter(|e| e["node"] == "deploy")
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    // Every install before the first switch.
    let last_install = lines.iter().rposition(|l| l.starts_with("install")).unwrap_or(usize::MAX);
    let first_switch = lines.iter().position(|l| l.starts_with("switch")).unwrap_or(0);
    assert!(last_install < first_switch, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("switch")).count(), 3);
    let kept = of_type(&events, "previous_kept");
    assert_eq!(kept[0]["version"], "1.0");
    assert_eq!(strings(&kept[0]["hosts"]), vec!["web-1", "web-2", "web-3"]);
    assert_eq!(kept[0]["environment"], "prod");
}

#[test]
fn a_failure_after_the_switch_switches_back_then_removes_the_installs() {
    let output = run(BLUE_GREEN, &["--set", "fail_after=true", "--previous-version", "1.0"]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let undone = rolled_back(&events);
    // smoke (irreversible), the three switches back, then the three installs.
    assert_eq!(undone[0], "smoke@");
    assert!(undone[1..4].iter().all(|u| u.ends_with("(switch back)")), "{undone:?}");
    assert!(undone[4..7].iter().all(|u| !u.ends_with("(switch back)")), "{undone:?}");
    let rollback_lines: Vec<String> = of_type(&events, "step_output")
        .iter()
        .filter(|e| e["rollback"] == true)
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    let switched_back: Vec<&String> = rollback_lines.iter().filter(|l| l.starts_with("switch")).collect();
    assert_eq!(switched_back.len(), 3);
    assert!(switched_back.iter().all(|l| l.ends_with("to 1.0")), "{rollback_lines:?}");
    assert_eq!(of_type(&events, "run_finished")[0]["status"], "rolled_back");
}

#[test]
fn a_failed_verify_never_switches() {
    let output = run(BLUE_GREEN, &["--set", "verify_ok=false", "--previous-version", "1.0"]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let phases: Vec<String> =
        of_type(&events, "rollout_step").iter().map(|e| e["phase"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(phases, vec!["install", "verify"]);
    let undone = rolled_back(&events);
    assert_eq!(undone.len(), 3);
    assert!(undone.iter().all(|u| !u.ends_with("(switch back)")), "{undone:?}");
}

#[test]
fn switching_back_without_a_previous_version_is_a_failed_rollback() {
    let output = run(BLUE_GREEN, &["--set", "fail_after=true"]);
    assert_eq!(output.code, 4, "{}", show(&output));
    let events = output.events();
    let errors: Vec<String> = of_type(&events, "rollback_step")
        .iter()
        .filter(|e| e["switch_back"] == true)
        .filter_map(|e| e["error"].as_str().map(str::to_string))
        .collect();
    assert_eq!(errors.len(), 3);
    assert!(errors[0].contains("no previous version"), "{errors:?}");
}

#[test]
fn plan_shows_the_worst_case_time_to_complete_and_to_roll_back() {
    let plan = r#"
pipeline "w" {}
environment prod { hosts = ["a", "b", "c", "d"] }
gate smoke { check every 5s within 2m `true` }
stage build { run "make"  timeout = 10m  retry = 2 every 10s  rollback { run "make clean" } }
gate go { needs = [build]  approve "ship?" }
stage deploy {
  needs = [go]
  target = prod
  timeout = 1m
  strategy canary { steps = [25%, 50%, 100%]  pause = 1m  analysis = smoke }
  run "install"
  rollback { run "uninstall" }
}
"#;
    let test = Test::new().plan(plan);
    let output = test.run_with(&["plan", "release.deploy"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    // build: 3 attempts × 10m + 2 × 10s; deploy: 3 × (1m + 1m pause + 2m within + 30s script deadline).
    assert!(
        output.stdout.contains("to complete: unbounded (43m50s plus what has no bound) along build → go → deploy"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("unbounded: go waits for an approval"), "{}", output.stdout);
    // build once, deploy on four hosts, one at a time.
    assert!(output.stdout.contains("to roll back: at most 14m"), "{}", output.stdout);
    // The analysis gate runs inside the canary: in no wave, shown under its stage.
    assert!(output.stdout.contains("    decides gate smoke: check every 5s within 2m"), "{}", output.stdout);
    assert!(!output.stdout.lines().any(|l| l.starts_with("Wave") && l.contains("smoke")), "{}", output.stdout);
    let json = test.run_with(&["plan", "release.deploy", "--format", "json"]);
    let value: Value = serde_json::from_str(&json.stdout).unwrap_or_default();
    assert_eq!(value["worst_case"]["complete"]["millis"], 2_630_000);
    assert_eq!(value["worst_case"]["rollback"]["millis"], 840_000);
}
