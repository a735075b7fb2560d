//! Reading a run back from its events (as the journal kept them): what
//! finished (so a resume does not run it again), which units started (so a
//! rollback undoes them), and what a traffic canary did beyond its hosts.

use std::collections::HashSet;

use super::context::{Resumed, UnitPhase};
use crate::graph::ExecutionGraph;
use crate::record::event::{Event, EventData, NodeStatus, RollbackStatus};

/// The `--env` / `--limit` a run started with (its first `run_started`).
pub fn selection(events: &[Event]) -> crate::check::selection::Selection {
    events
        .iter()
        .find_map(|event| match &event.data {
            EventData::RunStarted { environments, limit, .. } => {
                Some(crate::check::selection::Selection { environments: environments.clone(), limit: limit.clone() })
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn is_untargeted_stage(graph: &ExecutionGraph, node: &str) -> bool {
    graph
        .plan
        .node_named(node)
        .is_some_and(|def| def.kind == crate::check::model::NodeKind::Stage && def.target.is_none())
}

/// What a resumed run starts from: the nodes and hosts that finished, and
/// the units that completed in order (for the rollback path).
pub fn resume_point(events: &[Event], graph: &ExecutionGraph) -> Resumed {
    let mut resumed = Resumed::default();
    for event in events {
        match &event.data {
            EventData::NodeFinished { node, host: None, status: NodeStatus::Succeeded, .. } => {
                push_unique(&mut resumed.nodes, node);
                if is_untargeted_stage(graph, node) {
                    resumed.completed.push((node.clone(), None));
                }
            }
            EventData::NodeSkipped { node, .. } => push_unique(&mut resumed.nodes, node),
            EventData::NodeFinished { node, host: Some(host), status: NodeStatus::Succeeded, .. } => {
                let unit = (node.clone(), host.clone());
                if !resumed.hosts.contains(&unit) {
                    resumed.hosts.push(unit);
                    resumed.completed.push((node.clone(), Some(host.clone())));
                }
            }
            _ => {}
        }
    }
    resumed
}

fn push_unique(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|existing| existing == name) {
        list.push(name.to_string());
    }
}

/// Every unit (stage on a host, or an untargeted stage) that started and
/// was not undone yet, in completion order; units still running when the
/// journal ends come last (they are undone first). A unit whose rollback
/// already succeeded is left out.
pub fn started_units(events: &[Event], graph: &ExecutionGraph) -> Vec<(String, Option<String>)> {
    let mut finished: Vec<(String, Option<String>)> = Vec::new();
    let mut in_flight: Vec<(String, Option<String>)> = Vec::new();
    let mut undone: HashSet<(String, Option<String>)> = HashSet::new();
    for event in events {
        match &event.data {
            EventData::NodeStarted { node, host: Some(host), .. } => {
                let unit = (node.clone(), Some(host.clone()));
                if !in_flight.contains(&unit) {
                    in_flight.push(unit);
                }
            }
            EventData::NodeStarted { node, host: None, .. } if is_untargeted_stage(graph, node) => {
                let unit = (node.clone(), None);
                if !in_flight.contains(&unit) {
                    in_flight.push(unit);
                }
            }
            EventData::NodeFinished { node, host, status, .. } => {
                let unit = (node.clone(), host.clone());
                if host.is_none() && !is_untargeted_stage(graph, node) {
                    continue;
                }
                in_flight.retain(|other| other != &unit);
                finished.retain(|other| other != &unit);
                match status {
                    NodeStatus::Succeeded | NodeStatus::Failed | NodeStatus::Cancelled => finished.push(unit),
                    _ => {}
                }
            }
            EventData::RollbackStep { node, host, status: RollbackStatus::Succeeded, .. } => {
                undone.insert((node.clone(), host.clone()));
            }
            _ => {}
        }
    }
    finished.into_iter().chain(in_flight).filter(|unit| !undone.contains(unit)).collect()
}

/// What a traffic canary of the journal did beyond its hosts' steps, for
/// `deploy rollback`: `(node, None, Promoted)` when it reached 100% and
/// finished, then `(node, host, Retired)` for each host whose previous
/// version `retire` removed.
pub fn traffic_phases(events: &[Event], graph: &ExecutionGraph) -> Vec<(String, Option<String>, UnitPhase)> {
    let mut phases = Vec::new();
    for node in graph.plan.nodes.iter().filter(|node| node.strategy.traffic().is_some()) {
        let mut full = false;
        let mut finished = false;
        let mut retired: Vec<String> = Vec::new();
        for event in events {
            match &event.data {
                EventData::RolloutStep { node: name, phase, weight: Some(weight), hosts, .. } if *name == node.name => {
                    match phase.as_str() {
                        "step" if *weight >= 100.0 => full = true,
                        "stable" => full = false,
                        "retire" => retired.extend(hosts.iter().cloned()),
                        _ => {}
                    }
                }
                EventData::NodeFinished { node: name, host: None, status, .. } if *name == node.name => {
                    finished = *status == NodeStatus::Succeeded;
                }
                _ => {}
            }
        }
        if full && finished {
            phases.push((node.name.clone(), None, UnitPhase::Promoted));
            phases.extend(retired.into_iter().map(|host| (node.name.clone(), Some(host), UnitPhase::Retired)));
        }
    }
    phases
}
