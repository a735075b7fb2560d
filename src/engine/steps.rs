//! Running a list of steps (`run` and `script`) on one host, once: the
//! body of an attempt, a rollback block or a hook.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::context::RunContext;
use super::event::{EventData, Stream};
use super::interpolate::Quoting;
use super::scripts::ScriptLogFn;
use super::transport::{CommandSpec, OutputSink};
use crate::check::model::{NodeDef, Step};

/// Why a list of steps did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    pub message: String,
    pub exit_code: Option<i32>,
    /// Stopped by the cancel token rather than failing on its own.
    pub cancelled: bool,
}

impl StepFailure {
    fn failed(message: String) -> StepFailure {
        StepFailure { message, exit_code: None, cancelled: false }
    }

    fn cancelled() -> StepFailure {
        StepFailure { message: "cancelled".to_string(), exit_code: None, cancelled: true }
    }
}

/// Where `run` steps execute: the plan file's directory.
pub fn work_dir(ctx: &RunContext) -> PathBuf {
    let base = &ctx.plan().base_dir;
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base.clone()
    }
}

/// Where one unit's lines go: `step_output` events.
pub fn output_sink(ctx: &RunContext, node: &str, host: Option<&str>, rollback: bool) -> OutputSink {
    let bus = ctx.bus.clone();
    let node = node.to_string();
    let host = host.map(str::to_string);
    Arc::new(move |stream, line| {
        bus.emit(EventData::StepOutput { node: node.clone(), host: host.clone(), stream, line, rollback });
    })
}

/// Runs `steps` in order; the first failure stops the list.
pub async fn run_steps(
    ctx: &Arc<RunContext>,
    node: &NodeDef,
    steps: &[Step],
    host: Option<&str>,
    attempt: u32,
    rollback: bool,
    cancel: &CancellationToken,
) -> Result<(), StepFailure> {
    let output = output_sink(ctx, &node.name, host, rollback);
    for (index, step) in steps.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(StepFailure::cancelled());
        }
        let number = index + 1;
        match step {
            Step::Run(template) => {
                let command = ctx
                    .scope(node, host, attempt)
                    .render(template, Quoting::Shell)
                    .map_err(|problem| StepFailure::failed(format!("step {number}: {problem}")))?;
                let spec = CommandSpec {
                    command: command.clone(),
                    cwd: work_dir(ctx),
                    env: ctx.step_env(node, host, attempt, rollback),
                };
                let transport = ctx.transport_for(node);
                let exit = transport
                    .run(host.unwrap_or("local"), spec, output.clone(), cancel.clone())
                    .await
                    .map_err(|error| StepFailure::failed(format!("step {number}: {error}")))?;
                if exit.cancelled {
                    return Err(StepFailure::cancelled());
                }
                if !exit.success() {
                    return Err(StepFailure {
                        message: format!("step {number} `{}` {}", shorten(&command), exit.describe()),
                        exit_code: exit.code,
                        cancelled: false,
                    });
                }
            }
            Step::Script(script) => {
                let vars = ctx.script_vars(node, host, attempt);
                let log_output = output.clone();
                let log: ScriptLogFn = Arc::new(move |line| log_output(Stream::Log, line));
                let runner = ctx.scripts.clone();
                let script = script.clone();
                let evaluation = tokio::task::spawn_blocking(move || runner.run_step(&script, &vars, &log));
                let result = tokio::select! {
                    joined = evaluation => joined.map_err(|error| format!("the script stopped: {error}"))?,
                    () = cancel.cancelled() => return Err(StepFailure::cancelled()),
                };
                result.map_err(|message| StepFailure::failed(format!("step {number} (script): {message}")))?;
            }
        }
    }
    Ok(())
}

impl From<String> for StepFailure {
    fn from(message: String) -> StepFailure {
        StepFailure::failed(message)
    }
}

/// A command as it appears in an error: its first line, at most 80 characters.
fn shorten(command: &str) -> String {
    let first = command.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(80).collect();
    if out.len() < command.len() {
        out.push('…');
    }
    out
}
