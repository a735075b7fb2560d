//! Messages a first week finds, through the binary: std/notify's approval
//! notice (a local HTTP server receives it) says "approved by" once an
//! approver decided, a run paused at an approval points to `deploy approve`
//! and `deploy resume`, and `deploy plan` shows a traffic canary's router
//! as a line of the canary. And std/prometheus.compare against a local
//! Prometheus API: its inconclusive and no-data outcomes with their
//! policies, `failure_limit` / `inconclusive_limit`, and fail fast.

mod common;

use std::time::{Duration, Instant};

use common::server::{prometheus_vector, Reply, Server};
use common::{Output, Test};
use serde_json::Value;

fn texts(receiver: &Server) -> Vec<String> {
    receiver
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null)["text"].as_str().unwrap_or("?").to_string()
        })
        .collect()
}

const NOTIFY: &str = r##"
import "std/notify" as notify
pipeline "webshop" {}
param version: string = "2.0.0"
param receiver: string = "http://127.0.0.1:9"
stage ask from notify.approval { webhook = "${receiver}/hook"  waiting_at = "go_live" }
gate go_live { needs = [ask]  approve "Ship it?" by ["carol"] }
stage ship { needs = [go_live]  run "echo shipped"  rollback {} }
"##;

#[test]
fn the_approval_notice_says_who_approved_and_a_paused_run_says_how_to_go_on() {
    let test = Test::new().plan(NOTIFY).env("DEPLOY_USER", "carol");
    // Nobody decided: "waiting", and the run pauses with the way forward.
    let receiver = Server::start(|_| Reply::new(200, "ok"));
    let set = format!("receiver={}", receiver.url());
    let paused = test.run_with(&["run", "release.deploy", "--set", &set]);
    assert_eq!(paused.code, 3, "{}{}", paused.stdout, paused.stderr);
    assert_eq!(
        texts(&receiver),
        [":double_vertical_bar: webshop 2.0.0 is waiting for approval at go_live (deploy approve go_live, then deploy resume)"]
    );
    let all = format!("{}{}", paused.stdout, paused.stderr);
    assert!(all.contains("approve it with `deploy approve go_live`, then `deploy resume`"), "{all}");
    assert!(!all.contains("run again"), "{all}");
    let approve = test.run_with(&["approve", "go_live"]);
    assert_eq!(approve.code, 0, "{}{}", approve.stdout, approve.stderr);
    let resumed = test.run_with(&["resume"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);

    // Decided before the notice is sent (--approve, --yes): "approved by".
    for flags in [["--approve", "go_live"], ["--yes", "--yes"]] {
        let receiver = Server::start(|_| Reply::new(200, "ok"));
        let set = format!("receiver={}", receiver.url());
        let mut args = vec!["run", "release.deploy", "--set", &set];
        args.extend(flags.iter().copied().take(if flags[0] == "--yes" { 1 } else { 2 }));
        let run = test.run_with(&args);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(
            texts(&receiver),
            [":white_check_mark: webshop 2.0.0 was approved at go_live by carol"],
            "{flags:?}"
        );
    }
    // An approver the gate does not accept has not decided anything: "waiting".
    let receiver = Server::start(|_| Reply::new(200, "ok"));
    let set = format!("receiver={}", receiver.url());
    let refused = test.run_with(&["run", "release.deploy", "--set", &set, "--yes", "--as", "mallory"]);
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(texts(&receiver)[0].contains("is waiting for approval"), "{:?}", texts(&receiver));
}

#[test]
fn plan_shows_the_router_as_a_line_of_its_canary_not_as_a_wave() {
    let plan = r#"
param version: string = "2"
environment production { hosts = ["web-1"] }
template stage weights(weight: int = 0) {
  timeout = 20s
  run "echo weight ${weight}"
  rollback {}
}
stage router from weights {}
stage web {
  target = production
  strategy canary { steps = [5%, 50%, 100%]  pause = 1m  traffic = router }
  run "echo install"
  rollback { run "echo remove" }
}
"#;
    let test = Test::new().plan(plan);
    let output = test.run_with(&["plan", "release.deploy"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let waves: Vec<&str> = output.stdout.lines().filter(|line| line.starts_with("Wave")).collect();
    assert_eq!(waves, ["Wave 1: web"], "{}", output.stdout);
    assert!(output.stdout.contains("router: stage router from weights on this machine"), "{}", output.stdout);
    assert!(output.stdout.contains("timeout 20s per step"), "{}", output.stdout);
    for line in ["5% of requests, pause 1m", "50% of requests, pause 1m", "100% of requests", "to full rollout:"] {
        assert!(output.stdout.contains(line), "{line}: {}", output.stdout);
    }
}

// ------------------------------------------------ std/prometheus.compare

/// Requests and errors per version in the window, as the fake Prometheus answers them.
#[derive(Clone, Copy)]
struct Traffic {
    canary: (f64, f64),
    stable: (f64, f64),
}

fn prometheus(traffic: Traffic) -> Server {
    Server::start(move |request| {
        let query = request.query("query").unwrap_or_default();
        let (total, errors) = if query.contains("version=\"2.0\"") { traffic.canary } else { traffic.stable };
        Reply::json(prometheus_vector(Some(if query.contains("code=~") { errors } else { total })))
    })
}

fn compare_plan(limits: &str) -> String {
    format!(
        r#"
import "std/prometheus" as prometheus
pipeline "compare" {{ on_failure = rollback }}
param version: string = "2.0"
param url: string = "http://127.0.0.1:9"
gate compare from prometheus.compare {{
  url = "${{url}}"
  canary_version = "2.0"
  stable_version = "1.0"
  histogram = ""
  min_requests = 50
  within = 3s
  every = 200ms
  {limits}
}}
stage after {{ needs = [compare]  run "echo after"  rollback {{}} }}
"#
    )
}

/// Runs the comparison; the exit code, the evaluations' outcomes, the gate's outcome and how long it took.
fn compare(traffic: Traffic, limits: &str) -> (Output, Vec<String>, Value, Duration) {
    let server = prometheus(traffic);
    let test = Test::new().plan(&compare_plan(limits));
    let set = format!("url={}", server.url());
    let started = Instant::now();
    let output = test.run_with(&["run", "release.deploy", "--json", "--set", &set]);
    let took = started.elapsed();
    let events = output.events();
    let evaluations = events
        .iter()
        .filter(|e| e["type"] == "gate_evaluation")
        .map(|e| e["outcome"].as_str().unwrap_or("").to_string())
        .collect();
    let outcome = events.iter().find(|e| e["type"] == "gate_outcome").cloned().unwrap_or(Value::Null);
    (output, evaluations, outcome, took)
}

#[test]
fn compare_gives_no_data_when_the_canary_served_too_few_requests_and_pauses() {
    let (output, evaluations, outcome, _) = compare(Traffic { canary: (5.0, 0.0), stable: (900.0, 1.0) }, "");
    assert_eq!(output.code, 3, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["outcome"], "no_data", "{outcome}");
    assert_eq!(outcome["policy"], "pause", "{outcome}");
    assert!(outcome["message"].as_str().unwrap_or("").contains("served 5.0 requests"), "{outcome}");
    // No data is "not yet": polled until `within` ran out.
    assert!(evaluations.len() >= 5, "{evaluations:?}");
    // With its policy set to rollback, the same outcome rolls back.
    let (output, _, outcome, _) =
        compare(Traffic { canary: (5.0, 0.0), stable: (900.0, 1.0) }, "on_no_data = rollback");
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["policy"], "rollback", "{outcome}");
}

#[test]
fn compare_is_inconclusive_when_the_difference_is_within_noise() {
    // 3% against 1% of 100 requests each: worse by 2 points, but z is about 1.
    let noisy = Traffic { canary: (100.0, 3.0), stable: (100.0, 1.0) };
    let (output, evaluations, outcome, _) = compare(noisy, "");
    assert_eq!(output.code, 3, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["outcome"], "inconclusive", "{outcome}");
    assert_eq!(outcome["policy"], "pause", "{outcome}");
    assert!(outcome["message"].as_str().unwrap_or("").contains("within noise"), "{outcome}");
    assert!(evaluations.len() >= 5 && evaluations.iter().all(|e| e == "inconclusive"), "{evaluations:?}");
    // inconclusive_limit = 1: the second inconclusive evaluation ends the gate.
    let (output, evaluations, outcome, took) = compare(noisy, "inconclusive_limit = 1");
    assert_eq!(output.code, 3, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["outcome"], "inconclusive", "{outcome}");
    assert_eq!(evaluations.len(), 2, "{evaluations:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The same difference over many requests is significant: a failure.
    let (output, _, outcome, _) = compare(Traffic { canary: (10000.0, 300.0), stable: (10000.0, 100.0) }, "");
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["outcome"], "fail", "{outcome}");
}

#[test]
fn compare_fails_fast_unless_a_failure_limit_tolerates_some() {
    let failing = Traffic { canary: (1000.0, 200.0), stable: (1000.0, 0.0) };
    let (output, evaluations, outcome, took) = compare(failing, "");
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["outcome"], "fail", "{outcome}");
    assert_eq!(evaluations, ["fail"], "polling went on after a definite failure");
    assert!(took < Duration::from_secs(2), "the gate took {took:?} to fail");
    let (output, evaluations, outcome, _) = compare(failing, "failure_limit = 2");
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    assert_eq!(outcome["outcome"], "fail", "{outcome}");
    assert_eq!(evaluations, ["fail", "fail", "fail"], "{evaluations:?}");
    // A healthy canary passes at the first evaluation.
    let (output, evaluations, _, _) = compare(Traffic { canary: (1000.0, 1.0), stable: (1000.0, 1.0) }, "");
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert_eq!(evaluations, ["pass"], "{evaluations:?}");
}
