//! `/`: every pipeline and environment with its current and previous
//! version, known-bad versions, running, paused and crashed runs, locks
//! (with holder and message), and the actions on them: roll an environment
//! back, release a stale lock.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;

use super::html::{action_bar, escape, page, post_button, rollback_button, status_badge, time, url_part};
use crate::server::api::{blocking, open};
use crate::server::{ApiResult, AppState};
use crate::session::overview::{LockView, Overview};

pub async fn show(State(state): State<AppState>) -> ApiResult<Html<String>> {
    let overview = blocking(move || Ok(crate::session::overview::overview(open(&state)?.as_mut(), None)?)).await?;
    Ok(Html(page("Overview", &render(&overview))))
}

fn render(overview: &Overview) -> String {
    // What is below the action bar is refreshed in place by the script.
    let mut body = format!("<h1>Overview</h1>{}<div data-live=\"overview\">", action_bar(""));
    body.push_str(
        "<h2>Environments</h2><div class=\"table-wrap\"><table><thead><tr>\
        <th scope=\"col\">Pipeline</th><th scope=\"col\">Environment</th><th scope=\"col\">Current</th>\
        <th scope=\"col\">Previous</th><th scope=\"col\">Hosts</th><th scope=\"col\">Known bad</th>\
        <th scope=\"col\">Updated</th><th scope=\"col\">Action</th></tr></thead><tbody>",
    );
    for env in &overview.environments {
        let _ = write!(
            body,
            "<tr data-env=\"{}\"><td>{}</td><td>{}</td><td><a href=\"/runs/{}\">{}</a></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&env.environment),
            escape(&env.pipeline),
            escape(&env.environment),
            url_part(&env.current_run),
            escape(&env.current_version),
            escape(if env.previous_version.is_empty() { "—" } else { &env.previous_version }),
            hosts_cell(env),
            escape(&known_bad(overview, &env.pipeline, &env.environment)),
            time(env.updated_at),
            if env.environment.is_empty() { String::new() } else { rollback_button(&env.environment) },
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
    if overview.runs.is_empty() {
        body.push_str("<li>none</li>");
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
    if overview.bad_versions.is_empty() {
        body.push_str("<li>none</li>");
    }
    body.push_str("</ul><h2>Locks</h2><ul class=\"locks\">");
    for lock in &overview.locks {
        lock_item(&mut body, lock);
    }
    if overview.locks.is_empty() {
        body.push_str("<li>none</li>");
    }
    body.push_str("</ul>");
    watchers(&mut body, overview);
    body.push_str("</div>");
    body
}

/// Every host of the environment with the version it runs and its state;
/// `mixed` when they do not all run the same version.
fn hosts_cell(env: &crate::session::overview::EnvironmentView) -> String {
    if env.hosts.is_empty() {
        return "—".into();
    }
    let mut cell = String::new();
    if env.mixed {
        cell.push_str("<strong data-mixed>mixed</strong> ");
    }
    cell.push_str("<ul class=\"hosts\">");
    for host in &env.hosts {
        let _ = write!(
            cell,
            "<li data-host=\"{name}\"><code>{name}</code> {version} <small>{state}</small> \
             <a href=\"/runs/{run}\" title=\"the run that last changed it\">run</a>{verified}</li>",
            name = escape(&host.host),
            version = escape(if host.version.is_empty() { "—" } else { &host.version }),
            state = escape(host.state.as_str()),
            run = url_part(&host.run),
            verified = verified_note(host.verified.as_ref()),
        );
    }
    cell.push_str("</ul>");
    cell
}

/// What the last `deploy verify` found on the host, when one ran.
fn verified_note(verified: Option<&crate::session::overview::VerifiedView>) -> String {
    let Some(verified) = verified else { return String::new() };
    let found = verified.found.as_deref().filter(|found| !found.is_empty()).unwrap_or("nothing");
    let what = match verified.status.as_str() {
        "in_sync" => "in sync".to_string(),
        "drift" => format!("drift: host has {found}"),
        _ => format!("unreachable: {}", verified.error.as_deref().unwrap_or("no answer")),
    };
    format!(
        " <small data-verified=\"{status}\" title=\"deploy verify at {at}\">verified: {what}</small>",
        status = escape(&verified.status),
        at = escape(&crate::state::format_time(verified.at)),
        what = escape(&what),
    )
}

/// A lock: who holds it for which run, and a release button when stale.
fn lock_item(body: &mut String, lock: &LockView) {
    let lease = &lock.lease;
    let release = serde_json::json!({
        "pipeline": lease.pipeline,
        "environment": (!lease.environment.is_empty()).then_some(&lease.environment),
    })
    .to_string();
    let stale = lock.stale.as_deref().map_or(String::new(), |why| {
        format!(
            " <strong>stale</strong>: {} {}",
            escape(why),
            post_button("Release lock", "/api/locks/release", &release, &format!("Released {}", lease.scope), false)
        )
    });
    let _ = write!(
        body,
        "<li>{} held by {} (pid {} on {}) for run <a href=\"/runs/{}\">{}</a> since {}: {}{}</li>",
        escape(&lease.scope),
        escape(&lease.owner),
        lease.pid,
        escape(&lease.machine),
        url_part(&lease.run_id),
        escape(&lease.run_id),
        time(lease.acquired_at),
        escape(if lease.message.is_empty() { "no message" } else { &lease.message }),
        stale,
    );
}

/// The versions known bad in one environment.
fn known_bad(overview: &Overview, pipeline: &str, environment: &str) -> String {
    let versions: Vec<&str> = overview
        .bad_versions
        .iter()
        .filter(|bad| bad.pipeline == pipeline && bad.environment == environment)
        .map(|bad| bad.version.as_str())
        .collect();
    if versions.is_empty() {
        "—".into()
    } else {
        versions.join(", ")
    }
}

fn watchers(body: &mut String, overview: &Overview) {
    if overview.watchers.is_empty() {
        return;
    }
    body.push_str("<h2>Watchers</h2><ul>");
    for watcher in &overview.watchers {
        let _ = write!(
            body,
            "<li>{} watches {} ({}): {} {}</li>",
            escape(&watcher.pipeline),
            escape(&watcher.repo),
            escape(&watcher.branch),
            escape(&watcher.state),
            escape(&watcher.detail),
        );
    }
    body.push_str("</ul>");
}
