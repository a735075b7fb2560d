//! `--explore`: every single-failure injection in turn — each step of each
//! stage failing on each host, each stage with a `timeout` timing out on
//! each host, each gate's check returning fail, inconclusive and no-data,
//! each approval refused — and, for each, how the run ends. A finding is an
//! injection after which the rollback failed or a host is left on a mixed
//! version.

use std::sync::Arc;

use serde::Serialize;

use super::durations::Durations;
use super::injection::{GateInjection, InjectedOutcome, Injections, StepSelector};
use super::outcome::{conclude, Conclusion, Outcome};
use super::{simulate, Scenario};
use crate::check::model::{NodeKind, Plan};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Explored {
    /// The flag that reproduces it (`--fail deploy@web-3#1`).
    pub injection: String,
    pub outcome: Outcome,
    pub exit_code: i32,
    pub mixed_hosts: Vec<String>,
    pub irreversible_reached: Vec<String>,
    /// Why the run stopped, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Rollback failed or a host left mixed.
    pub finding: bool,
}

/// Every single failure `plan` can have, as (flag, injections) on top of `base`.
pub fn single_failures(graph: &ExecutionGraph, base: &Injections) -> Vec<(String, Injections)> {
    let plan = &graph.plan;
    let mut out = Vec::new();
    let with = |change: &dyn Fn(&mut Injections)| {
        let mut injections = base.clone();
        change(&mut injections);
        injections
    };
    for id in &graph.order {
        let node = plan.node(*id);
        match node.kind {
            NodeKind::Stage => {
                for host in hosts(plan, node) {
                    for step in 1..=node.steps.len() {
                        let selector = StepSelector { stage: node.name.clone(), host: host.clone(), step: Some(step) };
                        let flag = format!("--fail {}", selector.label());
                        out.push((flag, with(&|i: &mut Injections| i.fail.push(selector.clone()))));
                    }
                    if node.timeout.is_some() && !node.timeout_is_default && !node.steps.is_empty() {
                        let selector = StepSelector { stage: node.name.clone(), host: host.clone(), step: None };
                        let flag = format!("--timeout {}", selector.label());
                        out.push((flag, with(&|i: &mut Injections| i.timeouts.push(selector.clone()))));
                    }
                }
                if node.target.is_some_and(|env| plan.environment(env).protect.approval) {
                    out.push((
                        format!("--refuse {}", node.name),
                        with(&|i: &mut Injections| i.refuse.push(node.name.clone())),
                    ));
                }
            }
            NodeKind::Gate => {
                let Some(gate) = node.gate.as_deref() else { continue };
                if gate.check.is_some() {
                    for outcome in [InjectedOutcome::Fail, InjectedOutcome::Inconclusive, InjectedOutcome::NoData] {
                        let flag = format!("--gate {}={}", node.name, outcome.word());
                        out.push((
                            flag,
                            with(&|i: &mut Injections| {
                                i.gates.push(GateInjection { gate: node.name.clone(), evaluation: None, outcome })
                            }),
                        ));
                    }
                }
                if gate.approve.is_some() {
                    out.push((
                        format!("--refuse {}", node.name),
                        with(&|i: &mut Injections| i.refuse.push(node.name.clone())),
                    ));
                }
            }
        }
    }
    out
}

fn hosts(plan: &Plan, node: &crate::check::model::NodeDef) -> Vec<Option<String>> {
    match node.target {
        Some(env) => plan.environment(env).hosts.iter().cloned().map(Some).collect(),
        None => vec![None],
    }
}

/// Runs every single failure; the base run (no extra injection) comes first.
pub fn explore(
    graph: &ExecutionGraph,
    inputs: &ResolvedInputs,
    scenario: &Scenario,
    durations: &Arc<Durations>,
) -> crate::session::error::SessionResult<Vec<Explored>> {
    let mut runs = vec![("(none)".to_string(), scenario.injections.clone())];
    runs.extend(single_failures(graph, &scenario.injections));
    let mut rows = Vec::with_capacity(runs.len());
    for (flag, injections) in runs {
        let one = Scenario { injections, ..scenario.clone() };
        let simulation = simulate(graph, inputs, &one, durations, Vec::new())?;
        let conclusion = conclude(&graph.plan, &simulation.report, &simulation.events);
        rows.push(row(flag, &conclusion));
    }
    Ok(rows)
}

fn row(injection: String, conclusion: &Conclusion) -> Explored {
    let mixed_hosts = conclusion.mixed_hosts();
    Explored {
        injection,
        outcome: conclusion.outcome,
        exit_code: conclusion.exit_code,
        finding: conclusion.outcome == Outcome::RollbackFailed || !mixed_hosts.is_empty(),
        mixed_hosts,
        irreversible_reached: conclusion.irreversible_reached.clone(),
        failure: conclusion.failure.clone(),
    }
}
