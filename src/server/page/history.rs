//! `/history?env=E`: one row per deployment, newest first — version,
//! the commit and its author when `deploy watch` deployed it, who started
//! it and who approved, how long it took, how it ended — filtered by
//! environment, outcome and commit with a form that needs no script.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::html::{duration, escape, page, status_badge, status_word, time, url_part};
use crate::server::api::{blocking, commit_filter, open, status_filter, summaries, RunSummary};
use crate::server::{ApiResult, AppState};
use crate::state::{DeploymentQuery, DeploymentStatus};

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    env: Option<String>,
    limit: Option<usize>,
    /// Only runs that ended so (`rolled_back`, …).
    status: Option<String>,
    /// 1-based page of `limit` rows.
    page: Option<usize>,
    /// Only the runs of a commit `deploy watch` deployed (4+ hex digits of its hash).
    commit: Option<String>,
}

struct HistoryPage {
    environment: Option<String>,
    environments: Vec<String>,
    rows: Vec<(RunSummary, Vec<String>)>,
    limit: usize,
    status: Option<DeploymentStatus>,
    page: usize,
    commit: Option<String>,
}

pub async fn show(State(state): State<AppState>, Query(query): Query<HistoryQuery>) -> ApiResult<Html<String>> {
    let environment = query.env.filter(|env| !env.is_empty());
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let status = status_filter(query.status.as_deref())?;
    let commit = commit_filter(query.commit.as_deref())?;
    let number = query.page.unwrap_or(1).max(1);
    let view = blocking(move || {
        let mut store = open(&state)?;
        let mut environments: Vec<String> =
            store.environment_versions(None)?.into_iter().map(|entry| entry.environment).collect();
        environments.extend(environment.clone());
        environments.retain(|env| !env.is_empty());
        environments.sort();
        environments.dedup();
        let query = DeploymentQuery {
            pipeline: None,
            environment: environment.clone(),
            kind: None,
            limit: Some(limit),
            status,
            offset: (number - 1).saturating_mul(limit),
            version: None,
            commit: commit.clone(),
        };
        let deployments = store.deployments(&query)?;
        let mut rows = Vec::new();
        for summary in summaries(store.as_mut(), &deployments)? {
            let approvers =
                store.approvals(&summary.run_id)?.into_iter().map(|a| format!("{} ({})", a.approver, a.gate)).collect();
            rows.push((summary, approvers));
        }
        Ok(HistoryPage { environment, environments, rows, limit, status, page: number, commit })
    })
    .await?;
    Ok(Html(page("History", &render(&view))))
}

fn filter_form(body: &mut String, view: &HistoryPage) {
    body.push_str(
        "<form class=\"filter\" method=\"get\" action=\"/history\"><label for=\"env\">Environment</label> \
         <select id=\"env\" name=\"env\"><option value=\"\">all environments</option>",
    );
    for env in &view.environments {
        let selected = if view.environment.as_deref() == Some(env.as_str()) { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{0}\"{selected}>{0}</option>", escape(env));
    }
    body.push_str(
        "</select> <label for=\"status\">Outcome</label> <select id=\"status\" name=\"status\">\
         <option value=\"\">any outcome</option>",
    );
    for status in DeploymentStatus::ALL {
        let selected = if view.status == Some(status) { " selected" } else { "" };
        let _ = write!(
            body,
            "<option value=\"{}\"{selected}>{}</option>",
            status.as_str(),
            escape(status_word(status.as_str()))
        );
    }
    let _ = write!(
        body,
        "</select> <label for=\"commit\">Commit</label> <input id=\"commit\" name=\"commit\" size=\"12\" \
         pattern=\"[0-9a-fA-F]{{4,40}}\" placeholder=\"sha\" value=\"{}\"> <button type=\"submit\">Filter</button></form>",
        escape(view.commit.as_deref().unwrap_or(""))
    );
}

fn render(view: &HistoryPage) -> String {
    let title = match &view.environment {
        Some(env) => format!("History of {}", escape(env)),
        None => "History".to_string(),
    };
    let mut body = format!("<h1>{title}</h1>");
    filter_form(&mut body, view);
    // The rows are refreshed in place by the script.
    body.push_str("<div data-live=\"history\">");
    let _ = write!(body, "<p>The newest {} deployments.</p>", view.limit);
    body.push_str(
        "<div class=\"table-wrap\"><table class=\"history\"><thead><tr><th scope=\"col\">Run</th>\
         <th scope=\"col\">Kind</th><th scope=\"col\">Pipeline</th><th scope=\"col\">Environments</th>\
         <th scope=\"col\">Version</th><th scope=\"col\">Commit</th><th scope=\"col\">Started by</th>\
         <th scope=\"col\">Approved by</th><th scope=\"col\">Started</th><th scope=\"col\">Duration</th>\
         <th scope=\"col\">Outcome</th></tr></thead><tbody>",
    );
    for (run, approvers) in &view.rows {
        let commit = run.commit.as_ref().map_or("—".to_string(), |commit| {
            format!(
                "<code title=\"{}\">{}</code> {} <small>{}</small>",
                escape(&commit.hash),
                escape(commit.hash.get(..7).unwrap_or(&commit.hash)),
                escape(&commit.author),
                escape(&commit.subject)
            )
        });
        let version = if run.previous_version.is_empty() || run.previous_version == run.version {
            escape(&run.version)
        } else {
            format!("{} <small>(was {})</small>", escape(&run.version), escape(&run.previous_version))
        };
        let _ = write!(
            body,
            "<tr data-run-row=\"{id}\"><td><a href=\"/runs/{link}\">{id}</a></td><td>{kind}</td><td>{pipeline}</td>\
             <td>{envs}</td><td>{version}</td><td>{commit}</td><td>{by}</td><td>{approved}</td><td>{started}</td>\
             <td>{duration}</td><td>{outcome}</td></tr>",
            id = escape(&run.run_id),
            link = url_part(&run.run_id),
            kind = run.kind.as_str(),
            pipeline = escape(&run.pipeline),
            envs = escape(&run.environments.join(", ")),
            by = escape(&run.started_by),
            approved = if approvers.is_empty() { "—".into() } else { escape(&approvers.join(", ")) },
            started = time(run.started_at),
            duration = duration(run.duration_ms),
            outcome = status_badge(run.status.as_str()),
        );
    }
    body.push_str("</tbody></table></div>");
    pages(&mut body, view);
    body.push_str("</div>");
    body
}

/// Links to the newer and the older page, with the same filters.
fn pages(body: &mut String, view: &HistoryPage) {
    let link = |page: usize| {
        let mut query = vec![format!("page={page}"), format!("limit={}", view.limit)];
        if let Some(env) = &view.environment {
            query.push(format!("env={}", url_part(env)));
        }
        if let Some(status) = view.status {
            query.push(format!("status={}", status.as_str()));
        }
        if let Some(commit) = &view.commit {
            query.push(format!("commit={}", url_part(commit)));
        }
        format!("/history?{}", query.join("&amp;"))
    };
    body.push_str("<nav class=\"pages\" aria-label=\"Pages\">");
    if view.page > 1 {
        let _ = write!(body, "<a href=\"{}\" rel=\"prev\">Newer</a> ", link(view.page - 1));
    }
    let _ = write!(body, "<span>page {}</span>", view.page);
    if view.rows.len() == view.limit {
        let _ = write!(body, " <a href=\"{}\" rel=\"next\">Older</a>", link(view.page + 1));
    }
    body.push_str("</nav>");
}
