//! The rows of the store, as data.

use serde::{Deserialize, Serialize};

use crate::record::event::RunStatus;

/// Where a deployment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Running,
    Paused,
    Succeeded,
    RolledBack,
    Aborted,
    RollbackFailed,
    Interrupted,
    /// Its process died without finishing (found by a dead pid or a stale heartbeat).
    Crashed,
    /// A paused or crashed run that a newer run of the same scope replaced;
    /// it can no longer be resumed.
    Abandoned,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 9] = [
        DeploymentStatus::Running,
        DeploymentStatus::Paused,
        DeploymentStatus::Succeeded,
        DeploymentStatus::RolledBack,
        DeploymentStatus::Aborted,
        DeploymentStatus::RollbackFailed,
        DeploymentStatus::Interrupted,
        DeploymentStatus::Crashed,
        DeploymentStatus::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Running => "running",
            DeploymentStatus::Paused => "paused",
            DeploymentStatus::Succeeded => "succeeded",
            DeploymentStatus::RolledBack => "rolled_back",
            DeploymentStatus::Aborted => "aborted",
            DeploymentStatus::RollbackFailed => "rollback_failed",
            DeploymentStatus::Interrupted => "interrupted",
            DeploymentStatus::Crashed => "crashed",
            DeploymentStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<DeploymentStatus> {
        DeploymentStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    pub fn from_run(status: RunStatus) -> DeploymentStatus {
        match status {
            RunStatus::Succeeded => DeploymentStatus::Succeeded,
            RunStatus::RolledBack => DeploymentStatus::RolledBack,
            RunStatus::Aborted => DeploymentStatus::Aborted,
            RunStatus::Paused => DeploymentStatus::Paused,
            RunStatus::RollbackFailed => DeploymentStatus::RollbackFailed,
            RunStatus::Interrupted => DeploymentStatus::Interrupted,
        }
    }

    /// Left work half done: `deploy resume` may continue it, `deploy rollback` undo it.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Paused
                | DeploymentStatus::Crashed
                | DeploymentStatus::Interrupted
                | DeploymentStatus::Aborted
                | DeploymentStatus::RollbackFailed
        )
    }
}

/// What a deployment row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    /// `deploy run` (and its resumes).
    Run,
    /// `deploy rollback`.
    Rollback,
}

impl DeploymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::Run => "run",
            DeploymentKind::Rollback => "rollback",
        }
    }

    pub fn parse(text: &str) -> Option<DeploymentKind> {
        match text {
            "run" => Some(DeploymentKind::Run),
            "rollback" => Some(DeploymentKind::Rollback),
            _ => None,
        }
    }
}

/// Who runs deploy, where: recorded on deployments and leases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub run_id: String,
    /// `user@hostname`.
    pub owner: String,
    /// What identifies this machine (`/etc/machine-id`, else the host name).
    pub machine: String,
    pub pid: i64,
    /// The process's start time (`/proc/PID/stat`), so a reused pid is not
    /// mistaken for the holder.
    pub pid_start: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deployment {
    pub run_id: String,
    pub kind: DeploymentKind,
    pub pipeline: String,
    /// The environments its stages target, in plan order.
    pub environments: Vec<String>,
    pub version: String,
    pub previous_version: String,
    /// Params as text; secrets never appear (they are not params, and any
    /// param text that contains a secret's value is masked).
    pub params: Vec<(String, String)>,
    pub plan_file: String,
    #[serde(skip)]
    pub plan_text: String,
    pub plan_hash: String,
    /// The canonical plan (JSON, [`crate::canonical::CanonicalPlan`]); empty in
    /// rows written before schema 2.
    #[serde(skip)]
    pub plan_canonical: String,
    /// The imported files, path and text (JSON); empty before schema 2.
    #[serde(skip)]
    pub plan_imports: String,
    pub started_by: String,
    pub machine: String,
    pub pid: i64,
    #[serde(skip)]
    pub pid_start: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub ended_at: Option<i64>,
    pub status: DeploymentStatus,
    pub exit_code: Option<i64>,
    /// 1, plus one per resume.
    pub parts: i64,
    /// For a rollback: the run it undid.
    pub undoes: Option<String>,
    /// For a run: the rollback that undid it.
    pub undone_by: Option<String>,
    /// The remote modules it ran with (schema 6; empty for older rows and
    /// plans without remote imports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<RunModule>,
}

/// One remote module file a run used, at the commit its `deploy.lock` named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunModule {
    /// `git+URL//PATH@REF`, as imports write it.
    pub name: String,
    pub url: String,
    /// The ref as written.
    pub reference: String,
    /// The file inside the repository.
    pub path: String,
    pub commit: String,
    /// The tag a range or the version selection picked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl Deployment {
    pub fn targets(&self, environment: &str) -> bool {
        self.environments.iter().any(|name| name == environment)
    }
}

#[derive(Clone, Debug, Default)]
pub struct DeploymentQuery {
    pub pipeline: Option<String>,
    pub environment: Option<String>,
    pub kind: Option<DeploymentKind>,
    pub limit: Option<usize>,
    /// Only deployments whose recorded status is this one.
    pub status: Option<DeploymentStatus>,
    /// Skip this many of the newest matching rows (paging).
    pub offset: usize,
    /// Only deployments of this version.
    pub version: Option<String>,
    /// Only runs of a commit `deploy watch` deployed whose hash starts with
    /// this (lowercase hex, see [`commit_prefix`]).
    pub commit: Option<String>,
}

/// `text` as a commit hash or its prefix: 4 to 40 hex digits, lowercased.
pub fn commit_prefix(text: &str) -> Option<String> {
    let text = text.trim();
    ((4..=40).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit())).then(|| text.to_ascii_lowercase())
}

/// How a run is named where a run id is accepted: its id, a version (the
/// newest run of it), or a commit `deploy watch` deployed (at least 7 hex
/// digits of its hash: the newest run of it). `None`: no such run.
pub fn find_run_named(store: &mut dyn super::StateStore, name: &str) -> super::StateResult<Option<Deployment>> {
    if let Some(deployment) = store.deployment(name)? {
        return Ok(Some(deployment));
    }
    let newest = |store: &mut dyn super::StateStore, query: DeploymentQuery| {
        store.deployments(&DeploymentQuery { kind: Some(DeploymentKind::Run), limit: Some(1), ..query })
    };
    if let Some(deployment) =
        newest(store, DeploymentQuery { version: Some(name.to_string()), ..DeploymentQuery::default() })?
            .into_iter()
            .next()
    {
        return Ok(Some(deployment));
    }
    match commit_prefix(name).filter(|prefix| prefix.len() >= 7) {
        Some(prefix) => Ok(newest(store, DeploymentQuery { commit: Some(prefix), ..DeploymentQuery::default() })?
            .into_iter()
            .next()),
        None => Ok(None),
    }
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct Finish {
    pub run_id: String,
    pub status: DeploymentStatus,
    pub exit_code: i64,
    pub ended_at: i64,
    /// Make its version current here: a plan without targets (environment
    /// `""`) whose stages ran. Environments with hosts follow `hosts`.
    pub promote: Option<Promotion>,
    /// What the run did to each host it touched (written in the same transaction).
    pub hosts: Option<super::hosts::HostRecord>,
}

#[derive(Clone, Debug)]
pub struct Promotion {
    pub pipeline: String,
    /// `""` stands for a plan without targets.
    pub environments: Vec<String>,
    pub version: String,
}

/// A finished `deploy rollback`.
#[derive(Clone, Debug)]
pub struct RollbackRecord {
    pub rollback_run: String,
    pub undone_run: String,
    /// The undone run is undone as a whole (it records who undid it); a
    /// per-host rollback that left some of its hosts on it does not say so.
    pub whole: bool,
    pub pipeline: String,
    pub environments: Vec<EnvironmentRollback>,
    pub at: i64,
}

#[derive(Clone, Debug)]
pub struct EnvironmentRollback {
    pub environment: String,
    /// The version that was undone: marked bad.
    pub bad_version: Option<String>,
    /// The environment's versions afterwards (`None`: left as they are).
    pub current: Option<(String, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvironmentVersion {
    pub pipeline: String,
    pub environment: String,
    pub current_version: String,
    pub current_run: String,
    pub previous_version: String,
    pub updated_at: i64,
    /// Its hosts do not all run `current_version` (the version of most of them).
    pub mixed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BadVersion {
    pub pipeline: String,
    pub environment: String,
    pub version: String,
    pub run_id: String,
    pub marked_at: i64,
    pub reason: String,
}

/// One event as the journal holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub seq: u64,
    pub kind: String,
    /// The event as JSON (docs/events.md), `seq` rewritten to the journal's.
    pub event: String,
}

/// A stage or gate (on one host) in a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeRun {
    pub run_id: String,
    pub node: String,
    /// `""` for the node itself.
    pub host: String,
    pub kind: String,
    pub batch: Option<i64>,
    pub attempt: Option<i64>,
    pub status: String,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
}

/// What an event changes in `node_runs`.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeRunChange {
    Started {
        node: String,
        host: String,
        kind: String,
        batch: Option<i64>,
        attempt: Option<i64>,
        at: i64,
    },
    Finished(NodeRun),
    /// Recorded only when the node has no row yet (a resumed run skips what finished).
    Skipped {
        node: String,
        kind: String,
        at: i64,
    },
}

/// A lease: who may run a pipeline (or one environment of it) now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub scope: String,
    pub pipeline: String,
    /// `""` for a lease on the whole pipeline.
    pub environment: String,
    pub run_id: String,
    pub owner: String,
    pub machine: String,
    pub pid: i64,
    #[serde(skip)]
    pub pid_start: String,
    pub message: String,
    pub acquired_at: i64,
    pub heartbeat_at: i64,
}

#[derive(Clone, Debug)]
pub struct LeaseRequest {
    pub pipeline: String,
    /// Empty: the whole pipeline. Otherwise one lease per environment.
    pub environments: Vec<String>,
    pub holder: Holder,
    pub message: String,
    pub now: i64,
    /// A holder on another machine is presumed dead after this long without a heartbeat.
    pub ttl_ms: i64,
}

#[derive(Clone, Debug)]
pub enum LeaseOutcome {
    /// Held now; with the leases taken over from dead holders.
    Acquired { taken_over: Vec<(Lease, String)> },
    /// Someone else holds this one.
    Held(Lease),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub run_id: String,
    pub gate: String,
    pub approver: String,
    pub approved_at: i64,
}

/// The lease scope key: `pipeline` or `pipeline/environment`.
pub fn scope_key(pipeline: &str, environment: &str) -> String {
    if environment.is_empty() {
        pipeline.to_string()
    } else {
        format!("{pipeline}/{environment}")
    }
}
