//! The executor over hand-built plans: ordering, concurrency, retries,
//! timeouts, `when`, policies, rollback, gates, redaction, interrupts.

use std::time::{Duration, Instant};

use super::testing::*;
use crate::check::model::{Check, FailurePolicy, OutcomePolicy, Retry, Value};
use crate::record::event::{EventData, NodeStatus, RollbackStatus, RunStatus};

fn starts(outcome: &Outcome) -> Vec<String> {
    outcome
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::NodeStarted { node, host: None, .. } => Some(node.clone()),
            _ => None,
        })
        .collect()
}

fn rollback_order(outcome: &Outcome) -> Vec<String> {
    outcome
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::RollbackStep {
                node, host, status: RollbackStatus::Succeeded | RollbackStatus::Failed, ..
            } => Some(crate::record::event::unit_label(node, host.as_deref())),
            _ => None,
        })
        .collect()
}

#[test]
fn independent_stages_overlap_and_needs_wait() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("a", &[], &["sleep 0.4"], |_| {})
        .stage("b", &[], &["sleep 0.4"], |_| {})
        .stage("c", &["a", "b"], &["echo c"], |_| {})
        .plan;
    let started = Instant::now();
    let outcome = Runner::default().run(plan);
    let elapsed = started.elapsed();
    assert_eq!(outcome.report.status, RunStatus::Succeeded);
    assert!(elapsed < Duration::from_millis(750), "a and b did not overlap: {elapsed:?}");
    assert_eq!(starts(&outcome).last().map(String::as_str), Some("c"));
    let seqs: Vec<u64> = outcome.events.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn max_parallel_one_serialises() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("a", &[], &["sleep 0.3"], |_| {})
        .stage("b", &[], &["sleep 0.3"], |_| {})
        .plan;
    let mut runner = Runner::default();
    runner.options.max_parallel = 1;
    let started = Instant::now();
    let outcome = runner.run(plan);
    assert_eq!(outcome.report.status, RunStatus::Succeeded);
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[test]
fn environment_and_interpolation_reach_the_step() {
    let dir = temp();
    let builder = PlanBuilder::new(dir.path()).environment("prod", &["web-1", "web-2"]);
    let prod = builder.target("prod");
    let plan = builder
        .stage(
            "deploy",
            &[],
            &["echo \"$DEPLOY_STAGE $DEPLOY_HOST $DEPLOY_VERSION\" ${host} ${msg} ${raw(msg)}"],
            |n| {
                n.target = prod;
            },
        )
        .plan;
    let mut runner = Runner::default();
    runner.inputs.params.push(("msg".into(), Value::String("a; echo injected".into())));
    let outcome = runner.run(plan);
    assert_eq!(outcome.report.status, RunStatus::Succeeded);
    let mut lines = outcome.lines();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "deploy web-1 1.0 web-1 a; echo injected a",
            "deploy web-2 1.0 web-2 a; echo injected a",
            "injected",
            "injected"
        ]
    );
}

#[test]
fn failure_rolls_back_in_reverse_completion_order_per_host() {
    let dir = temp();
    let builder = PlanBuilder::new(dir.path()).environment("prod", &["h1", "h2"]);
    let prod = builder.target("prod");
    let plan = builder
        .stage("build", &[], &["true"], |n| n.rollback = rollback(&["echo undo build"]))
        .stage("deploy", &["build"], &["sleep 0.$(echo $DEPLOY_HOST | tr -d h)"], |n| {
            n.target = prod;
            n.rollback = rollback(&["echo undo deploy ${host}"]);
        })
        .stage("verify", &["deploy"], &["echo verifying; exit 3"], |n| n.rollback = rollback(&["echo undo verify"]))
        .plan;
    let outcome = Runner::default().run(plan);
    assert_eq!(outcome.report.status, RunStatus::RolledBack);
    assert_eq!(outcome.report.status.exit_code().code(), 2);
    assert_eq!(rollback_order(&outcome), vec!["verify", "deploy@h2", "deploy@h1", "build"]);
    let failure = outcome.report.summary.failure.clone().unwrap();
    assert_eq!(failure.node.as_deref(), Some("verify"));
    assert!(failure.message.contains("exited with status 3"), "{}", failure.message);
}

#[test]
fn a_failing_rollback_step_is_reported_and_the_rest_still_run() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("a", &[], &["true"], |n| n.rollback = rollback(&["echo undo a"]))
        .stage("b", &["a"], &["true"], |n| n.rollback = rollback(&["exit 9"]))
        .stage("c", &["b"], &["false"], |n| n.irreversible_for_test())
        .plan;
    let outcome = Runner::default().run(plan);
    assert_eq!(outcome.report.status, RunStatus::RollbackFailed);
    assert_eq!(outcome.report.status.exit_code().code(), 4);
    assert!(outcome.lines().contains(&"undo a".to_string()));
    let statuses: Vec<_> = outcome.report.summary.rollback.iter().map(|r| (r.node.as_str(), r.status)).collect();
    assert_eq!(
        statuses,
        vec![("c", RollbackStatus::Irreversible), ("b", RollbackStatus::Failed), ("a", RollbackStatus::Succeeded)]
    );
}

trait Irreversible {
    fn irreversible_for_test(&mut self);
}

impl Irreversible for crate::check::model::NodeDef {
    fn irreversible_for_test(&mut self) {
        self.rollback = crate::check::model::RollbackSpec::Irreversible("test".into());
    }
}

#[test]
fn failure_cancels_running_nodes_and_starts_nothing_new() {
    let dir = temp();
    let marker = dir.path().join("never");
    let plan = PlanBuilder::new(dir.path())
        .stage("slow", &[], &["sleep 20"], |n| n.rollback = rollback(&["echo undo slow"]))
        .stage("fails", &[], &["sleep 0.2; false"], |_| {})
        .stage("after", &["fails"], &[&format!("touch {}", marker.display())], |_| {})
        .plan;
    let started = Instant::now();
    let outcome = Runner::default().run(plan);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome.report.status, RunStatus::RolledBack);
    assert!(!marker.exists());
    let slow = &outcome.report.summary.nodes.iter().find(|n| n.node == "slow").unwrap();
    assert_eq!(slow.status, NodeStatus::Cancelled);
    // The cancelled stage had started: it is undone too.
    assert!(outcome.lines().contains(&"undo slow".to_string()));
}

#[test]
fn abort_and_pause_policies() {
    let dir = temp();
    let plan = |policy| {
        PlanBuilder::new(dir.path())
            .on_failure(policy)
            .stage("a", &[], &["true"], |n| n.rollback = rollback(&["echo undo a"]))
            .stage("b", &["a"], &["false"], |_| {})
            .plan
    };
    let aborted = Runner::default().run(plan(FailurePolicy::Abort));
    assert_eq!(aborted.report.status, RunStatus::Aborted);
    assert!(aborted.lines().is_empty());
    let paused = Runner::default().run(plan(FailurePolicy::Pause));
    assert_eq!(paused.report.status, RunStatus::Paused);
    assert_eq!(paused.report.status.exit_code().code(), 3);
}

#[test]
fn retries_until_success() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("flaky", &[], &["n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; [ $n -ge 2 ]"], |n| {
            n.retry = Some(Retry { attempts: 3, every: Duration::from_millis(50) });
        })
        .plan;
    let outcome = Runner::default().run(plan);
    assert_eq!(outcome.report.status, RunStatus::Succeeded);
    let retries = outcome.events.iter().filter(|e| matches!(e.data, EventData::Retry { .. })).count();
    assert_eq!(retries, 2);
    assert_eq!(std::fs::read_to_string(dir.path().join("count")).unwrap().trim(), "3");
}

#[test]
fn timeout_kills_the_process_group() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("hangs", &[], &["sleep 30 & echo $! > child.pid; sleep 30"], |n| {
            n.timeout = Some(Duration::from_millis(300));
        })
        .plan;
    let started = Instant::now();
    let outcome = Runner::default().run(plan);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome.report.status, RunStatus::RolledBack);
    let error = outcome.report.summary.nodes[0].error.clone().unwrap();
    assert!(error.contains("timed out after 300ms"), "{error}");
    let pid: i32 = std::fs::read_to_string(dir.path().join("child.pid")).unwrap().trim().parse().unwrap();
    assert!(!super::process::tests::running(pid), "child {pid} survived the timeout");
}

#[test]
fn when_false_skips_and_dependents_still_run() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("optional", &[], &["echo should not run"], |n| n.when = when(r#"version != "1.0""#))
        .stage("after", &["optional"], &["echo after"], |_| {})
        .plan;
    let outcome = Runner::default().run(plan);
    assert_eq!(outcome.report.status, RunStatus::Succeeded);
    assert_eq!(outcome.lines(), vec!["after"]);
    assert_eq!(outcome.report.summary.nodes[0].status, NodeStatus::Skipped);
}

#[test]
fn secrets_are_masked_even_when_a_child_echoes_them() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("leak", &[], &["echo token=${token}; echo quoted ${token}; echo $TOKEN_ENV; exit 1"], |_| {})
        .plan;
    let mut runner = Runner::default();
    runner.inputs.secrets.push(("token".into(), "s3cr3t value".into()));
    let outcome = runner.run(plan);
    let all = serde_json::to_string(&outcome.events).unwrap();
    assert!(!all.contains("s3cr3t"), "{all}");
    assert!(outcome.lines().contains(&"token=***".to_string()), "{:?}", outcome.lines());
}

#[test]
fn first_interrupt_rolls_back_second_stops_at_once() {
    let dir = temp();
    let plan = PlanBuilder::new(dir.path())
        .stage("a", &[], &["true"], |n| n.rollback = rollback(&["echo undo a"]))
        .stage("b", &["a"], &["sleep 20"], |_| {})
        .plan;
    let runner = Runner { interrupt_after: Some(Duration::from_millis(300)), ..Runner::default() };
    let outcome = runner.run(plan.clone());
    assert_eq!(outcome.report.status, RunStatus::Interrupted);
    assert_eq!(outcome.report.status.exit_code().code(), 130);
    assert!(outcome.lines().contains(&"undo a".to_string()));

    let plan = PlanBuilder::new(dir.path())
        .stage("a", &[], &["true"], |n| n.rollback = rollback(&["sleep 20"]))
        .stage("b", &["a"], &["sleep 20"], |_| {})
        .plan;
    let runner = Runner {
        interrupt_after: Some(Duration::from_millis(300)),
        second_interrupt_after: Some(Duration::from_millis(300)),
        ..Runner::default()
    };
    let started = Instant::now();
    let outcome = runner.run(plan);
    assert_eq!(outcome.report.status, RunStatus::Interrupted);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn gates_wait_check_and_approve() {
    let dir = temp();
    let mut check_gate = gate();
    check_gate.wait = Some(Duration::from_millis(50));
    check_gate.check = Some(Check {
        every: Duration::from_millis(20),
        within: Duration::from_millis(500),
        script: super::script_runner::compile_script("attempt >= 3").unwrap(),
    });
    let plan = PlanBuilder::new(dir.path())
        .gate("smoke", &[], check_gate)
        .stage("after", &["smoke"], &["echo after"], |_| {})
        .plan;
    let outcome = Runner::default().run(plan);
    assert_eq!(outcome.report.status, RunStatus::Succeeded, "{:?}", outcome.report.summary);

    let mut failing = gate();
    failing.check = Some(Check {
        every: Duration::from_millis(20),
        within: Duration::from_millis(100),
        script: super::script_runner::compile_script("no_data(\"nothing yet\")").unwrap(),
    });
    failing.on_no_data = OutcomePolicy::Abort;
    let plan = PlanBuilder::new(dir.path()).gate("smoke", &[], failing).plan;
    assert_eq!(Runner::default().run(plan).report.status, RunStatus::Aborted);

    let mut approval = gate();
    approval.approve = Some(crate::check::model::Approval { question: template("Ship ${version}?"), by: vec![] });
    let plan =
        PlanBuilder::new(dir.path()).gate("go", &[], approval).stage("ship", &["go"], &["echo shipped"], |_| {}).plan;
    let paused = Runner::default().run(plan.clone());
    assert_eq!(paused.report.status, RunStatus::Paused);
    assert!(paused.lines().is_empty());
    let mut runner = Runner::default();
    runner.options.approvals.gates.push("go".into());
    runner.options.approvals.approver = "alice".into();
    let approved = runner.run(plan);
    assert_eq!(approved.report.status, RunStatus::Succeeded);
    assert_eq!(approved.lines(), vec!["shipped"]);
}
