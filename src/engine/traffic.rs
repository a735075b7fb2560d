//! A canary by share of requests (`strategy canary { traffic = ROUTER }`):
//! the new version is installed beside the stable one on every host of the
//! target, then each step has the router send `${weight}` percent of the
//! requests to it, bakes for `pause` and decides `analysis` (below 100%:
//! at 100% no request reaches the stable version to compare with). Whatever stops
//! the rollout — a non-pass analysis, a failed router step, a cancelled run
//! — first sends every request back to the stable version (the router's
//! steps with weight 0), at once and before anything is undone; the run's
//! failure policy does the rest. At 100% the new version is the stable one:
//! the previous stays installed for `keep_previous`, then `retire { steps }`
//! removes it (`${previous_version}` names it).
//!
//! The first run of an environment (no previous version known) has no
//! stable version to compare with: it installs, and the router sends every
//! request to the new version in one step.
//!
//! Every phase is a `rollout_step` event with the `weight` it sets.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext, UnitOutcome, UnitPhase, UnitRecord};
use super::gates::{in_rfc3339, sleep_or_cancel, GateSite};
use super::rollout::Rollout;
use super::steps::{run_steps, StepSite};
use crate::check::model::{Expr, FailurePolicy, NodeDef, NodeId, Traffic, Value};
use crate::graph::batches::percent_text;
use crate::record::event::EventData;

/// How long sending traffic back to the stable version may take when the
/// router stage declares no `timeout`.
const BACK_TO_STABLE_LIMIT: Duration = Duration::from_secs(60);

impl Rollout {
    pub(super) async fn traffic_canary(
        &mut self,
        steps: &[f64],
        pause: Duration,
        analysis: Option<NodeId>,
        traffic: &Traffic,
    ) {
        let all = 0..self.hosts.len();
        self.announce_weight("install", 1, 1, "install beside the stable version".into(), 0.0);
        self.run_batch(all, UnitPhase::Steps).await;
        if !self.going() {
            return;
        }
        if self.ctx.run.previous_version().is_empty() {
            let label = "first install: no stable version yet, 100% of requests".to_string();
            self.announce_weight("step", 1, 1, label, 100.0);
            if let Err(message) = self.set_weight(traffic.router, 100.0, &self.node_cancel.clone()).await {
                self.stop_on_router(message).await;
            }
            return;
        }
        let count = steps.len();
        for (index, weight) in steps.iter().copied().enumerate() {
            if !self.going() {
                break;
            }
            self.announce_weight("step", index + 1, count, format!("{} of requests", percent_text(weight)), weight);
            if let Err(message) = self.set_weight(traffic.router, weight, &self.node_cancel.clone()).await {
                self.stop_on_router(message).await;
                return;
            }
            if !self.bake(pause).await {
                break;
            }
            // At 100% no request goes to the stable version: nothing to compare with.
            if let Some(gate) = analysis.filter(|_| weight < 100.0) {
                let site = GateSite { stage: Some((self.id, "analysis")), hosts: self.hosts.clone() };
                if !self.decide(gate, &site).await {
                    break;
                }
            }
        }
        if !self.going() {
            self.back_to_stable(traffic.router).await;
            return;
        }
        self.promote(traffic).await;
    }

    /// Sleeps `pause` between a step and its analysis; `false` when cancelled.
    async fn bake(&self, pause: Duration) -> bool {
        if pause.is_zero() {
            return true;
        }
        self.ctx.log.bus.emit(EventData::RolloutPause {
            node: self.ctx.plan().node(self.id).name.clone(),
            duration_ms: millis(pause),
            until: in_rfc3339(&self.ctx, pause),
        });
        sleep_or_cancel(pause, &self.node_cancel).await
    }

    /// At 100%: keeps the previous version for `keep_previous` (a cancel in
    /// that time still sends traffic back to it), then retires it.
    async fn promote(&mut self, traffic: &Traffic) {
        if let Some(keep) = traffic.keep_previous.filter(|keep| !keep.is_zero()) {
            self.previous_kept(keep);
            if !sleep_or_cancel(keep, &self.node_cancel).await {
                self.back_to_stable(traffic.router).await;
                return;
            }
        }
        self.ctx.log.completions.push(UnitRecord {
            node: self.id,
            host: None,
            outcome: UnitOutcome::Completed,
            phase: UnitPhase::Promoted,
        });
        if traffic.retire.is_empty() {
            return;
        }
        let label = format!("retire {}", self.ctx.run.previous_version());
        self.announce_weight("retire", 1, 1, label, 100.0);
        let node = self.ctx.plan().node(self.id);
        for host in self.hosts.clone() {
            let result =
                run_steps(&self.ctx, node, &traffic.retire, Some(&host), 1, &StepSite::forward(), &self.node_cancel)
                    .await;
            match result {
                Ok(()) => self.ctx.log.completions.push(UnitRecord {
                    node: self.id,
                    host: Some(host),
                    outcome: UnitOutcome::Completed,
                    phase: UnitPhase::Retired,
                }),
                Err(failure) => self.ctx.log.bus.emit(EventData::warning(format!(
                    "{}: retiring {} on {host} failed (the new version serves every request): {}",
                    node.name,
                    self.ctx.run.previous_version(),
                    failure.message
                ))),
            }
        }
    }

    /// A router step failed: the stage fails (after traffic went back).
    async fn stop_on_router(&mut self, message: String) {
        self.back_to_stable(self.router_of().unwrap_or(self.id)).await;
        let policy = self.ctx.plan().pipeline.on_failure;
        let policy = if policy == FailurePolicy::Pause { FailurePolicy::Rollback } else { policy };
        self.stopped = Some((message, policy));
    }

    fn router_of(&self) -> Option<NodeId> {
        self.strategy().traffic().map(|traffic| traffic.router)
    }

    /// Every request to the stable version, at once (see [`route_to_stable`]).
    async fn back_to_stable(&mut self, router: NodeId) {
        if router == self.id {
            return;
        }
        route_to_stable(&self.ctx, self.id, router, &self.hosts).await;
    }

    async fn set_weight(&self, router: NodeId, weight: f64, cancel: &CancellationToken) -> Result<(), String> {
        set_router_weight(&self.ctx, router, weight, cancel).await
    }

    fn announce_weight(&self, phase: &str, index: usize, count: usize, label: String, weight: f64) {
        self.ctx.log.bus.emit(EventData::RolloutStep {
            node: self.ctx.plan().node(self.id).name.clone(),
            strategy: "canary".to_string(),
            phase: phase.to_string(),
            index,
            count,
            label,
            hosts: self.hosts.clone(),
            weight: Some(weight),
        });
    }
}

/// Every request of `node`'s traffic canary to the stable (previous)
/// version, at once: the router's steps with weight 0, under their own
/// deadline (the rollout's cancel token may be cancelled already). A
/// failure is a warning: `false`.
pub(super) async fn route_to_stable(ctx: &Arc<RunContext>, node: NodeId, router: NodeId, hosts: &[String]) -> bool {
    if ctx.run.previous_version().is_empty() {
        return true;
    }
    ctx.log.bus.emit(EventData::RolloutStep {
        node: ctx.plan().node(node).name.clone(),
        strategy: "canary".to_string(),
        phase: "stable".to_string(),
        index: 1,
        count: 1,
        label: format!("0% of requests: back to {}", ctx.run.previous_version()),
        hosts: hosts.to_vec(),
        weight: Some(0.0),
    });
    let limit = ctx.plan().node(router).timeout.unwrap_or(BACK_TO_STABLE_LIMIT);
    let cancel = CancellationToken::new();
    let timer = {
        let token = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            token.cancel();
        })
    };
    let result = set_router_weight(ctx, router, 0.0, &cancel).await;
    timer.abort();
    match result {
        Ok(()) => true,
        Err(message) => {
            ctx.log.bus.emit(EventData::warning(format!(
                "could not send every request back to the stable version: {message}"
            )));
            false
        }
    }
}

/// Runs the router's steps with `${weight}` bound, on each host of the
/// router's target (once, locally, without one), with its retries.
pub(super) async fn set_router_weight(
    ctx: &Arc<RunContext>,
    router: NodeId,
    weight: f64,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let node = weighted(ctx.plan().node(router), weight);
    let hosts: Vec<Option<String>> = match ctx.target_of(&node) {
        Some(environment) => environment.hosts.iter().cloned().map(Some).collect(),
        None => vec![None],
    };
    let attempts = 1 + node.retry.map_or(0, |retry| retry.attempts);
    for host in hosts {
        let mut attempt = 1;
        loop {
            let site = StepSite::forward();
            let run = run_steps(ctx, &node, &node.steps, host.as_deref(), attempt, &site, cancel);
            let result = match node.timeout {
                Some(limit) => tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
                    Err(format!("timed out after {}", crate::duration::format_duration(limit)).into())
                }),
                None => run.await,
            };
            match result {
                Ok(()) => break,
                Err(failure) if failure.cancelled || attempt >= attempts => {
                    return Err(format!("router {} at {}: {}", node.name, percent_text(weight), failure.message));
                }
                Err(_) => {
                    if let Some(retry) = node.retry {
                        if !sleep_or_cancel(retry.every, cancel).await {
                            return Err(format!("router {}: cancelled", node.name));
                        }
                    }
                    attempt += 1;
                }
            }
        }
    }
    Ok(())
}

/// The router stage with its `weight` argument set to `weight` percent.
fn weighted(router: &NodeDef, weight: f64) -> NodeDef {
    let mut node = router.clone();
    let value = if weight.fract() == 0.0 { Value::Int(weight as i64) } else { Value::String(weight.to_string()) };
    node.bindings.retain(|(name, _)| name != "weight");
    node.bindings.push(("weight".to_string(), Expr::Literal(value)));
    node
}
