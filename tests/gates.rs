//! Gates through the real binary: check polling against a local HTTP server,
//! Prometheus queries, every outcome × policy, wait, window, approvals (flags,
//! identities, a terminal), protected environments, monitors and hooks.

mod common;

use common::server::{prometheus_vector, Response, Server};
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

fn lines(events: &[Value]) -> Vec<String> {
    of_type(events, "step_output").iter().map(|e| e["line"].as_str().unwrap_or("").to_string()).collect()
}

fn status(events: &[Value]) -> String {
    of_type(events, "run_finished").first().map(|e| e["status"].as_str().unwrap_or("").to_string()).unwrap_or_default()
}

fn evaluations(events: &[Value]) -> Vec<String> {
    of_type(events, "gate_evaluation").iter().map(|e| e["outcome"].as_str().unwrap_or("").to_string()).collect()
}

fn show(output: &Output) -> String {
    format!("exit {}\n{}\n{}", output.code, output.stdout, output.stderr)
}

/// A stage before the gate (undone on rollback) and one after it.
fn around(gate: &str) -> String {
    format!(
        r#"
pipeline "g" {{}}
stage before {{ run "echo did before"  rollback {{ run "echo undo before" }} }}
{gate}
stage after {{ needs = [smoke]  run "echo did after"  irreversible = "test" }}
"#
    )
}

#[test]
fn a_health_check_that_passes_after_a_few_polls() {
    let server =
        Server::start(
            |request| {
                if request.index < 2 {
                    Response::new(503, "starting")
                } else {
                    Response::new(200, "ok")
                }
            },
        );
    let gate = format!(
        "gate smoke {{ needs = [before]  check every 100ms within 5s `http::get(\"{}/health\").status == 200` }}",
        server.url()
    );
    let output = run(&around(&gate), &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    let events = output.events();
    assert_eq!(evaluations(&events), vec!["fail", "fail", "pass"]);
    let attempts: Vec<u64> = of_type(&events, "gate_evaluation").iter().filter_map(|e| e["attempt"].as_u64()).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    // The countdown shrinks.
    let left: Vec<u64> =
        of_type(&events, "gate_evaluation").iter().filter_map(|e| e["remaining_ms"].as_u64()).collect();
    assert!(left[0] > left[2] && left[0] <= 5000, "{left:?}");
    assert_eq!(of_type(&events, "gate_outcome")[0]["outcome"], "pass");
    assert_eq!(lines(&events), vec!["did before", "did after"]);
    assert_eq!(server.hits(), 3);
}

#[test]
fn a_health_check_that_never_passes_rolls_back() {
    let server = Server::start(|_| Response::new(500, "broken"));
    let gate = format!(
        "gate smoke {{ needs = [before]  check every 100ms within 600ms `http::get(\"{}/health\").status == 200` }}",
        server.url()
    );
    let output = run(&around(&gate), &[]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let polls = evaluations(&events);
    assert!(polls.len() >= 3 && polls.iter().all(|o| o == "fail"), "{polls:?}");
    let outcome = of_type(&events, "gate_outcome")[0];
    assert_eq!(outcome["outcome"], "fail");
    assert_eq!(outcome["policy"], "rollback");
    assert_eq!(lines(&events), vec!["did before", "undo before"]);
    assert_eq!(status(&events), "rolled_back");
}

#[test]
fn a_health_check_without_data_pauses_by_default() {
    let server = Server::start(|_| Response::new(200, r#"{"requests": 0}"#));
    let gate = format!(
        r#"gate smoke {{
  needs = [before]
  check every 100ms within 400ms ```
    let stats = json::parse(http::get("{}/stats").body);
    if stats.requests == 0 {{ no_data("no requests yet") }}
    true
  ```
}}"#,
        server.url()
    );
    let output = run(&around(&gate), &[]);
    assert_eq!(output.code, 3, "{}", show(&output));
    let events = output.events();
    assert!(evaluations(&events).iter().all(|o| o == "no_data"));
    let outcome = of_type(&events, "gate_outcome")[0];
    assert_eq!(outcome["outcome"], "no_data");
    assert_eq!(outcome["message"], "no requests yet");
    assert_eq!(outcome["policy"], "pause");
    assert_eq!(status(&events), "paused");
    assert_eq!(lines(&events), vec!["did before"]);
}

#[test]
fn connection_errors_are_retried_until_the_service_answers() {
    // Nothing listens on the port at first: the script errors, and polling goes on.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let gate = format!(
        "gate smoke {{ needs = [before]  check every 100ms within 500ms `http::get(\"http://127.0.0.1:{port}/\").status == 200` }}"
    );
    let output = run(&around(&gate), &[]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let polls = evaluations(&events);
    assert!(polls.len() >= 3 && polls.iter().all(|o| o == "error"), "{polls:?}");
    let message = of_type(&events, "gate_outcome")[0]["message"].as_str().unwrap_or("").to_string();
    assert!(message.starts_with("the check failed: release.deploy:"), "{message}");
}

/// Runs a gate whose check ends with `outcome` under `policy` and says what happened.
fn outcome_under_policy(script: &str, policy_line: &str) -> (i32, Vec<Value>) {
    let gate =
        format!("gate smoke {{\n  needs = [before]\n  check every 50ms within 120ms `{script}`\n  {policy_line}\n}}");
    let output = run(&around(&gate), &[]);
    (output.code, output.events())
}

#[test]
fn every_outcome_under_every_policy() {
    let outcomes =
        [("fail", "fail(\"bad\")"), ("inconclusive", "inconclusive(\"unsure\")"), ("no_data", "no_data(\"empty\")")];
    for (outcome, script) in outcomes {
        for policy in ["rollback", "pause", "abort", "continue"] {
            let (code, events) = outcome_under_policy(script, &format!("on_{outcome} = {policy}"));
            let context = format!("{outcome} under {policy}: {events:?}");
            let gate_outcome = of_type(&events, "gate_outcome");
            assert_eq!(gate_outcome[0]["outcome"], outcome, "{context}");
            assert_eq!(gate_outcome[0]["policy"], policy, "{context}");
            let ran = lines(&events);
            match policy {
                "rollback" => {
                    assert_eq!(code, 2, "{context}");
                    assert_eq!(status(&events), "rolled_back", "{context}");
                    assert_eq!(ran, vec!["did before", "undo before"], "{context}");
                }
                "pause" => {
                    assert_eq!(code, 3, "{context}");
                    assert_eq!(status(&events), "paused", "{context}");
                    assert_eq!(ran, vec!["did before"], "{context}");
                }
                "abort" => {
                    assert_eq!(code, 2, "{context}");
                    assert_eq!(status(&events), "aborted", "{context}");
                    assert_eq!(ran, vec!["did before"], "{context}");
                }
                _ => {
                    assert_eq!(code, 0, "{context}");
                    assert_eq!(ran, vec!["did before", "did after"], "{context}");
                    assert!(!of_type(&events, "warning").is_empty(), "{context}");
                }
            }
        }
    }
}

#[test]
fn default_policies_fail_rolls_back_inconclusive_and_no_data_pause() {
    let (code, events) = outcome_under_policy("false", "");
    assert_eq!((code, status(&events).as_str()), (2, "rolled_back"));
    assert_eq!(of_type(&events, "gate_outcome")[0]["message"], "check returned false");
    let (code, events) = outcome_under_policy("inconclusive()", "");
    assert_eq!((code, status(&events).as_str()), (3, "paused"));
    let (code, events) = outcome_under_policy("no_data()", "");
    assert_eq!((code, status(&events).as_str()), (3, "paused"));
}

#[test]
fn metrics_query_thresholds_against_a_prometheus_api() {
    for (value, expected_code, expected_outcome) in
        [(Some(0.02), 0, "pass"), (Some(0.5), 2, "fail"), (None, 3, "no_data")]
    {
        let server = Server::start(move |request| {
            assert!(request.target.starts_with("/api/v1/query?query="), "{}", request.target);
            Response::new(200, prometheus_vector(value))
        });
        let plan = format!(
            r#"
pipeline "m" {{}}
environment prod {{ hosts = ["web-1"]  vars {{ prometheus = "{}" }} }}
stage deploy {{ target = prod  run "echo deployed ${{host}}"  rollback {{ run "echo undo ${{host}}" }} }}
gate smoke {{
  needs = [deploy]
  check every 50ms within 200ms `metrics::query(env.prometheus, "sum(rate(errors[5m]))") < 0.1`
}}
"#,
            server.url()
        );
        let output = run(&plan, &[]);
        assert_eq!(output.code, expected_code, "{value:?}: {}", show(&output));
        let events = output.events();
        assert_eq!(of_type(&events, "gate_outcome")[0]["outcome"], expected_outcome, "{value:?}");
        match expected_code {
            2 => assert_eq!(lines(&events), vec!["deployed web-1", "undo web-1"]),
            3 => {
                let message = of_type(&events, "gate_outcome")[0]["message"].as_str().unwrap_or("").to_string();
                assert!(message.contains("no data"), "{message}");
            }
            _ => {}
        }
        assert!(server.hits() >= 1);
    }
}

#[test]
fn wait_holds_the_gate() {
    let started = std::time::Instant::now();
    let output = run(&around("gate smoke { needs = [before]  wait = 400ms }"), &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    let events = output.events();
    let waiting = of_type(&events, "gate_waiting");
    assert_eq!(waiting[0]["reason"], "waiting 400ms");
    assert!(waiting[0]["until"].is_string());
}

/// A window string `Mon-Sun HH:MM-HH:MM UTC` around now (`inside`) or
/// starting in two hours (`!inside`).
fn window_around_now(inside: bool) -> String {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let minute = now.hour() * 60 + now.minute();
    let (start, end) = if inside { (minute + 1440 - 60, minute + 60) } else { (minute + 120, minute + 180) };
    let hm = |m: u32| format!("{:02}:{:02}", (m % 1440) / 60, m % 60);
    format!("Mon-Sun {}-{} UTC", hm(start), hm(end))
}

#[test]
fn a_window_passes_inside_and_waits_outside() {
    let inside = format!("gate smoke {{ needs = [before]  window = \"{}\" }}", window_around_now(true));
    let output = run(&around(&inside), &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    assert!(of_type(&output.events(), "gate_waiting").is_empty());

    // Outside: the gate waits for the window to open; its timeout ends the wait.
    let outside = format!("gate smoke {{ needs = [before]  window = \"{}\"  timeout = 1s }}", window_around_now(false));
    let started = std::time::Instant::now();
    let output = run(&around(&outside), &[]);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let waiting = of_type(&events, "gate_waiting");
    assert!(waiting[0]["reason"].as_str().unwrap_or("").starts_with("outside the window"), "{waiting:?}");
    assert!(waiting[0]["until"].is_string());
    let outcome = of_type(&events, "gate_outcome")[0];
    assert_eq!(outcome["message"], "the gate timed out after 1s");
    assert_eq!(lines(&events), vec!["did before", "undo before"]);
}

const APPROVAL: &str = r#"
pipeline "a" {}
stage before { run "echo did before"  rollback { run "echo undo before" } }
gate go { needs = [before]  approve "Ship ${version}?" by ["alice", "bob"] }
stage after { needs = [go]  run "echo did after"  irreversible = "test" }
param version: string = "1.2"
"#;

#[test]
fn approvals_from_flags_identities_and_pauses() {
    // Nobody answers: the run pauses and says what it waits for.
    let output = run(APPROVAL, &["--as", "alice"]);
    assert_eq!(output.code, 3, "{}", show(&output));
    let events = output.events();
    let failure = &of_type(&events, "run_finished")[0]["summary"]["failure"];
    let message = failure["message"].as_str().unwrap_or("");
    assert!(message.contains("go waits for approval: \"Ship 1.2?\" by alice, bob"), "{message}");
    assert!(message.contains("`deploy approve go`, then `deploy resume`"), "{message}");
    assert!(!message.contains("run again"), "{message}");

    // --approve with an allowed identity.
    let output = run(APPROVAL, &["--approve", "go", "--as", "bob"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    let approved = &of_type(&output.events(), "approved")[0].clone();
    assert_eq!(approved["approver"], "bob");
    assert_eq!(approved["question"], "Ship 1.2?");
    assert_eq!(approved["how"], "flag");

    // DEPLOY_USER names the approver too; --yes approves everything.
    let test = Test::new().plan(APPROVAL).env("DEPLOY_USER", "alice");
    let output = test.run_with(&["run", "release.deploy", "--json", "--yes"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    assert_eq!(of_type(&output.events(), "approved")[0]["approver"], "alice");

    // Someone not in `by` is refused: the run pauses.
    let output = run(APPROVAL, &["--yes", "--as", "mallory"]);
    assert_eq!(output.code, 3, "{}", show(&output));
    let events = output.events();
    let refused = of_type(&events, "approval_refused");
    assert_eq!(refused[0]["approver"], "mallory");
    assert!(refused[0]["reason"].as_str().unwrap_or("").contains("may only be approved by alice, bob"));
    assert_eq!(lines(&events), vec!["did before"]);

    // A misspelt --approve is pointed out.
    let output = run(APPROVAL, &["--approve", "og", "--as", "alice"]);
    assert_eq!(output.code, 3);
    let warnings = of_type(&output.events(), "warning").iter().map(|w| w["message"].to_string()).collect::<Vec<_>>();
    assert!(warnings.iter().any(|w| w.contains("--approve og")), "{warnings:?}");
}

/// Runs the binary with a pseudo-terminal as stdin and types `answer`.
fn run_with_terminal(plan: &str, answer: &str) -> Output {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    let test = Test::new().plan(plan);
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills both descriptors; we own them from here on.
    let opened =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(opened, 0, "openpty");
    // SAFETY: the descriptors came from openpty and are owned by these files.
    let (mut terminal, stdin) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
    let child = std::process::Command::new(common::binary())
        .args(["run", "release.deploy", "--json", "--as", "alice"])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .stdin(stdin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    // Wait for the question (it goes to stderr), then answer on the terminal.
    std::thread::sleep(std::time::Duration::from_millis(300));
    terminal.write_all(answer.as_bytes()).unwrap_or_else(|e| panic!("type: {e}"));
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("wait: {e}"));
    let mut echo = [0u8; 64];
    let _ = terminal.read(&mut echo);
    Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

#[test]
fn a_terminal_is_asked() {
    let output = run_with_terminal(APPROVAL, "y\n");
    assert_eq!(output.code, 0, "{}", show(&output));
    assert!(output.stderr.contains("? Ship 1.2? (approving as alice) [y/N]"), "{}", output.stderr);
    let events = output.events();
    assert_eq!(of_type(&events, "approval_requested")[0]["question"], "Ship 1.2?");
    assert_eq!(of_type(&events, "approved")[0]["how"], "terminal");
    assert_eq!(lines(&events), vec!["did before", "did after"]);

    // "no" is the gate's fail outcome: rolled back by default.
    let output = run_with_terminal(APPROVAL, "n\n");
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    assert!(of_type(&events, "approval_refused")[0]["reason"].as_str().unwrap_or("").contains("answered no"));
    assert_eq!(lines(&events), vec!["did before", "undo before"]);
}

#[test]
fn a_protected_environment_demands_approval_of_every_stage() {
    let plan = r#"
pipeline "p" {}
environment prod { hosts = ["web-1"]  protect { approval = required } }
stage ship { target = prod  run "echo shipped ${host}"  rollback { run "true" } }
"#;
    let output = run(plan, &["--as", "alice"]);
    assert_eq!(output.code, 3, "{}", show(&output));
    let events = output.events();
    assert!(lines(&events).is_empty());
    let message = of_type(&events, "run_finished")[0]["summary"]["failure"]["message"].to_string();
    assert!(message.contains("Run ship in the protected environment prod?"), "{message}");
    let output = run(plan, &["--approve", "ship", "--as", "alice"]);
    assert_eq!(output.code, 0, "{}", show(&output));
    assert_eq!(lines(&output.events()), vec!["shipped web-1"]);
}

#[test]
fn a_monitor_that_fails_after_the_rollout_rolls_the_stage_back() {
    // Healthy for the first polls, then broken: after the rollout, within its period.
    let server =
        Server::start(|request| if request.index < 3 { Response::new(200, "ok") } else { Response::new(500, "down") });
    let plan = format!(
        r#"
pipeline "mon" {{}}
environment prod {{ hosts = ["web-1", "web-2"]  vars {{ url = "{}" }} }}
gate healthy {{ check every 100ms within 1s `http::get(env.url).status == 200` }}
stage deploy {{
  target = prod
  monitor = healthy for 3s
  run "echo deployed ${{host}}"
  rollback {{ run "echo undo ${{host}}" }}
}}
stage after {{ needs = [deploy]  run "echo after"  irreversible = "test" }}
"#,
        server.url()
    );
    let output = run(&plan, &[]);
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let started = of_type(&events, "monitor_started");
    assert_eq!(started[0]["gate"], "healthy");
    assert_eq!(started[0]["duration_ms"], 3000);
    let monitor_polls: Vec<&Value> =
        of_type(&events, "gate_evaluation").into_iter().filter(|e| e["role"] == "monitor").collect();
    assert!(monitor_polls.len() >= 2, "{monitor_polls:?}");
    let finished = of_type(&events, "monitor_finished");
    assert_eq!(finished[0]["outcome"], "fail");
    let mut undone: Vec<String> = lines(&events).into_iter().filter(|l| l.starts_with("undo")).collect();
    undone.sort();
    assert_eq!(undone, vec!["undo web-1", "undo web-2"]);
    let failure = &of_type(&events, "run_finished")[0]["summary"]["failure"];
    assert_eq!(failure["node"], "deploy");
    // The stage is named once, by the failure's node, not again in its message.
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("monitor gate healthy failed"), "{failure}");
    // The gate is decided for the stage only, not on its own.
    assert_eq!(of_type(&events, "node_skipped")[0]["reason"], "evaluated only for deploy (monitor)");
}

#[test]
fn a_monitor_sees_only_the_hosts_rolled_out_so_far() {
    // A canary that holds at its first step (web-1) for a second: the
    // monitor's `hosts` is web-1 alone then, all four only after 100%.
    let plan = r#"
pipeline "mon" {}
environment prod { hosts = ["web-1", "web-2", "web-3", "web-4"] }
gate healthy { check every 100ms within 1s ```
  // every host we look at here must have been rolled out
  print(`saw ${hosts.len()}: ${hosts}`);
  true
``` }
stage deploy {
  target = prod
  strategy canary { steps = [25%, 100%]  pause = 1s }
  monitor = healthy for 300ms
  run "echo deployed ${host}"
  rollback { run "echo undo ${host}" }
}
"#;
    let output = run(plan, &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    let events = output.events();
    let seen: Vec<String> = of_type(&events, "step_output")
        .iter()
        .filter(|e| e["node"] == "healthy")
        .filter_map(|e| e["line"].as_str().map(String::from))
        .collect();
    // Before web-1 completed the monitor may have seen no host at all.
    let rolled: Vec<&String> = seen.iter().filter(|line| !line.starts_with("saw 0")).collect();
    let at_first_step = rolled.iter().filter(|line| line.starts_with("saw 1: [\"web-1\"]")).count();
    assert!(at_first_step >= 3, "polls during the pause saw web-1 alone: {seen:?}");
    assert!(rolled.first().is_some_and(|line| line.starts_with("saw 1")), "{seen:?}");
    assert!(seen.iter().any(|line| line.starts_with("saw 4")), "after 100% every host: {seen:?}");
}

#[test]
fn a_healthy_monitor_watches_for_its_period() {
    let server = Server::start(|_| Response::new(200, "ok"));
    let plan = format!(
        r#"
pipeline "mon" {{}}
environment prod {{ hosts = ["web-1"]  vars {{ url = "{}" }} }}
gate healthy {{ check every 100ms within 1s `http::get(env.url).status == 200` }}
stage deploy {{ target = prod  monitor = healthy for 700ms  run "sleep 0.3"  rollback {{ run "true" }} }}
"#,
        server.url()
    );
    let started = std::time::Instant::now();
    let output = run(&plan, &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    // The rollout (0.3 s) and the period after it (0.7 s).
    assert!(started.elapsed() >= std::time::Duration::from_millis(1000));
    let events = output.events();
    assert_eq!(of_type(&events, "monitor_finished")[0]["outcome"], "pass");
    assert!(server.hits() >= 5, "{}", server.hits());
    // The monitor ended before the run did.
    let monitor_seq = of_type(&events, "monitor_finished")[0]["seq"].as_u64();
    let end_seq = of_type(&events, "run_finished")[0]["seq"].as_u64();
    assert!(monitor_seq < end_seq);
}

#[test]
fn hooks_see_the_run_and_never_change_its_outcome() {
    let plan = r#"
pipeline "h" {
  on start { run "echo hook start $DEPLOY_STATUS" }
  on success { run "echo hook success" }
  on failure {
    run "echo hook failure status=$DEPLOY_STATUS node=$DEPLOY_FAILED_NODE"
    script ```log(`script sees ${status} ${failed_node}`);```
    run "exit 9"
  }
  on rollback { run "echo hook rollback $DEPLOY_STATUS" }
}
param fail: bool = false
stage build {
  run "echo build; test ${fail} = false"
  rollback { run "echo undo build" }
  on start { run "echo stage start" }
  on failure { run "echo stage failure: $DEPLOY_ERROR" }
  on success { run "echo stage success" }
}
"#;
    let output = run(plan, &[]);
    assert_eq!(output.code, 0, "{}", show(&output));
    assert_eq!(
        lines(&output.events()),
        vec!["hook start running", "stage start", "build", "stage success", "hook success"]
    );
    let output = run(plan, &["--set", "fail=true"]);
    // The failure hook fails (exit 9): reported, the exit code stays 2.
    assert_eq!(output.code, 2, "{}", show(&output));
    let events = output.events();
    let ran = lines(&events);
    assert_eq!(ran[..3], ["hook start running", "stage start", "build"]);
    assert!(ran.iter().any(|l| l.starts_with("stage failure: ") && l.contains("exited with status 1")), "{ran:?}");
    assert!(ran.contains(&"hook rollback rolled_back".to_string()), "{ran:?}");
    assert!(ran.contains(&"hook failure status=rolled_back node=build".to_string()), "{ran:?}");
    assert!(ran.contains(&"script sees rolled_back build".to_string()), "{ran:?}");
    // Order: the stage's failure hook before the rollback, the pipeline's hooks after it.
    let at = |text: &str| ran.iter().position(|l| l.starts_with(text)).unwrap_or(usize::MAX);
    assert!(at("stage failure") < at("undo build"));
    assert!(at("undo build") < at("hook rollback"));
    assert!(at("hook rollback") < at("hook failure"));
    let hooks = of_type(&events, "hook_finished");
    let failed: Vec<&&Value> = hooks.iter().filter(|h| h["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["event"], "failure");
    assert_eq!(status(&events), "rolled_back");
}

#[test]
fn a_paused_run_runs_its_paused_hook() {
    let plan = r#"
pipeline "h" { on paused { run "echo paused at $DEPLOY_FAILED_NODE" } }
gate go { approve "ok?" }
"#;
    let output = run(plan, &[]);
    assert_eq!(output.code, 3, "{}", show(&output));
    assert_eq!(lines(&output.events()), vec!["paused at go"]);
}
