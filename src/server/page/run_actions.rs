//! The actions of a run page: approve or reject each gate that waits (who
//! may is the gate's `by` list; the API refuses anyone else), resume a
//! paused run, roll back the run's environments.

use std::fmt::Write;

use super::html::{action_bar, escape, post_button, rollback_button, url_part};
use crate::server::api::RunSummary;

/// A gate of the run, as its actions show it.
pub struct GateView {
    pub name: String,
    /// Who may approve it (empty: anyone with a token).
    pub by: Vec<String>,
    /// It waits for an answer now.
    pub waiting: bool,
    /// What it asked, as the run resolved it.
    pub question: Option<String>,
    /// It is the `analysis` of a canary paused at one of its steps.
    pub canary: Option<CanaryPause>,
}

/// A canary stage paused at its analysis gate, waiting for a person:
/// promote (approve the gate: the next step goes on) or abort (reject it:
/// the hosts done so far are rolled back).
pub struct CanaryPause {
    pub stage: String,
    /// `1/2 (canary 25%)`.
    pub step: String,
    /// The hosts rolled out so far.
    pub hosts: Vec<String>,
    /// The gate's last analysis: `pass`, `fail: error rate 9%`, ….
    pub analysis: Option<String>,
}

pub fn render(body: &mut String, run: &RunSummary, gates: &[GateView]) {
    let mut buttons = String::new();
    let base = format!("/api/runs/{}", url_part(&run.run_id));
    let paused = matches!(run.status.as_str(), "paused" | "crashed");
    // `data-run-actions`: the page's script renders this list again from
    // the server when the run pauses (a canary's step and last analysis).
    buttons.push_str("<div class=\"action-list\" data-run-actions>");
    for GateView { name: gate, by, waiting, question, canary } in gates {
        let gate_body = serde_json::json!({ "gate": gate }).to_string();
        let who = if by.is_empty() { "anyone with a token".to_string() } else { by.join(", ") };
        let asks = question.as_ref().map_or(String::new(), |question| format!(" asks <q>{}</q> and", escape(question)));
        if let Some(canary) = canary {
            let _ = write!(
                buttons,
                "<div class=\"gate-actions canary-actions\" data-gate-actions=\"{name}\" data-canary=\"{stage}\"{hidden}>\
                 <p>Canary <strong>{stage}</strong> paused after step {step} on {hosts}. Gate <strong>{name}</strong>\
                 {asks} waits for approval by {who}.</p><p data-last-analysis>Last analysis: {analysis}</p>\
                 {promote} {abort}<p><small>Promote approves {name}: the canary goes on to its next step. \
                 Abort rejects it: the run rolls back, the hosts done so far included.</small></p></div>",
                name = escape(gate),
                stage = escape(&canary.stage),
                step = escape(&canary.step),
                hosts = escape(&canary.hosts.join(", ")),
                hidden = if *waiting && paused { "" } else { " hidden" },
                who = escape(&who),
                analysis = canary.analysis.as_deref().map_or("none yet".to_string(), escape),
                promote = post_button("Promote", &format!("{base}/approve"), &gate_body, &format!("Promoted past {gate}"), true),
                abort = post_button(
                    "Abort and roll back",
                    &format!("{base}/reject"),
                    &gate_body,
                    &format!("Aborted at {gate}: rolling back"),
                    true
                ),
            );
            continue;
        }
        let _ = write!(
            buttons,
            "<div class=\"gate-actions\" data-gate-actions=\"{name}\"{hidden}><p>Gate <strong>{name}</strong>{asks} \
             waits for approval by {who}.</p>{approve} {reject}</div>",
            name = escape(gate),
            hidden = if *waiting && paused { "" } else { " hidden" },
            who = escape(&who),
            approve = post_button("Approve", &format!("{base}/approve"), &gate_body, &format!("Approved {gate}"), true),
            reject = post_button("Reject", &format!("{base}/reject"), &gate_body, &format!("Rejected {gate}"), true),
        );
    }
    let _ = write!(
        buttons,
        "<div data-resume{}>{}</div>",
        if paused { "" } else { " hidden" },
        post_button("Resume", &format!("{base}/resume"), "{}", "Resumed", true)
    );
    for environment in &run.environments {
        let _ = write!(
            buttons,
            "<div>{} <small>{} (asks first, showing what it undoes)</small></div>",
            rollback_button(environment),
            escape(environment)
        );
    }
    buttons.push_str("</div>");
    body.push_str(&action_bar(&buttons));
}
