//! Releasing a lock from outside its run (`deploy lock release`, `POST
//! /api/locks/release`): one rule for every front end. A holder that looks
//! alive keeps its lock unless forced; every lease dropped is journaled in
//! its run as a `release_lock` action with who released it.

use super::action::{record, Action};
use super::error::{SessionError, SessionErrorKind, SessionResult};
use super::overview::lock_views;
use crate::state::{format_time, Holder, Lease, StateStore};

/// Which lock to release, by whom.
pub struct ReleaseRequest<'a> {
    pub pipeline: &'a str,
    /// One environment's lease (`lock = environment`); `None`: every lease of the pipeline.
    pub environment: Option<&'a str>,
    /// Release a holder that looks alive too (`--force`; the API never forces).
    pub force: bool,
    /// Who releases it, for the journal.
    pub by: &'a str,
}

/// Drops the leases the request names and journals each; returns them.
pub fn release_lock(store: &mut dyn StateStore, request: &ReleaseRequest) -> SessionResult<Vec<Lease>> {
    let views: Vec<_> = lock_views(store.leases()?, &Holder::current(""))
        .into_iter()
        .filter(|view| {
            view.lease.pipeline == request.pipeline
                && request.environment.map_or(true, |environment| view.lease.environment == environment)
        })
        .collect();
    if views.is_empty() {
        return Err(SessionError::not_found(format!("`{}` is not locked", request.pipeline)));
    }
    if !request.force {
        if let Some(live) = views.iter().find(|view| view.stale.is_none()) {
            let lease = &live.lease;
            return Err(SessionError::new(
                SessionErrorKind::Locked,
                format!(
                    "`{}` is held by {} (pid {} on {}, run {}) since {}, which looks alive",
                    lease.scope,
                    lease.owner,
                    lease.pid,
                    lease.machine,
                    lease.run_id,
                    format_time(lease.acquired_at)
                ),
            )
            .with_code("lock_alive")
            .with_winner(lease.run_id.clone())
            .with_help(format!(
                "only a stale lock is released without --force; if you are sure it is stuck, on the machine: \
                 deploy lock release --force {}",
                request.pipeline
            )));
        }
    }
    let dropped = store.force_release(request.pipeline, request.environment)?;
    for lease in &dropped {
        if store.deployment(&lease.run_id)?.is_some() {
            let action = Action {
                action: "release_lock",
                by: request.by,
                node: None,
                message: format!("{} released the lock `{}` of this run", request.by, lease.scope),
            };
            record(store, &lease.run_id, action)?;
        }
    }
    Ok(dropped)
}
