//! `monitor = GATE for D`: the gate's `check` evaluated in the background
//! every `every` while the stage rolls out and for `D` after it finished
//! (Argo's background analysis, Nomad's `min_healthy_time`). Each
//! evaluation decides on its own: a non-pass outcome applies the gate's
//! policy at once (`continue` keeps watching). A failure during the rollout
//! stops the rollout; after it, the stage counts as failed and the run takes
//! the path of its policy — the rollback path by default. Stages that need
//! the monitored one do not wait for the monitor; the run ends only after
//! every monitor did.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext};
use super::gates::{classify, conclude, evaluate_once, GateCheck, GateSite};
use super::node_result::GateDecision;
pub use super::node_result::MonitorHandle;
use super::steps::output_sink;
use crate::check::model::{Monitor, NodeId};
use crate::record::event::{EventData, GateOutcome};

/// Starts watching stage `stage` with `monitor`; `cancel` is the stage's token.
pub fn start(ctx: &Arc<RunContext>, stage: NodeId, monitor: Monitor, cancel: &CancellationToken) -> MonitorHandle {
    let (rollout_end, ended) = watch::channel(None);
    let cancel = cancel.child_token();
    let task = tokio::spawn(watch_stage(ctx.clone(), stage, monitor, ended, cancel.clone()));
    MonitorHandle { stage, rollout_end, cancel, task }
}

/// The monitor's end, in the event stream.
fn monitor_finished(ctx: &RunContext, stage: &str, gate: &str, outcome: GateOutcome, message: Option<String>) {
    ctx.log.bus.emit(EventData::MonitorFinished { node: stage.to_string(), gate: gate.to_string(), outcome, message });
}

async fn watch_stage(
    ctx: Arc<RunContext>,
    stage: NodeId,
    monitor: Monitor,
    mut ended: watch::Receiver<Option<Instant>>,
    cancel: CancellationToken,
) -> GateDecision {
    let plan = ctx.plan();
    let stage_name = plan.node(stage).name.clone();
    let gate_node = plan.node(monitor.gate);
    ctx.log.bus.emit(EventData::MonitorStarted {
        node: stage_name.clone(),
        gate: gate_node.name.clone(),
        duration_ms: millis(monitor.duration),
    });
    let finished = |outcome, message| monitor_finished(&ctx, &stage_name, &gate_node.name, outcome, message);
    let Some(gate) = gate_node.gate.as_deref() else {
        finished(GateOutcome::Pass, Some("the gate has nothing to evaluate".into()));
        return GateDecision::Pass;
    };
    let Some(check) = &gate.check else {
        ctx.log.bus.emit(EventData::warning(format!(
            "monitor of {stage_name}: gate {} has no `check` to evaluate",
            gate_node.name
        )));
        finished(GateOutcome::Pass, Some("the gate has no check".into()));
        return GateDecision::Pass;
    };
    let log = super::evaluate::log_sink(&output_sink(&ctx, &gate_node.name, None, false));
    let every = check.every.max(Duration::from_millis(10));
    let mut attempt = 0;
    let mut watching = true;
    loop {
        let end = (*ended.borrow()).map(|at| at + monitor.duration);
        let now = Instant::now();
        if end.is_some_and(|end| now >= end) {
            finished(GateOutcome::Pass, None);
            return GateDecision::Pass;
        }
        let wake = end.map_or(now + every, |end| end.min(now + every));
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            changed = ended.changed(), if watching => {
                if changed.is_err() {
                    watching = false;
                    if ended.borrow().is_none() {
                        // The stage is gone without finishing its rollout.
                        return GateDecision::Cancelled;
                    }
                }
                continue;
            }
            () = cancel.cancelled() => return GateDecision::Cancelled,
        }
        if end.is_some_and(|end| Instant::now() >= end) {
            continue;
        }
        attempt += 1;
        // Until the rollout ends, the period's end is not known yet.
        let deadline = end.unwrap_or_else(|| Instant::now() + monitor.duration);
        // `hosts` is what the rollout reached by now, not the environment.
        let site = GateSite { stage: Some((stage, "monitor")), hosts: rolled_out(&ctx, stage) };
        let polled = GateCheck { node: gate_node, check, site: &site, log: &log };
        let Some(outcome) = evaluate_once(&ctx, &polled, attempt, deadline, &cancel).await else {
            return GateDecision::Cancelled;
        };
        if outcome.word() == "pass" {
            continue;
        }
        let (outcome, message) = classify(outcome);
        let decision = conclude(&ctx, gate_node, gate, &site, outcome, message.clone());
        if decision != GateDecision::Pass {
            finished(outcome, message);
            return decision;
        }
    }
}

/// The hosts of `stage` whose unit completed so far, in the order they did
/// (runtime.md: a gate a stage decides sees only the hosts rolled out).
fn rolled_out(ctx: &RunContext, stage: NodeId) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for record in ctx.log.completions.snapshot() {
        let completed = record.node == stage && record.outcome == super::context::UnitOutcome::Completed;
        if let Some(host) = record.host.filter(|host| completed && !hosts.contains(host)) {
            hosts.push(host);
        }
    }
    hosts
}
