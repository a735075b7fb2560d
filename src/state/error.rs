//! What can go wrong with the state store. Every variant is reported to the
//! user as one clear message and exit 1; nothing is repaired silently.

use std::fmt;

#[derive(Debug)]
pub enum StateError {
    /// The store cannot be reached or opened (permissions, a missing server).
    Open { location: String, message: String },
    /// The path names something that cannot be a state file at all: a
    /// directory, a device, a FIFO, a socket. Nothing is advised to be moved.
    NotAStore { location: String, what: String },
    /// The file or database is not a deploy state, or its content is damaged.
    Corrupt { location: String, message: String },
    /// The store was written by a newer deploy.
    NewerSchema { location: String, found: i64, known: i64 },
    /// The store can be read but not written (file modes, a read-only
    /// mount): a command that records something cannot run on it.
    ReadOnly { location: String },
    /// Opened read-only, the store has an older schema than this deploy
    /// reads, and what was asked needs the newer one.
    Outdated { location: String, found: i64, known: i64 },
    /// A query failed for another reason.
    Query { message: String },
}

impl StateError {
    pub fn query(message: impl fmt::Display) -> StateError {
        StateError::Query { message: message.to_string() }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Open { location, message } => write!(f, "cannot open the state store {location}: {message}"),
            StateError::NotAStore { location, what } => write!(
                f,
                "{location} is not a state store: it is {what}; a state store is a regular SQLite file \
                 (created where none exists) or a postgres:// URL — give one with --state or DEPLOY_STATE"
            ),
            StateError::Corrupt { location, message } => write!(
                f,
                "the state store {location} is damaged or is not a deploy state ({message}); \
                 it was left untouched — restore it from a backup, or to start a new history on purpose \
                 move it away (`mv {location} {location}.damaged`) and run again"
            ),
            StateError::NewerSchema { location, found, known } => write!(
                f,
                "the state store {location} has schema version {found}, newer than this deploy knows ({known}); \
                 upgrade deploy — the store was left untouched"
            ),
            StateError::ReadOnly { location } => write!(
                f,
                "the state store {location} is read-only, and this command records what it does there; \
                 give this user write access to the file and its directory (or point --state at a writable store) — \
                 `deploy status`, `deploy history` and `deploy logs` can still read it as it is"
            ),
            StateError::Outdated { location, found, known } => write!(
                f,
                "the state store {location} has schema version {found}, older than this deploy reads ({known}), \
                 and it is read-only here, so it cannot be upgraded; open it writable once (any `deploy status` \
                 with write access upgrades it) and read it again"
            ),
            StateError::Query { message } => write!(f, "state store: {message}"),
        }
    }
}

impl std::error::Error for StateError {}

pub type StateResult<T> = Result<T, StateError>;

impl StateError {
    /// The precise code of the failure (`SessionError::code`).
    pub fn code(&self) -> &'static str {
        match self {
            StateError::Open { .. } | StateError::NotAStore { .. } => "state_unreadable",
            StateError::Corrupt { .. } => "state_corrupt",
            StateError::NewerSchema { .. } => "state_newer_schema",
            StateError::ReadOnly { .. } => "state_read_only",
            StateError::Outdated { .. } => "state_outdated",
            StateError::Query { .. } => "state_query",
        }
    }
}
