//! The engine: walks the execution graph.
//!
//! [`executor`] schedules nodes; [`rollout`] fans a stage out over its hosts
//! by strategy, [`hosts`] runs one host's attempts; [`steps`] runs
//! `run`/`script` steps through a [`transport::Transport`] and the sandbox
//! ([`script_runner`], [`evaluate`]); [`gates`] decides gates ([`approval`]),
//! [`monitor`] watches stages, [`hooks`] runs lifecycle hooks; [`rollback`]
//! undoes what ran. Everything is an [`event::Event`] on the [`bus::Bus`],
//! which masks secrets ([`redact`]) once before the views ([`view`]) and the
//! journal see it.

pub(crate) mod approval;
mod approval_prompt;
pub(crate) mod approved;
pub(crate) mod context;
pub(crate) mod evaluate;
pub(crate) mod executor;
pub(crate) mod gates;
pub(crate) mod hooks;
pub(crate) mod hosts;
pub(crate) mod interpolate;
pub(crate) mod monitor;
pub(crate) mod node;
mod node_result;
pub(crate) mod outcome;
pub(crate) mod process;
pub(crate) mod process_watch;
pub(crate) mod replay;
pub(crate) mod rollout;
mod run_report;
pub mod script_runner;
pub(crate) mod steps;
pub(crate) mod survivors;
pub(crate) mod template_render;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod traffic;
mod traffic_undo;
pub(crate) mod transport;
pub(crate) mod undo;
pub(crate) mod undo_past_run;
pub(crate) mod view;

use std::sync::Arc;
use tokio::time::Instant;

use tokio::sync::{mpsc, Semaphore};

use crate::check::model::TransportKind;
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::record::bus::EventClock;
pub use crate::record::bus::{Bus, EventSink};
use crate::record::redact::Redactor;
use approval::ApprovalPrompt;
pub use context::{Approvals, Resumed, RunOptions, DEFAULT_MAX_PARALLEL};
use context::{CompletionLog, RunContext};
pub use executor::RunReport;
use script_runner::{SandboxRunner, ScriptRunner};
use transport::{LocalTransport, SshTransport, Transport};

/// Where the steps run, how scripts are evaluated and who is asked for
/// approvals; [`Parts::local`] for the defaults.
pub struct Parts {
    /// Stages with a `target`.
    pub transport: Arc<dyn Transport>,
    /// Stages without a target.
    pub local: Arc<dyn Transport>,
    /// Each environment's own transport (`transport = ssh`), by environment id.
    pub remotes: Vec<Option<Arc<dyn Transport>>>,
    pub scripts: Arc<dyn ScriptRunner>,
    /// Asks a person when stdin is a terminal (`options.approvals.interactive`).
    pub prompt: Option<Arc<dyn ApprovalPrompt>>,
    /// Warnings from outside the engine (heartbeat, journal, signals) into its event stream.
    pub warnings: crate::record::warning::Warnings,
}

impl Parts {
    pub fn local(graph: &ExecutionGraph, options: &RunOptions) -> Parts {
        let local: Arc<dyn Transport> = Arc::new(LocalTransport::new(options.kill_grace));
        let scripts = SandboxRunner::for_plan(&graph.plan);
        Parts {
            transport: local.clone(),
            local,
            remotes: remotes(graph, options),
            scripts: Arc::new(scripts),
            prompt: Some(Arc::new(approval::TerminalPrompt)),
            warnings: crate::record::warning::Warnings::default(),
        }
    }
}

/// An [`SshTransport`] for each environment with `transport = ssh`.
pub fn remotes(graph: &ExecutionGraph, options: &RunOptions) -> Vec<Option<Arc<dyn Transport>>> {
    graph
        .plan
        .environments
        .iter()
        .map(|environment| match environment.transport {
            TransportKind::Ssh => {
                let hosts = transport::SshHost::of(environment);
                let ssh = SshTransport::new(hosts, options.max_parallel, options.kill_grace);
                Some(Arc::new(ssh) as Arc<dyn Transport>)
            }
            TransportKind::Local => None,
        })
        .collect()
}

/// Ends every connection the remote transports keep.
pub async fn close_remotes(remotes: &[Option<Arc<dyn Transport>>]) {
    for remote in remotes.iter().flatten() {
        remote.close().await;
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
    let redactor = Redactor::new(inputs.secret_values());
    let clock = if options.simulated { EventClock::simulated() } else { EventClock::Wall };
    let (bus, worker) = Bus::start_with_clock(redactor, sinks, clock);
    let warnings = parts.warnings.clone();
    warnings.attach(&bus);
    warn_unknown_approvals(&graph, &options, &bus);
    let completions = CompletionLog::resumed(&graph, &options.resumed);
    let remotes = parts.remotes.clone();
    let ctx = run_context(graph, inputs, options, parts, bus.clone(), completions);
    let report = executor::execute(ctx, interrupts).await;
    close_remotes(&remotes).await;
    warnings.detach();
    bus.close();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    report
}

/// The inputs with `version` set to the previous version (what a blue/green
/// switch back and `deploy rollback` bind).
/// Everything a run (or an undo) shares: the graph, its inputs, the parts
/// that do the work, the bus, and what completed so far.
fn run_context(
    graph: ExecutionGraph,
    inputs: ResolvedInputs,
    options: RunOptions,
    parts: Parts,
    bus: Bus,
    completions: CompletionLog,
) -> Arc<RunContext> {
    let version = inputs.version();
    let previous_inputs = previous_inputs(&inputs, options.previous_version.as_deref().unwrap_or(""));
    let services = context::RunServices {
        transport: parts.transport,
        local: parts.local,
        remotes: parts.remotes,
        scripts: parts.scripts,
        prompt: parts.prompt,
        prompt_lock: tokio::sync::Mutex::new(()),
        permits: Arc::new(Semaphore::new(options.max_parallel.max(1))),
    };
    let run = context::RunPlan {
        environments: context::inherited_environments(&graph),
        host_tables: graph.plan.environments.iter().map(|_| std::sync::OnceLock::new()).collect(),
        pipeline_node: hooks::pipeline_node(&graph.plan),
        graph,
        inputs,
        previous_inputs,
        options,
        version,
    };
    let log = context::RunLog { bus, completions, started: Instant::now(), warnings: parts.warnings };
    Arc::new(RunContext { run, services, log })
}

pub fn previous_inputs(inputs: &ResolvedInputs, previous_version: &str) -> ResolvedInputs {
    let mut previous = inputs.clone();
    match previous.params.iter_mut().find(|(name, _)| name == "version") {
        Some((_, value)) => *value = crate::check::model::Value::String(previous_version.to_string()),
        None => previous
            .params
            .push(("version".to_string(), crate::check::model::Value::String(previous_version.to_string()))),
    }
    previous
}

/// `--approve NAME` that names no gate with `approve` and no stage of a
/// protected environment is most likely a typo: say so.
fn warn_unknown_approvals(graph: &ExecutionGraph, options: &RunOptions, bus: &Bus) {
    let plan = &graph.plan;
    for name in &options.approvals.gates {
        let known = plan.node_named(name).is_some_and(|node| {
            node.gate.as_ref().is_some_and(|gate| gate.approve.is_some())
                || node.target.is_some_and(|env| plan.environment(env).protect.approval)
        });
        if !known {
            bus.emit(crate::record::event::EventData::Warning {
                kind: crate::record::warning::WarningKind::Run,
                message: format!("--approve {name}: no gate asks for an approval and no protected stage has that name"),
            });
        }
    }
}
