//! `deploy run FILE`: check the plan, resolve its inputs, walk the graph.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::load::{load_graph, load_inputs};
use super::ExitCode;
use crate::engine::context::DEFAULT_KILL_GRACE;
use crate::engine::view::{JsonView, LiveView, PlainView};
use crate::engine::{Approvals, EventSink, Parts, RunOptions, DEFAULT_MAX_PARALLEL};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file.
    file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable); checked against the param's type.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// How many commands (a stage on one host) run at once [default: the
    /// pipeline's `max_parallel`, else 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: Option<u32>,
    /// Print newline-delimited JSON events (docs/events.md) instead of the terminal view.
    #[arg(long)]
    json: bool,
    /// Show what would run, run nothing (the same as `deploy plan`).
    #[arg(long)]
    dry_run: bool,
    /// Approve every `approve` gate (and protected environment).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Approve the gate (or protected stage) NAME (repeatable).
    #[arg(long = "approve", value_name = "NAME")]
    approve: Vec<String>,
    /// Who approves (recorded; must be in a gate's `by` list when it has one).
    #[arg(long = "as", value_name = "NAME", env = "DEPLOY_USER")]
    approver: Option<String>,
    /// The version deployed before this run (`${previous_version}`; what a
    /// blue/green rollback switches back to).
    #[arg(long, value_name = "VERSION")]
    previous_version: Option<String>,
}

pub fn run(args: RunArgs) -> ExitCode {
    let Some(graph) = load_graph(&args.file, &args.sets) else {
        return ExitCode::Usage;
    };
    let Some(inputs) = load_inputs(&graph, &args.sets) else {
        return ExitCode::Usage;
    };
    if args.dry_run {
        let preview = super::plan::preview(&graph, &inputs, "");
        print!("{}", super::plan::render(&preview));
        return ExitCode::Success;
    }
    let approver = args
        .approver
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let kill_grace = std::env::var("DEPLOY_KILL_GRACE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(DEFAULT_KILL_GRACE, Duration::from_millis);
    let options = RunOptions {
        max_parallel: args
            .max_parallel
            .map(|n| n as usize)
            .or(graph.plan.pipeline.max_parallel)
            .unwrap_or(DEFAULT_MAX_PARALLEL)
            .max(1),
        approvals: Approvals {
            all: args.yes,
            gates: args.approve,
            approver,
            interactive: std::io::stdin().is_terminal(),
        },
        previous_version: args.previous_version,
        kill_grace,
        ..RunOptions::default()
    };
    let sink: Box<dyn EventSink> = if args.json {
        Box::new(JsonView::new(std::io::stdout()))
    } else if std::io::stdout().is_terminal() {
        Box::new(LiveView::new())
    } else {
        Box::new(PlainView::new(std::io::stdout()))
    };
    // Scripts run on the blocking pool's threads; with this much stack they
    // run right there instead of on a helper thread of the sandbox.
    let stack = crate::script::required_stack_size(&graph.plan.pipeline.script_limits);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(stack).build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::Usage;
        }
    };
    let report = runtime.block_on(async move {
        let interrupts = listen_for_signals();
        let parts = Parts::local(&graph, &options);
        crate::engine::run(graph, inputs, options, parts, vec![sink], interrupts).await
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    report.status.exit_code()
}

/// One message per SIGINT or SIGTERM delivered to deploy.
fn listen_for_signals() -> tokio::sync::mpsc::UnboundedReceiver<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        eprintln!("warning: cannot listen for Ctrl-C; it will stop deploy without rolling back");
        return receiver;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            if sender.send(()).is_err() {
                break;
            }
        }
    });
    receiver
}
