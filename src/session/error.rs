//! What can stop a session before, around or after a run, as data: what
//! failed ([`SessionErrorKind`] and a stable `code`), where in the plan
//! (node, host, the plan's span when known) and why (the message and the
//! causes under it). The engine speaks of the run ([`RunReport`]); the
//! state of its store ([`StateError`]); both become a `SessionError` here.
//! Every front end renders it once at its edge: the CLI as `error: ...`
//! lines or a JSON object, the HTTP API as a JSON body.

use crate::check::model::Plan;
use crate::diagnostic::Diagnostic;
use crate::engine::RunReport;
use crate::record::event::RunStatus;
use crate::source::line_column;
use crate::state::StateError;

/// What failed, broadly. `code` says precisely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionErrorKind {
    /// The state store failed (open, query, write).
    State,
    /// Someone else holds the lease and `--lock-timeout` ran out.
    Locked,
    /// No such run, environment or host, or no run fits the request.
    NotFound,
    /// The run exists but cannot be resumed, approved or rolled back.
    Refused,
    /// The caller may not do this (an approver the gate does not name).
    Forbidden,
    /// The plan has errors (already reported as diagnostics).
    Plan,
    /// The command line or the request is wrong (`--env`, `--limit`, `--set`, `--fail`).
    Usage,
    /// The runtime, a thread, a server or a repository could not start or be read.
    Runtime,
    /// The run itself failed: a step, a gate, a monitor, the rollback.
    Run,
}

impl SessionErrorKind {
    /// The word in JSON (`"kind"`).
    pub fn word(self) -> &'static str {
        match self {
            SessionErrorKind::State => "state",
            SessionErrorKind::Locked => "locked",
            SessionErrorKind::NotFound => "not_found",
            SessionErrorKind::Refused => "refused",
            SessionErrorKind::Forbidden => "forbidden",
            SessionErrorKind::Plan => "plan",
            SessionErrorKind::Usage => "usage",
            SessionErrorKind::Runtime => "runtime",
            SessionErrorKind::Run => "run",
        }
    }
}

/// Where in the plan a failure happened, as far as it is known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorPlace {
    pub node: Option<String>,
    pub host: Option<String>,
    /// The node's declaration in the plan.
    pub span: Option<PlanSpan>,
    /// The run that holds what was asked for: the one that won a race to
    /// resume or roll back, or the lock's holder.
    pub run: Option<String>,
}

/// A range of a plan file, with the line and column (1-based) of its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanSpan {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub start: usize,
    pub end: usize,
}

impl ErrorPlace {
    /// The node named `node` of `plan` (its declaration), on `host`.
    pub fn of_node(plan: &Plan, node: &str, host: Option<&str>) -> ErrorPlace {
        let span = plan.node_named(node).and_then(|def| {
            let file = plan.sources.get(def.location.file)?;
            let start = line_column(&file.text, def.location.span.start);
            Some(PlanSpan {
                file: file.name.clone(),
                line: start.line,
                column: start.column,
                start: def.location.span.start,
                end: def.location.span.end,
            })
        });
        ErrorPlace { node: Some(node.to_string()), host: host.map(str::to_string), span, run: None }
    }
}

/// A failure with the help a person needs to get past it.
#[derive(Clone, Debug)]
pub struct SessionError {
    pub kind: SessionErrorKind,
    /// Stable and precise (`lock_held`, `unknown_environment`, `step_failed`):
    /// what tests and scripts match.
    pub code: &'static str,
    /// One line; empty for [`SessionErrorKind::Plan`], whose diagnostics were reported.
    pub message: String,
    /// Printed as is after the message (a diff, say).
    pub detail: Box<str>,
    pub help: Option<Box<str>>,
    pub place: Box<ErrorPlace>,
    /// Why, outermost first: the errors under `message`.
    pub causes: Vec<String>,
}

impl SessionError {
    pub fn new(kind: SessionErrorKind, message: impl Into<String>) -> SessionError {
        SessionError {
            kind,
            code: kind.word(),
            message: message.into(),
            detail: Box::default(),
            help: None,
            place: Box::default(),
            causes: Vec::new(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> SessionError {
        SessionError::new(SessionErrorKind::NotFound, message)
    }

    pub fn refused(message: impl Into<String>) -> SessionError {
        SessionError::new(SessionErrorKind::Refused, message)
    }

    pub fn usage(message: impl Into<String>) -> SessionError {
        SessionError::new(SessionErrorKind::Usage, message)
    }

    pub fn runtime(message: impl Into<String>) -> SessionError {
        SessionError::new(SessionErrorKind::Runtime, message)
    }

    /// The plan's diagnostics were reported already.
    pub fn plan() -> SessionError {
        SessionError::new(SessionErrorKind::Plan, "")
    }

    /// [`SessionError::plan`] named after its first error: its code (`E0134`) and message.
    pub fn plan_of(diagnostics: &[Diagnostic]) -> SessionError {
        match diagnostics.iter().find(|diagnostic| diagnostic.is_error()) {
            Some(first) => {
                let mut failure =
                    SessionError::new(SessionErrorKind::Plan, first.message.clone()).with_code(first.code.as_str());
                failure.help = first.help.as_deref().map(Box::from);
                failure
            }
            None => SessionError::plan(),
        }
    }

    pub fn with_code(mut self, code: &'static str) -> SessionError {
        self.code = code;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> SessionError {
        self.help = Some(help.into().into_boxed_str());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> SessionError {
        self.detail = detail.into().into_boxed_str();
        self
    }

    pub fn with_place(mut self, place: ErrorPlace) -> SessionError {
        self.place = Box::new(place);
        self
    }

    pub fn with_winner(mut self, run_id: impl Into<String>) -> SessionError {
        self.place.run = Some(run_id.into());
        self
    }

    pub fn caused_by(mut self, cause: impl std::fmt::Display) -> SessionError {
        self.causes.push(cause.to_string());
        self
    }

    /// Whether the failure was already shown (a plan's diagnostics).
    pub fn is_reported(&self) -> bool {
        self.kind == SessionErrorKind::Plan
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SessionError {}

impl SessionError {
    /// The failure of a run that did not succeed (a pause is no failure):
    /// its status as the code, the node and host that failed first, why.
    pub fn of_run(plan: &Plan, report: &RunReport) -> Option<SessionError> {
        let code = match report.status {
            RunStatus::Succeeded | RunStatus::Paused => return None,
            RunStatus::RolledBack => "rolled_back",
            RunStatus::Aborted => "aborted",
            RunStatus::RollbackFailed => "rollback_failed",
            RunStatus::Interrupted => "interrupted",
        };
        let mut error =
            SessionError::new(SessionErrorKind::Run, format!("the run {}", report.status.word())).with_code(code);
        if let Some(summary) = &report.summary.failure {
            error = error.caused_by(&summary.message);
            if let Some(node) = &summary.node {
                error = error.with_place(ErrorPlace::of_node(plan, node, summary.host.as_deref()));
            }
        }
        Some(error)
    }
}

impl From<StateError> for SessionError {
    fn from(error: StateError) -> SessionError {
        SessionError::new(SessionErrorKind::State, error.to_string()).with_code(error.code())
    }
}

pub type SessionResult<T> = Result<T, SessionError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_causes_follow_the_message() {
        let failure = SessionError::runtime("cannot read the repository").caused_by("git: not found");
        assert_eq!(failure.to_string(), "cannot read the repository: git: not found");
        assert_eq!(failure.code, "runtime");
        assert_eq!(failure.with_code("git").code, "git");
    }

    #[test]
    fn a_plan_failure_is_named_after_its_first_error() {
        use crate::diagnostic::Code;
        let unknown = Diagnostic::new(Code::UnknownSelection, "`--env qa`: the plan has no such environment")
            .with_help("environments: prod");
        let failure = SessionError::plan_of(&[unknown]);
        assert_eq!(failure.kind, SessionErrorKind::Plan);
        assert_eq!(failure.code, Code::UnknownSelection.as_str());
        assert!(failure.is_reported());
        assert_eq!(SessionError::plan_of(&[]).code, "plan");
    }

    #[test]
    fn a_state_error_keeps_its_code() {
        let damaged = StateError::Corrupt { location: "s.db".into(), message: "short".into() };
        let failure: SessionError = damaged.into();
        assert_eq!((failure.kind, failure.code), (SessionErrorKind::State, "state_corrupt"));
        let missing = StateError::Open { location: "s.db".into(), message: "denied".into() };
        assert_eq!(SessionError::from(missing).code, "state_unreadable");
        let device = StateError::NotAStore { location: "/dev/null".into(), what: "a character device".into() };
        assert_eq!(SessionError::from(device).code, "state_unreadable");
    }
}
