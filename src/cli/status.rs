//! `deploy status` — the current version per environment, runs that are
//! running, paused or crashed, the locks, and versions known to be bad.

use std::path::PathBuf;

use serde::Serialize;

use super::session;
use super::ExitCode;
use crate::state::lease::Liveness;
use crate::state::{
    format_time, BadVersion, DeploymentQuery, DeploymentStatus, EnvironmentVersion, Holder, StateLocation,
};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Locate the state beside this plan, and show only its pipeline.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// The state store: a SQLite file or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    state: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Status {
    state: String,
    backend: String,
    environments: Vec<EnvironmentVersion>,
    runs: Vec<ActiveRun>,
    locks: Vec<LockView>,
    bad_versions: Vec<BadVersion>,
}

#[derive(Debug, Serialize)]
struct ActiveRun {
    run_id: String,
    pipeline: String,
    version: String,
    status: DeploymentStatus,
    started_by: String,
    started_at: i64,
    heartbeat_at: i64,
    /// Canaries by share of requests in this run: the share each set last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    traffic: Vec<TrafficShare>,
}

/// The share of requests a traffic canary's router was last set to.
#[derive(Debug, Serialize)]
struct TrafficShare {
    node: String,
    /// Percent of requests to the new version.
    weight: f64,
    /// What the step was, e.g. "25% of requests".
    label: String,
}

/// The last `rollout_step` with a `weight` of each stage, from the run's journal.
fn traffic_shares(store: &mut dyn crate::state::StateStore, run_id: &str) -> Vec<TrafficShare> {
    let Ok(journal) = store.journal(run_id) else { return Vec::new() };
    let (events, _) = crate::state::resume::events(&journal);
    let mut shares: Vec<TrafficShare> = Vec::new();
    for event in events {
        if let crate::engine::event::EventData::RolloutStep { node, weight: Some(weight), label, .. } = event.data {
            shares.retain(|share| share.node != node);
            shares.push(TrafficShare { node, weight, label });
        }
    }
    shares
}

#[derive(Debug, Serialize)]
pub struct LockView {
    #[serde(flatten)]
    pub lease: crate::state::Lease,
    /// `None` while the holder lives; otherwise why it will be taken over.
    pub stale: Option<String>,
}

pub fn lock_views(leases: Vec<crate::state::Lease>, me: &Holder) -> Vec<LockView> {
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

pub fn render_lock(view: &LockView) -> String {
    let lease = &view.lease;
    let mut line = format!(
        "  {}  held by {} (pid {}, run {}) since {}, heartbeat {}",
        lease.scope,
        lease.owner,
        lease.pid,
        lease.run_id,
        format_time(lease.acquired_at),
        format_time(lease.heartbeat_at)
    );
    if !lease.message.is_empty() {
        line.push_str(&format!(": \"{}\"", lease.message));
    }
    if let Some(why) = &view.stale {
        line.push_str(&format!("\n    stale: {why}; the next run takes it over"));
    }
    line
}

pub fn run(args: StatusArgs) -> ExitCode {
    let location = StateLocation::discover(args.state.as_deref(), args.plan.as_deref());
    let Some(mut store) = (match session::open_store(&location, false) {
        Ok(store) => store,
        Err(code) => return code,
    }) else {
        if args.json {
            println!(r#"{{"state":null,"environments":[],"runs":[],"locks":[],"bad_versions":[]}}"#);
        } else {
            println!("no deploy state at {} yet: nothing has run", location.describe());
        }
        return ExitCode::Success;
    };
    let pipeline = match &args.plan {
        Some(plan) => match super::load::load_graph(plan, &[]) {
            Some(graph) => Some(graph.plan.pipeline.name.clone()),
            None => return ExitCode::Usage,
        },
        None => None,
    };
    let me = Holder::current("");
    let environments = match store.environment_versions(pipeline.as_deref()) {
        Ok(versions) => versions,
        Err(error) => return session::fail(error),
    };
    let deployments = match store.deployments(&DeploymentQuery { pipeline: pipeline.clone(), ..Default::default() }) {
        Ok(deployments) => deployments,
        Err(error) => return session::fail(error),
    };
    let runs: Vec<ActiveRun> = deployments
        .iter()
        .filter_map(|deployment| {
            let status = session::effective_status(deployment, &me);
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
                },
            )
        })
        .collect();
    let mut runs = runs;
    for run in &mut runs {
        run.traffic = traffic_shares(store.as_mut(), &run.run_id);
    }
    let leases = match store.leases() {
        Ok(leases) => {
            leases.into_iter().filter(|lease| pipeline.as_ref().map_or(true, |name| &lease.pipeline == name)).collect()
        }
        Err(error) => return session::fail(error),
    };
    let mut bad_versions = Vec::new();
    let mut pipelines: Vec<String> = environments.iter().map(|entry| entry.pipeline.clone()).collect();
    pipelines.extend(pipeline.clone());
    pipelines.sort();
    pipelines.dedup();
    for name in &pipelines {
        match store.bad_versions(name) {
            Ok(bad) => bad_versions.extend(bad),
            Err(error) => return session::fail(error),
        }
    }
    let status = Status {
        state: store.location(),
        backend: store.backend().to_string(),
        environments,
        runs,
        locks: lock_views(leases, &me),
        bad_versions,
    };
    if args.json {
        return super::output::print_json(&status);
    }
    print!("{}", render(&status));
    ExitCode::Success
}

fn render(status: &Status) -> String {
    let mut out = format!("state: {} ({})\n", status.state, status.backend);
    out.push_str("\nenvironments:\n");
    if status.environments.is_empty() {
        out.push_str("  nothing deployed yet\n");
    }
    for entry in &status.environments {
        let environment = if entry.environment.is_empty() { "(no target)" } else { &entry.environment };
        let previous = if entry.previous_version.is_empty() {
            String::new()
        } else {
            format!(", previous {}", entry.previous_version)
        };
        out.push_str(&format!(
            "  {} {environment}: {}{previous} (run {}, {})\n",
            entry.pipeline,
            entry.current_version,
            entry.current_run,
            format_time(entry.updated_at)
        ));
    }
    out.push_str("\nruns:\n");
    if status.runs.is_empty() {
        out.push_str("  none running, paused or crashed\n");
    }
    for run in &status.runs {
        let hint = match run.status {
            DeploymentStatus::Paused => "; continue with `deploy resume`",
            DeploymentStatus::Crashed => "; its process is gone: `deploy resume` or `deploy rollback`",
            _ => "",
        };
        out.push_str(&format!(
            "  {} {} {} version {} by {} since {} (heartbeat {}){hint}\n",
            run.run_id,
            run.status.as_str(),
            run.pipeline,
            run.version,
            run.started_by,
            format_time(run.started_at),
            format_time(run.heartbeat_at)
        ));
        for share in &run.traffic {
            out.push_str(&format!(
                "    canary {}: {} of requests to the new version ({})\n",
                share.node,
                crate::graph::batches::percent_text(share.weight),
                share.label
            ));
        }
    }
    out.push_str("\nlocks:\n");
    if status.locks.is_empty() {
        out.push_str("  none\n");
    }
    for lock in &status.locks {
        out.push_str(&render_lock(lock));
        out.push('\n');
    }
    if !status.bad_versions.is_empty() {
        out.push_str("\nknown bad versions:\n");
        for bad in &status.bad_versions {
            let environment = if bad.environment.is_empty() { "(no target)" } else { &bad.environment };
            out.push_str(&format!(
                "  {} {environment}: {} — {} ({})\n",
                bad.pipeline,
                bad.version,
                bad.reason,
                format_time(bad.marked_at)
            ));
        }
    }
    out
}
