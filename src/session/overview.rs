//! What the state says now: the current version per environment, the runs
//! that are running, paused or crashed, the locks (and whether their holder
//! is gone), the versions known to be bad. `deploy status` and the HTTP
//! API's `/api/status` show this one value.

use serde::Serialize;

use super::error::SessionResult;
use super::liveness::effective_status;
use crate::state::lease::Liveness;
use crate::state::{
    BadVersion, Deployment, DeploymentStatus, EnvironmentVersion, Holder, HostState, HostVersion, Lease, StateStore,
};

#[derive(Debug, Serialize)]
pub struct Overview {
    pub state: String,
    pub backend: String,
    pub environments: Vec<EnvironmentView>,
    /// Hosts that may be broken: `web-3 failed (tolerated): 2.0.0 may be broken there`.
    pub warnings: Vec<String>,
    pub runs: Vec<ActiveRun>,
    pub locks: Vec<LockView>,
    pub bad_versions: Vec<BadVersion>,
    /// What each `deploy watch` does and waits for.
    pub watchers: Vec<crate::state::WatcherRecord>,
}

/// An environment: the version its hosts share (or most of them run), and each host.
#[derive(Debug, Serialize)]
pub struct EnvironmentView {
    pub pipeline: String,
    /// `""` for a plan without targets.
    pub environment: String,
    /// The version all its hosts run; when they differ, the version of most.
    pub current_version: String,
    pub current_run: String,
    pub previous_version: String,
    pub updated_at: i64,
    /// Its hosts do not all run the same version.
    pub mixed: bool,
    /// Every host a run has touched.
    pub hosts: Vec<HostView>,
}

/// One host and what it runs.
#[derive(Debug, Serialize)]
pub struct HostView {
    pub host: String,
    pub version: String,
    pub previous_version: String,
    pub state: HostState,
    /// The run (or rollback) that last changed it.
    pub run: String,
    /// Its last `deploy verify`, when one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifiedView>,
}

/// What the last `deploy verify` found on a host.
#[derive(Debug, Serialize)]
pub struct VerifiedView {
    /// `in_sync`, `drift` or `unreachable`.
    pub status: String,
    /// What the probe printed (`None`: it did not answer).
    pub found: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: i64,
}

impl VerifiedView {
    fn of(check: &crate::state::HostCheckRecord) -> VerifiedView {
        VerifiedView {
            status: check.status.clone(),
            found: check.found.clone(),
            error: check.error.clone(),
            at: check.checked_at,
        }
    }
}

impl EnvironmentView {
    fn of(
        entry: EnvironmentVersion,
        hosts: &[HostVersion],
        checks: &[crate::state::HostCheckRecord],
    ) -> EnvironmentView {
        let check_of = |host: &HostVersion| {
            checks.iter().find(|check| {
                check.pipeline == host.pipeline && check.environment == host.environment && check.host == host.host
            })
        };
        EnvironmentView {
            hosts: hosts
                .iter()
                .filter(|host| host.pipeline == entry.pipeline && host.environment == entry.environment)
                .map(|host| HostView {
                    host: host.host.clone(),
                    version: host.version.clone(),
                    previous_version: host.previous_version.clone(),
                    state: host.state,
                    run: host.run_id.clone(),
                    verified: check_of(host).map(VerifiedView::of),
                })
                .collect(),
            pipeline: entry.pipeline,
            environment: entry.environment,
            current_version: entry.current_version,
            current_run: entry.current_run,
            previous_version: entry.previous_version,
            updated_at: entry.updated_at,
            mixed: entry.mixed,
        }
    }

    /// What a crashed run whose crash is not written yet did to `host`.
    fn overlay(&mut self, host: &str, state: HostState, run: &ActiveRun) {
        match self.hosts.iter_mut().find(|view| view.host == host) {
            Some(view) if view.run == run.run_id => view.state = state,
            Some(view) => {
                if view.version != run.version {
                    view.previous_version = std::mem::take(&mut view.version);
                }
                view.version = run.version.clone();
                view.state = state;
                view.run = run.run_id.clone();
            }
            None => self.hosts.push(HostView {
                host: host.to_string(),
                version: run.version.clone(),
                previous_version: String::new(),
                state,
                run: run.run_id.clone(),
                verified: None,
            }),
        }
        let sum = crate::state::hosts::sum_hosts(
            &self.hosts.iter().map(|view| (view.version.clone(), view.run.clone(), 0)).collect::<Vec<_>>(),
        );
        if let Some(sum) = sum {
            self.mixed = self.mixed || sum.mixed;
        }
    }
}

/// A run is running, paused or crashed — or it is the newest deployment
/// of its pipeline and its rollback failed (exit 4): its hosts may be half
/// undone, and `deploy rollback` finishes the rest.
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
fn traffic_shares(events: &[crate::record::event::Event]) -> Vec<TrafficShare> {
    let mut shares: Vec<TrafficShare> = Vec::new();
    for event in events {
        if let crate::record::event::EventData::RolloutStep { node, weight: Some(weight), label, .. } = &event.data {
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
    let hosts = store.host_versions(pipeline)?;
    let checks = store.host_checks(pipeline)?;
    let mut environments: Vec<EnvironmentView> = store
        .environment_versions(pipeline)?
        .into_iter()
        .map(|entry| EnvironmentView::of(entry, &hosts, &checks))
        .collect();
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
        let (events, _) = crate::state::journal::read_events(&journal);
        run.traffic = traffic_shares(&events);
        if run.status == DeploymentStatus::Crashed {
            run.survivors = crate::engine::survivors::survivors(&events);
        }
    }
    for deployment in &deployments {
        if let Some(run) = runs.iter().find(|run| run.run_id == deployment.run_id) {
            if run.status == DeploymentStatus::Crashed && deployment.status == DeploymentStatus::Running {
                overlay_crashed(store, deployment, run, &mut environments);
            }
        }
    }
    runs.extend(failed_rollbacks(store, pipeline, &environments, &runs)?);
    let leases: Vec<Lease> =
        store.leases()?.into_iter().filter(|lease| pipeline.map_or(true, |name| lease.pipeline == name)).collect();
    let warnings = environments
        .iter()
        .flat_map(|env| env.hosts.iter())
        .filter(|host| host.state == HostState::Failed)
        .map(|host| crate::record::warning::tolerated_failure(&host.host, &host.version))
        .collect();
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
        warnings,
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

/// A run found crashed whose crash no command has written yet: the hosts
/// it was on in flight show as `unknown`, as the next run will record them.
fn overlay_crashed(
    store: &mut dyn StateStore,
    deployment: &Deployment,
    run: &ActiveRun,
    environments: &mut Vec<EnvironmentView>,
) {
    let Some(topology) = crate::state::host_outcome::Topology::of_canonical(&deployment.plan_canonical) else { return };
    if deployment.kind == crate::state::DeploymentKind::Rollback {
        // The hosts a dead rollback had started to undo: nothing proves what they run.
        let Ok(journal) = store.journal(&deployment.run_id) else { return };
        let (events, _) = crate::state::journal::read_events(&journal);
        for (environment, host) in crate::state::host_outcome::hosts_a_crashed_rollback_touched(&topology, &events) {
            let view = environments
                .iter_mut()
                .filter(|view| view.pipeline == deployment.pipeline && view.environment == environment)
                .flat_map(|view| view.hosts.iter_mut())
                .find(|view| view.host == host);
            if let Some(view) = view {
                view.state = HostState::Unknown;
                view.run = run.run_id.clone();
            }
        }
        return;
    }
    let Ok(outcomes) = super::host_record::outcomes_of(store, &deployment.run_id, &topology) else { return };
    for (environment, host, state) in outcomes.into_iter().filter(|(_, host, _)| !host.is_empty()) {
        let index = match environments
            .iter()
            .position(|view| view.pipeline == deployment.pipeline && view.environment == environment)
        {
            Some(index) => index,
            None => {
                environments.push(EnvironmentView {
                    pipeline: deployment.pipeline.clone(),
                    environment: environment.clone(),
                    current_version: run.version.clone(),
                    current_run: run.run_id.clone(),
                    previous_version: String::new(),
                    updated_at: run.heartbeat_at,
                    mixed: false,
                    hosts: Vec::new(),
                });
                environments.len() - 1
            }
        };
        if let Some(view) = environments.get_mut(index) {
            view.overlay(&host, state, run);
        }
    }
}

/// The newest deployment of each pipeline shown, when its rollback failed.
fn failed_rollbacks(
    store: &mut dyn StateStore,
    pipeline: Option<&str>,
    environments: &[EnvironmentView],
    shown: &[ActiveRun],
) -> SessionResult<Vec<ActiveRun>> {
    let mut pipelines: Vec<String> = environments.iter().map(|env| env.pipeline.clone()).collect();
    pipelines.extend(pipeline.map(str::to_string));
    pipelines.sort();
    pipelines.dedup();
    let mut out = Vec::new();
    for name in pipelines {
        let query = crate::state::DeploymentQuery { pipeline: Some(name), limit: Some(1), ..Default::default() };
        for deployment in store.deployments(&query)? {
            if deployment.status == DeploymentStatus::RollbackFailed
                && !shown.iter().any(|run| run.run_id == deployment.run_id)
            {
                out.push(ActiveRun {
                    run_id: deployment.run_id,
                    pipeline: deployment.pipeline,
                    version: deployment.version,
                    status: deployment.status,
                    started_by: deployment.started_by,
                    started_at: deployment.started_at,
                    heartbeat_at: deployment.heartbeat_at,
                    traffic: Vec::new(),
                    survivors: Vec::new(),
                });
            }
        }
    }
    Ok(out)
}
