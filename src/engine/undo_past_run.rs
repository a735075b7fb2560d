//! `deploy rollback`: the rollback path alone, over units a past run
//! completed (read from its journal), with `previous_version` bound — and,
//! only when asked, the gates that verify the undone stages afterwards.
//! Canary pauses and analysis are not re-run otherwise.

use tokio::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::record::bus::{Bus, EventSink};
use std::sync::Arc;

use super::context::{millis, CompletionLog, RunContext, RunOptions, UnitOutcome, UnitPhase, UnitRecord};
use super::executor::{run_started, RunReport};
use super::undo::{run_rollback, RollbackReport};
use super::{gates, Parts};
use crate::check::model::NodeId;
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::record::event::{EventData, FailureSummary, NodeStatus, NodeSummary, RunStatus, Summary};
use crate::record::redact::Redactor;

/// What a past run completed, to undo.
pub struct PastRun {
    /// Units in the order they completed: `(node, host)`.
    pub units: Vec<(String, Option<String>)>,
    /// Why (shown in `rollback_started`).
    pub reason: String,
    /// Gates to evaluate after the rollback (`--with-gates`).
    pub gates: Vec<NodeId>,
    /// What traffic canaries did beyond their hosts' steps (reached 100%,
    /// retired the previous version): undone right after the node's last unit.
    pub phases: Vec<(String, Option<String>, UnitPhase)>,
}

/// Runs the rollback path of `undo.units`; `Succeeded` when every rollback
/// step (and every gate asked for) passed.
pub async fn undo_past_run(
    graph: ExecutionGraph,
    inputs: ResolvedInputs,
    options: RunOptions,
    parts: Parts,
    sinks: Vec<Box<dyn EventSink>>,
    mut interrupts: mpsc::UnboundedReceiver<()>,
    undo: PastRun,
) -> RunReport {
    let redactor = Redactor::new(inputs.secret_values());
    let (bus, worker) = Bus::start(redactor, sinks);
    let warnings = parts.warnings.clone();
    warnings.attach(&bus);
    let completions = CompletionLog::default();
    for (index, (node, host)) in undo.units.iter().enumerate() {
        let Some(def) = graph.plan.node_named(node) else { continue };
        let record =
            |host: Option<String>, phase| UnitRecord { node: def.id, host, outcome: UnitOutcome::Completed, phase };
        completions.push(record(host.clone(), UnitPhase::Steps));
        let last_of_node = !undo.units[index + 1..].iter().any(|(other, _)| other == node);
        if last_of_node {
            for (_, host, phase) in undo.phases.iter().filter(|(name, _, _)| name == node) {
                completions.push(record(host.clone(), *phase));
            }
        }
    }
    let ctx = super::run_context(graph, inputs, options, parts, bus.clone(), completions);
    ctx.log.bus.emit(run_started(&ctx, undo.units.len(), "rollback".into()));
    let hard = CancellationToken::new();
    let (report, interrupted) = roll_back(&ctx, undo.reason.clone(), &hard, &mut interrupts).await;
    let (nodes, failure) =
        if report.succeeded && !interrupted { verify(&ctx, &undo.gates, &hard).await } else { (Vec::new(), None) };
    let status = if interrupted {
        RunStatus::Interrupted
    } else if !report.succeeded {
        RunStatus::RollbackFailed
    } else if failure.is_some() {
        RunStatus::RolledBack
    } else {
        RunStatus::Succeeded
    };
    let summary = Summary { nodes, rollback: report.entries, failure, warnings: Vec::new() };
    let duration_ms = ctx.elapsed_ms();
    ctx.log.bus.emit(EventData::RunFinished {
        status,
        exit_code: status.exit_code().code(),
        duration_ms,
        summary: summary.clone(),
    });
    super::close_remotes(&ctx.services.remotes).await;
    warnings.detach();
    bus.close();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    RunReport { status, summary, duration_ms }
}

/// The rollback path, and whether a second signal stopped it.
async fn roll_back(
    ctx: &Arc<RunContext>,
    reason: String,
    hard: &CancellationToken,
    interrupts: &mut mpsc::UnboundedReceiver<()>,
) -> (RollbackReport, bool) {
    let rollback = run_rollback(ctx.clone(), reason, hard.clone());
    tokio::pin!(rollback);
    let mut signals = 0;
    let mut interrupted = false;
    let report = loop {
        tokio::select! {
            report = &mut rollback => break report,
            signal = interrupts.recv() => {
                if signal.is_none() {
                    // No signal handling: wait for the rollback alone.
                    break rollback.await;
                }
                signals += 1;
                if signals >= 2 {
                    interrupted = true;
                    hard.cancel();
                    ctx.kill_all();
                } else {
                    ctx.log.bus.emit(EventData::warning("rolling back; press Ctrl-C again to stop at once"));
                }
            }
        }
    };
    (report, interrupted)
}

/// `--with-gates`: decides each gate after the rollback; the first that
/// did not pass is the run's failure.
async fn verify(
    ctx: &Arc<RunContext>,
    gates: &[NodeId],
    hard: &CancellationToken,
) -> (Vec<NodeSummary>, Option<FailureSummary>) {
    let mut nodes = Vec::new();
    let mut failure = None;
    for id in gates {
        let node = ctx.plan().node(*id);
        ctx.log.bus.emit(EventData::NodeStarted {
            node: node.name.clone(),
            kind: node.kind.word().to_string(),
            host: None,
            attempt: None,
            hosts: Vec::new(),
        });
        let started = Instant::now();
        let result = gates::run_gate(ctx.clone(), *id, hard.child_token()).await;
        let duration_ms = millis(started.elapsed());
        ctx.log.bus.emit(EventData::NodeFinished {
            node: node.name.clone(),
            host: None,
            status: result.status,
            duration_ms,
            attempt: None,
            exit_code: None,
            error: result.error.clone(),
        });
        if result.status != NodeStatus::Succeeded && failure.is_none() {
            failure = Some(FailureSummary {
                node: Some(node.name.clone()),
                host: None,
                message: result.error.clone().unwrap_or_else(|| result.status.word().to_string()),
            });
        }
        nodes.push(NodeSummary {
            node: node.name.clone(),
            kind: node.kind.word().to_string(),
            status: result.status,
            duration_ms,
            hosts: Vec::new(),
            error: result.error,
        });
    }
    (nodes, failure)
}
