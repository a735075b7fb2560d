//! `/`: every pipeline and environment with its current and previous
//! version, known-bad versions, running, paused and crashed runs, locks.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;

use super::html::{escape, page, status_badge, time, url_part};
use crate::server::api::{blocking, open};
use crate::server::{ApiResult, AppState};
use crate::session::overview::Overview;

pub async fn show(State(state): State<AppState>) -> ApiResult<Html<String>> {
    let overview = blocking(move || Ok(crate::session::overview::overview(open(&state)?.as_mut(), None)?)).await?;
    Ok(Html(page("Overview", &render(&overview))))
}

fn render(overview: &Overview) -> String {
    let mut body = String::from(
        "<h1>Overview</h1><h2>Environments</h2><div class=\"table-wrap\"><table><thead><tr>\
        <th scope=\"col\">Pipeline</th><th scope=\"col\">Environment</th><th scope=\"col\">Current</th>\
        <th scope=\"col\">Previous</th><th scope=\"col\">Updated</th></tr></thead><tbody>",
    );
    for env in &overview.environments {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td><a href=\"/runs/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            escape(&env.pipeline),
            escape(&env.environment),
            url_part(&env.current_run),
            escape(&env.current_version),
            escape(&env.previous_version),
            time(env.updated_at),
        );
    }
    body.push_str("</tbody></table></div><h2>Runs going on</h2><ul class=\"runs\">");
    for run in &overview.runs {
        let _ = write!(
            body,
            "<li><a href=\"/runs/{}\">{}</a> {} {} {} by {}</li>",
            url_part(&run.run_id),
            escape(&run.run_id),
            escape(&run.pipeline),
            escape(&run.version),
            status_badge(run.status.as_str()),
            escape(&run.started_by),
        );
    }
    body.push_str("</ul><h2>Known-bad versions</h2><ul>");
    for bad in &overview.bad_versions {
        let _ = write!(
            body,
            "<li>{} {} {}: {}</li>",
            escape(&bad.pipeline),
            escape(&bad.environment),
            escape(&bad.version),
            escape(&bad.reason)
        );
    }
    body.push_str("</ul><h2>Locks</h2><ul>");
    for lock in &overview.locks {
        let stale = lock.stale.as_deref().map(|why| format!(" (stale: {})", escape(why))).unwrap_or_default();
        let _ = write!(
            body,
            "<li>{} held by {} for run {}: {}{}</li>",
            escape(&lock.lease.scope),
            escape(&lock.lease.owner),
            escape(&lock.lease.run_id),
            escape(&lock.lease.message),
            stale,
        );
    }
    body.push_str("</ul>");
    body
}
