//! Undoing completed work within a run — the rollback path: the `rollback` blocks of every unit (a stage on one
//! host) that ran, in reverse completion order, one after the other. A
//! failing rollback step is reported and the remaining rollbacks still run.
//!
//! A host whose steps failed or were cancelled mid-way is undone too (it is
//! the most recent unit, so it goes first): its steps may have changed
//! something before they stopped — a failure after a symlink switch must
//! not stay half-deployed. Rollback blocks should therefore be idempotent.

use std::sync::Arc;
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::context::{millis, RunContext, UnitOutcome, UnitPhase, UnitRecord};
use super::steps::{run_steps, StepSite};
use crate::check::model::{NodeDef, RollbackSpec, Step, Strategy};
use crate::duration::format_duration;
use crate::record::event::{unit_label, EventData, RollbackStatus, RollbackSummary};

#[derive(Clone, Debug, Default)]
pub struct RollbackReport {
    pub entries: Vec<RollbackSummary>,
    /// No rollback step failed or was cancelled.
    pub succeeded: bool,
}

/// The units to undo, most recent first.
pub fn rollback_units(records: &[UnitRecord]) -> Vec<UnitRecord> {
    records.iter().rev().cloned().collect()
}

pub async fn run_rollback(ctx: Arc<RunContext>, reason: String, cancel: CancellationToken) -> RollbackReport {
    let started = Instant::now();
    // A unit whose own step failed is left to the stage when it says so
    // (`undo_failed = false`: it cleaned up after itself).
    let units: Vec<UnitRecord> = rollback_units(&ctx.log.completions.snapshot())
        .into_iter()
        .filter(|unit| {
            unit.outcome != UnitOutcome::Failed
                || ctx.plan().nodes.get(unit.node.0).map_or(true, |node| node.undo_failed)
        })
        .collect();
    let labels = unit_labels(&ctx, &units);
    ctx.log.bus.emit(EventData::RollbackStarted { reason, units: labels });
    let mut entries = Vec::new();
    for unit in &units {
        entries.push(undo_unit(&ctx, unit, &units, &cancel).await);
    }
    let failed: Vec<String> = entries
        .iter()
        .filter(|entry| matches!(entry.status, RollbackStatus::Failed | RollbackStatus::Cancelled))
        .map(|entry| unit_label(&entry.node, entry.host.as_deref()))
        .collect();
    let succeeded = failed.is_empty();
    ctx.log.bus.emit(EventData::RollbackFinished { succeeded, duration_ms: millis(started.elapsed()), failed });
    RollbackReport { entries, succeeded }
}

/// What the rollback says of each unit it will undo, most recent first.
fn unit_labels(ctx: &RunContext, units: &[UnitRecord]) -> Vec<String> {
    units
        .iter()
        .map(|unit| {
            let label = unit_label(&ctx.plan().node(unit.node).name, unit.host.as_deref());
            match unit.phase {
                UnitPhase::Switch => format!("{label} (switch back)"),
                UnitPhase::Promoted => format!("{label} (every request back to {})", ctx.run.previous_version()),
                UnitPhase::Retired => format!("{label} (install {} again)", ctx.run.previous_version()),
                UnitPhase::Steps => label,
            }
        })
        .collect()
}

/// Undoes one unit: its rollback steps, the switch back of a blue/green
/// host, or the previous version installed again.
async fn undo_unit(
    ctx: &Arc<RunContext>,
    unit: &UnitRecord,
    units: &[UnitRecord],
    cancel: &CancellationToken,
) -> RollbackSummary {
    let node = ctx.plan().node(unit.node);
    let host = unit.host.clone();
    let unit_started = Instant::now();
    if unit.phase == UnitPhase::Promoted {
        return super::traffic_undo::back_to_stable(ctx, unit, units).await;
    }
    // Blue/green switches back; a retired previous version is installed again.
    let switch_back = matches!(unit.phase, UnitPhase::Switch | UnitPhase::Retired);
    // A switched blue/green host switches back: its `switch` steps with the previous version.
    let undo = steps_to_undo(ctx, node, unit.phase);
    let (status, error) = match undo {
        Err((status, error)) => (status, Some(error)),
        Ok(_) if cancel.is_cancelled() => (RollbackStatus::Cancelled, None),
        Ok(steps) => run_undo(ctx, node, host.as_deref(), steps, switch_back, cancel).await,
    };
    ctx.log.bus.emit(EventData::RollbackStep {
        node: node.name.clone(),
        host: host.clone(),
        switch_back,
        status,
        duration_ms: millis(unit_started.elapsed()),
        error: error.clone(),
    });
    RollbackSummary { node: node.name.clone(), host, status, error }
}

/// The steps that undo a unit, or why it cannot be undone.
fn steps_to_undo<'n>(
    ctx: &RunContext,
    node: &'n NodeDef,
    phase: UnitPhase,
) -> Result<&'n [Step], (RollbackStatus, String)> {
    match (&node.strategy, phase, &node.rollback) {
        (Strategy::BlueGreen { .. }, UnitPhase::Switch, _) if ctx.run.previous_version().is_empty() => Err((
            RollbackStatus::Failed,
            "cannot switch back: no previous version is known (give --previous-version)".to_string(),
        )),
        (Strategy::BlueGreen { switch, .. }, UnitPhase::Switch, _) => Ok(switch),
        (_, UnitPhase::Retired, _) => Ok(&node.steps),
        (_, _, RollbackSpec::Irreversible(why)) => Err((RollbackStatus::Irreversible, format!("irreversible: {why}"))),
        (_, _, RollbackSpec::Missing) => Err((RollbackStatus::Missing, "no rollback block".to_string())),
        (_, _, RollbackSpec::Steps(steps)) => Ok(steps),
    }
}

/// Runs a unit's undo steps within the stage's timeout.
async fn run_undo(
    ctx: &Arc<RunContext>,
    node: &NodeDef,
    host: Option<&str>,
    steps: &[Step],
    switch_back: bool,
    cancel: &CancellationToken,
) -> (RollbackStatus, Option<String>) {
    ctx.log.bus.emit(EventData::RollbackStepStarted {
        node: node.name.clone(),
        host: host.map(str::to_string),
        switch_back,
    });
    let unit_cancel = cancel.child_token();
    let timer = node.timeout.map(|limit| {
        let token = unit_cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            token.cancel();
        })
    });
    let site = StepSite { switch_back, ..StepSite::rollback() };
    let result = run_steps(ctx, node, steps, host, 1, &site, &unit_cancel).await;
    if let Some(timer) = timer {
        timer.abort();
    }
    match result {
        Ok(()) => (RollbackStatus::Succeeded, None),
        Err(failure) if failure.cancelled && cancel.is_cancelled() => (RollbackStatus::Cancelled, None),
        Err(failure) if failure.cancelled => {
            let limit = node.timeout.map(format_duration).unwrap_or_default();
            (RollbackStatus::Failed, Some(format!("timed out after {limit}")))
        }
        Err(failure) => (RollbackStatus::Failed, Some(failure.message)),
    }
}
