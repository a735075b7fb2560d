//! The lease a run holds on its pipeline (or its environments), as a guard:
//! taking it waits up to [`LockWait::timeout`], and dropping the guard
//! releases it, so every way out of a run — an error, an early return, a
//! panic unwinding — leaves no lock behind.

use std::time::{Duration, Instant};

use super::error::{SessionError, SessionErrorKind, SessionResult};
use super::reporter::Reporter;
use crate::state::lease::ttl;
use crate::state::{format_time, now_ms, Holder, LeaseOutcome, LeaseRequest, StateStore};

/// How long to wait for a lease someone else holds, and why we want it.
#[derive(Clone, Debug, Default)]
pub struct LockWait {
    /// Zero: fail at once.
    pub timeout: Duration,
    /// Shown to anyone who finds the pipeline locked.
    pub message: String,
}

/// What to lock: the pipeline, or some of its environments.
#[derive(Clone, Debug)]
pub struct LeaseScope {
    pub pipeline: String,
    /// Empty: the whole pipeline.
    pub environments: Vec<String>,
}

/// What puts a claim right on the store when its work never started.
type Undo = Box<dyn FnOnce(&mut dyn StateStore) + Send>;

/// A held lease and the store it was taken in.
pub struct LeaseGuard {
    store: Box<dyn StateStore>,
    run_id: String,
    released: bool,
    /// The runs whose leases were taken over from dead holders.
    taken_over: Vec<String>,
    /// What to put right if the guard is dropped before its run started
    /// (a claimed run whose request went away).
    on_abandon: Option<Undo>,
}

impl LeaseGuard {
    /// Takes the leases of `scope` for `holder`, waiting up to `wait.timeout`.
    pub fn acquire(
        mut store: Box<dyn StateStore>,
        scope: &LeaseScope,
        holder: &Holder,
        wait: &LockWait,
        reporter: &dyn Reporter,
    ) -> SessionResult<LeaseGuard> {
        let started = Instant::now();
        let mut waiting_said = false;
        loop {
            let request = LeaseRequest {
                pipeline: scope.pipeline.clone(),
                environments: scope.environments.clone(),
                holder: holder.clone(),
                message: wait.message.clone(),
                now: now_ms(),
                ttl_ms: i64::try_from(ttl().as_millis()).unwrap_or(i64::MAX),
            };
            match store.acquire_leases(&request)? {
                LeaseOutcome::Acquired { taken_over } => {
                    let mut runs: Vec<String> = Vec::new();
                    for (lease, why) in taken_over {
                        if !runs.contains(&lease.run_id) {
                            runs.push(lease.run_id.clone());
                        }
                        reporter.notice(&format!(
                            "warning: took over the lock on `{}` from {} (pid {}, run {}): {why}; \
                             that run is marked crashed",
                            lease.scope, lease.owner, lease.pid, lease.run_id
                        ));
                        // The hosts it was on when it died: `unknown`.
                        if let Err(error) = super::host_record::record_crashed_run(store.as_mut(), &lease.run_id) {
                            reporter.notice(&format!(
                                "warning: the hosts of crashed run {} could not be recorded: {error}",
                                lease.run_id
                            ));
                        }
                    }
                    return Ok(LeaseGuard {
                        store,
                        run_id: holder.run_id.clone(),
                        released: false,
                        taken_over: runs,
                        on_abandon: None,
                    });
                }
                LeaseOutcome::Held(lease) => {
                    let message =
                        if lease.message.is_empty() { String::new() } else { format!(": \"{}\"", lease.message) };
                    let holder_text = format!(
                        "`{}` is locked by {} (pid {}, run {}) since {}{message}",
                        lease.scope,
                        lease.owner,
                        lease.pid,
                        lease.run_id,
                        format_time(lease.acquired_at)
                    );
                    if started.elapsed() >= wait.timeout {
                        return Err(SessionError::new(SessionErrorKind::Locked, holder_text)
                            .with_code("lock_held")
                            .with_winner(lease.run_id.clone())
                            .with_help(format!(
                                "wait for it to finish, retry with --lock-timeout 10m, or if it is stuck: \
                             deploy lock release --force {}",
                                lease.pipeline
                            )));
                    }
                    if !waiting_said {
                        reporter.notice(&format!(
                            "{holder_text}; waiting up to {}",
                            crate::duration::format_duration(wait.timeout)
                        ));
                        waiting_said = true;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        }
    }

    /// The store the lease was taken in, for the run's bookkeeping.
    pub fn store(&mut self) -> &mut dyn StateStore {
        self.store.as_mut()
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// `undo` runs on the store if the guard is dropped (not released)
    /// before [`LeaseGuard::started`]: a claim that never ran is undone.
    pub fn on_abandon(&mut self, undo: impl FnOnce(&mut dyn StateStore) + Send + 'static) {
        self.on_abandon = Some(Box::new(undo));
    }

    /// The claimed work started: dropping the guard no longer undoes the claim.
    pub fn started(&mut self) {
        self.on_abandon = None;
    }

    /// The runs whose leases were taken over from dead holders (crashed runs).
    pub fn taken_over(&self) -> &[String] {
        &self.taken_over
    }

    /// Releases the lease now, saying whether that worked.
    pub fn release(mut self) -> SessionResult<()> {
        self.released = true;
        self.store.release_leases(&self.run_id).map_err(|error| {
            SessionError::new(SessionErrorKind::State, format!("the lock of run {} could not be released", self.run_id))
                .with_code("lock_not_released")
                .caused_by(error)
        })
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if !self.released {
            if let Some(undo) = self.on_abandon.take() {
                undo(self.store.as_mut());
            }
            let _ = self.store.release_leases(&self.run_id);
        }
    }
}
