//! `deploy simulate FILE`: rehearse a run with injected failures. The real
//! engine walks the real graph over simulated parts (src/simulate): nothing
//! starts, nothing is written, time is virtual. Prints the run's event
//! stream like `deploy run`, then what the run would end with; `--explore`
//! prints one row per single failure instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::flags::parse_duration;
use super::load::{load_inputs_reading, load_selected_graph};
use super::report;
use super::ExitCode;
use crate::graph::ExecutionGraph;
use crate::simulate::durations::Durations;
use crate::simulate::explore::{explore, Explored};
use crate::simulate::injection::{Injections, RandomFailures, StepSelector};
use crate::simulate::outcome::{conclude, Outcome};
use crate::simulate::{simulate, Scenario};
use crate::state::StateLocation;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SimulateFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The plan file.
    file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    #[command(flatten)]
    selection: super::flags::SelectionArgs,
    /// Make a step fail: STAGE[@HOST][#STEP] (repeatable; every attempt fails).
    #[arg(long = "fail", value_name = "STAGE[@HOST][#STEP]", value_parser = StepSelector::parse)]
    fail: Vec<StepSelector>,
    /// Make a rollback step fail: STAGE[@HOST][#STEP] (repeatable).
    #[arg(long = "fail-rollback", value_name = "STAGE[@HOST][#STEP]", value_parser = StepSelector::parse)]
    fail_rollback: Vec<StepSelector>,
    /// What a gate's check returns: GATE[@N]=pass|fail|inconclusive|no-data,
    /// at every evaluation or only the N-th (a canary's analysis: its N-th step) (repeatable).
    #[arg(long = "gate", value_name = "GATE[@N]=OUTCOME", value_parser = Injections::parse_gate)]
    gates: Vec<crate::simulate::injection::GateInjection>,
    /// Make a stage's first step hang until the stage's timeout: STAGE[@HOST] (repeatable).
    #[arg(long = "timeout", value_name = "STAGE[@HOST]", value_parser = StepSelector::parse)]
    timeouts: Vec<StepSelector>,
    /// Interrupt the run (as one Ctrl-C) after this much simulated time.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    interrupt_after: Option<Duration>,
    /// Fail each step with probability P (0..1), reproducibly with --seed.
    #[arg(long, value_name = "P")]
    random_failures: Option<f64>,
    /// The seed of --random-failures.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Run every single-failure injection in turn and print how each ends.
    #[arg(long)]
    explore: bool,
    #[command(flatten)]
    approval: super::flags::ApprovalArgs,
    /// Refuse the approval of the gate (or protected stage) NAME (repeatable).
    #[arg(long = "refuse", value_name = "NAME")]
    refuse: Vec<String>,
    /// `${previous_version}` [default: from the state, read only].
    #[arg(long, value_name = "VERSION")]
    previous_version: Option<String>,
    // `--state` is only read (durations and versions), never written;
    // `--json` ends the events with the summary as a last JSON line.
    #[command(flatten)]
    store: super::flags::PlanStateArgs,
    /// Output format (`json` is the same as --json).
    #[arg(long, value_enum, default_value_t)]
    format: SimulateFormat,
}

pub fn run(args: SimulateArgs) -> ExitCode {
    let json = args.store.json || args.format == SimulateFormat::Json;
    let selection = args.selection.selection();
    let graph = match load_selected_graph(&args.file, &args.sets, &selection) {
        Ok(graph) => graph,
        Err(error) => return report::error_as(error, json),
    };
    let inputs = match load_inputs_reading(&graph, &args.sets, true) {
        Ok(inputs) => inputs,
        Err(error) => return report::error_as(error, json),
    };
    let injections = Injections {
        fail: args.fail,
        fail_rollback: args.fail_rollback,
        gates: args.gates,
        timeouts: args.timeouts,
        interrupt_after: args.interrupt_after,
        refuse: args.refuse,
        random: args.random_failures.map(|probability| RandomFailures { probability, seed: args.seed }),
    };
    if let Err(error) = injections.validate(&graph.plan) {
        return report::error_as(error, json);
    }
    let location = args.store.location(&args.file);
    let (history, previous) = read_state(&location, &graph);
    let durations = Arc::new(Durations::new(&graph.plan, &history));
    let scenario = Scenario {
        injections,
        approvals: args.approval.approvals(false),
        max_parallel: args.approval.max_parallel(&graph.plan),
        previous_version: args.previous_version.unwrap_or(previous),
        selection,
    };
    if args.explore {
        return explore_all(&graph, &inputs, &scenario, &durations, json);
    }
    let view = super::report::view(json);
    let simulation = match simulate(&graph, &inputs, &scenario, &durations, vec![view]) {
        Ok(simulation) => simulation,
        Err(error) => return report::error_as(error, json),
    };
    let conclusion = conclude(&graph.plan, &simulation.report, &simulation.events);
    if json {
        let line = serde_json::json!({
            "type": "simulation_summary",
            "simulated": true,
            "injections": &scenario.injections,
            "conclusion": &conclusion,
            "durations": &durations.listed,
        });
        super::output::print_text(&format!("{line}\n"));
    } else {
        super::output::print_text(&super::simulate_report::render(&conclusion, &durations));
    }
    exit_code(conclusion.exit_code)
}

/// Durations and the previous version, from the state if there is one;
/// a state that cannot be read only loses those (with a warning).
fn read_state(location: &StateLocation, graph: &ExecutionGraph) -> (Vec<crate::state::history::UnitDuration>, String) {
    let pipeline = &graph.plan.pipeline.name;
    let history = crate::state::history::unit_durations(location, pipeline).unwrap_or_else(|error| {
        eprintln!("deploy: warning: no durations from the state ({error}); using timeouts and defaults");
        Vec::new()
    });
    let final_environment = crate::session::liveness::final_environment(graph);
    let previous = crate::state::history::current_versions(location, pipeline)
        .unwrap_or_default()
        .into_iter()
        .find(|(environment, _)| *environment == final_environment)
        .map(|(_, version)| version)
        .unwrap_or_default();
    (history, previous)
}

fn explore_all(
    graph: &ExecutionGraph,
    inputs: &crate::inputs::ResolvedInputs,
    scenario: &Scenario,
    durations: &Arc<Durations>,
    json: bool,
) -> ExitCode {
    let rows = match explore(graph, inputs, scenario, durations) {
        Ok(rows) => rows,
        Err(error) => return report::error_as(error, json),
    };
    if json {
        let findings = rows.iter().filter(|row| row.finding).count();
        let document = serde_json::json!({
            "type": "exploration",
            "simulated": true,
            "pipeline": graph.plan.pipeline.name,
            "scenarios": rows,
            "findings": findings,
            "durations": &durations.listed,
        });
        super::output::print_text(&format!("{}\n", serde_json::to_string_pretty(&document).unwrap_or_default()));
    } else {
        super::output::print_text(&super::simulate_report::render_table(&rows));
    }
    explore_exit(&rows)
}

/// 4 when a single failure makes the rollback fail, else 2 when one leaves
/// a host on a mixed version, else 0.
fn explore_exit(rows: &[Explored]) -> ExitCode {
    if rows.iter().any(|row| row.outcome == Outcome::RollbackFailed) {
        ExitCode::RollbackFailed
    } else if rows.iter().any(|row| row.finding) {
        ExitCode::Failed
    } else {
        ExitCode::Success
    }
}

fn exit_code(code: i32) -> ExitCode {
    match code {
        0 => ExitCode::Success,
        2 => ExitCode::Failed,
        3 => ExitCode::Paused,
        4 => ExitCode::RollbackFailed,
        130 => ExitCode::Interrupted,
        _ => ExitCode::Usage,
    }
}
