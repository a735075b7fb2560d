//! `deploy simulate` through the real binary: the real engine over a
//! simulated transport and clock. Injected failures, gate outcomes,
//! approvals, timeouts and interrupts; exit codes; nothing touched; seeds;
//! durations from history; `--explore`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Output, Test};
use serde_json::Value;

const ROLLING: &str = r#"
pipeline "shop" { on_failure = rollback }

environment production {
  hosts = ["web-1", "web-2", "web-3", "web-4"]
}

stage build {
  run "echo build > build.out"
  rollback { run "rm -f build.out" }
}

stage deploy {
  needs  = [build]
  target = production
  strategy rolling { batch = 1 }
  run "echo ${version} > ${host}.out"
  run "echo check ${host} >> ${host}.out"
  rollback { run "echo undone > ${host}.out" }
}
"#;

fn simulate(test: &Test, extra: &[&str]) -> Output {
    let mut args = vec!["simulate", "release.deploy", "--json"];
    args.extend_from_slice(extra);
    test.run_with(&args)
}

fn summary(output: &Output) -> Value {
    output
        .events()
        .into_iter()
        .find(|event| event["type"] == "simulation_summary")
        .unwrap_or_else(|| panic!("no summary in {}\n{}", output.stdout, output.stderr))
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn host_state(summary: &Value, host: &str) -> String {
    summary["conclusion"]["hosts"]
        .as_array()
        .and_then(|hosts| hosts.iter().find(|h| h["host"] == host))
        .map(|h| h["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Every file below `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap_or_else(|e| panic!("read {}: {e}", next.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

#[test]
fn a_failure_on_the_third_host_undoes_the_first_two_in_reverse_and_never_touches_the_fourth() {
    let test = Test::new().plan(ROLLING);
    let output = simulate(&test, &["--fail", "deploy@web-3"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    let events = output.events();
    assert!(events.iter().all(|e| e["simulated"] == true), "every event is marked simulated");
    let undone: Vec<String> = of_type(&events, "rollback_step")
        .iter()
        .filter(|e| e["node"] == "deploy")
        .map(|e| e["host"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(undone, ["web-3", "web-2", "web-1"]);
    assert!(!events.iter().any(|e| e["host"] == "web-4"), "web-4 is never touched");
    let summary = summary(&output);
    assert_eq!(summary["conclusion"]["outcome"], "rolled_back");
    assert_eq!(summary["conclusion"]["exit_code"], 2);
    assert_eq!(host_state(&summary, "web-1"), "undone");
    assert_eq!(host_state(&summary, "web-4"), "untouched");
    // The real run's exit code, and nothing ran.
    assert!(!test.path().join("web-1.out").exists());
    assert!(!test.path().join("build.out").exists());
}

#[test]
fn the_human_summary_names_the_outcome_hosts_and_timeline() {
    let test = Test::new().plan(ROLLING);
    let output = test.run_with(&["simulate", "release.deploy", "--fail", "deploy@web-3#2"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stdout.contains("Simulated run: rolled back — a real run would exit 2"), "{}", output.stdout);
    assert!(output.stdout.contains("production web-4"), "{}", output.stdout);
    assert!(output.stdout.contains("old version (untouched)"), "{}", output.stdout);
    assert!(output.stdout.contains("Timeline (simulated time):"), "{}", output.stdout);
    assert!(output.stdout.contains("undo deploy@web-1: succeeded"), "{}", output.stdout);
    assert!(output.stdout.contains("deploy: 1s — the default"), "{}", output.stdout);
}

#[test]
fn an_inconclusive_gate_under_pause_ends_paused_and_ten_minute_waits_take_no_time() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
stage build {
  run "echo build"
  rollback { run "echo undo" }
}
gate bake {
  needs = [build]
  wait  = 10m
}
gate smoke {
  needs = [bake]
  check every 30s within 10m `true`
  on_inconclusive = pause
}
"#;
    let test = Test::new().plan(plan);
    let started = Instant::now();
    let output = simulate(&test, &["--gate", "smoke=inconclusive"]);
    assert!(started.elapsed() < Duration::from_secs(20), "the simulation waits in virtual time");
    assert_eq!(output.code, 3, "{}\n{}", output.stdout, output.stderr);
    let summary = summary(&output);
    assert_eq!(summary["conclusion"]["outcome"], "paused");
    let simulated = summary["conclusion"]["duration_ms"].as_u64().unwrap_or(0);
    assert!(simulated >= 19 * 60 * 1000, "10m wait + about 10m of polls, simulated: {simulated} ms");
    let polls = of_type(&output.events(), "gate_evaluation").len();
    assert!(polls >= 20, "the check polls every 30s within 10m: {polls}");
}

#[test]
fn a_failing_rollback_step_gives_exit_4() {
    let test = Test::new().plan(ROLLING);
    let output = simulate(&test, &["--fail", "deploy@web-2", "--fail-rollback", "deploy@web-1"]);
    assert_eq!(output.code, 4, "{}\n{}", output.stdout, output.stderr);
    let summary = summary(&output);
    assert_eq!(summary["conclusion"]["outcome"], "rollback_failed");
    assert_eq!(host_state(&summary, "web-1"), "mixed");
}

#[test]
fn explore_reports_an_irreversible_stage_and_findings() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
environment production { hosts = ["web-1", "web-2"] }
stage migrate {
  run "./migrate.sh"
  irreversible = "the schema cannot go back"
}
stage deploy {
  needs  = [migrate]
  target = production
  run "./install.sh ${host}"
  rollback { run "./restore.sh ${host}" }
}
"#;
    let test = Test::new().plan(plan);
    let output = test.run_with(&["simulate", "release.deploy", "--explore", "--format", "json"]);
    let document: Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout));
    let scenarios = document["scenarios"].as_array().cloned().unwrap_or_default();
    let row = |flag: &str| {
        scenarios.iter().find(|s| s["injection"] == flag).cloned().unwrap_or_else(|| panic!("no {flag}: {document}"))
    };
    assert_eq!(row("(none)")["outcome"], "succeeded");
    let failed = row("--fail deploy@web-2#1");
    assert_eq!(failed["outcome"], "irreversible_step_reached");
    assert_eq!(failed["irreversible_reached"][0], "migrate");
    assert_eq!(row("--fail migrate#1")["outcome"], "irreversible_step_reached");
    // One scenario per step and host, plus the base run.
    assert_eq!(scenarios.len(), 1 + 1 + 2);
    assert_eq!(document["findings"], 0);
    assert_eq!(output.code, 0, "{}", output.stderr);

    let human = test.run_with(&["simulate", "release.deploy", "--explore"]);
    assert!(human.stdout.contains("irreversible step reached"), "{}", human.stdout);
    assert!(human.stdout.contains("irreversible: migrate"), "{}", human.stdout);
}

#[test]
fn explore_exits_non_zero_when_a_single_failure_leaves_a_host_mixed() {
    let plan = r#"
pipeline "shop" { on_failure = abort }
environment production { hosts = ["web-1", "web-2"] }
stage deploy {
  target = production
  strategy rolling { batch = 1 }
  run "./install.sh ${host}"
  run "./switch.sh ${host}"
  rollback { run "./restore.sh ${host}" }
}
"#;
    let test = Test::new().plan(plan);
    let output = test.run_with(&["simulate", "release.deploy", "--explore", "--format", "json"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    let document: Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout));
    assert!(document["findings"].as_u64().unwrap_or(0) >= 1, "{document}");
    let finding = document["scenarios"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["injection"] == "--fail deploy@web-2#2").cloned())
        .unwrap_or_default();
    assert_eq!(finding["outcome"], "aborted");
    assert_eq!(finding["mixed_hosts"][0], "web-2");
    assert_eq!(finding["finding"], true);
}

#[test]
fn a_simulation_leaves_the_state_store_and_every_host_directory_unchanged() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
param version: string = "0"
environment production { hosts = ["web-1", "web-2"] }
stage deploy {
  target = production
  run "mkdir -p hosts/${host} && echo ${version} > hosts/${host}/current"
  rollback { run "echo rolled-back > hosts/${host}/current" }
}
"#;
    let test = Test::new().plan(plan);
    let first = test.run_with(&["run", "release.deploy", "--set", "version=1.0"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(test.path().join(".deploy/state.db").exists());
    let before = snapshot(test.path());
    for extra in
        [vec!["--set", "version=2.0"], vec!["--set", "version=2.0", "--fail", "deploy@web-2"], vec!["--explore"]]
    {
        let output = simulate(&test, &extra);
        assert!(output.code == 0 || output.code == 2, "{}\n{}", output.stdout, output.stderr);
    }
    let after = snapshot(test.path());
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (name, bytes) in &before {
        assert!(after.get(name) == Some(bytes), "{name} changed");
    }
    // The previous version came from the state, read only.
    let output = simulate(&test, &["--set", "version=2.0"]);
    let started = output.events().into_iter().find(|e| e["type"] == "run_started").unwrap_or_default();
    assert_eq!(started["previous_version"], "1.0");
}

#[test]
fn a_plan_whose_every_step_writes_a_file_writes_none() {
    let plan = r#"
pipeline "shop" {
  on_failure = rollback
  on start { run "touch hook-start" }
  on rollback { run "touch hook-rollback" }
}
environment production { hosts = ["web-1", "web-2", "web-3"] }
stage build {
  run "touch build-1"
  run "touch build-2"
  rollback { run "touch build-undo" }
  on success { run "touch build-success" }
}
stage deploy {
  needs  = [build]
  target = production
  strategy rolling { batch = 1  max_failures = 0 }
  run "touch deploy-${host}"
  rollback { run "touch undo-${host}" }
}
"#;
    let test = Test::new().plan(plan);
    let before = snapshot(test.path());
    for extra in [vec![], vec!["--fail", "deploy@web-3"], vec!["--random-failures", "0.5", "--seed", "3"]] {
        let output = simulate(&test, &extra);
        assert!(output.code == 0 || output.code == 2 || output.code == 4, "{}", output.stderr);
        let lines: Vec<String> = of_type(&output.events(), "step_output")
            .iter()
            .map(|e| e["line"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(lines.iter().any(|line| line == "(simulated) $ touch build-1"), "{lines:?}");
    }
    assert_eq!(snapshot(test.path()), before, "no file was written");
    assert!(!test.path().join(".deploy").exists(), "no state store was created");
}

#[test]
fn a_seed_reproduces_the_same_path() {
    let test = Test::new().plan(ROLLING);
    let path = |seed: &str| {
        let output = simulate(&test, &["--random-failures", "0.3", "--seed", seed]);
        let finished: Vec<String> = output
            .events()
            .iter()
            .filter(|e| e["type"] == "node_finished" || e["type"] == "rollback_step")
            .map(|e| format!("{} {} {} {}", e["type"], e["node"], e["host"], e["status"]))
            .collect();
        (output.code, finished)
    };
    let first = path("42");
    assert_eq!(first, path("42"));
    let others: Vec<_> = (1..=8).map(|seed| path(&seed.to_string())).collect();
    assert!(others.iter().any(|other| other != &first), "other seeds take other paths");
}

#[test]
fn durations_come_from_history_when_there_is_some() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
stage build {
  run "sleep 1.2"
  timeout = 1h
  rollback { run "true" }
}
stage test {
  needs = [build]
  run "true"
  timeout = 10m
  rollback { run "true" }
}
"#;
    let test = Test::new().plan(plan);
    let fresh = summary(&simulate(&test, &[]));
    let build = |summary: &Value| {
        summary["durations"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["stage"] == "build").cloned())
            .unwrap_or_default()
    };
    assert_eq!(build(&fresh)["source"], "timeout");
    assert_eq!(build(&fresh)["unit_ms"], 3_600_000);
    let run = test.run_with(&["run", "release.deploy"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let known = summary(&simulate(&test, &[]));
    assert_eq!(build(&known)["source"], "history");
    assert_eq!(build(&known)["samples"], 1);
    let unit = build(&known)["unit_ms"].as_u64().unwrap_or(0);
    assert!((1200..10_000).contains(&unit), "the median of the real run: {unit}");
    let total = known["conclusion"]["duration_ms"].as_u64().unwrap_or(0);
    assert!(total >= unit && total < 3_600_000, "the timeline follows history: {total}");
}

#[test]
fn approvals_are_given_refused_or_left_unanswered() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
stage build {
  run "echo build"
  rollback { run "echo undo" }
}
gate go_live {
  needs = [build]
  approve "Ship it?"
}
stage ship {
  needs = [go_live]
  run "echo ship"
  rollback { run "echo unship" }
}
"#;
    let test = Test::new().plan(plan);
    assert_eq!(simulate(&test, &[]).code, 3, "unanswered: paused");
    assert_eq!(simulate(&test, &["--approve", "go_live"]).code, 0);
    let refused = simulate(&test, &["--refuse", "go_live"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(of_type(&refused.events(), "approval_refused").len() == 1);

    // `--refuse` wins over `--yes` (and over `--approve` of the same gate):
    // the refused approval rolls back as a real "no" would.
    for yes in [vec!["--yes"], vec!["--approve", "go_live"]] {
        let args: Vec<&str> = yes.iter().copied().chain(["--refuse", "go_live"]).collect();
        let refused = simulate(&test, &args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        let events = refused.events();
        assert_eq!(of_type(&events, "approval_refused").len(), 1, "{args:?}");
        assert!(of_type(&events, "approved").is_empty(), "{args:?}: nothing else approved go_live");
        assert_eq!(summary(&refused)["conclusion"]["outcome"], "rolled_back", "{args:?}");
    }

    // The documented CI use: every `--refuse` row of `--explore --yes`
    // rolls back, and the base row (everything approved) succeeds.
    let explored = test.run_with(&["simulate", "release.deploy", "--explore", "--yes", "--format", "json"]);
    let document: Value = serde_json::from_str(&explored.stdout).unwrap_or_else(|e| panic!("{e}: {}", explored.stdout));
    let scenarios = document["scenarios"].as_array().cloned().unwrap_or_default();
    let row = |flag: &str| scenarios.iter().find(|s| s["injection"] == flag).cloned();
    assert_eq!(row("(none)").map(|row| row["outcome"].clone()), Some(Value::from("succeeded")), "{document}");
    let refused = row("--refuse go_live").unwrap_or_else(|| panic!("no --refuse row: {document}"));
    assert_eq!(refused["outcome"], "rolled_back", "{document}");
}

#[test]
fn a_timeout_and_an_interrupt_happen_in_virtual_time() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
environment production { hosts = ["web-1", "web-2"] }
stage deploy {
  target  = production
  run "./install.sh ${host}"
  timeout = 10m
  rollback { run "./restore.sh ${host}" }
}
gate soak {
  needs = [deploy]
  wait  = 2h
}
"#;
    let test = Test::new().plan(plan);
    let timed_out = simulate(&test, &["--timeout", "deploy@web-1"]);
    assert_eq!(timed_out.code, 2, "{}", timed_out.stderr);
    let summary_value = summary(&timed_out);
    let failure = summary_value["conclusion"]["failure"].as_str().unwrap_or("").to_string();
    assert!(failure.contains("timed out after 10m"), "{failure}");
    let interrupted = simulate(&test, &["--interrupt-after", "1h"]);
    assert_eq!(interrupted.code, 130, "{}", interrupted.stderr);
    let events = interrupted.events();
    // At 1h only the soak waits: the interrupt stops the waiting and keeps
    // the release (docs/cli.md), as the real run does.
    assert!(of_type(&events, "rollback_step").is_empty(), "a Ctrl-C during a soak undoes nothing");
    let simulated = summary(&interrupted)["conclusion"]["duration_ms"].as_u64().unwrap_or(0);
    assert!((3_600_000..7_200_000).contains(&simulated), "{simulated}");
    // While a step runs (web-1 hangs until its 10m timeout), the interrupt
    // rolls back under on_failure = rollback.
    let mid_step = simulate(&test, &["--timeout", "deploy@web-1", "--interrupt-after", "1m"]);
    assert_eq!(mid_step.code, 130, "{}", mid_step.stderr);
    assert_eq!(of_type(&mid_step.events(), "rollback_step").len(), 2, "both hosts undone");
}

#[test]
fn bad_injections_are_errors_that_name_what_exists() {
    // No default step timeout either: `--timeout deploy` has nothing to hit.
    let test =
        Test::new().plan(&ROLLING.replace("on_failure = rollback }", "on_failure = rollback  step_timeout = none }"));
    let unknown = simulate(&test, &["--fail", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("no such stage (stages: build, deploy)"), "{}", unknown.stderr);
    let host = simulate(&test, &["--fail", "deploy@web-9"]);
    assert!(host.stderr.contains("does not run on web-9"), "{}", host.stderr);
    let hang = simulate(&test, &["--timeout", "deploy"]);
    assert_eq!(hang.code, 1);
    assert!(hang.stderr.contains("has no `timeout`"), "{}", hang.stderr);
    let gate = simulate(&test, &["--gate", "deploy=maybe"]);
    assert_eq!(gate.code, 1);
    assert!(gate.stderr.contains("pass, fail, inconclusive, no-data"), "{}", gate.stderr);
}

#[test]
fn the_release_example_simulates() {
    let root = common::root();
    let test = Test::new().current_dir(root.join("examples"));
    let output = test.run_with(&[
        "simulate",
        "release.deploy",
        "--fail",
        "production@web-3",
        "--state",
        "/nonexistent/state.db",
    ]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    assert!(output.stdout.contains("undo production@web-1: succeeded"), "{}", output.stdout);
}

#[test]
fn env_and_limit_select_what_is_simulated() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
environment staging { hosts = ["stg-1"] }
environment production { hosts = ["web-1", "web-2", "db-1"] }
stage build {
  run "make"
  rollback { run "make clean" }
}
stage stage_rollout {
  needs  = [build]
  target = staging
  run "./install ${host}"
  rollback { run "./restore ${host}" }
}
gate smoke {
  needs = [stage_rollout]
  check every 5s within 1m `true`
}
stage production {
  needs  = [smoke]
  target = production
  run "./install ${host}"
  rollback { run "./restore ${host}" }
}
"#;
    let test = Test::new().plan(plan);
    let output = simulate(&test, &["--env", "production", "--limit", "web-*"]);
    assert_eq!(output.code, 0, "{}\n{}", output.stdout, output.stderr);
    let events = output.events();
    let hosts: Vec<String> =
        of_type(&events, "node_started").iter().filter_map(|e| e["host"].as_str().map(str::to_string)).collect();
    assert_eq!(hosts, ["web-1", "web-2"]);
    let nodes: Vec<String> = of_type(&events, "node_started")
        .iter()
        .filter(|e| e.get("host").is_none())
        .map(|e| e["node"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(nodes, ["build", "smoke", "production"], "staging is left out, the order through it stays");
    let unknown = simulate(&test, &["--env", "qa"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("environments: staging, production"), "{}", unknown.stderr);
    let host = simulate(&test, &["--limit", "mail-*"]);
    assert_eq!(host.code, 1);
    assert!(host.stderr.contains("`--limit mail-*` matches no host of the plan"), "{}", host.stderr);
}

#[test]
fn a_gate_can_fail_at_one_evaluation_only() {
    let plan = r#"
pipeline "shop" { on_failure = rollback }
environment production { hosts = ["web-1", "web-2", "web-3", "web-4"] }
stage deploy {
  target = production
  strategy canary { steps = [25%, 50%, 100%]  analysis = healthy }
  run "./install.sh ${host}"
  rollback { run "./restore.sh ${host}" }
}
gate healthy {
  check every 1s within 5s `true`
}
"#;
    let test = Test::new().plan(plan);
    let outcomes = |output: &Output| -> Vec<String> {
        of_type(&output.events(), "gate_outcome")
            .iter()
            .filter_map(|event| event["outcome"].as_str().map(String::from))
            .collect()
    };
    // The second step's analysis fails: the first passed, the third never came.
    let second = simulate(&test, &["--gate", "healthy@2=fail"]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert_eq!(outcomes(&second), ["pass", "fail"], "{}", second.stdout);
    assert_eq!(summary(&second)["conclusion"]["outcome"], "rolled_back");
    // At every evaluation: the first step already fails.
    let every = simulate(&test, &["--gate", "healthy=fail"]);
    assert_eq!(outcomes(&every), ["fail"], "{}", every.stdout);
    // Past the last evaluation: nothing is injected, the release succeeds.
    let never = simulate(&test, &["--gate", "healthy@9=fail"]);
    assert_eq!(never.code, 0, "{}", never.stderr);
    assert!(outcomes(&never).iter().all(|outcome| outcome == "pass"), "{}", never.stdout);
    let bad = simulate(&test, &["--gate", "healthy@0=fail"]);
    assert_eq!(bad.code, 1, "a wrong command line: {}", bad.stderr);
    assert!(bad.stderr.contains("a number from 1"), "{}", bad.stderr);
}

/// #26: `--explore` counts a pause as a finding only when a host is left on
/// a mixed version at it: a pause after every host got the new version is
/// none; a pause between two stages of the same hosts (installed, not
/// switched) is one.
#[test]
fn explore_counts_a_pause_only_when_it_leaves_a_host_mixed() {
    let explore = |plan: &str| -> Value {
        let test = Test::new().plan(plan);
        let output = test.run_with(&["simulate", "release.deploy", "--explore", "--format", "json"]);
        serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", output.stdout, output.stderr))
    };
    let base = |document: &Value| -> Value {
        document["scenarios"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|row| row["injection"] == "(none)")
            .cloned()
            .unwrap_or_else(|| panic!("no base row: {document}"))
    };
    let whole = explore(
        "pipeline \"shop\" {}\nparam version: string = \"2.0\"\n\
         environment production { hosts = [\"web-1\", \"web-2\"] }\n\
         stage ship { target = production  run \"echo ${version}\"  rollback { run \"true\" } }\n\
         gate go { needs = [ship]  approve \"ok?\" }\n",
    );
    let paused = base(&whole);
    assert_eq!(paused["outcome"], "paused", "{whole}");
    assert_eq!(paused["finding"], false, "every host is on 2.0 at this pause: {whole}");
    assert_eq!(whole["findings"], 0, "{whole}");
    let halfway = explore(
        "pipeline \"shop\" {}\nparam version: string = \"2.0\"\n\
         environment production { hosts = [\"web-1\", \"web-2\"] }\n\
         stage install { target = production  run \"echo ${version}\"  rollback { run \"true\" } }\n\
         gate go { needs = [install]  approve \"ok?\" }\n\
         stage switch { needs = [go]  target = production  run \"echo ${version}\"  rollback { run \"true\" } }\n",
    );
    let paused = base(&halfway);
    assert_eq!(paused["outcome"], "paused", "{halfway}");
    assert_eq!(paused["finding"], true, "installed, not switched: {halfway}");
    assert_eq!(paused["mixed_hosts"], serde_json::json!(["web-1", "web-2"]), "{halfway}");
}
