//! What can stop a session before or around a run: the engine's one
//! [`Failure`] type, under the names the session's callers know. The front
//! end (the CLI, the HTTP API, the watcher) decides how to show it.

pub use crate::record::failure::{Failure as SessionError, FailureKind as SessionErrorKind};

pub type SessionResult<T> = Result<T, SessionError>;
