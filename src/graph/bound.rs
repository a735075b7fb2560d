//! Bounds on durations, and the bounds of the pieces a plan is made of:
//! a gate, one host's steps with their attempts, one run of steps, the
//! longest a window stays closed. [`super::timing`] adds them up along the
//! graph; [`super::traffic_timing`] along a traffic canary's steps.

use std::time::Duration;

use crate::check::model::{GateDef, NodeDef, NodeId, Plan, Step};
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

pub(super) fn gate_bound(plan: &Plan, node: &NodeDef, gate: &GateDef) -> Bound {
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

/// The longest a window stays closed (scanned minute by minute over two
/// weeks, which covers every weekly pattern and a daylight-saving change).
pub(super) fn window_bound(name: &str, window: &Window) -> Bound {
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
