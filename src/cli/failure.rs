//! Where every error the CLI shows is printed: a [`SessionError`] as
//! `error: ...` lines on stderr (with its detail and help) and, under
//! `--json`, also as one JSON object on stdout (`"type": "error"`, with its
//! `kind` and `code`; docs/cli.md).

use serde_json::{json, Map, Value};

use super::ExitCode;
use crate::session::error::{ErrorPlace, SessionError, SessionErrorKind};

/// Shows `failure` and gives the exit code of a command that failed (1).
pub fn report(failure: &SessionError, json: bool) -> ExitCode {
    print_text(failure);
    if json {
        print_object(failure);
    }
    ExitCode::Usage
}

/// A failure of the command itself, before anything ran: a message only.
pub fn fail(message: impl Into<String>) -> ExitCode {
    report(&SessionError::new(SessionErrorKind::Usage, message), false)
}

/// [`fail`] for a command that goes on (or ends with a code of its own).
pub fn say(message: impl Into<String>) {
    print_text(&SessionError::new(SessionErrorKind::Usage, message));
}

/// The terminal text of a failure (nothing for a plan's errors, which
/// were shown as diagnostics).
pub fn print_text(failure: &SessionError) {
    if failure.is_reported() {
        return;
    }
    eprintln!("error: {failure}");
    eprint!("{}", failure.detail);
    if let Some(help) = &failure.help {
        eprintln!("  help: {help}");
    }
}

/// The JSON object of a failure.
pub fn object(failure: &SessionError) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!("error"));
    object.insert("kind".into(), json!(failure.kind.word()));
    object.insert("code".into(), json!(failure.code));
    object.insert("message".into(), json!(failure.message));
    if !failure.causes.is_empty() {
        object.insert("causes".into(), json!(failure.causes));
    }
    if !failure.detail.is_empty() {
        object.insert("detail".into(), json!(failure.detail));
    }
    if let Some(help) = &failure.help {
        object.insert("help".into(), json!(help));
    }
    if let Some(winner) = &failure.place.run {
        object.insert("run_id".into(), json!(winner));
    }
    insert_place(&mut object, &failure.place);
    Value::Object(object)
}

fn insert_place(object: &mut Map<String, Value>, place: &ErrorPlace) {
    if let Some(node) = &place.node {
        object.insert("node".into(), json!(node));
    }
    if let Some(host) = &place.host {
        object.insert("host".into(), json!(host));
    }
    if let Some(span) = &place.span {
        object.insert(
            "span".into(),
            json!({
                "file": span.file,
                "line": span.line,
                "column": span.column,
                "start": span.start,
                "end": span.end,
            }),
        );
    }
}

fn print_object(failure: &SessionError) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", object(failure)).and_then(|()| stdout.flush());
}

/// Under `--json`, a run that failed ends with its failure as an error
/// object after its events: which node, where it is declared, why.
pub fn report_run(failure: Option<&SessionError>, json: bool) {
    if let (Some(failure), true) = (failure, json) {
        print_object(failure);
    }
}
