//! `/runs/{run_id}`: a run's summary, its graph coloured by status, each
//! node's hosts, rollout, gate and retries, and its output.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::{Path, State};
use axum::response::Html;

use super::graph_svg;
use super::html::{duration, escape, page, status_badge, time};
use super::node_status::{fold, NodeView};
use super::plan_graph::{drawn, graph_of, Drawn};
use crate::server::api::{blocking, find_run, open, summaries, RunSummary};
use crate::server::{ApiResult, AppState};
use crate::state::{Approval, Holder};

struct RunPage {
    summary: RunSummary,
    approvals: Vec<Approval>,
    drawn: Drawn,
    nodes: BTreeMap<String, NodeView>,
    last_seq: i64,
    journal: Vec<serde_json::Value>,
}

pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Html<String>> {
    let view = blocking(move || {
        let mut store = open(&state)?;
        let deployment = find_run(store.as_mut(), &id)?;
        // Named by version or commit: the page is the run's.
        let id = deployment.run_id.clone();
        let entries = store.journal(&id)?;
        let last_seq = entries.last().map(|entry| entry.seq as i64).unwrap_or(-1);
        let journal: Vec<serde_json::Value> =
            entries.iter().filter_map(|entry| serde_json::from_str(&entry.event).ok()).collect();
        let graph = graph_of(&state.config.plan.get(), &deployment);
        let drawn = drawn(graph.as_ref(), &journal);
        let gates: Vec<String> =
            drawn.nodes.iter().filter(|node| node.kind == "gate").map(|n| n.name.clone()).collect();
        let nodes = fold(&journal, &|name| gates.iter().any(|gate| gate == name));
        let summary = summaries(store.as_mut(), std::slice::from_ref(&deployment))?
            .into_iter()
            .next()
            .unwrap_or_else(|| RunSummary::of(&deployment, &Holder::current("")));
        Ok(RunPage { summary, approvals: store.approvals(&id)?, drawn, nodes, last_seq, journal })
    })
    .await?;
    Ok(Html(render(&view)))
}

/// What the gate asked when the run paused at it (`Ship 1.0?`), from the
/// journal: the gate paused, or the stage that decided it (a canary's analysis).
fn question(journal: &[serde_json::Value], gate: &str) -> Option<String> {
    let asked = format!("{gate} waits for approval");
    let paused = journal.iter().rev().find(|event| {
        event["type"] == "node_finished"
            && event["status"] == "paused"
            && (event["node"] == gate || event["error"].as_str().is_some_and(|error| error.starts_with(&asked)))
    })?;
    let text = paused["error"].as_str()?;
    let start = text.find('"')? + 1;
    let end = start + text[start..].rfind('"')?;
    Some(text[start..end].to_string())
}

/// `gate` as the analysis of a canary stage that paused at it: the step
/// it stopped after, the hosts done so far and the last analysis.
fn canary_pause(journal: &[serde_json::Value], gate: &str) -> Option<super::run_actions::CanaryPause> {
    let evaluation = journal
        .iter()
        .rev()
        .find(|event| event["type"] == "gate_evaluation" && event["node"] == gate && event["role"] == "analysis")?;
    let stage = evaluation["stage"].as_str()?;
    let stage_paused = journal
        .iter()
        .rev()
        .find(|event| event["type"] == "node_finished" && event["node"] == stage && event.get("host").is_none())
        .is_some_and(|event| event["status"] == "paused");
    if !stage_paused {
        return None;
    }
    let steps: Vec<&serde_json::Value> = journal
        .iter()
        .filter(|event| event["type"] == "rollout_step" && event["node"] == stage && event["strategy"] == "canary")
        .collect();
    let last = steps.last()?;
    let mut hosts: Vec<String> = Vec::new();
    for step in &steps {
        for host in step["hosts"].as_array().into_iter().flatten().filter_map(|host| host.as_str()) {
            if !hosts.iter().any(|known| known == host) {
                hosts.push(host.to_string());
            }
        }
    }
    let outcome = evaluation["outcome"].as_str().unwrap_or("");
    let analysis = match evaluation["message"].as_str().filter(|message| !message.is_empty()) {
        Some(message) => format!("{outcome}: {message}"),
        None => outcome.to_string(),
    };
    Some(super::run_actions::CanaryPause {
        stage: stage.to_string(),
        step: format!(
            "{}/{} ({})",
            last["index"].as_u64().unwrap_or(0),
            last["count"].as_u64().unwrap_or(0),
            last["label"].as_str().unwrap_or("canary")
        ),
        hosts,
        analysis: (!analysis.is_empty()).then(|| format!("{analysis} (evaluation {})", evaluation["attempt"])),
    })
}

fn status_of(nodes: &BTreeMap<String, NodeView>, name: &str) -> String {
    nodes.get(name).map(|node| node.status.clone()).filter(|status| !status.is_empty()).unwrap_or("pending".into())
}

fn render(view: &RunPage) -> String {
    let run = &view.summary;
    let mut body = format!(
        "<h1>Run <code>{id}</code></h1><div id=\"run\" data-run=\"{id}\" data-last-seq=\"{seq}\" data-status=\"{status}\">\
         <p class=\"run-status\">Status: <span data-run-status>{badge}</span></p>",
        id = escape(&run.run_id),
        seq = view.last_seq,
        status = run.status.as_str(),
        badge = status_badge(run.status.as_str()),
    );
    summary(&mut body, view);
    let gates: Vec<super::run_actions::GateView> = view
        .drawn
        .approvers
        .iter()
        .map(|(gate, by)| super::run_actions::GateView {
            name: gate.clone(),
            by: by.clone(),
            waiting: status_of(&view.nodes, gate) == "waiting",
            question: question(&view.journal, gate),
            canary: canary_pause(&view.journal, gate),
        })
        .collect();
    super::run_actions::render(&mut body, run, &gates);
    let svg = graph_svg::render(&view.drawn.nodes, &view.drawn.waves, &|name| status_of(&view.nodes, name));
    let _ = write!(body, "<h2>Graph</h2><div class=\"graph-wrap\" tabindex=\"0\">{svg}</div>");
    node_table(&mut body, view);
    output(&mut body, view);
    super::journal::render(&mut body, &view.journal);
    body.push_str("<p class=\"live\" role=\"status\" aria-live=\"polite\" data-live></p></div>");
    page(&format!("Run {}", run.run_id), &body)
}

fn summary(body: &mut String, view: &RunPage) {
    let run = &view.summary;
    let approvals: Vec<String> =
        view.approvals.iter().map(|a| format!("{} by {}", escape(&a.gate), escape(&a.approver))).collect();
    let _ = write!(
        body,
        "<dl class=\"facts\"><dt>Pipeline</dt><dd>{}</dd><dt>Kind</dt><dd>{}</dd><dt>Version</dt><dd>{} (was {})</dd>\
         <dt>Environments</dt><dd>{}</dd><dt>Started by</dt><dd>{}</dd><dt>Started</dt><dd>{}</dd>\
         <dt>Duration</dt><dd>{}</dd><dt>Approvals</dt><dd data-approvals>{}</dd>{}</dl>",
        escape(&run.pipeline),
        run.kind.as_str(),
        escape(&run.version),
        escape(if run.previous_version.is_empty() { "nothing" } else { &run.previous_version }),
        escape(&run.environments.join(", ")),
        escape(&run.started_by),
        time(run.started_at),
        duration(run.duration_ms),
        if approvals.is_empty() { "none".into() } else { approvals.join(", ") },
        run.commit.as_ref().map_or(String::new(), |commit| format!(
            "<dt>Commit</dt><dd><code>{}</code> by {}: {}</dd>",
            escape(&commit.hash),
            escape(&commit.author),
            escape(&commit.subject)
        )),
    );
}

fn hosts(node: Option<&NodeView>) -> String {
    let Some(node) = node else { return "—".into() };
    if node.hosts.is_empty() {
        return "—".into();
    }
    let items: Vec<String> = node
        .hosts
        .iter()
        .map(|(host, view)| {
            let mut item = format!(
                "{} {}",
                escape(host),
                status_badge(if view.status.is_empty() { "pending" } else { &view.status })
            );
            if let Some(batch) = &view.batch {
                let _ = write!(item, " <small>{}</small>", escape(batch));
            }
            if let Some(attempt) = view.attempt.filter(|attempt| *attempt > 1) {
                let _ = write!(item, " <small>attempt {attempt}</small>");
            }
            format!("<li data-host=\"{}\">{item}</li>", escape(host))
        })
        .collect();
    format!("<ul class=\"hosts\">{}</ul>", items.concat())
}

fn node_table(body: &mut String, view: &RunPage) {
    body.push_str(
        "<h2>Nodes</h2><div class=\"table-wrap\"><table class=\"nodes\"><thead><tr><th scope=\"col\">Node</th>\
         <th scope=\"col\">Status</th><th scope=\"col\">Hosts and batches</th><th scope=\"col\">Rollout</th>\
         <th scope=\"col\">Gate</th><th scope=\"col\">Retries</th></tr></thead><tbody>",
    );
    for node in &view.drawn.nodes {
        let state = view.nodes.get(&node.name);
        let gate =
            state.map(|s| [s.outcome.clone(), s.until.clone()].into_iter().flatten().collect::<Vec<_>>().join("; "));
        let _ = write!(
            body,
            "<tr id=\"node-{name}\" data-node=\"{name}\" class=\"s-{class}\"><th scope=\"row\">{name} <small>{kind}</small></th>\
             <td>{badge}</td><td data-field=\"hosts\">{hosts}</td><td data-field=\"rollout\">{rollout}</td>\
             <td data-field=\"gate\">{gate}</td><td data-field=\"retries\">{retries}</td></tr>",
            name = escape(&node.name),
            class = status_of(&view.nodes, &node.name).replace(' ', "-"),
            kind = escape(&node.kind),
            badge = status_badge(&status_of(&view.nodes, &node.name)),
            hosts = hosts(state),
            rollout = escape(state.and_then(|s| s.rollout.as_deref()).unwrap_or("—")),
            gate = escape(gate.as_deref().filter(|g| !g.is_empty()).unwrap_or("—")),
            retries = state.map(|s| s.retries).unwrap_or(0),
        );
    }
    body.push_str("</tbody></table></div>");
}

fn output(body: &mut String, view: &RunPage) {
    body.push_str("<h2>Output</h2><div class=\"outputs\">");
    for node in &view.drawn.nodes {
        let lines = view.nodes.get(&node.name).map(|n| n.output.as_slice()).unwrap_or_default();
        let mut text = String::new();
        for (host, stream, line) in lines {
            let prefix = if host.is_empty() { String::new() } else { format!("[{host}] ") };
            let marker = if stream == "stderr" { "! " } else { "" };
            let _ = writeln!(text, "{}{}{}", escape(&prefix), marker, escape(line));
        }
        let _ = write!(
            body,
            "<details data-output-node=\"{name}\"><summary>{name} <small data-count>({count} lines)</small></summary>\
             <pre data-output=\"{name}\">{text}</pre></details>",
            name = escape(&node.name),
            count = lines.len(),
        );
    }
    body.push_str("</div>");
}
