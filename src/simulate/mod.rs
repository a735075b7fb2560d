//! `deploy simulate`: the real engine — scheduler, strategies, batches,
//! retries, `max_failures`, gate policies, approvals, the rollback path —
//! walking the real execution graph, with simulated parts: a transport that
//! starts no process ([`transport`]), a script runner that runs no script
//! ([`script_runner`]), an approval prompt that answers from the command line
//! ([`approvals`]), and a paused tokio clock, so that every wait, timeout,
//! bake and poll passes in virtual time and a run with ten-minute waits
//! ends at once. What to break comes from [`injection`], how long steps
//! take from [`durations`]; [`outcome`] says how it ended and [`explore`]
//! tries every single failure.

pub mod approvals;
pub mod durations;
pub mod explore;
pub mod injection;
pub mod outcome;
pub mod script_runner;
pub mod transport;

use crate::session::error::{SessionError, SessionResult};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::script_runner::SandboxRunner;
use crate::engine::{Approvals, EventSink, Parts, RunOptions, RunReport};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::record::bus::EventLog;
use durations::Durations;
use injection::Injections;

/// A simulated run that has not ended after this much virtual time is
/// stopped (as by a second Ctrl-C) and reported as interrupted.
pub const HORIZON: Duration = Duration::from_secs(366 * 24 * 3600);

/// One simulated run: what to inject and how the run is asked to behave.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub injections: Injections,
    pub approvals: Approvals,
    pub max_parallel: usize,
    pub previous_version: String,
    /// `--env` / `--limit` (already applied to the graph; recorded in `run_started`).
    pub selection: crate::check::selection::Selection,
}

/// A simulated run's report and every event it emitted.
pub struct Simulation {
    pub report: RunReport,
    pub events: Vec<crate::record::event::Event>,
}

/// Runs `graph` once in simulation; `sinks` see the events as a real run's
/// views would (each marked `simulated`).
pub fn simulate(
    graph: &ExecutionGraph,
    inputs: &ResolvedInputs,
    scenario: &Scenario,
    durations: &Arc<Durations>,
    mut sinks: Vec<Box<dyn EventSink>>,
) -> SessionResult<Simulation> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|error| SessionError::runtime("cannot start the runtime").caused_by(error))?;
    let log = EventLog::default();
    sinks.push(Box::new(log.clone()));
    let injections = Arc::new(scenario.injections.clone());
    let plan = Arc::new(graph.plan.clone());
    let transport: Arc<dyn crate::engine::transport::Transport> =
        Arc::new(transport::SimulatedTransport { injections: injections.clone(), durations: durations.clone() });
    let parts = Parts {
        transport: transport.clone(),
        local: transport.clone(),
        // Every environment, SSH ones included, runs on the simulated transport.
        remotes: vec![Some(transport); graph.plan.environments.len()],
        scripts: Arc::new(script_runner::SimulatedScripts {
            plan,
            injections: injections.clone(),
            sandbox: SandboxRunner::for_plan(&graph.plan),
            evaluations: Default::default(),
        }),
        prompt: Some(Arc::new(approvals::SimulatedPrompt { injections: injections.clone() })),
        warnings: crate::record::warning::Warnings::default(),
    };
    let approvals = simulated_approvals(&scenario.approvals, &scenario.injections, &graph.plan);
    let options = RunOptions {
        run_id: format!("simulated-{}", crate::engine::context::new_run_id()),
        max_parallel: scenario.max_parallel.max(1),
        previous_version: Some(scenario.previous_version.clone()),
        approvals,
        simulated: true,
        selection: scenario.selection.clone(),
        ..RunOptions::default()
    };
    let interrupt_after = scenario.injections.interrupt_after;
    let graph = graph.clone();
    let inputs = inputs.clone();
    let report = runtime.block_on(async move {
        let (sender, interrupts) = tokio::sync::mpsc::unbounded_channel();
        let clock = tokio::spawn(async move {
            let mut waited = Duration::ZERO;
            if let Some(after) = interrupt_after.filter(|after| *after < HORIZON) {
                tokio::time::sleep(after).await;
                let _ = sender.send(());
                waited = after;
            }
            tokio::time::sleep(HORIZON.saturating_sub(waited)).await;
            let _ = sender.send(());
            let _ = sender.send(());
        });
        let report = crate::engine::run(graph, inputs, options, parts, sinks, interrupts).await;
        clock.abort();
        report
    });
    Ok(Simulation { report, events: log.snapshot() })
}

/// Who answers in a simulation: `--refuse NAME` is a person answering no,
/// and wins over `--yes` and `--approve NAME` for that approval (the CI use
/// `--explore --yes` refuses each approval in turn); `--yes` still answers
/// every other one. Approvals recorded in the state are not the rehearsal's.
fn simulated_approvals(given: &Approvals, injections: &Injections, plan: &crate::check::model::Plan) -> Approvals {
    let mut approvals = given.clone();
    approvals.recorded = Vec::new();
    approvals.interactive = !injections.refuse.is_empty();
    if approvals.interactive {
        if approvals.all {
            approvals.all = false;
            approvals.gates = plan.nodes.iter().map(|node| node.name.clone()).collect();
        }
        approvals.gates.retain(|name| !injections.refuses(name));
    }
    approvals
}
