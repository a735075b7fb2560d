//! Approvals: `approve "question" by [...]` in a gate, and the approval a
//! protected environment demands of every stage that targets it.
//!
//! An approval is answered, in this order, by `--yes` or `--approve NAME`;
//! else, when stdin is a terminal, by a person at the prompt; else the run
//! pauses (exit 3) saying what it waits for. The approver's identity comes
//! from `--as`, `DEPLOY_USER` or the OS user and must be in `by` when the
//! gate names approvers; an approver who is not is refused and the run
//! pauses until someone who is approves. A "no" at the prompt is the gate's
//! `fail` outcome (its `on_fail` policy decides).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use super::approval_prompt::{ApprovalPrompt, PromptAnswer, TerminalPrompt};
use super::context::RunContext;
use crate::record::event::EventData;

/// How an approval ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalResult {
    Approved,
    /// Nobody (allowed) answered: the run pauses with this message.
    Paused(String),
    /// A person said no.
    Refused(String),
    Cancelled,
}

/// What is asked: the node answering to `--approve NAME`, the question and
/// who may answer (empty: anyone).
pub struct ApprovalRequest<'a> {
    pub name: &'a str,
    pub question: String,
    pub by: &'a [String],
}

/// Asks for an approval and waits for the answer.
pub async fn approve(
    ctx: &Arc<RunContext>,
    request: ApprovalRequest<'_>,
    cancel: &CancellationToken,
) -> ApprovalResult {
    let approvals = &ctx.run.options.approvals;
    let approver = approvals.approver_for(request.name, request.by).to_string();
    let node = request.name.to_string();
    let allowed = request.by.is_empty() || request.by.iter().any(|name| name == &approver);
    let not_allowed = || {
        format!(
            "{node} may only be approved by {}; `{approver}` is not one of them (approve as one of them with --as NAME)",
            request.by.join(", ")
        )
    };
    if approvals.approves(&node) {
        if !allowed {
            let reason = not_allowed();
            ctx.log.bus.emit(EventData::ApprovalRefused { node: node.clone(), approver, reason: reason.clone() });
            return ApprovalResult::Paused(reason);
        }
        ctx.log.bus.emit(EventData::Approved { node, approver, question: request.question, how: Some("flag".into()) });
        return ApprovalResult::Approved;
    }
    let waiting = format!(
        "{node} waits for approval: \"{}\"{} (approve it with `deploy approve {node}`, then `deploy resume`)",
        request.question,
        if request.by.is_empty() { String::new() } else { format!(" by {}", request.by.join(", ")) }
    );
    let Some(prompt) = ctx.services.prompt.clone().filter(|_| approvals.interactive) else {
        return ApprovalResult::Paused(waiting);
    };
    if !allowed {
        let reason = not_allowed();
        ctx.log.bus.emit(EventData::ApprovalRefused { node: node.clone(), approver, reason: reason.clone() });
        return ApprovalResult::Paused(reason);
    }
    // One question on the terminal at a time.
    let _turn = tokio::select! {
        turn = ctx.services.prompt_lock.lock() => turn,
        () = cancel.cancelled() => return ApprovalResult::Cancelled,
    };
    ctx.log.bus.emit(EventData::ApprovalRequested {
        node: node.clone(),
        question: request.question.clone(),
        by: request.by.to_vec(),
        approver: approver.clone(),
    });
    let question = request.question.clone();
    let asker = approver.clone();
    let name = node.clone();
    let answer = tokio::task::spawn_blocking(move || prompt.ask(&name, &question, &asker));
    let answer = tokio::select! {
        answer = answer => answer.unwrap_or(PromptAnswer::Unavailable),
        () = cancel.cancelled() => return ApprovalResult::Cancelled,
    };
    match answer {
        PromptAnswer::Yes => {
            ctx.log.bus.emit(EventData::Approved {
                node,
                approver,
                question: request.question,
                how: Some("terminal".into()),
            });
            ApprovalResult::Approved
        }
        PromptAnswer::No => {
            let reason = format!("{approver} answered no to \"{}\"", request.question);
            ctx.log.bus.emit(EventData::ApprovalRefused { node, approver, reason: reason.clone() });
            ApprovalResult::Refused(reason)
        }
        PromptAnswer::Unavailable => ApprovalResult::Paused(waiting),
    }
}
