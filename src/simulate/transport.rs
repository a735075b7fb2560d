//! The simulated transport: stands in for every `run` step. It starts no
//! process and touches nothing; it says what would run (a `step_output`
//! line), waits the step's simulated time on the virtual clock, and ends
//! as the injections decide: success, exit status 1, or hanging until the
//! stage's timeout cancels it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::durations::Durations;
use super::injection::{Injections, StepFate, StepKey};
use crate::engine::transport::{BoxFuture, CommandSpec, ExitInfo, OutputSink, Transport, TransportError};
use crate::record::event::Stream;

pub struct SimulatedTransport {
    pub injections: Arc<Injections>,
    pub durations: Arc<Durations>,
}

/// The variables the engine gives every step, read back to know which step this is.
fn var<'a>(spec: &'a CommandSpec, name: &str) -> Option<&'a str> {
    spec.env.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

impl Transport for SimulatedTransport {
    fn name(&self) -> &str {
        "simulated"
    }

    /// Copies nothing: an upload takes no simulated time and always succeeds.
    fn upload<'a>(
        &'a self,
        _host: &'a str,
        _upload: crate::engine::transport::UploadSpec,
        _cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async { Ok(()) })
    }

    fn run<'a>(
        &'a self,
        _host: &'a str,
        command: CommandSpec,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<ExitInfo, TransportError>> {
        Box::pin(async move {
            let stage = var(&command, "DEPLOY_STAGE").unwrap_or("");
            let host = var(&command, "DEPLOY_HOST").filter(|host| !host.is_empty());
            let key = StepKey {
                stage,
                host,
                step: var(&command, "DEPLOY_STEP").and_then(|n| n.parse().ok()).unwrap_or(1),
                attempt: var(&command, "DEPLOY_ATTEMPT").and_then(|n| n.parse().ok()).unwrap_or(1),
                rollback: var(&command, "DEPLOY_ROLLBACK").is_some(),
                hook: var(&command, "DEPLOY_HOOK").is_some(),
            };
            output(Stream::Stdout, format!("(simulated) $ {}", command.command));
            let fate = self.injections.fate(&key);
            let duration = self.durations.step(stage);
            let done = match fate {
                StepFate::Hang => wait(Duration::MAX, &cancel).await,
                _ => wait(duration, &cancel).await,
            };
            if !done {
                return Ok(ExitInfo { code: None, signal: None, cancelled: true });
            }
            match fate {
                StepFate::Fail(message) => {
                    output(Stream::Stderr, message);
                    Ok(ExitInfo { code: Some(1), signal: None, cancelled: false })
                }
                _ => Ok(ExitInfo { code: Some(0), signal: None, cancelled: false }),
            }
        })
    }

    fn kill_all(&self) {}
}

/// Waits on the virtual clock; `false` when cancelled first.
async fn wait(duration: Duration, cancel: &CancellationToken) -> bool {
    if duration == Duration::MAX {
        cancel.cancelled().await;
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = cancel.cancelled() => false,
    }
}
