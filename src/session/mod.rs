//! One way to start, resume and roll back a run, for every front end (the
//! CLI, `deploy watch`, `deploy serve` and its HTTP API): open the state,
//! take the lease ([`lease::LeaseGuard`], released on drop), record the
//! deployment, drive the engine with the heartbeat and the journal, record
//! how it ended. Front ends build a request ([`RunRequest`],
//! [`ResumeRequest`], [`RollbackRequest`]), choose the views and who may
//! interrupt, and show the [`RunEnd`] or the [`SessionError`].

pub mod action;
pub mod approve;
pub mod drive;
pub mod error;
pub mod exec;
pub mod host_record;
pub mod host_rollback;
pub mod lease;
pub mod liveness;
pub mod load;
pub mod overview;
pub mod plan_diff;
pub mod preview;
pub mod preview_hosts;
pub mod record;
pub mod reject;
pub mod release_lock;
pub mod reporter;
pub mod resume;
pub mod rollback;
pub mod runtime;
pub mod start;
pub mod survivors;
pub mod template_diff;
pub mod verify;

use std::time::Duration;

pub use drive::RunEnd;
pub use error::{SessionError, SessionErrorKind, SessionResult};
pub use lease::LockWait;
pub use reporter::Reporter;
pub use resume::ResumeRequest;
pub use rollback::RollbackRequest;
pub use runtime::{InterruptHandle, Interrupts};
pub use start::RunRequest;

use crate::state::{StateLocation, StateStore};

/// Opens the store; `create` makes a missing SQLite file.
pub fn open(location: &StateLocation, create: bool) -> SessionResult<Box<dyn StateStore>> {
    match crate::state::open(location, create)? {
        Some(store) => Ok(store),
        None => Err(SessionError::not_found(format!(
            "no deploy state at {} (nothing has run here yet?)",
            location.describe()
        ))),
    }
}

/// Opens a store that must exist.
pub fn open_existing(location: &StateLocation) -> SessionResult<Box<dyn StateStore>> {
    open(location, false)
}

/// The SIGTERM → SIGKILL grace period: `DEPLOY_KILL_GRACE_MS`, else the default.
pub fn kill_grace() -> Duration {
    std::env::var("DEPLOY_KILL_GRACE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(crate::engine::context::DEFAULT_KILL_GRACE, Duration::from_millis)
}

/// Who approves when nobody is named: the OS user.
pub fn approver_name(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}
