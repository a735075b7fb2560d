//! A gate's decision: in order `wait`, `check`, `approve`, `window`, all
//! bounded by the gate's `timeout`. Each part passes or ends the gate with
//! an outcome — pass, fail, inconclusive, no-data — whose policy (`on_fail`,
//! `on_inconclusive`, `on_no_data`: rollback, pause, abort or continue)
//! decides what the run does. Gates hold no `--max-parallel` permit: they run
//! no command.
//!
//! A gate is decided where it stands in the graph, and again wherever a
//! stage names it: `analysis` after each canary step, `verify` before a
//! blue/green switch, `monitor` in the background (see [`super::monitor`]).
//! There it sees the stage's environment and the hosts rolled out so far.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use rhai::Dynamic;
use tokio_util::sync::CancellationToken;

use super::approval::{approve, ApprovalRequest, ApprovalResult};
use super::context::{millis, RunContext};
use super::evaluate;
use super::interpolate::Quoting;
pub use super::node_result::GateDecision;
use super::node_result::NodeResult;
use super::script_runner::CheckOutcome;
use super::steps::output_sink;
use crate::check::model::{Check, EnvironmentDef, FailurePolicy, GateDef, NodeDef, NodeId, OutcomePolicy};
use crate::check::window::Window;
use crate::duration::format_duration;
use crate::record::event::{EvaluationOutcome, EventData, GateOutcome};
use crate::script::LogSink;

/// Where a gate is decided.
#[derive(Clone, Debug, Default)]
pub struct GateSite {
    /// The stage it decides for, and as what (`analysis`, `verify`, `monitor`).
    pub stage: Option<(NodeId, &'static str)>,
    /// The hosts rolled out so far (`hosts` in the gate's scripts).
    pub hosts: Vec<String>,
}

impl GateDecision {
    /// The gate node's result.
    pub fn into_result(self) -> NodeResult {
        match self {
            GateDecision::Pass => NodeResult::succeeded(),
            GateDecision::Stop { message, policy: FailurePolicy::Pause } => NodeResult::paused(message),
            GateDecision::Stop { message, policy } => NodeResult::failed(message, policy),
            GateDecision::Cancelled => NodeResult::cancelled(),
        }
    }
}

/// A gate node where it stands in the graph.
pub async fn run_gate(ctx: Arc<RunContext>, id: NodeId, cancel: CancellationToken) -> NodeResult {
    decide(&ctx, id, &GateSite::default(), &cancel).await.into_result()
}

/// Decides gate `id` at `site`.
pub async fn decide(ctx: &Arc<RunContext>, id: NodeId, site: &GateSite, cancel: &CancellationToken) -> GateDecision {
    let node = ctx.plan().node(id);
    let Some(gate) = node.gate.as_deref() else {
        return GateDecision::Pass;
    };
    let Some(limit) = node.timeout else {
        return decide_parts(ctx, node, gate, site, cancel).await;
    };
    let parts_cancel = cancel.child_token();
    tokio::select! {
        decision = decide_parts(ctx, node, gate, site, &parts_cancel) => decision,
        () = tokio::time::sleep(limit) => {
            parts_cancel.cancel();
            let message = format!("the gate timed out after {}", format_duration(limit));
            conclude(ctx, node, gate, site, GateOutcome::Fail, Some(message))
        }
    }
}

async fn decide_parts(
    ctx: &Arc<RunContext>,
    node: &NodeDef,
    gate: &GateDef,
    site: &GateSite,
    cancel: &CancellationToken,
) -> GateDecision {
    let stage = stage_name(ctx, site);
    if let Some(wait) = gate.wait {
        ctx.log.bus.emit(EventData::GateWaiting {
            node: node.name.clone(),
            reason: format!("waiting {}", format_duration(wait)),
            until: Some(in_rfc3339(ctx, wait)),
            stage: stage.clone(),
        });
        if !sleep_or_cancel(wait, cancel).await {
            return GateDecision::Cancelled;
        }
    }
    if let Some(check) = &gate.check {
        let Some(last) = poll(ctx, node, gate, check, site, cancel).await else {
            return GateDecision::Cancelled;
        };
        let (outcome, message) = classify(last);
        let decision = conclude(ctx, node, gate, site, outcome, message);
        if decision != GateDecision::Pass {
            return decision;
        }
    }
    if let Some(approval) = &gate.approve {
        let question = ctx
            .scope_in(node, None, 1, site_environment(ctx, node, site))
            .render(&approval.question, Quoting::None)
            .unwrap_or_else(|_| format!("Approve {}?", node.name));
        let request = ApprovalRequest { name: &node.name, question, by: &approval.by };
        match approve(ctx, request, cancel).await {
            ApprovalResult::Approved => {}
            ApprovalResult::Paused(message) => return GateDecision::Stop { message, policy: FailurePolicy::Pause },
            ApprovalResult::Refused(message) => {
                let decision = conclude(ctx, node, gate, site, GateOutcome::Fail, Some(message));
                if decision != GateDecision::Pass {
                    return decision;
                }
            }
            ApprovalResult::Cancelled => return GateDecision::Cancelled,
        }
    }
    if let Some(window) = &gate.window {
        if !wait_for_window(ctx, node, window, stage, cancel).await {
            return GateDecision::Cancelled;
        }
    }
    GateDecision::Pass
}

/// The environment a gate sees at `site`: the stage's, or its own.
fn site_environment<'a>(ctx: &'a RunContext, node: &'a NodeDef, site: &GateSite) -> Option<&'a EnvironmentDef> {
    match site.stage {
        Some((stage, _)) => ctx.environment_of(ctx.plan().node(stage)),
        None => ctx.environment_of(node),
    }
}

fn stage_name(ctx: &RunContext, site: &GateSite) -> Option<String> {
    site.stage.map(|(stage, _)| ctx.plan().node(stage).name.clone())
}

/// An outcome and its message, from the last evaluation of a check.
pub fn classify(last: CheckOutcome) -> (GateOutcome, Option<String>) {
    match last {
        CheckOutcome::Pass => (GateOutcome::Pass, None),
        CheckOutcome::Fail(message) => (GateOutcome::Fail, Some(message)),
        CheckOutcome::Error(message) => (GateOutcome::Fail, Some(format!("the check failed: {message}"))),
        CheckOutcome::Inconclusive(message) => (GateOutcome::Inconclusive, Some(message)),
        CheckOutcome::NoData(message) => (GateOutcome::NoData, Some(message)),
    }
}

/// The policy the gate declares for `outcome` (a pass continues).
pub fn policy_for(gate: &GateDef, outcome: GateOutcome) -> OutcomePolicy {
    match outcome {
        GateOutcome::Pass => OutcomePolicy::Continue,
        GateOutcome::Fail => gate.on_fail,
        GateOutcome::Inconclusive => gate.on_inconclusive,
        GateOutcome::NoData => gate.on_no_data,
    }
}

pub fn policy_word(policy: OutcomePolicy) -> &'static str {
    match policy {
        OutcomePolicy::Rollback => "rollback",
        OutcomePolicy::Pause => "pause",
        OutcomePolicy::Abort => "abort",
        OutcomePolicy::Continue => "continue",
    }
}

/// Reports a gate outcome and turns it into a decision by its policy.
pub fn conclude(
    ctx: &RunContext,
    node: &NodeDef,
    gate: &GateDef,
    site: &GateSite,
    outcome: GateOutcome,
    message: Option<String>,
) -> GateDecision {
    let policy = policy_for(gate, outcome);
    ctx.log.bus.emit(EventData::GateOutcome {
        node: node.name.clone(),
        outcome,
        message: message.clone(),
        stage: stage_name(ctx, site),
        role: site.stage.map(|(_, role)| role.to_string()),
        policy: Some(policy_word(policy).to_string()),
    });
    if outcome == GateOutcome::Pass {
        return GateDecision::Pass;
    }
    let word = match outcome {
        GateOutcome::Fail => "failed",
        GateOutcome::Inconclusive => "was inconclusive",
        _ => "had no data",
    };
    let message = message.as_deref().map(str::trim_end).filter(|m| !m.is_empty());
    // A gate on its own is named by whatever shows its error ("up: ..."):
    // the message alone for a failure, the outcome before it otherwise. A
    // stage's gate is the stage's failure, shown after the stage's name
    // ("web: monitor gate up failed: ..."), so the text does not repeat it.
    let text = match (site.stage, message) {
        (Some((_, role)), Some(message)) => format!("{role} gate {} {word}: {message}", node.name),
        (Some((_, role)), None) => format!("{role} gate {} {word}", node.name),
        (None, Some(message)) if outcome == GateOutcome::Fail => message.to_string(),
        (None, Some(message)) => format!("{word}: {message}"),
        (None, None) => word.to_string(),
    };
    let policy = match policy {
        OutcomePolicy::Continue => {
            let text = match stage_name(ctx, site) {
                Some(stage) if site.stage.is_some() => format!("{stage}: {text}"),
                _ => text,
            };
            ctx.log.bus.emit(EventData::warning(format!("{text}; continuing by policy")));
            return GateDecision::Pass;
        }
        OutcomePolicy::Rollback => FailurePolicy::Rollback,
        OutcomePolicy::Pause => FailurePolicy::Pause,
        OutcomePolicy::Abort => FailurePolicy::Abort,
    };
    GateDecision::Stop { message: text, policy }
}

/// Polls a check every `every` until it passes or `within` runs out; the
/// last evaluation is the outcome. With `failure_limit` (`inconclusive_limit`)
/// the check ends at once when more evaluations than that failed (were
/// inconclusive). `None` when cancelled.
async fn poll(
    ctx: &Arc<RunContext>,
    node: &NodeDef,
    gate: &GateDef,
    check: &Check,
    site: &GateSite,
    cancel: &CancellationToken,
) -> Option<CheckOutcome> {
    ctx.log.bus.emit(EventData::GateWaiting {
        node: node.name.clone(),
        reason: format!("checking every {} within {}", format_duration(check.every), format_duration(check.within)),
        until: Some(in_rfc3339(ctx, check.within)),
        stage: stage_name(ctx, site),
    });
    let deadline = Instant::now() + check.within;
    let log = evaluate::log_sink(&output_sink(ctx, &node.name, None, false));
    let polled = GateCheck { node, check, site, log: &log };
    let mut attempt = 0;
    let (mut failures, mut inconclusives) = (0u32, 0u32);
    loop {
        attempt += 1;
        let outcome = evaluate_once(ctx, &polled, attempt, deadline, cancel).await?;
        match outcome {
            CheckOutcome::Fail(_) | CheckOutcome::Error(_) => failures += 1,
            CheckOutcome::Inconclusive(_) => inconclusives += 1,
            _ => {}
        }
        let over = |count: u32, limit: Option<u32>| limit.is_some_and(|limit| count > limit);
        if outcome == CheckOutcome::Pass
            || over(failures, gate.failure_limit)
            || over(inconclusives, gate.inconclusive_limit)
            || Instant::now() + check.every >= deadline
        {
            return Some(outcome);
        }
        if !sleep_or_cancel(check.every, cancel).await {
            return None;
        }
    }
}

/// The check a gate or monitor evaluates again and again: of which gate,
/// for which stage, and where its script's log lines go.
pub struct GateCheck<'a> {
    pub node: &'a NodeDef,
    pub check: &'a Check,
    pub site: &'a GateSite,
    pub log: &'a LogSink,
}

/// Evaluates a check once and reports it (`gate_evaluation`), with
/// `deadline` as the end of the time it is given.
pub async fn evaluate_once(
    ctx: &Arc<RunContext>,
    gate: &GateCheck<'_>,
    attempt: u32,
    deadline: Instant,
    cancel: &CancellationToken,
) -> Option<CheckOutcome> {
    let GateCheck { node, check, site, log } = *gate;
    let mut context = ctx.script_context_in(node, None, attempt, site_environment(ctx, node, site));
    context.set("hosts", Dynamic::from_array(site.hosts.iter().map(|h| Dynamic::from(h.clone())).collect()));
    context.set_str("gate", &node.name);
    if let Some((stage, role)) = site.stage {
        context.set_str("stage", &ctx.plan().node(stage).name);
        context.set_str("role", role);
    }
    let outcome = evaluate::check(ctx, &check.script, context, log.clone(), cancel).await?;
    let evaluation = match &outcome {
        CheckOutcome::Pass => EvaluationOutcome::Pass,
        CheckOutcome::Fail(_) => EvaluationOutcome::Fail,
        CheckOutcome::Inconclusive(_) => EvaluationOutcome::Inconclusive,
        CheckOutcome::NoData(_) => EvaluationOutcome::NoData,
        CheckOutcome::Error(_) => EvaluationOutcome::Error,
    };
    ctx.log.bus.emit(EventData::GateEvaluation {
        node: node.name.clone(),
        stage: stage_name(ctx, site),
        role: site.stage.map(|(_, role)| role.to_string()),
        attempt,
        outcome: evaluation,
        message: outcome.message().map(str::to_string),
        remaining_ms: millis(deadline.saturating_duration_since(Instant::now())),
    });
    Some(outcome)
}

/// `protect { approval = required  window = "..." }` of a stage's target:
/// asked before the stage starts; `None` when it may start.
pub async fn protect(ctx: &Arc<RunContext>, id: NodeId, cancel: &CancellationToken) -> Option<NodeResult> {
    let node = ctx.plan().node(id);
    let environment = ctx.target_of(node)?;
    if environment.protect.approval {
        let request = ApprovalRequest {
            name: &node.name,
            question: format!("Run {} in the protected environment {}?", node.name, environment.name),
            by: &environment.protect.approvers,
        };
        match approve(ctx, request, cancel).await {
            ApprovalResult::Approved => {}
            ApprovalResult::Paused(message) => return Some(NodeResult::paused(message)),
            ApprovalResult::Refused(message) => {
                return Some(NodeResult::failed(message, ctx.plan().pipeline.on_failure));
            }
            ApprovalResult::Cancelled => return Some(NodeResult::cancelled()),
        }
    }
    if let Some(window) = &environment.protect.window {
        if !wait_for_window(ctx, node, window, None, cancel).await {
            return Some(NodeResult::cancelled());
        }
    }
    None
}

/// Waits until `window` is open; `false` when cancelled first.
pub async fn wait_for_window(
    ctx: &RunContext,
    node: &NodeDef,
    window: &Window,
    stage: Option<String>,
    cancel: &CancellationToken,
) -> bool {
    let now = ctx.log.bus.now();
    if window.contains(now) {
        return true;
    }
    let Some(opens) = window.next_open(now) else {
        ctx.log.bus.emit(EventData::warning(format!("{}: the window `{}` never opens", node.name, window.text)));
        return true;
    };
    ctx.log.bus.emit(EventData::GateWaiting {
        node: node.name.clone(),
        reason: format!("outside the window `{}`", window.text),
        until: Some(opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        stage,
    });
    let wait = (opens - now).to_std().unwrap_or_default();
    sleep_or_cancel(wait, cancel).await
}

/// Sleeps; `false` when cancelled first.
pub async fn sleep_or_cancel(duration: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = cancel.cancelled() => false,
    }
}

/// `duration` from now on the run's clock, as RFC 3339.
pub fn in_rfc3339(ctx: &RunContext, duration: Duration) -> String {
    let later = ctx.log.bus.now() + chrono::Duration::from_std(duration).unwrap_or_default();
    later.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
