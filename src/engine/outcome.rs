//! What happened in a run, and the run's final status that follows from it:
//! the failure policy as pure functions, without tasks or a clock.
//!
//! While the run walks the graph, each failure, pause, fired monitor and
//! first signal is a [`Stop`] candidate; [`Stop::supersedes`] says which one
//! decides. Once nothing runs any more, [`ending`] says whether the run ends
//! at once or rolls back first, [`after_rollback`] what the rollback makes of
//! it, and [`final_hooks`] which lifecycle hooks run.

use crate::check::model::{FailurePolicy, HookEvent};
use crate::record::event::{FailureSummary, RunStatus};

/// What the run says when a signal stopped it.
pub(crate) const INTERRUPTED: &str = "interrupted by a signal";

/// Why the run stopped starting new work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A node (or a stage's monitor) failed; `policy` is the pipeline's
    /// `on_failure` or the gate outcome's policy.
    Failure {
        node: String,
        host: Option<String>,
        message: String,
        policy: FailurePolicy,
    },
    Paused {
        node: String,
        message: String,
    },
    /// A first SIGINT/SIGTERM.
    Interrupted,
    /// A first SIGINT/SIGTERM while nothing ran but gates waiting for a
    /// `wait` or a `window`: the run stops (exit 130) without undoing the
    /// stages that finished, and can be resumed.
    InterruptedWaiting {
        node: String,
        message: String,
    },
}

impl Stop {
    /// Whether running nodes are cancelled (rather than left to finish).
    pub(crate) fn cancels(&self, pipeline_policy: FailurePolicy) -> bool {
        self.policy(pipeline_policy) != FailurePolicy::Pause
    }

    /// The policy the run follows for this stop.
    pub(crate) fn policy(&self, pipeline_policy: FailurePolicy) -> FailurePolicy {
        match self {
            Stop::Failure { policy, .. } => *policy,
            Stop::Paused { .. } | Stop::InterruptedWaiting { .. } => FailurePolicy::Pause,
            Stop::Interrupted => pipeline_policy,
        }
    }

    /// Whether this stop replaces `current` as the one that decides: the
    /// first failure decides; a failure or a signal overrides a pause; a
    /// pause decides only a run that has not stopped.
    pub(crate) fn supersedes(&self, current: Option<&Stop>) -> bool {
        match self {
            Stop::Failure { .. } | Stop::Interrupted | Stop::InterruptedWaiting { .. } => {
                !matches!(current, Some(Stop::Failure { .. }))
            }
            Stop::Paused { .. } => current.is_none(),
        }
    }

    /// The node that stopped the run, for the hooks' `DEPLOY_FAILED_NODE`.
    pub(crate) fn node(&self) -> Option<&str> {
        match self {
            Stop::Failure { node, .. } | Stop::Paused { node, .. } | Stop::InterruptedWaiting { node, .. } => {
                Some(node)
            }
            Stop::Interrupted => None,
        }
    }

    /// Why, for the hooks' `DEPLOY_ERROR`.
    pub(crate) fn message(&self) -> &str {
        match self {
            Stop::Failure { message, .. } | Stop::Paused { message, .. } | Stop::InterruptedWaiting { message, .. } => {
                message
            }
            Stop::Interrupted => INTERRUPTED,
        }
    }

    /// The run summary's `failure`.
    pub(crate) fn into_summary(self) -> FailureSummary {
        match self {
            Stop::Failure { node, host, message, .. } => FailureSummary { node: Some(node), host, message },
            Stop::Paused { node, message } | Stop::InterruptedWaiting { node, message } => {
                FailureSummary { node: Some(node), host: None, message }
            }
            Stop::Interrupted => FailureSummary { node: None, host: None, message: INTERRUPTED.into() },
        }
    }
}

/// How a run ends once nothing runs any more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// With this status, nothing undone.
    Status(RunStatus),
    /// After undoing what ran, for this reason (the rollback's `reason`).
    RollBack { reason: String },
}

/// What the walk's stop (none: every node passed or was skipped) makes of
/// the run under the pipeline's `on_failure`.
pub(crate) fn ending(stop: Option<&Stop>, pipeline_policy: FailurePolicy) -> Ending {
    match stop {
        None => Ending::Status(RunStatus::Succeeded),
        Some(Stop::Paused { .. } | Stop::Failure { policy: FailurePolicy::Pause, .. }) => {
            Ending::Status(RunStatus::Paused)
        }
        Some(Stop::Failure { policy: FailurePolicy::Abort, .. }) => Ending::Status(RunStatus::Aborted),
        Some(Stop::InterruptedWaiting { .. }) => Ending::Status(RunStatus::Interrupted),
        Some(Stop::Interrupted) if pipeline_policy != FailurePolicy::Rollback => Ending::Status(RunStatus::Interrupted),
        Some(Stop::Interrupted) => Ending::RollBack { reason: INTERRUPTED.to_string() },
        Some(Stop::Failure { node, message, .. }) => Ending::RollBack { reason: format!("{node} failed: {message}") },
    }
}

/// The status of a run that rolled back after `stop`: a failed rollback
/// needs manual attention whatever started it; a signal stays an interrupt.
pub(crate) fn after_rollback(stop: Option<&Stop>, rollback_succeeded: bool) -> RunStatus {
    match (rollback_succeeded, stop) {
        (false, _) => RunStatus::RollbackFailed,
        (true, Some(Stop::Interrupted | Stop::InterruptedWaiting { .. })) => RunStatus::Interrupted,
        (true, _) => RunStatus::RolledBack,
    }
}

/// The pipeline's hooks that run at the end, in order: `on rollback` when
/// something was undone, then `on success`, `on paused` or `on failure`.
pub(crate) fn final_hooks(status: RunStatus, undid_something: bool) -> Vec<HookEvent> {
    let rolled_back = matches!(status, RunStatus::RolledBack | RunStatus::RollbackFailed)
        || (status == RunStatus::Interrupted && undid_something);
    let last = match status {
        RunStatus::Succeeded => HookEvent::Success,
        RunStatus::Paused => HookEvent::Paused,
        _ => HookEvent::Failure,
    };
    if rolled_back {
        vec![HookEvent::Rollback, last]
    } else {
        vec![last]
    }
}

/// The status as hooks see it (`DEPLOY_STATUS`).
pub(crate) fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "succeeded",
        RunStatus::RolledBack => "rolled_back",
        RunStatus::Aborted => "aborted",
        RunStatus::Paused => "paused",
        RunStatus::RollbackFailed => "rollback_failed",
        RunStatus::Interrupted => "interrupted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailurePolicy::{Abort, Pause, Rollback};

    fn failure(policy: FailurePolicy) -> Stop {
        Stop::Failure { node: "web".into(), host: Some("h1".into()), message: "exited with status 1".into(), policy }
    }

    fn paused() -> Stop {
        Stop::Paused { node: "approve".into(), message: "waiting for approval".into() }
    }

    /// The stop that decides when `stops` happen in this order.
    fn deciding(stops: &[Stop]) -> Option<Stop> {
        stops
            .iter()
            .fold(None, |current, stop| if stop.supersedes(current.as_ref()) { Some(stop.clone()) } else { current })
    }

    /// The final status: the ending, and for a rollback its result.
    fn status(stop: Option<&Stop>, pipeline: FailurePolicy, rollback_succeeded: bool) -> RunStatus {
        match ending(stop, pipeline) {
            Ending::Status(status) => status,
            Ending::RollBack { .. } => after_rollback(stop, rollback_succeeded),
        }
    }

    /// (case, what stopped the run, the pipeline's on_failure, the rollback
    /// succeeded, the final status, the hooks that run at the end)
    type Case = (&'static str, Option<Stop>, FailurePolicy, bool, RunStatus, Vec<HookEvent>);

    #[test]
    fn what_happened_decides_the_final_status() {
        use RunStatus::*;
        let cases: Vec<Case> = vec![
            ("success", None, Rollback, true, Succeeded, vec![HookEvent::Success]),
            ("all skipped is a success", None, Abort, false, Succeeded, vec![HookEvent::Success]),
            (
                "failure, rollback ok",
                Some(failure(Rollback)),
                Rollback,
                true,
                RolledBack,
                vec![HookEvent::Rollback, HookEvent::Failure],
            ),
            (
                "failure, rollback failed",
                Some(failure(Rollback)),
                Rollback,
                false,
                RollbackFailed,
                vec![HookEvent::Rollback, HookEvent::Failure],
            ),
            ("failure under abort", Some(failure(Abort)), Rollback, true, Aborted, vec![HookEvent::Failure]),
            ("gate outcome pauses", Some(failure(Pause)), Rollback, true, Paused, vec![HookEvent::Paused]),
            ("pause", Some(paused()), Rollback, true, Paused, vec![HookEvent::Paused]),
            (
                "interrupt, rollback ok",
                Some(Stop::Interrupted),
                Rollback,
                true,
                Interrupted,
                vec![HookEvent::Rollback, HookEvent::Failure],
            ),
            (
                "interrupt, rollback failed",
                Some(Stop::Interrupted),
                Rollback,
                false,
                RollbackFailed,
                vec![HookEvent::Rollback, HookEvent::Failure],
            ),
            ("interrupt under abort", Some(Stop::Interrupted), Abort, true, Interrupted, vec![HookEvent::Failure]),
            ("interrupt under pause", Some(Stop::Interrupted), Pause, true, Interrupted, vec![HookEvent::Failure]),
        ];
        for (case, stop, pipeline, rollback_ok, expected, hooks) in cases {
            let got = status(stop.as_ref(), pipeline, rollback_ok);
            assert_eq!(got, expected, "{case}");
            let undid = matches!(ending(stop.as_ref(), pipeline), Ending::RollBack { .. });
            assert_eq!(final_hooks(got, undid), hooks, "{case}");
        }
    }

    #[test]
    fn the_first_failure_decides_and_overrides_a_pause_or_a_signal() {
        let other = Stop::Failure { node: "db".into(), host: None, message: "x".into(), policy: Abort };
        assert_eq!(deciding(&[failure(Rollback), other.clone()]), Some(failure(Rollback)));
        assert_eq!(deciding(&[paused(), failure(Abort)]), Some(failure(Abort)));
        assert_eq!(deciding(&[Stop::Interrupted, other.clone()]), Some(other));
        assert_eq!(deciding(&[paused(), Stop::Interrupted]), Some(Stop::Interrupted));
        assert_eq!(deciding(&[failure(Pause), Stop::Interrupted]), Some(failure(Pause)));
        assert_eq!(deciding(&[Stop::Interrupted, paused()]), Some(Stop::Interrupted));
        assert_eq!(deciding(&[paused(), Stop::Paused { node: "b".into(), message: "m".into() }]), Some(paused()));
        assert_eq!(deciding(&[]), None);
    }

    #[test]
    fn only_a_pause_lets_running_nodes_finish() {
        assert!(failure(Rollback).cancels(Pause));
        assert!(failure(Abort).cancels(Pause));
        assert!(!failure(Pause).cancels(Rollback));
        assert!(!paused().cancels(Rollback));
        assert!(Stop::Interrupted.cancels(Rollback));
        assert!(Stop::Interrupted.cancels(Abort));
        assert!(!Stop::Interrupted.cancels(Pause));
    }

    #[test]
    fn the_rollback_reason_names_the_failure() {
        assert_eq!(
            ending(Some(&failure(Rollback)), Abort),
            Ending::RollBack { reason: "web failed: exited with status 1".into() }
        );
        assert_eq!(ending(Some(&Stop::Interrupted), Rollback), Ending::RollBack { reason: INTERRUPTED.into() });
        assert_eq!(Stop::Interrupted.into_summary().message, INTERRUPTED);
        assert_eq!(failure(Rollback).node(), Some("web"));
        assert_eq!(status_word(RunStatus::RollbackFailed), "rollback_failed");
    }
}
