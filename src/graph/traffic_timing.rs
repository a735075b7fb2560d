//! The worst-case times of a canary by share of requests, as `deploy plan`
//! shows them: per step the router's bound, the pause and the analysis;
//! to full rollout (install, every step, `keep_previous`, `retire`); and to
//! rollback from a decision (the router at weight 0, then the stage's
//! rollback on every host).

use super::batches::percent_text;
use super::bound::{gate_of, steps_bound, unit_bound, Bound};
use crate::check::model::{NodeDef, Plan, RollbackSpec, Strategy};
use crate::duration::format_duration;

/// One step of a traffic canary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrafficStep {
    /// The share of requests this step sends to the new version, e.g. "5%".
    pub share: String,
    pub pause: String,
    /// The analysis gate decided after the pause, if any.
    pub analysis: Option<String>,
    /// The worst case from the stage's start to the end of this step.
    pub until_done: Bound,
}

/// The steps and bounds of a traffic canary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrafficTiming {
    pub router: String,
    pub steps: Vec<TrafficStep>,
    pub keep_previous: Option<String>,
    /// From the stage's start to 100% with the previous version retired.
    pub to_full: Bound,
    /// From a non-pass decision to every request on the stable version.
    pub to_stable: Bound,
    /// From a non-pass decision to the stage rolled back.
    pub to_rollback: Bound,
}

pub fn traffic_timing(plan: &Plan, node: &NodeDef, parallel: u64) -> Option<TrafficTiming> {
    let Strategy::Canary { steps, pause, analysis, traffic: Some(traffic) } = &node.strategy else { return None };
    let router = plan.node(traffic.router);
    let hosts = node.target.map_or(1, |t| plan.environment(t).hosts.len().max(1)) as u64;
    let router_hosts = router.target.map_or(1, |t| plan.environment(t).hosts.len().max(1)) as u64;
    let router_once = unit_bound(plan, router, &router.steps, &format!("router {}", router.name)).times(router_hosts);
    let mut elapsed = unit_bound(plan, node, &node.steps, &node.name).times(hosts.div_ceil(parallel.max(1)));
    let mut out = Vec::new();
    for step in steps {
        elapsed.add(router_once.clone());
        elapsed.add(Bound::of(*pause));
        let analysis = analysis.filter(|_| *step < 100.0);
        elapsed.add(gate_of(plan, analysis));
        out.push(TrafficStep {
            share: percent_text(*step),
            pause: format_duration(*pause),
            analysis: analysis.map(|gate| plan.node(gate).name.clone()),
            until_done: elapsed.clone(),
        });
    }
    let mut to_full = elapsed;
    if let Some(keep) = traffic.keep_previous {
        to_full.add(Bound::of(keep));
    }
    if !traffic.retire.is_empty() {
        let label = format!("{} retire", node.name);
        to_full.add(steps_bound(plan, node.timeout, &traffic.retire, &label).times(hosts));
    }
    let to_stable = router_once;
    let mut to_rollback = to_stable.clone();
    if let RollbackSpec::Steps(undo) = &node.rollback {
        to_rollback.add(steps_bound(plan, node.timeout, undo, &format!("{} rollback", node.name)).times(hosts));
    }
    Some(TrafficTiming {
        router: router.name.clone(),
        steps: out,
        keep_previous: traffic.keep_previous.map(format_duration),
        to_full,
        to_stable,
        to_rollback,
    })
}
