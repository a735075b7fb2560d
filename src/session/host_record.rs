//! What a run did to each host, worked out from what it recorded (its
//! `node_runs` and the `rollback_step` events of its journal) when it ends,
//! when its crash is found (its lease taken over, or a new run supersedes
//! it), and for `deploy status` while a crash is not written yet.

use crate::engine::context::HostVersions;
use crate::state::host_outcome::{outcomes, undos, HostOutcome, Topology};
use crate::state::{Deployment, HostChange, HostRecord, HostState, Promotion, StateResult, StateStore};

/// A run's host changes, and what becomes of a plan without targets.
#[derive(Clone, Debug, Default)]
pub struct RunHosts {
    pub record: HostRecord,
    /// An untargeted plan whose stages ran: environment `""`'s version.
    pub promote: Option<Promotion>,
}

/// What the run `run_id` (of `version`) did to the hosts it touched.
pub fn outcomes_of(store: &mut dyn StateStore, run_id: &str, topology: &Topology) -> StateResult<Vec<HostOutcome>> {
    let node_runs = store.node_runs(run_id)?;
    let undos = undos(&store.journal_of_type(run_id, "rollback_step")?);
    Ok(outcomes(topology, &node_runs, &undos))
}

/// The record of what the run did, ready for [`crate::state::Finish`] or
/// [`StateStore::record_hosts`].
pub fn run_hosts(
    store: &mut dyn StateStore,
    pipeline: &str,
    run_id: &str,
    version: &str,
    topology: &Topology,
) -> StateResult<RunHosts> {
    let outcomes = outcomes_of(store, run_id, topology)?;
    Ok(to_record(pipeline, run_id, version, topology, outcomes))
}

fn to_record(pipeline: &str, run_id: &str, version: &str, topology: &Topology, outcomes: Vec<HostOutcome>) -> RunHosts {
    let mut hosts = RunHosts {
        record: HostRecord {
            pipeline: pipeline.to_string(),
            run_id: run_id.to_string(),
            at: crate::state::now_ms(),
            ..HostRecord::default()
        },
        promote: None,
    };
    for (environment, host, state) in outcomes {
        if host.is_empty() {
            // The local stages of a plan without targets: its one place.
            if matches!(state, HostState::Ok | HostState::Failed) {
                hosts.promote = Some(Promotion {
                    pipeline: pipeline.to_string(),
                    environments: vec![String::new()],
                    version: version.to_string(),
                });
            }
            continue;
        }
        hosts.record.changes.push(HostChange {
            environment,
            host,
            version: version.to_string(),
            state,
            previous_version: None,
        });
    }
    hosts.record.plan_hosts = topology
        .hosts
        .iter()
        .filter(|(name, _)| hosts.record.changes.iter().any(|change| change.environment == *name))
        .cloned()
        .collect();
    hosts
}

/// Records what a run that is found crashed did: hosts it was on in
/// flight become `unknown`, hosts it finished run its version. Nothing for
/// a run whose plan the row does not hold (from before schema 2).
pub fn record_crashed(store: &mut dyn StateStore, deployment: &Deployment) -> StateResult<()> {
    let Some(topology) = Topology::of_canonical(&deployment.plan_canonical) else { return Ok(()) };
    let hosts = run_hosts(store, &deployment.pipeline, &deployment.run_id, &deployment.version, &topology)?;
    store.record_hosts(&hosts.record)
}

/// Records the crash of the run or rollback `run_id` (its lease was taken over).
pub fn record_crashed_run(store: &mut dyn StateStore, run_id: &str) -> StateResult<()> {
    match store.deployment(run_id)? {
        Some(deployment) if deployment.kind == crate::state::DeploymentKind::Run => record_crashed(store, &deployment),
        Some(deployment) => record_crashed_rollback(store, &deployment),
        None => Ok(()),
    }
}

/// A `deploy rollback` that died mid-way: the hosts it had started to undo
/// are `unknown` (on the version their record says, which the next
/// rollback goes back from again — rollback blocks run twice safely).
fn record_crashed_rollback(store: &mut dyn StateStore, deployment: &Deployment) -> StateResult<()> {
    let Some(topology) = Topology::of_canonical(&deployment.plan_canonical) else { return Ok(()) };
    let (events, _) = crate::state::journal::read_events(&store.journal(&deployment.run_id)?);
    let touched = crate::state::host_outcome::hosts_a_crashed_rollback_touched(&topology, &events);
    let current = store.host_versions(Some(&deployment.pipeline))?;
    let mut record = HostRecord {
        pipeline: deployment.pipeline.clone(),
        run_id: deployment.run_id.clone(),
        at: crate::state::now_ms(),
        ..HostRecord::default()
    };
    for (environment, host) in touched {
        let Some(now) = current.iter().find(|entry| entry.environment == environment && entry.host == host) else {
            continue;
        };
        record.changes.push(HostChange {
            version: now.version.clone(),
            state: HostState::Unknown,
            previous_version: None,
            environment,
            host,
        });
    }
    record.plan_hosts = topology
        .hosts
        .iter()
        .filter(|(name, _)| record.changes.iter().any(|change| change.environment == *name))
        .cloned()
        .collect();
    store.record_hosts(&record)
}

/// What the rollback run `rollback_run` did to the hosts it undid: undone
/// hosts run `to_version` (or their own target of `targets`) now (and the version they ran before it, from
/// their history); a host whose undo failed is `unknown` on what it ran.
pub fn rollback_hosts(
    store: &mut dyn StateStore,
    pipeline: &str,
    rollback_run: &str,
    from_version: &str,
    to_version: &str,
    targets: &[(String, String)],
    topology: &Topology,
) -> StateResult<HostRecord> {
    let undone = crate::state::host_outcome::undone_hosts(
        topology,
        &undos(&store.journal_of_type(rollback_run, "rollback_step")?),
    );
    let mut record = HostRecord {
        pipeline: pipeline.to_string(),
        run_id: rollback_run.to_string(),
        at: crate::state::now_ms(),
        ..HostRecord::default()
    };
    if undone.is_empty() {
        return Ok(record);
    }
    let current = store.host_versions(Some(pipeline))?;
    let history = store.host_history(pipeline)?;
    for (environment, host, state) in undone {
        let now = current.iter().find(|entry| entry.environment == environment && entry.host == host);
        // Each host's own target (a per-host rollback), else the rollback's.
        let to_version = targets.iter().find(|(name, _)| *name == host).map_or(to_version, |(_, to)| to.as_str());
        let change = match state {
            HostState::Undone => HostChange {
                // What it ran before `to_version`: the newest change that put it there.
                previous_version: Some(
                    history
                        .iter()
                        .find(|entry| {
                            entry.environment == environment
                                && entry.host == host
                                && entry.version == to_version
                                && entry.state != HostState::Undone
                        })
                        .map(|entry| entry.previous_version.clone())
                        .unwrap_or_default(),
                ),
                environment,
                host,
                version: to_version.to_string(),
                state,
            },
            _ => HostChange {
                version: now.map_or_else(|| from_version.to_string(), |entry| entry.version.clone()),
                previous_version: None,
                environment,
                host,
                state,
            },
        };
        record.changes.push(change);
    }
    record.plan_hosts = topology
        .hosts
        .iter()
        .filter(|(name, _)| record.changes.iter().any(|change| change.environment == *name))
        .cloned()
        .collect();
    Ok(record)
}

/// What each host of `plan` ran before the run `run_id` (of `version`)
/// started on it, as the host's own `${previous_version}`: its recorded
/// version, or what that record replaced when the record is the run's own
/// (a resumed run); for a host without a record, its environment's version
/// when no host of it is recorded (a store from before host records), else
/// `""`. A host name that two environments share with different versions
/// keeps the run's previous version.
pub fn own_previous_versions(
    store: &mut dyn StateStore,
    plan: &crate::check::model::Plan,
    run_id: &str,
    version: &str,
) -> StateResult<Vec<HostVersions>> {
    let records = store.host_versions(Some(&plan.pipeline.name))?;
    let environments = store.environment_versions(Some(&plan.pipeline.name))?;
    let mut out: Vec<HostVersions> = Vec::new();
    let mut ambiguous: Vec<String> = Vec::new();
    for environment in &plan.environments {
        for host in &environment.hosts {
            let record = records.iter().find(|record| record.environment == environment.name && record.host == *host);
            let previous = match record {
                Some(record) if record.run_id == run_id => record.previous_version.clone(),
                Some(record) => record.version.clone(),
                // Its environment has hosts recorded but not this one: nothing ran there.
                None if records.iter().any(|record| record.environment == environment.name) => String::new(),
                // No host of its environment recorded: the environment's version (a store from
                // before host records), nothing when it has none — never another environment's.
                None => environments
                    .iter()
                    .find(|entry| entry.environment == environment.name)
                    .map(|entry| entry.current_version.clone())
                    .unwrap_or_default(),
            };
            match out.iter().find(|own| own.host == *host) {
                Some(own) if own.previous_version != previous => ambiguous.push(host.clone()),
                Some(_) => {}
                None => out.push(HostVersions {
                    host: host.clone(),
                    version: version.to_string(),
                    previous_version: previous,
                }),
            }
        }
    }
    out.retain(|own| !ambiguous.contains(&own.host));
    Ok(out)
}
