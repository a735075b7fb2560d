//! The engine: walks the execution graph.
//!
//! [`executor`] schedules nodes; [`hosts`] fans a stage out over its hosts;
//! [`steps`] runs `run`/`script` steps through a [`transport::Transport`];
//! [`gates`] decides gates; [`rollback`] undoes what ran. Everything is an
//! [`event::Event`] on the [`bus::Bus`], which masks secrets ([`redact`])
//! once before the views ([`view`]) and the journal see it.

pub mod bus;
pub mod context;
pub mod event;
pub mod executor;
pub mod gates;
pub mod hosts;
pub mod interpolate;
pub mod process;
pub mod redact;
pub mod rollback;
pub mod run_status;
pub mod scripts;
pub mod steps;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
pub mod transport;
pub mod undo;
pub mod view;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};

use crate::check::inputs::ResolvedInputs;
use crate::graph::ExecutionGraph;
pub use bus::{Bus, EventSink};
pub use context::{Approvals, Resumed, RunOptions, DEFAULT_MAX_PARALLEL};
use context::{CompletionLog, RunContext};
pub use executor::RunReport;
use redact::Redactor;
use scripts::{RhaiRunner, ScriptRunner};
use transport::{LocalTransport, Transport};

/// Where the steps run and how scripts are evaluated; [`Parts::local`] for
/// this defaults.
pub struct Parts {
    /// Stages with a `target`.
    pub transport: Arc<dyn Transport>,
    /// Stages without a target.
    pub local: Arc<dyn Transport>,
    pub scripts: Arc<dyn ScriptRunner>,
}

impl Parts {
    pub fn local(graph: &ExecutionGraph, options: &RunOptions) -> Parts {
        let local: Arc<dyn Transport> = Arc::new(LocalTransport::new(options.kill_grace));
        Parts { transport: local.clone(), local, scripts: Arc::new(RhaiRunner::new(graph.plan.pipeline.script_limits)) }
    }
}

/// Runs a checked plan to its end. Every event goes to `sinks` (after
/// redaction); `interrupts` carries one message per SIGINT/SIGTERM.
pub async fn run(
    graph: ExecutionGraph,
    inputs: ResolvedInputs,
    options: RunOptions,
    parts: Parts,
    sinks: Vec<Box<dyn EventSink>>,
    interrupts: mpsc::UnboundedReceiver<()>,
) -> RunReport {
    let redactor = Redactor::new(inputs.secrets.iter().map(|(_, value)| value.as_str()));
    let (bus, worker) = Bus::start(redactor, sinks);
    let version = inputs.version();
    let previous_version = options.previous_version.clone().unwrap_or_default();
    let completions = CompletionLog::resumed(&graph, &options.resumed);
    let ctx = Arc::new(RunContext {
        permits: Arc::new(Semaphore::new(options.max_parallel.max(1))),
        graph,
        inputs,
        options,
        bus: bus.clone(),
        transport: parts.transport,
        local: parts.local,
        scripts: parts.scripts,
        completions,
        version,
        previous_version,
        started: Instant::now(),
    });
    let report = executor::execute(ctx, interrupts).await;
    bus.close();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    report
}
