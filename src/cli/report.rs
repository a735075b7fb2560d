//! How the CLI shows what a session says: notices and diagnostics on
//! stderr, errors with their help, a run's end as an exit code; and which
//! view shows a run's events.

use std::io::IsTerminal;

use super::output::print_diagnostics;
use super::ExitCode;
use crate::diagnostic::Diagnostic;
use crate::engine::view::{JsonView, LiveView, PlainView};
use crate::engine::EventSink;
use crate::session::{Reporter, RunEnd, SessionError};
use crate::state::{StateLocation, StateStore};
use crate::syntax::span::SourceMap;

/// Notices as `deploy: ...` lines, diagnostics rendered for people.
pub struct CliReporter;

impl Reporter for CliReporter {
    fn notice(&self, text: &str) {
        eprintln!("deploy: {text}");
    }

    fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &SourceMap) {
        print_diagnostics(diagnostics, sources);
    }
}

/// Prints the error (its diagnostics were printed already) and gives exit 1.
pub fn error(error: SessionError) -> ExitCode {
    super::failure::report(&error, false)
}

/// [`error`], also as a JSON object under `--json`.
pub fn error_as(error: SessionError, json: bool) -> ExitCode {
    super::failure::report(&error, json)
}

/// Prints a store error and gives exit 1.
pub fn fail(error: crate::state::StateError) -> ExitCode {
    super::failure::report(&error.into(), false)
}

/// The run's exit code; what could not be recorded is printed, and fails a
/// run that otherwise succeeded. Under `--json` a failed run ends with its
/// error object.
pub fn exit_of(end: RunEnd, json: bool) -> ExitCode {
    let clean = end.problems.is_empty();
    for problem in &end.problems {
        super::failure::report(problem, json);
    }
    super::failure::report_run(end.failure.as_ref(), json);
    let code = end.report.status.exit_code();
    if !clean && code == ExitCode::Success {
        return ExitCode::Usage;
    }
    code
}

/// Opens the store, printing the error. `Ok(None)`: no SQLite file and `create` is false.
pub fn open_store(location: &StateLocation, create: bool) -> Result<Option<Box<dyn StateStore>>, ExitCode> {
    crate::state::open(location, create).map_err(fail)
}

/// Opens the store to read it only ([`crate::state::open_read_only`]),
/// printing the error. `Ok(None)`: no SQLite file.
pub fn open_reader(location: &StateLocation) -> Result<Option<Box<dyn StateStore>>, ExitCode> {
    crate::state::open_read_only(location).map_err(fail)
}

/// Opens a store that must exist.
pub fn open_existing(location: &StateLocation) -> Result<Box<dyn StateStore>, ExitCode> {
    crate::session::open_existing(location).map_err(error)
}

/// The terminal view, plain lines, or JSON events.
pub fn view(json: bool) -> Box<dyn EventSink> {
    if json {
        Box::new(JsonView::new(std::io::stdout()))
    } else if std::io::stdout().is_terminal() {
        Box::new(LiveView::new())
    } else {
        Box::new(PlainView::new(std::io::stdout()))
    }
}
