//! `deploy rollback`: the rollback path alone, over units a past run
//! completed (read from its journal), with `previous_version` bound — and,
//! only when asked, the gates that verify the undone stages afterwards.
//! Canary pauses and analysis are not re-run otherwise.

use tokio::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::bus::{Bus, EventSink};
use super::context::{millis, CompletionLog, RunOptions, UnitOutcome, UnitPhase, UnitRecord};
use super::event::{EventData, FailureSummary, NodeStatus, NodeSummary, RunStatus, Summary};
use super::executor::RunReport;
use super::redact::Redactor;
use super::rollback::run_rollback;
use super::{gates, Parts};
use crate::check::inputs::ResolvedInputs;
use crate::check::model::NodeId;
use crate::graph::ExecutionGraph;

/// What to undo.
pub struct Undo {
    /// Units in the order they completed: `(node, host)`.
    pub units: Vec<(String, Option<String>)>,
    /// Why (shown in `rollback_started`).
    pub reason: String,
    /// Gates to evaluate after the rollback (`--with-gates`).
    pub gates: Vec<NodeId>,
}

/// Runs the rollback path of `undo.units`; `Succeeded` when every rollback
/// step (and every gate asked for) passed.
pub async fn undo(
    graph: ExecutionGraph,
    inputs: ResolvedInputs,
    options: RunOptions,
    parts: Parts,
    sinks: Vec<Box<dyn EventSink>>,
    mut interrupts: mpsc::UnboundedReceiver<()>,
    undo: Undo,
) -> RunReport {
    let redactor = Redactor::new(inputs.secret_values());
    let (bus, worker) = Bus::start(redactor, sinks);
    let completions = CompletionLog::default();
    for (node, host) in &undo.units {
        if let Some(def) = graph.plan.node_named(node) {
            completions.push(UnitRecord {
                node: def.id,
                host: host.clone(),
                outcome: UnitOutcome::Completed,
                phase: UnitPhase::Steps,
            });
        }
    }
    let ctx = super::run_context(graph, inputs, options, parts, bus.clone(), completions);
    let plan = ctx.plan();
    ctx.log.bus.emit(EventData::RunStarted {
        run_id: ctx.run.options.run_id.clone(),
        pipeline: plan.pipeline.name.clone(),
        version: ctx.run.version.clone(),
        previous_version: ctx.run.previous_version().to_string(),
        plan_file: plan.plan_file.display().to_string(),
        nodes: undo.units.len(),
        max_parallel: ctx.run.options.max_parallel,
        on_failure: "rollback".into(),
        environments: ctx.run.options.selection.environments.clone(),
        limit: ctx.run.options.selection.limit.clone(),
    });
    let hard = CancellationToken::new();
    let mut interrupted = false;
    let rollback = run_rollback(ctx.clone(), undo.reason.clone(), hard.clone());
    tokio::pin!(rollback);
    let mut signals = 0;
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
                    ctx.log.bus.emit(EventData::Warning {
                        message: "rolling back; press Ctrl-C again to stop at once".into(),
                    });
                }
            }
        }
    };
    let mut nodes = Vec::new();
    let mut failure = None;
    if report.succeeded && !interrupted {
        for id in &undo.gates {
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
    }
    let status = if interrupted {
        RunStatus::Interrupted
    } else if !report.succeeded {
        RunStatus::RollbackFailed
    } else if failure.is_some() {
        RunStatus::RolledBack
    } else {
        RunStatus::Succeeded
    };
    let summary = Summary { nodes, rollback: report.entries, failure };
    let duration_ms = ctx.elapsed_ms();
    ctx.log.bus.emit(EventData::RunFinished {
        status,
        exit_code: status.exit_code().code(),
        duration_ms,
        summary: summary.clone(),
    });
    super::close_remotes(&ctx.services.remotes).await;
    bus.close();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    RunReport { status, summary, duration_ms }
}
