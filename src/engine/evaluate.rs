//! Evaluating a compiled script from async code: on tokio's blocking pool,
//! so a script that sleeps or waits for HTTP never holds up other hosts, and
//! with what it prints sent to the event stream as `step_output` lines.
//!
//! A script that only computes is first tried right on the async worker
//! under a small operation budget ([`super::script_runner::ScriptRunner::quick`]):
//! most `when` conditions, checks and small steps end there, without two
//! thread hand-offs; one that needs more is evaluated in full on the pool.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::context::RunContext;
use super::script_runner::{CheckOutcome, Quick, QuickResult};
use super::transport::OutputSink;
use crate::check::model::Script;
use crate::record::event::Stream;
use crate::script::{LogSink, ScriptLog, ScriptVariables};

/// Where a script's `print`/`debug`/`log` lines go: the unit's output sink.
pub fn log_sink(output: &OutputSink) -> LogSink {
    let output = output.clone();
    Arc::new(move |line: ScriptLog| output(Stream::Log, line.message))
}

/// Evaluates a `check` once; `None` when cancelled first. A cancelled
/// evaluation still ends by itself within the script's deadline.
pub async fn check(
    ctx: &Arc<RunContext>,
    script: &Script,
    context: ScriptVariables,
    log: LogSink,
    cancel: &CancellationToken,
) -> Option<CheckOutcome> {
    if let Some(QuickResult::Check(outcome)) = ctx.services.scripts.quick(script, &context, &log, Quick::Check) {
        return Some(outcome);
    }
    let runner = ctx.services.scripts.clone();
    let script = script.clone();
    let evaluation = tokio::task::spawn_blocking(move || runner.check(&script, &context, &log));
    tokio::select! {
        joined = evaluation => Some(joined.unwrap_or_else(|error| CheckOutcome::Error(format!("the check stopped: {error}")))),
        () = cancel.cancelled() => None,
    }
}

/// Why a `script` step or hook did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptStepError {
    /// It failed (`fail(...)`, a runtime error, a limit): why, placed in the plan.
    Failed(String),
    /// The run cancelled it before it ended.
    Cancelled,
}

/// Runs a `script` step or hook.
pub async fn step(
    ctx: &Arc<RunContext>,
    script: &Script,
    context: ScriptVariables,
    log: LogSink,
    cancel: &CancellationToken,
) -> Result<(), ScriptStepError> {
    if let Some(QuickResult::Step(result)) = ctx.services.scripts.quick(script, &context, &log, Quick::Step) {
        return result.map_err(ScriptStepError::Failed);
    }
    let runner = ctx.services.scripts.clone();
    let script = script.clone();
    let evaluation = tokio::task::spawn_blocking(move || runner.run_step(&script, &context, &log));
    tokio::select! {
        joined = evaluation => match joined {
            Ok(result) => result.map_err(ScriptStepError::Failed),
            Err(error) => Err(ScriptStepError::Failed(format!("the script stopped: {error}"))),
        },
        () = cancel.cancelled() => Err(ScriptStepError::Cancelled),
    }
}

/// Evaluates a `when` condition.
pub async fn condition(
    ctx: &Arc<RunContext>,
    script: &Script,
    context: ScriptVariables,
    log: LogSink,
) -> Result<bool, String> {
    if let Some(QuickResult::Condition(result)) = ctx.services.scripts.quick(script, &context, &log, Quick::Condition) {
        return result;
    }
    let runner = ctx.services.scripts.clone();
    let script = script.clone();
    tokio::task::spawn_blocking(move || runner.condition(&script, &context, &log))
        .await
        .unwrap_or_else(|error| Err(format!("the condition stopped: {error}")))
}
