//! A targeted stage's rollout over its hosts, by strategy:
//!
//! - `all_at_once`: one batch (the hosts still share `--max-parallel`);
//! - `rolling { batch, max_failures }`: batches one after the other; up to
//!   `max_failures` failed hosts are tolerated (reported, and undone if the
//!   run rolls back later); one more stops the rollout and fails the stage;
//! - `canary { steps, pause, analysis }`: each step brings the share of
//!   hosts up to its percentage, then bakes for `pause`, then decides the
//!   `analysis` gate in the stage's environment; a failed host or a non-pass
//!   analysis stops the rollout (the gate's policy decides what the run
//!   does) and exactly the hosts done so far are undone;
//! - `blue_green { switch, verify, keep_previous }`: install on every host,
//!   decide `verify`, then run the `switch` steps per host; the rollback
//!   switches those hosts back (the switch steps with the previous version)
//!   before undoing the installs; `keep_previous` is reported so that a
//!   later run can clean up.
//!
//! Every batch, step and phase is a `rollout_step` event.

use std::ops::Range;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext, UnitPhase};
use super::gates::{self, in_rfc3339, sleep_or_cancel, GateDecision, GateSite};
use super::hosts::{run_unit, UnitResult};
use super::node_result::NodeResult;
use crate::check::model::{FailurePolicy, NodeId, Strategy};
use crate::record::event::{EventData, HostSummary, NodeStatus};

/// Runs a stage on every host of its target (or once without one).
pub async fn run_stage(ctx: Arc<RunContext>, id: NodeId, cancel: CancellationToken) -> NodeResult {
    let node = ctx.plan().node(id);
    let policy = ctx.plan().pipeline.on_failure;
    let Some(environment) = ctx.target_of(node) else {
        let unit = run_unit(ctx.clone(), id, None, UnitPhase::Steps, cancel, None).await;
        return NodeResult {
            status: unit.status,
            error: unit.error,
            exit_code: unit.exit_code,
            policy,
            ..NodeResult::succeeded()
        };
    };
    let hosts = environment.hosts.clone();
    let mut rollout = Rollout {
        ctx: ctx.clone(),
        id,
        node_cancel: cancel.child_token(),
        results: vec![None; hosts.len()],
        hosts,
        failures: 0,
        tolerated: 0,
        first_failure: None,
        stopped: None,
    };
    match &node.strategy {
        Strategy::AllAtOnce | Strategy::Rolling { .. } => rollout.in_batches().await,
        Strategy::Canary { steps, pause, analysis, traffic: Some(traffic) } => {
            rollout.traffic_canary(steps, *pause, *analysis, traffic).await
        }
        Strategy::Canary { pause, analysis, .. } => rollout.canary(*pause, *analysis).await,
        Strategy::BlueGreen { verify, keep_previous, .. } => rollout.blue_green(*verify, *keep_previous).await,
    }
    let completed = rollout.going();
    rollout.finish(completed)
}

pub(super) struct Rollout {
    pub(super) ctx: Arc<RunContext>,
    pub(super) id: NodeId,
    pub(super) hosts: Vec<String>,
    /// Cancels the other hosts of this stage when it has failed for good.
    pub(super) node_cancel: CancellationToken,
    results: Vec<Option<UnitResult>>,
    failures: usize,
    tolerated: usize,
    first_failure: Option<UnitResult>,
    /// A gate (analysis, verify) stopped the rollout.
    pub(super) stopped: Option<(String, FailurePolicy)>,
}

impl Rollout {
    pub(super) fn strategy(&self) -> &Strategy {
        &self.ctx.plan().node(self.id).strategy
    }

    fn failed(&self) -> bool {
        self.failures > self.tolerated
    }

    /// Whether the rollout may go on to its next batch, step or phase.
    pub(super) fn going(&self) -> bool {
        !self.failed() && self.stopped.is_none() && !self.node_cancel.is_cancelled()
    }

    fn announce(&self, phase: &str, index: usize, count: usize, label: String, range: &Range<usize>) {
        self.ctx.log.bus.emit(EventData::RolloutStep {
            node: self.ctx.plan().node(self.id).name.clone(),
            strategy: self.strategy().name().to_string(),
            phase: phase.to_string(),
            index,
            count,
            label,
            hosts: self.hosts[range.clone()].to_vec(),
            weight: None,
        });
    }

    /// `all_at_once` and `rolling`.
    async fn in_batches(&mut self) {
        if let Strategy::Rolling { max_failures, .. } = self.strategy() {
            self.tolerated = max_failures.of(self.hosts.len());
        }
        let batches = crate::graph::batches::batches(self.strategy(), &self.hosts);
        let ranges = ranges(&batches);
        let count = ranges.len();
        for (index, (range, label)) in ranges.into_iter().enumerate() {
            if !self.going() {
                break;
            }
            self.announce("batch", index + 1, count, label, &range);
            self.run_batch(range, UnitPhase::Steps).await;
        }
    }

    async fn canary(&mut self, pause: std::time::Duration, analysis: Option<NodeId>) {
        let batches = crate::graph::batches::batches(self.strategy(), &self.hosts);
        let ranges = ranges(&batches);
        let count = ranges.len();
        for (index, (range, label)) in ranges.into_iter().enumerate() {
            if !self.going() {
                break;
            }
            self.announce("step", index + 1, count, label, &range);
            let done_upto = range.end;
            self.run_batch(range, UnitPhase::Steps).await;
            if !self.going() {
                break;
            }
            if !pause.is_zero() {
                self.ctx.log.bus.emit(EventData::RolloutPause {
                    node: self.ctx.plan().node(self.id).name.clone(),
                    duration_ms: millis(pause),
                    until: in_rfc3339(&self.ctx, pause),
                });
                if !sleep_or_cancel(pause, &self.node_cancel).await {
                    break;
                }
            }
            if let Some(gate) = analysis {
                let site = GateSite { stage: Some((self.id, "analysis")), hosts: self.hosts[..done_upto].to_vec() };
                if !self.decide(gate, &site).await {
                    break;
                }
            }
        }
    }

    async fn blue_green(&mut self, verify: Option<NodeId>, keep_previous: Option<std::time::Duration>) {
        let all = 0..self.hosts.len();
        self.announce("install", 1, 3, "install on all hosts".into(), &all);
        self.run_batch(all.clone(), UnitPhase::Steps).await;
        if !self.going() {
            return;
        }
        if let Some(gate) = verify {
            self.announce("verify", 2, 3, "verify before the switch".into(), &all);
            let site = GateSite { stage: Some((self.id, "verify")), hosts: self.hosts.clone() };
            if !self.decide(gate, &site).await {
                return;
            }
        }
        self.announce("switch", 3, 3, "switch every host".into(), &all);
        self.run_batch(all, UnitPhase::Switch).await;
        if !self.going() {
            return;
        }
        if let Some(keep) = keep_previous {
            self.previous_kept(keep);
        }
    }

    /// Says that the previous version stays installed for `keep`.
    pub(super) fn previous_kept(&self, keep: std::time::Duration) {
        let node = self.ctx.plan().node(self.id);
        self.ctx.log.bus.emit(EventData::PreviousKept {
            node: node.name.clone(),
            environment: self.ctx.target_of(node).map(|e| e.name.clone()).unwrap_or_default(),
            version: self.ctx.run.previous_version().to_string(),
            hosts: self.hosts.clone(),
            until: in_rfc3339(&self.ctx, keep),
        });
    }

    /// Decides a gate for this stage; `false` stops the rollout.
    pub(super) async fn decide(&mut self, gate: NodeId, site: &GateSite) -> bool {
        match gates::decide(&self.ctx, gate, site, &self.node_cancel).await {
            GateDecision::Pass => true,
            GateDecision::Stop { message, policy } => {
                self.stopped = Some((message, policy));
                false
            }
            GateDecision::Cancelled => false,
        }
    }

    /// Runs `phase` on the hosts of `range`. Hosts take their first permit in
    /// host order (web-1 before web-2), while finished hosts are still looked
    /// at as they end.
    pub(super) async fn run_batch(&mut self, range: Range<usize>, phase: UnitPhase) {
        let policy = self.ctx.plan().pipeline.on_failure;
        let mut running = JoinSet::new();
        let mut pending = range.peekable();
        loop {
            let next = pending.peek().copied().filter(|_| !self.node_cancel.is_cancelled() && self.stopped.is_none());
            let joined = match next {
                Some(index) => tokio::select! {
                    permit = self.ctx.services.permits.clone().acquire_owned() => {
                        let Ok(permit) = permit else { break };
                        // A run that cannot record what it does changes no further host:
                        // what it did so far is in the journal before the next host starts.
                        if let Some(why) = self.ctx.log.recorded_so_far(&self.node_cancel).await {
                            let message = format!("stopped before {}: {why}", self.hosts[index]);
                            self.ctx.log.bus.emit(EventData::warning(&message));
                            self.stopped = Some((message, FailurePolicy::Pause));
                            continue;
                        }
                        pending.next();
                        let ctx = self.ctx.clone();
                        let host = self.hosts[index].clone();
                        let cancel = self.node_cancel.clone();
                        let id = self.id;
                        running.spawn(async move { (index, run_unit(ctx, id, Some(host), phase, cancel, Some(permit)).await) });
                        continue;
                    }
                    Some(joined) = running.join_next() => joined,
                    () = self.node_cancel.cancelled() => continue,
                },
                None => match running.join_next().await {
                    Some(joined) => joined,
                    None => break,
                },
            };
            let Ok((index, unit)) = joined else { continue };
            if unit.status == NodeStatus::Cancelled && self.stopped.is_none() && !self.node_cancel.is_cancelled() {
                // The host's start could not be written: nothing was done on it.
                if let Some(why) = self.ctx.log.unrecorded() {
                    let message = format!("stopped before {}: {why}", self.hosts[index]);
                    self.ctx.log.bus.emit(EventData::warning(&message));
                    self.stopped = Some((message, FailurePolicy::Pause));
                }
            }
            if unit.status == NodeStatus::Failed {
                self.failures += 1;
                if self.first_failure.is_none() {
                    self.first_failure = Some(unit.clone());
                }
                if self.failed() {
                    if policy != FailurePolicy::Pause {
                        self.node_cancel.cancel();
                    }
                } else {
                    self.ctx.log.bus.emit(EventData::warning(format!(
                        "{}: {} failed ({} of {} tolerated failures): {}",
                        self.ctx.plan().node(self.id).name,
                        self.hosts[index],
                        self.failures,
                        self.tolerated,
                        unit.error.clone().unwrap_or_default()
                    )));
                }
            }
            let merged = match (self.results[index].take(), unit) {
                // A switch that succeeded keeps the host's install record, with both durations.
                (Some(mut install), switch) if switch.status == NodeStatus::Succeeded => {
                    install.duration_ms += switch.duration_ms;
                    install
                }
                (_, unit) => unit,
            };
            self.results[index] = Some(merged);
        }
    }

    /// The stage's result; `completed` when every batch, step and phase ran.
    fn finish(self, completed: bool) -> NodeResult {
        let policy = self.ctx.plan().pipeline.on_failure;
        let summaries: Vec<HostSummary> = self
            .hosts
            .iter()
            .zip(&self.results)
            .map(|(host, result)| match result {
                Some(unit) => HostSummary {
                    host: host.clone(),
                    status: unit.status,
                    attempts: unit.attempts,
                    duration_ms: unit.duration_ms,
                },
                None => HostSummary { host: host.clone(), status: NodeStatus::NotStarted, attempts: 0, duration_ms: 0 },
            })
            .collect();
        if self.failed() {
            let failure = self.first_failure.clone().unwrap_or(UnitResult {
                host: None,
                status: NodeStatus::Failed,
                attempts: 0,
                duration_ms: 0,
                error: None,
                exit_code: None,
            });
            let host = failure.host.clone().unwrap_or_default();
            let message = failure.error.unwrap_or_else(|| "failed".to_string());
            let error = if self.failures > 1 {
                format!("{} of {} hosts failed; {host}: {message}", self.failures, self.hosts.len())
            } else {
                format!("{host}: {message}")
            };
            return NodeResult {
                status: NodeStatus::Failed,
                error: Some(error),
                exit_code: failure.exit_code,
                failed_host: failure.host,
                hosts: summaries,
                policy,
                monitor: None,
            };
        }
        if let Some((message, gate_policy)) = self.stopped {
            let status = if gate_policy == FailurePolicy::Pause { NodeStatus::Paused } else { NodeStatus::Failed };
            return NodeResult {
                status,
                error: Some(message),
                hosts: summaries,
                policy: gate_policy,
                ..NodeResult::succeeded()
            };
        }
        let status = if completed { NodeStatus::Succeeded } else { NodeStatus::Cancelled };
        NodeResult { status, hosts: summaries, policy, ..NodeResult::succeeded() }
    }
}

/// Batches as index ranges with their labels.
fn ranges(batches: &[crate::graph::batches::Batch]) -> Vec<(Range<usize>, String)> {
    let mut start = 0;
    let mut out = Vec::new();
    for batch in batches {
        let end = start + batch.hosts.len();
        if end > start {
            out.push((start..end, batch.label.clone()));
        }
        start = end;
    }
    out
}
