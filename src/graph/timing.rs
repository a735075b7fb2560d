//! The worst-case time a plan takes to complete and to roll back, as
//! `deploy plan` shows it: the sum of timeouts × attempts and retry delays,
//! canary pauses, check bounds (`within` plus one script deadline), gate
//! `wait`s, the longest a `window` stays closed and `monitor` periods, along
//! the critical path of the graph; the rollback path is sequential, so its
//! bound is the sum over every unit it may undo. What has no bound — a `run`
//! step without a timeout, an approval — is named instead of guessed.
//!
//! The engine's rules this follows: hosts of a batch share `--max-parallel`;
//! batches, canary steps and blue/green phases run one after the other; a
//! check's last poll starts before `within` ends and may run for the
//! script's deadline; a gate's `timeout` caps the whole gate; a monitored
//! stage's period after the rollout delays the end of the run, not the
//! stages that need it.

pub use super::bound::Bound;
use super::bound::{gate_bound, gate_of, steps_bound, unit_bound, window_bound};
use super::ExecutionGraph;
use crate::check::model::{NodeDef, NodeId, NodeKind, Plan, RollbackSpec, Strategy};

/// The worst cases of a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorstCase {
    /// From the start to the end of a successful run.
    pub complete: Bound,
    /// The nodes whose sum makes `complete`, in order.
    pub critical_path: Vec<String>,
    /// Undoing everything (the rollback path runs one unit at a time).
    pub rollback: Bound,
}

/// The worst cases of `graph` when `max_parallel` commands run at once.
pub fn worst_case(graph: &ExecutionGraph, max_parallel: usize) -> WorstCase {
    let plan = &graph.plan;
    let parallel = max_parallel.max(1) as u64;
    let count = plan.nodes.len();
    let mut finish: Vec<Bound> = vec![Bound::default(); count];
    let mut via: Vec<Option<NodeId>> = vec![None; count];
    let mut end = hooks_bound(plan, &plan.hooks, "start");
    let start_offset = end.clone();
    let mut last: Option<NodeId> = None;
    let mut latest = 0u64;
    let mut everything = Bound::default();
    for id in &graph.order {
        let node = plan.node(*id);
        let mut at = start_offset.clone();
        let before = node.needs.iter().copied().max_by_key(|need| finish[need.0].millis);
        if let Some(before) = before {
            at = Bound { millis: finish[before.0].millis, unbounded: Vec::new() };
            via[id.0] = Some(before);
        }
        at.add(node_bound(plan, node, parallel));
        let tail = node.monitor.map_or(0, |m| u64::try_from(m.duration.as_millis()).unwrap_or(u64::MAX));
        if at.millis.saturating_add(tail) >= latest {
            latest = at.millis.saturating_add(tail);
            last = Some(*id);
        }
        everything.add(Bound { millis: 0, unbounded: at.unbounded.clone() });
        finish[id.0] = at;
    }
    end.millis = latest.max(end.millis);
    end.add(everything);
    end.add(hooks_bound(plan, &plan.hooks, "success"));
    let mut critical_path = Vec::new();
    let mut current = last;
    while let Some(id) = current {
        critical_path.push(plan.node(id).name.clone());
        current = via[id.0];
    }
    critical_path.reverse();
    WorstCase { complete: end, critical_path, rollback: rollback_bound(plan) }
}

/// The longest one node may take (its own work only).
fn node_bound(plan: &Plan, node: &NodeDef, parallel: u64) -> Bound {
    let script = plan.pipeline.script_limits.timeout;
    let mut total = Bound::default();
    if node.when.is_some() {
        total.add(Bound::of(script));
    }
    match node.kind {
        NodeKind::Gate => {
            if let Some(gate) = &node.gate {
                total.add(gate_bound(plan, node, gate));
            }
        }
        NodeKind::Stage => {
            total.add(hooks_bound_of(plan, node, "start"));
            if let Some(env) = node.target.map(|t| plan.environment(t)) {
                if env.protect.approval {
                    total.add(Bound::never(format!("{} waits for an approval (protected {})", node.name, env.name)));
                }
                if let Some(window) = &env.protect.window {
                    total.add(window_bound(&node.name, window));
                }
            }
            total.add(rollout_bound(plan, node, parallel));
            total.add(hooks_bound_of(plan, node, "success"));
        }
    }
    total
}

fn rollout_bound(plan: &Plan, node: &NodeDef, parallel: u64) -> Bound {
    let unit = unit_bound(plan, node, &node.steps, &node.name);
    let Some(env) = node.target.map(|t| plan.environment(t)) else {
        return unit;
    };
    let batches = super::batches::batches(&node.strategy, &env.hosts);
    let rounds = |hosts: usize| (hosts as u64).div_ceil(parallel).max(1);
    let mut total = Bound::default();
    match &node.strategy {
        Strategy::AllAtOnce | Strategy::Rolling { .. } => {
            for batch in &batches {
                total.add(unit.clone().times(rounds(batch.hosts.len())));
            }
        }
        Strategy::Canary { traffic: Some(_), .. } => {
            if let Some(timing) = super::traffic_timing::traffic_timing(plan, node, parallel) {
                total.add(timing.to_full);
            }
        }
        Strategy::Canary { pause, analysis, .. } => {
            for batch in &batches {
                total.add(unit.clone().times(rounds(batch.hosts.len())));
                total.add(Bound::of(*pause));
                total.add(gate_of(plan, *analysis));
            }
        }
        Strategy::BlueGreen { switch, verify, .. } => {
            let hosts = rounds(env.hosts.len());
            total.add(unit.times(hosts));
            total.add(gate_of(plan, *verify));
            total.add(unit_bound(plan, node, switch, &format!("{} (switch)", node.name)).times(hosts));
        }
    }
    total
}

fn hooks_bound_of(plan: &Plan, node: &NodeDef, event: &str) -> Bound {
    let mut total = Bound::default();
    for hook in node.hooks.iter().filter(|h| h.event.word() == event) {
        total.add(steps_bound(plan, node.timeout, &hook.steps, &format!("{} `on {event}`", node.name)));
    }
    total
}

fn hooks_bound(plan: &Plan, hooks: &[crate::check::model::HookDef], event: &str) -> Bound {
    let mut total = Bound::default();
    for hook in hooks.iter().filter(|h| h.event.word() == event) {
        total.add(steps_bound(plan, None, &hook.steps, &format!("pipeline `on {event}`")));
    }
    total
}

/// The rollback path: every unit it may undo, one after the other.
fn rollback_bound(plan: &Plan) -> Bound {
    let mut total = Bound::default();
    for node in &plan.nodes {
        let hosts = node.target.map_or(1, |t| plan.environment(t).hosts.len().max(1)) as u64;
        if let RollbackSpec::Steps(steps) = &node.rollback {
            let label = format!("{} rollback", node.name);
            total.add(steps_bound(plan, node.timeout, steps, &label).times(hosts));
        }
        if let Strategy::BlueGreen { switch, .. } = &node.strategy {
            let label = format!("{} switch back", node.name);
            total.add(steps_bound(plan, node.timeout, switch, &label).times(hosts));
        }
    }
    total.add(hooks_bound(plan, &plan.hooks, "rollback"));
    total
}
