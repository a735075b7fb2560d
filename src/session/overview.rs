//! What the state says now: the current version per environment, the runs
//! that are running, paused or crashed, the locks (and whether their holder
//! is gone), the versions known to be bad. `deploy status` and the HTTP
//! API's `/api/status` show this one value.

use serde::Serialize;

use super::error::SessionResult;
use super::liveness::effective_status;
use crate::state::lease::Liveness;
use crate::state::{BadVersion, DeploymentStatus, EnvironmentVersion, Holder, Lease, StateStore};

#[derive(Debug, Serialize)]
pub struct Overview {
    pub state: String,
    pub backend: String,
    pub environments: Vec<EnvironmentVersion>,
    pub runs: Vec<ActiveRun>,
    pub locks: Vec<LockView>,
    pub bad_versions: Vec<BadVersion>,
    /// What each `deploy watch` does and waits for.
    pub watchers: Vec<crate::state::WatcherRecord>,
}

#[derive(Debug, Serialize)]
pub struct ActiveRun {
    pub run_id: String,
    pub pipeline: String,
    pub version: String,
    pub status: DeploymentStatus,
    pub started_by: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    /// Canaries by share of requests in this run: the share each set last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficShare>,
    /// A crashed run's step processes that still run (see docs/runtime.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub survivors: Vec<crate::engine::survivors::Survivor>,
}

/// The share of requests a traffic canary's router was last set to.
#[derive(Debug, Serialize)]
pub struct TrafficShare {
    pub node: String,
    /// Percent of requests to the new version.
    pub weight: f64,
    /// What the step was, e.g. "25% of requests".
    pub label: String,
}

/// The last `rollout_step` with a `weight` of each stage, from the run's journal.
fn traffic_shares(events: &[crate::engine::event::Event]) -> Vec<TrafficShare> {
    let mut shares: Vec<TrafficShare> = Vec::new();
    for event in events {
        if let crate::engine::event::EventData::RolloutStep { node, weight: Some(weight), label, .. } = &event.data {
            shares.retain(|share| share.node != *node);
            shares.push(TrafficShare { node: node.clone(), weight: *weight, label: label.clone() });
        }
    }
    shares
}

#[derive(Debug, Serialize)]
pub struct LockView {
    #[serde(flatten)]
    pub lease: Lease,
    /// `None` while the holder lives; otherwise why it will be taken over.
    pub stale: Option<String>,
}

pub fn lock_views(leases: Vec<Lease>, me: &Holder) -> Vec<LockView> {
    let ttl = crate::state::lease::ttl();
    leases
        .into_iter()
        .map(|lease| {
            let stale = match crate::state::lease::liveness(
                &lease.machine,
                lease.pid,
                &lease.pid_start,
                lease.heartbeat_at,
                me,
                crate::state::now_ms(),
                ttl,
            ) {
                Liveness::Alive => None,
                Liveness::Dead(why) => Some(why),
            };
            LockView { lease, stale }
        })
        .collect()
}

/// The overview of `pipeline` (every pipeline when `None`).
pub fn overview(store: &mut dyn StateStore, pipeline: Option<&str>) -> SessionResult<Overview> {
    let me = Holder::current("");
    let environments = store.environment_versions(pipeline)?;
    let deployments = store.unfinished_deployments()?;
    let runs: Vec<ActiveRun> = deployments
        .iter()
        .filter(|deployment| pipeline.map_or(true, |name| deployment.pipeline == name))
        .filter_map(|deployment| {
            let status = effective_status(deployment, &me);
            matches!(status, DeploymentStatus::Running | DeploymentStatus::Paused | DeploymentStatus::Crashed).then(
                || ActiveRun {
                    run_id: deployment.run_id.clone(),
                    pipeline: deployment.pipeline.clone(),
                    version: deployment.version.clone(),
                    status,
                    started_by: deployment.started_by.clone(),
                    started_at: deployment.started_at,
                    heartbeat_at: deployment.heartbeat_at,
                    traffic: Vec::new(),
                    survivors: Vec::new(),
                },
            )
        })
        .collect();
    let mut runs = runs;
    for run in &mut runs {
        let Ok(journal) = store.journal(&run.run_id) else { continue };
        let (events, _) = crate::state::resume::events(&journal);
        run.traffic = traffic_shares(&events);
        if run.status == DeploymentStatus::Crashed {
            run.survivors = crate::engine::survivors::survivors(&events);
        }
    }
    let leases: Vec<Lease> =
        store.leases()?.into_iter().filter(|lease| pipeline.map_or(true, |name| lease.pipeline == name)).collect();
    let mut pipelines: Vec<String> = environments.iter().map(|entry| entry.pipeline.clone()).collect();
    pipelines.extend(pipeline.map(str::to_string));
    pipelines.sort();
    pipelines.dedup();
    let mut bad_versions = Vec::new();
    for name in &pipelines {
        bad_versions.extend(store.bad_versions(name)?);
    }
    Ok(Overview {
        state: store.location(),
        backend: store.backend().to_string(),
        environments,
        runs,
        locks: lock_views(leases, &me),
        bad_versions,
        watchers: store
            .watchers()?
            .into_iter()
            .filter(|watcher| pipeline.map_or(true, |name| watcher.pipeline == name))
            .collect(),
    })
}
