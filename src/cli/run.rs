//! `deploy run FILE`: check the plan, resolve its inputs, walk the graph.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::load::{load_graph, load_inputs};
use super::ExitCode;
use crate::check::inputs::ResolvedInputs;
use crate::check::model::{RollbackSpec, Step};
use crate::engine::context::DEFAULT_KILL_GRACE;
use crate::engine::interpolate::{Quoting, Scope};
use crate::engine::view::{JsonView, LiveView, PlainView};
use crate::engine::{Approvals, EventSink, Parts, RunOptions, DEFAULT_MAX_PARALLEL};
use crate::graph::ExecutionGraph;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The plan file.
    file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable); checked against the param's type.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// How many commands (a stage on one host) run at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PARALLEL as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: u32,
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
}

pub fn run(args: RunArgs) -> ExitCode {
    let Some(graph) = load_graph(&args.file) else {
        return ExitCode::Usage;
    };
    let Some(inputs) = load_inputs(&graph, &args.sets) else {
        return ExitCode::Usage;
    };
    let unsupported = crate::engine::executor::unsupported(&graph.plan);
    if !unsupported.is_empty() {
        for problem in unsupported {
            eprintln!("error: {problem}");
        }
        return ExitCode::Usage;
    }
    if args.dry_run {
        print!("{}", preview(&graph, &inputs));
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
        max_parallel: args.max_parallel as usize,
        approvals: Approvals { all: args.yes, gates: args.approve, approver },
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
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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

/// What `--dry-run` prints: the waves, each node's resolved commands per
/// host (secrets as `***`), and the rollback path.
pub fn preview(graph: &ExecutionGraph, inputs: &ResolvedInputs) -> String {
    let plan = &graph.plan;
    let mut out = format!("pipeline \"{}\" version {} (dry run: nothing runs)\n", plan.pipeline.name, inputs.version());
    for (index, wave) in graph.waves.iter().enumerate() {
        out.push_str(&format!("\nwave {}:\n", index + 1));
        for id in wave {
            let node = plan.node(*id);
            let environment = node.target.and_then(|env| plan.environments.get(env.0));
            let mut head = format!("  {} {}", node.kind.word(), node.name);
            if let Some(environment) = environment {
                head.push_str(&format!(
                    " -> {} [{}] {}",
                    environment.name,
                    environment.hosts.join(", "),
                    node.strategy.name()
                ));
            }
            if let Some(when) = &node.when {
                head.push_str(&format!(" when `{}`", when.source.trim()));
            }
            out.push_str(&head);
            out.push('\n');
            let hosts: Vec<Option<&str>> = match environment {
                Some(environment) => environment.hosts.iter().map(|h| Some(h.as_str())).collect(),
                None => vec![None],
            };
            for host in hosts {
                let scope = Scope {
                    plan,
                    inputs,
                    node: Some(node),
                    environment,
                    host,
                    previous_version: "",
                    attempt: 1,
                    mask_secrets: true,
                };
                for step in &node.steps {
                    let text = match step {
                        Step::Run(template) => scope
                            .render(template, Quoting::Shell)
                            .unwrap_or_else(|problem| format!("<cannot render: {problem}>")),
                        Step::Script(_) => "<script>".to_string(),
                    };
                    match host {
                        Some(host) => out.push_str(&format!("    {host}: {text}\n")),
                        None => out.push_str(&format!("    {text}\n")),
                    }
                }
            }
        }
    }
    let rollback: Vec<String> = graph
        .order
        .iter()
        .rev()
        .map(|id| plan.node(*id))
        .filter(|node| node.kind == crate::check::model::NodeKind::Stage)
        .map(|node| match &node.rollback {
            RollbackSpec::Steps(_) => node.name.clone(),
            RollbackSpec::Irreversible(_) => format!("{} (irreversible)", node.name),
            RollbackSpec::Missing => format!("{} (no rollback)", node.name),
        })
        .collect();
    out.push_str(&format!("\nrollback path (reverse completion order): {}\n", rollback.join(", ")));
    out
}
