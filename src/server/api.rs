//! The read side of the API: `/api/status`, `/api/runs`, `/api/runs/{id}`.

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::session::liveness::effective_status;
use crate::state::{Deployment, DeploymentKind, DeploymentQuery, DeploymentStatus, Holder, StateStore};

/// Runs `work` (which uses the synchronous store) on the blocking pool.
pub async fn blocking<T, W>(work: W) -> ApiResult<T>
where
    T: Send + 'static,
    W: FnOnce() -> ApiResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|error| ApiError::internal(format!("a worker failed: {error}")))?
}

/// The store, which must exist (nothing has run yet otherwise).
pub fn open(state: &AppState) -> ApiResult<Box<dyn StateStore>> {
    Ok(crate::session::open(&state.config.state, true)?)
}

/// One row of `/api/runs`: a deployment without its plan text.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub kind: DeploymentKind,
    pub pipeline: String,
    pub environments: Vec<String>,
    pub version: String,
    pub previous_version: String,
    /// `running` whose process is gone reads `crashed`.
    pub status: DeploymentStatus,
    pub started_by: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub undoes: Option<String>,
    pub undone_by: Option<String>,
    /// The commit `deploy watch` deployed with this run.
    pub commit: Option<RunCommit>,
}

/// A watched commit, as a row of `/api/runs` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunCommit {
    pub hash: String,
    pub author: String,
    pub subject: String,
}

/// Each deployment's row, with the commit each deployed.
pub fn summaries(store: &mut dyn StateStore, deployments: &[Deployment]) -> ApiResult<Vec<RunSummary>> {
    let ids: Vec<String> = deployments.iter().map(|deployment| deployment.run_id.clone()).collect();
    let commits = store.commits_of_runs(&ids)?;
    let me = Holder::current("");
    Ok(deployments
        .iter()
        .map(|deployment| {
            let mut row = RunSummary::of(deployment, &me);
            row.commit = commits
                .iter()
                .find(|commit| commit.run_id.as_deref() == Some(deployment.run_id.as_str()))
                .map(|commit| RunCommit {
                    hash: commit.commit.clone(),
                    author: commit.author.clone(),
                    subject: commit.subject.clone(),
                });
            row
        })
        .collect())
}

impl RunSummary {
    pub fn of(deployment: &Deployment, me: &Holder) -> RunSummary {
        RunSummary {
            run_id: deployment.run_id.clone(),
            kind: deployment.kind,
            pipeline: deployment.pipeline.clone(),
            environments: deployment.environments.clone(),
            version: deployment.version.clone(),
            previous_version: deployment.previous_version.clone(),
            status: effective_status(deployment, me),
            started_by: deployment.started_by.clone(),
            started_at: deployment.started_at,
            ended_at: deployment.ended_at,
            duration_ms: deployment.ended_at.map(|end| end - deployment.started_at),
            undoes: deployment.undoes.clone(),
            undone_by: deployment.undone_by.clone(),
            commit: None,
        }
    }
}

pub async fn status(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let shared = state.clone();
    let overview = blocking(move || Ok(crate::session::overview::overview(open(&shared)?.as_mut(), None)?)).await?;
    let mut body = serde_json::to_value(&overview).map_err(|error| ApiError::internal(error.to_string()))?;
    if let Some(object) = body.as_object_mut() {
        object.insert("serving".into(), serde_json::json!(state.runs.ids()));
        let watch = state.config.watcher.as_ref().map(|watcher| watcher.status());
        object.insert("watch".into(), watch.unwrap_or(serde_json::Value::Null));
    }
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    pipeline: Option<String>,
    #[serde(rename = "env")]
    environment: Option<String>,
    limit: Option<usize>,
    /// A recorded status (`rolled_back`, …).
    status: Option<String>,
    /// Rows to skip: the next page starts at `offset + limit`.
    offset: Option<usize>,
    /// Only the runs of a commit `deploy watch` deployed (a hash or 4+ hex digits of it).
    commit: Option<String>,
}

/// `?commit=` as a hash prefix; 400 for text that is none.
pub fn commit_filter(commit: Option<&str>) -> ApiResult<Option<String>> {
    match commit.filter(|commit| !commit.is_empty()) {
        None => Ok(None),
        Some(text) => crate::state::commit_prefix(text).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!("`commit={text}` is not a commit hash (4 to 40 hex digits of it)"))
        }),
    }
}

/// `?status=` as a status; 400 for a word that is none.
pub fn status_filter(status: Option<&str>) -> ApiResult<Option<DeploymentStatus>> {
    match status.filter(|status| !status.is_empty()) {
        None => Ok(None),
        Some(word) => DeploymentStatus::parse(word)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("`status={word}` is not a run status"))),
    }
}

pub async fn runs(State(state): State<AppState>, Query(query): Query<RunsQuery>) -> ApiResult<Json<Vec<RunSummary>>> {
    let status = status_filter(query.status.as_deref())?;
    let commit = commit_filter(query.commit.as_deref())?;
    let rows = blocking(move || {
        let query = DeploymentQuery {
            pipeline: query.pipeline,
            environment: query.environment,
            kind: None,
            limit: Some(query.limit.unwrap_or(50).clamp(1, 1000)),
            status,
            offset: query.offset.unwrap_or(0),
            version: None,
            commit,
        };
        let mut store = open(&state)?;
        let deployments = store.deployments(&query)?;
        summaries(store.as_mut(), &deployments)
    })
    .await?;
    Ok(Json(rows))
}

/// `/api/runs/{id}`: the run, its nodes, its approvals and its journal.
#[derive(Debug, Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub params: Vec<(String, String)>,
    pub plan_file: String,
    pub plan_hash: String,
    pub nodes: Vec<crate::state::NodeRun>,
    pub approvals: Vec<crate::state::Approval>,
    /// The recorded events, oldest first, as `--json` prints them.
    pub journal: Vec<serde_json::Value>,
}

pub async fn run(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<RunDetail>> {
    let detail = blocking(move || {
        let mut store = open(&state)?;
        let deployment = find_run(store.as_mut(), &id)?;
        let journal = store
            .journal(&deployment.run_id)?
            .iter()
            .map(|entry| serde_json::from_str(&entry.event).unwrap_or(serde_json::Value::Null))
            .collect();
        let summary = summaries(store.as_mut(), std::slice::from_ref(&deployment))?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("the run has no summary"))?;
        Ok(RunDetail {
            summary,
            params: deployment.params.clone(),
            plan_file: deployment.plan_file.clone(),
            plan_hash: deployment.plan_hash.clone(),
            nodes: store.node_runs(&id)?,
            approvals: store.approvals(&id)?,
            journal,
        })
    })
    .await?;
    Ok(Json(detail))
}

/// The deployment `id` — a run id, a version (its newest run) or a commit
/// `deploy watch` deployed (7+ hex digits) — or 404.
pub fn find_run(store: &mut dyn StateStore, id: &str) -> ApiResult<Deployment> {
    crate::state::find_run_named(store, id)?.ok_or_else(|| ApiError::not_found(format!("no run `{id}` in the state")))
}

pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

pub async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
