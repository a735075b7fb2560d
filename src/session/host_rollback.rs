//! `deploy rollback` per host: every selected host goes back to its own
//! previous version (or to `--to V`), by the rollback blocks of the units
//! the run that put its version there completed on it, with
//! `${version}` = what runs on the host and `${previous_version}` = where
//! it goes. A host already there is not touched; hosts a rollback that
//! failed half-way already undid are not undone again.

use std::collections::HashMap;

use super::error::{SessionError, SessionResult};
use crate::check::selection::Selection;
use crate::engine::context::HostVersions;
use crate::graph::ExecutionGraph;
use crate::record::event::Event;
use crate::state::{DeploymentKind, DeploymentQuery, DeploymentStatus, HostState, HostVersion, StateStore};

/// One host going back.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostStep {
    pub environment: String,
    pub host: String,
    /// What runs on it now.
    pub from: String,
    /// Where it goes.
    pub to: String,
    /// The run whose units on the host are undone.
    pub run: String,
}

/// What a per-host rollback does.
#[derive(Clone, Debug, Default)]
pub struct HostRollback {
    pub steps: Vec<HostStep>,
    /// Units to undo in the order they completed (older runs first).
    pub units: Vec<(String, Option<String>)>,
    /// The runs undone (oldest first): their units are undone.
    pub runs: Vec<String>,
    /// Selected hosts that have no earlier version recorded (and no `--to`).
    pub at_first_version: Vec<String>,
}

impl HostRollback {
    pub fn host_versions(&self) -> Vec<HostVersions> {
        self.steps
            .iter()
            .map(|step| HostVersions {
                host: step.host.clone(),
                version: step.from.clone(),
                previous_version: step.to.clone(),
            })
            .collect()
    }

    /// Under the lease: whether every host still runs the version the
    /// rollback was planned from; `Err` names one that changed since (a
    /// run or rollback in between), so no host is walked back twice.
    pub fn still_current(&self, store: &mut dyn StateStore, pipeline: &str) -> SessionResult<()> {
        let records = store.host_versions(Some(pipeline))?;
        for step in &self.steps {
            let now = records.iter().find(|record| record.environment == step.environment && record.host == step.host);
            if !now.is_some_and(|now| now.version == step.from) {
                return Err(SessionError::refused(format!(
                    "host {} of `{pipeline}` changed since this rollback was planned (run {} recorded it); \
                     nothing was started — run `deploy rollback` again",
                    step.host,
                    now.map_or("(none)", |now| now.run_id.as_str())
                ))
                .with_code("already_rolled_back")
                .with_winner(now.map(|now| now.run_id.clone()).unwrap_or_default()));
            }
        }
        Ok(())
    }

    /// The version every host goes to, when they all go to the same one.
    pub fn common_target(&self) -> Option<&str> {
        let first = self.steps.first()?;
        self.steps.iter().all(|step| step.to == first.to).then_some(first.to.as_str())
    }
}

/// What to roll back per host.
pub struct HostSelection<'a> {
    pub pipeline: &'a str,
    pub environments: &'a [String],
    /// `--limit` (names and globs); empty: every host.
    pub limit: &'a [String],
    pub to: Option<&'a str>,
    /// Also undo the units without a target of the runs undone whose version
    /// no host keeps (a rollback without `--env` or `--limit`).
    pub untargeted: bool,
}

/// The hosts of `selection` that have a record; `None` when none has one
/// (a store from before hosts were recorded: the rollback goes by environment).
pub fn plan(
    store: &mut dyn StateStore,
    graph: &ExecutionGraph,
    selection: &HostSelection,
) -> SessionResult<Option<HostRollback>> {
    let limit = Selection::from_args(&[], selection.limit);
    let recorded = store.host_versions(Some(selection.pipeline))?;
    // The patterns see the plan's hosts and groups and every recorded host
    // (a host since removed from the plan is still rolled back by name).
    let mut universe = crate::check::selection::universe(&graph.plan);
    for record in &recorded {
        universe.add_host(&record.host);
    }
    let within = limit.hosts_within(&universe).unwrap_or_default();
    let records: Vec<HostVersion> = recorded
        .into_iter()
        .filter(|record| selection.environments.contains(&record.environment) && within.contains(&record.host))
        .collect();
    if records.is_empty() {
        return Ok(None);
    }
    let history = store.host_history(selection.pipeline)?;
    let finished = finished_by_failed_rollback(store, selection.pipeline, selection.environments)?;
    let had = |host: &HostVersion, version: &str| {
        history
            .iter()
            .any(|entry| entry.environment == host.environment && entry.host == host.host && entry.version == version)
    };
    // `--to V`: the hosts that had V go there; when none did, every host does.
    let anyone_had = selection.to.is_some_and(|to| records.iter().any(|record| had(record, to)));
    let mut journals: HashMap<String, Vec<Event>> = HashMap::new();
    let mut out = HostRollback::default();
    for record in &records {
        if finished.as_ref().is_some_and(|run| record.run_id == *run && record.state == HostState::Undone) {
            continue;
        }
        let to = match selection.to {
            Some(to) if !anyone_had || had(record, to) => to.to_string(),
            Some(_) => continue,
            None if record.previous_version.is_empty() => {
                out.at_first_version.push(record.host.clone());
                continue;
            }
            None => record.previous_version.clone(),
        };
        if to == record.version {
            continue;
        }
        // The newest run that put `from` on the host and completed units
        // there; when a rollback put it there (to a version no run of
        // record deployed), the newest run that completed units there at all.
        let mine = |entry: &&HostVersion| entry.environment == record.environment && entry.host == record.host;
        let same_version = history.iter().filter(mine).filter(|entry| entry.version == record.version);
        let mut found = None;
        for entry in same_version.chain(history.iter().filter(mine)) {
            if !journals.contains_key(&entry.run_id) {
                let (events, _) = crate::state::journal::read_events(&store.journal(&entry.run_id)?);
                journals.insert(entry.run_id.clone(), events);
            }
            let units: Vec<(String, Option<String>)> = journals
                .get(&entry.run_id)
                .map(|events| crate::engine::replay::started_units(events, graph))
                .unwrap_or_default()
                .into_iter()
                .filter(|(node, host)| {
                    host.as_deref() == Some(record.host.as_str()) && targets(graph, node, &record.environment)
                })
                .collect();
            if !units.is_empty() {
                found = Some((entry.run_id.clone(), units));
                break;
            }
        }
        let Some((run, units)) = found else { continue };
        if !out.runs.contains(&run) {
            out.runs.push(run.clone());
        }
        out.units.extend(units);
        out.steps.push(HostStep {
            environment: record.environment.clone(),
            host: record.host.clone(),
            from: record.version.clone(),
            to,
            run,
        });
    }
    // The versions hosts run afterwards: a run's units without a target
    // (its build, its artifact) are undone only when no host keeps its version.
    let mut kept: Vec<String> = out.steps.iter().map(|step| step.to.clone()).collect();
    for record in store.host_versions(Some(selection.pipeline))? {
        let moved = out.steps.iter().any(|step| step.environment == record.environment && step.host == record.host);
        if !moved {
            kept.push(record.version);
        }
    }
    // Older runs' units first: the newest are undone first.
    let order = sorted_by_start(store, &out.runs)?;
    let mut units = Vec::new();
    for (run, version) in &order {
        let steps: Vec<&HostStep> = out.steps.iter().filter(|step| step.run == *run).collect();
        let Some(events) = journals.get(run) else { continue };
        for unit in crate::engine::replay::started_units(events, graph) {
            let mine = match &unit.1 {
                Some(host) => out.units.contains(&unit) && steps.iter().any(|step| step.host == *host),
                None => selection.untargeted && is_untargeted_stage(graph, &unit.0) && !kept.contains(version),
            };
            if mine && !units.contains(&unit) {
                units.push(unit);
            }
        }
    }
    out.units = units;
    out.runs = order.into_iter().map(|(run, _)| run).collect();
    Ok(Some(out))
}

fn targets(graph: &ExecutionGraph, node: &str, environment: &str) -> bool {
    graph
        .plan
        .node_named(node)
        .and_then(|def| def.target)
        .is_some_and(|target| graph.plan.environment(target).name == environment)
}

fn is_untargeted_stage(graph: &ExecutionGraph, node: &str) -> bool {
    graph
        .plan
        .node_named(node)
        .is_some_and(|def| def.kind == crate::check::model::NodeKind::Stage && def.target.is_none())
}

/// `runs` with their versions, oldest start first.
fn sorted_by_start(store: &mut dyn StateStore, runs: &[String]) -> SessionResult<Vec<(String, String)>> {
    let mut started = Vec::new();
    for run in runs {
        let (at, version) =
            store.deployment(run)?.map_or((0, String::new()), |deployment| (deployment.started_at, deployment.version));
        started.push((at, run.clone(), version));
    }
    started.sort();
    Ok(started.into_iter().map(|(_, run, version)| (run, version)).collect())
}

/// The newest rollback of these environments when it failed half-way and
/// nothing ran there since: running `deploy rollback` again finishes it, so
/// the hosts it undid are not undone a second time.
fn finished_by_failed_rollback(
    store: &mut dyn StateStore,
    pipeline: &str,
    environments: &[String],
) -> SessionResult<Option<String>> {
    let query = DeploymentQuery { pipeline: Some(pipeline.to_string()), ..Default::default() };
    let newest = store
        .deployments(&query)?
        .into_iter()
        .find(|deployment| environments.iter().any(|environment| deployment.targets(environment)));
    Ok(newest
        .filter(|deployment| {
            deployment.kind == DeploymentKind::Rollback && deployment.status == DeploymentStatus::RollbackFailed
        })
        .map(|deployment| deployment.run_id))
}
