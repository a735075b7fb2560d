//! One unit of a stage's work: its steps (or its blue/green `switch` steps)
//! on one host of its target, or once, locally, without a target — with its
//! own attempts, timeout and retry. A unit's completion is recorded, so the
//! hosts a partly done stage finished can be undone. [`super::rollout`]
//! arranges the units in the batches of the stage's strategy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::time::Instant;

use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext, UnitOutcome, UnitPhase, UnitRecord};
use super::steps::{run_steps, StepFailure, StepSite};
use crate::check::model::{NodeDef, NodeId, Step, Strategy};
use crate::duration::format_duration;
use crate::record::event::{EventData, NodeStatus};

/// How one host (or the untargeted node) ended.
#[derive(Clone, Debug)]
pub struct UnitResult {
    pub host: Option<String>,
    pub status: NodeStatus,
    pub attempts: u32,
    pub duration_ms: u64,
    pub error: Option<String>,
    pub exit_code: Option<i32>,
}

/// Runs a stage's steps on one host (or untargeted), with its attempts.
/// `first_permit`: a `--max-parallel` permit already taken for the first attempt.
/// Over 80 lines: one loop over the attempts whose state (the outcome so
/// far, whether any attempt reached the host) decides both the retry and
/// what is recorded; one attempt, the permit and the record are apart.
pub async fn run_unit(
    ctx: Arc<RunContext>,
    id: NodeId,
    host: Option<String>,
    phase: UnitPhase,
    cancel: CancellationToken,
    mut first_permit: Option<OwnedSemaphorePermit>,
) -> UnitResult {
    let node = ctx.plan().node(id);
    let steps: &[Step] = match (&node.strategy, phase) {
        (Strategy::BlueGreen { switch, .. }, UnitPhase::Switch) => switch,
        _ => &node.steps,
    };
    if phase == UnitPhase::Steps
        && host.as_deref().is_some_and(|host| ctx.run.options.resumed.host_done(&node.name, host))
    {
        // Finished before the run was resumed: not run again.
        return UnitResult {
            host,
            status: NodeStatus::Succeeded,
            attempts: 0,
            duration_ms: 0,
            error: None,
            exit_code: None,
        };
    }
    let max_attempts = 1 + node.retry.map_or(0, |retry| retry.attempts);
    let started_at = Instant::now();
    let mut started = false;
    let mut reached = false;
    let mut attempts = 0;
    let mut outcome = (NodeStatus::Cancelled, None::<String>, None::<i32>);
    for attempt in 1..=max_attempts {
        let Some(permit) = permit(&ctx, first_permit.take(), &cancel).await else {
            outcome = (NodeStatus::Cancelled, None, None);
            break;
        };
        started = true;
        attempts = attempt;
        if host.is_some() {
            ctx.log.bus.emit(EventData::NodeStarted {
                node: node.name.clone(),
                kind: node.kind.word().to_string(),
                host: host.clone(),
                attempt: Some(attempt),
                hosts: Vec::new(),
            });
            // Write-ahead: the host's start is in the journal before anything
            // changes on it; a state that cannot be written changes nothing.
            if let Some(why) = ctx.log.recorded_so_far(&cancel).await {
                drop(permit);
                outcome = (NodeStatus::Cancelled, Some(why), None);
                break;
            }
        }
        let result = run_attempt(&ctx, node, steps, host.as_deref(), attempt, &cancel).await;
        drop(permit);
        let failure = match result {
            Attempt::Succeeded => {
                outcome = (NodeStatus::Succeeded, None, None);
                break;
            }
            Attempt::Cancelled => {
                outcome = (NodeStatus::Cancelled, None, None);
                break;
            }
            Attempt::Failed(failure) => failure,
        };
        reached |= !failure.unreached;
        let message = failure.message;
        outcome = (NodeStatus::Failed, Some(message.clone()), failure.exit_code);
        if attempt == max_attempts {
            break;
        }
        let delay = node.retry.map(|retry| retry.every).unwrap_or_default();
        ctx.log.bus.emit(EventData::Retry {
            node: node.name.clone(),
            host: host.clone(),
            attempt: attempt + 1,
            max_attempts,
            delay_ms: millis(delay),
            error: message,
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cancel.cancelled() => {
                outcome = (NodeStatus::Cancelled, None, None);
                break;
            }
        }
    }
    let duration_ms = millis(started_at.elapsed());
    let (status, error, exit_code) = outcome;
    let result = UnitResult { host, status, attempts, duration_ms, error, exit_code };
    if started {
        record_end(&ctx, id, phase, &result, reached);
    }
    result
}

/// How one attempt of a unit ended.
enum Attempt {
    Succeeded,
    /// Cancelled from outside (not by the stage's timeout).
    Cancelled,
    /// Failed, or stopped by the stage's timeout (said in the message).
    Failed(StepFailure),
}

/// One attempt of a unit's steps within the stage's timeout.
async fn run_attempt(
    ctx: &Arc<RunContext>,
    node: &NodeDef,
    steps: &[Step],
    host: Option<&str>,
    attempt: u32,
    cancel: &CancellationToken,
) -> Attempt {
    let attempt_cancel = cancel.child_token();
    let (timer, timed_out) = start_timeout(node.timeout, &attempt_cancel);
    let result = run_steps(ctx, node, steps, host, attempt, &StepSite::forward(), &attempt_cancel).await;
    if let Some(timer) = timer {
        timer.abort();
    }
    match result {
        Ok(()) => Attempt::Succeeded,
        Err(failure) if failure.cancelled && !timed_out.load(Ordering::SeqCst) => Attempt::Cancelled,
        Err(mut failure) => {
            if let (true, Some(limit)) = (timed_out.load(Ordering::SeqCst), node.timeout) {
                failure.message = format!("timed out after {}", format_duration(limit));
            }
            Attempt::Failed(failure)
        }
    }
}

/// A `--max-parallel` permit: the one taken already, or the next free
/// one; `None` when cancelled while waiting.
async fn permit(
    ctx: &RunContext,
    taken: Option<OwnedSemaphorePermit>,
    cancel: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    match taken {
        Some(permit) => Some(permit),
        None => tokio::select! {
            permit = ctx.services.permits.clone().acquire_owned() => permit.ok(),
            () = cancel.cancelled() => None,
        },
    }
}

/// Cancels `attempt` after the node's `timeout`, and says whether it did.
fn start_timeout(
    timeout: Option<std::time::Duration>,
    attempt: &CancellationToken,
) -> (Option<tokio::task::JoinHandle<()>>, Arc<AtomicBool>) {
    let timed_out = Arc::new(AtomicBool::new(false));
    let timer = timeout.map(|limit| {
        let token = attempt.clone();
        let flag = timed_out.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            flag.store(true, Ordering::SeqCst);
            token.cancel();
        })
    });
    (timer, timed_out)
}

/// Records how a unit that started ended (so it can be undone), and says
/// so for a host. `reached`: some attempt reached the host.
fn record_end(ctx: &RunContext, id: NodeId, phase: UnitPhase, unit: &UnitResult, reached: bool) {
    let node = ctx.plan().node(id);
    let status = unit.status;
    // A host no attempt could reach has nothing to undo.
    let untouched = status == NodeStatus::Failed && !reached;
    let outcome = match status {
        NodeStatus::Succeeded => UnitOutcome::Completed,
        NodeStatus::Failed => UnitOutcome::Failed,
        _ => UnitOutcome::Cancelled,
    };
    if !untouched {
        ctx.log.completions.push(UnitRecord { node: id, host: unit.host.clone(), outcome, phase });
    }
    if unit.host.is_some() {
        ctx.log.bus.emit(EventData::NodeFinished {
            node: node.name.clone(),
            host: unit.host.clone(),
            status,
            duration_ms: unit.duration_ms,
            attempt: Some(unit.attempts),
            exit_code: unit.exit_code,
            error: unit.error.clone(),
        });
    }
}
