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

use std::time::Duration;

use super::ExecutionGraph;
use crate::check::model::{GateDef, NodeDef, NodeId, NodeKind, Plan, RollbackSpec, Step, Strategy};
use crate::check::window::Window;

/// A duration that may have no bound: `millis` is the bounded part, and
/// `unbounded` says what adds an unknown amount.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bound {
    pub millis: u64,
    pub unbounded: Vec<String>,
}

impl Bound {
    pub(super) fn of(duration: Duration) -> Bound {
        Bound { millis: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX), unbounded: Vec::new() }
    }

    pub(super) fn never(reason: String) -> Bound {
        Bound { millis: 0, unbounded: vec![reason] }
    }

    pub(super) fn add(&mut self, other: Bound) {
        self.millis = self.millis.saturating_add(other.millis);
        for reason in other.unbounded {
            if !self.unbounded.contains(&reason) {
                self.unbounded.push(reason);
            }
        }
    }

    pub(super) fn times(mut self, count: u64) -> Bound {
        self.millis = self.millis.saturating_mul(count);
        self
    }

    pub fn is_bounded(&self) -> bool {
        self.unbounded.is_empty()
    }
}

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

fn gate_bound(plan: &Plan, node: &NodeDef, gate: &GateDef) -> Bound {
    let mut parts = Bound::default();
    if let Some(wait) = gate.wait {
        parts.add(Bound::of(wait));
    }
    if let Some(check) = &gate.check {
        parts.add(Bound::of(check.within + plan.pipeline.script_limits.timeout));
    }
    if gate.approve.is_some() {
        parts.add(Bound::never(format!("{} waits for an approval", node.name)));
    }
    if let Some(window) = &gate.window {
        parts.add(window_bound(&node.name, window));
    }
    match node.timeout {
        Some(limit) if !parts.is_bounded() || Bound::of(limit).millis < parts.millis => Bound::of(limit),
        _ => parts,
    }
}

/// A gate decided for a stage (analysis, verify).
pub(super) fn gate_of(plan: &Plan, gate: Option<NodeId>) -> Bound {
    match gate.map(|g| plan.node(g)) {
        Some(node) => node.gate.as_deref().map(|gate| gate_bound(plan, node, gate)).unwrap_or_default(),
        None => Bound::default(),
    }
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

/// One host's steps with every attempt: attempts × timeout + retries × delay.
pub(super) fn unit_bound(plan: &Plan, node: &NodeDef, steps: &[Step], label: &str) -> Bound {
    if steps.is_empty() {
        return Bound::default();
    }
    let attempt = steps_bound(plan, node.timeout, steps, label);
    let retries = node.retry.map_or(0, |r| u64::from(r.attempts));
    let mut total = attempt.times(retries + 1);
    if let Some(retry) = node.retry {
        total.add(Bound::of(retry.every).times(retries));
    }
    total
}

/// One run of `steps`: the timeout, or the scripts' deadlines when every
/// step is a script; a `run` step without a timeout has no bound.
pub(super) fn steps_bound(plan: &Plan, timeout: Option<Duration>, steps: &[Step], label: &str) -> Bound {
    if let Some(limit) = timeout {
        return Bound::of(limit);
    }
    if steps.iter().all(|step| matches!(step, Step::Script(_))) {
        return Bound::of(plan.pipeline.script_limits.timeout).times(steps.len() as u64);
    }
    Bound::never(format!("{label}: `run` steps without a timeout"))
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

/// The longest a window stays closed (scanned minute by minute over two
/// weeks, which covers every weekly pattern and a daylight-saving change).
fn window_bound(name: &str, window: &Window) -> Bound {
    use chrono::TimeZone;
    let Some(monday) = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single() else {
        return Bound::never(format!("{name} waits for the window `{}`", window.text));
    };
    let minutes = 14 * 24 * 60;
    let mut longest = 0u64;
    let mut closed = 0u64;
    // Start inside the window if it is ever open, so a gap is not cut in two.
    let first_open = (0..minutes).find(|m| window.contains(monday + chrono::Duration::minutes(*m)));
    let Some(first_open) = first_open else {
        return Bound::never(format!("{name}: the window `{}` never opens", window.text));
    };
    for offset in 0..minutes {
        let at = monday + chrono::Duration::minutes(first_open + offset);
        if window.contains(at) {
            closed = 0;
        } else {
            closed += 1;
            longest = longest.max(closed);
        }
    }
    Bound::of(Duration::from_secs(longest * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_of_a_weekday_window_is_the_weekend() {
        let window = Window::parse("Mon-Fri 08:00-17:00 UTC").unwrap_or_else(|e| panic!("{e}"));
        // Friday 17:00 to Monday 08:00.
        assert_eq!(window_bound("g", &window).millis, 63 * 3_600_000);
    }

    #[test]
    fn bounds_add_and_keep_their_reasons() {
        let mut total = Bound::of(Duration::from_secs(2));
        total.add(Bound::never("x waits".into()));
        total.add(Bound::never("x waits".into()).times(3));
        total.add(Bound::of(Duration::from_secs(1)).times(3));
        assert_eq!(total.millis, 5000);
        assert_eq!(total.unbounded, vec!["x waits".to_string()]);
    }
}
