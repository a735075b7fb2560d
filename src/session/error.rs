//! What can stop a session before or around a run, as data: the front end
//! (the CLI, the HTTP API, the watcher) decides how to show it.

use crate::state::StateError;

/// Why a session could not start, continue or record a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionErrorKind {
    /// The state store failed (open, query, write).
    State,
    /// Someone else holds the lease and `--lock-timeout` ran out.
    Locked,
    /// No such run, or no run fits the request.
    NotFound,
    /// The run exists but cannot be resumed, approved or rolled back.
    Refused,
    /// The caller may not do this (an approver the gate does not name).
    Forbidden,
    /// The plan has errors (already reported as diagnostics).
    Plan,
    /// The runtime could not start.
    Runtime,
}

/// An error with the help a person needs to get past it.
#[derive(Clone, Debug)]
pub struct SessionError {
    pub kind: SessionErrorKind,
    /// One line; empty for [`SessionErrorKind::Plan`], whose diagnostics were reported.
    pub message: String,
    /// Printed as is after the message (a diff, say).
    pub detail: String,
    pub help: Option<String>,
}

impl SessionError {
    pub fn new(kind: SessionErrorKind, message: impl Into<String>) -> SessionError {
        SessionError { kind, message: message.into(), detail: String::new(), help: None }
    }

    pub fn not_found(message: impl Into<String>) -> SessionError {
        SessionError::new(SessionErrorKind::NotFound, message)
    }

    pub fn refused(message: impl Into<String>) -> SessionError {
        SessionError::new(SessionErrorKind::Refused, message)
    }

    /// The plan's diagnostics were reported already.
    pub fn plan() -> SessionError {
        SessionError::new(SessionErrorKind::Plan, "")
    }

    pub fn with_help(mut self, help: impl Into<String>) -> SessionError {
        self.help = Some(help.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> SessionError {
        self.detail = detail.into();
        self
    }
}

impl From<StateError> for SessionError {
    fn from(error: StateError) -> SessionError {
        SessionError::new(SessionErrorKind::State, error.to_string())
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type SessionResult<T> = Result<T, SessionError>;
