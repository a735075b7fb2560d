//! Undoing a traffic canary that reached 100% (a later stage failed, or
//! `deploy rollback`): every request goes back to the previous version —
//! the router's steps with weight 0 — before the stage's own `rollback`
//! removes the new version. Where the previous version was retired, it is
//! installed again first (the stage's steps with `version` set to it; see
//! rollback.rs), so the router has something to send the requests to.

use std::sync::Arc;
use tokio::time::Instant;

use super::context::{millis, RunContext, UnitPhase, UnitRecord};
use crate::record::event::{EventData, RollbackStatus, RollbackSummary};

/// Routes `unit`'s canary back to the stable version (a `Promoted` unit).
pub async fn back_to_stable(ctx: &Arc<RunContext>, unit: &UnitRecord, units: &[UnitRecord]) -> RollbackSummary {
    let node = ctx.plan().node(unit.node);
    let started = Instant::now();
    ctx.log.bus.emit(EventData::RollbackStepStarted { node: node.name.clone(), host: None, switch_back: true });
    let hosts: Vec<String> = units
        .iter()
        .filter(|other| other.node == unit.node && other.phase == UnitPhase::Steps)
        .filter_map(|other| other.host.clone())
        .collect();
    let (status, error) = match node.strategy.traffic() {
        None => (RollbackStatus::Missing, Some("not a traffic canary".to_string())),
        Some(_) if ctx.run.previous_version().is_empty() => {
            (RollbackStatus::Failed, Some("no previous version is known to send the requests to".to_string()))
        }
        Some(traffic) => {
            if super::traffic::route_to_stable(ctx, unit.node, traffic.router, &hosts).await {
                (RollbackStatus::Succeeded, None)
            } else {
                (
                    RollbackStatus::Failed,
                    Some(format!("the router did not send every request back to {}", ctx.run.previous_version())),
                )
            }
        }
    };
    ctx.log.bus.emit(EventData::RollbackStep {
        node: node.name.clone(),
        host: None,
        switch_back: true,
        status,
        duration_ms: millis(started.elapsed()),
        error: error.clone(),
    });
    RollbackSummary { node: node.name.clone(), host: None, status, error }
}
