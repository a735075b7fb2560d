//! The command line: one file per subcommand, all thin over the pipeline.

mod approve;
mod check;
mod completions;
mod diff;
mod doc;
mod exec;
mod explain;
mod failure;
mod flags;
mod fmt;
mod graph;
mod history;
mod load;
mod lock;
mod logs;
mod lsp;
mod modules;
mod modules_publish;
mod modules_why;
mod output;
mod ping;
mod plan;
mod plan_diff;
mod plan_hosts;
mod remote_modules;
mod report;
mod resume;
mod rollback;
mod run;
mod serve;
mod simulate;
mod simulate_report;
mod status;
mod verify;
mod watch;

use clap::{Parser, Subcommand};

pub use crate::exit_code::ExitCode;

/// A language and a runner for software deployments.
#[derive(Debug, Parser)]
#[command(name = "deploy", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Never use the network for remote modules: the cache must hold what deploy.lock names (also DEPLOY_OFFLINE=1).
    #[arg(long, global = true)]
    offline: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check plans for errors and warnings without running anything.
    Check(check::CheckArgs),
    /// Print the long explanation of a diagnostic code (e.g. E0102).
    Explain(explain::ExplainArgs),
    /// Print the execution graph as DOT or Mermaid.
    Graph(graph::GraphArgs),
    /// Preview a run: waves, resolved commands, hosts, batches, rollback coverage.
    Plan(plan::PlanArgs),
    /// Connect to every host of the plan's SSH environments: reachability, round trip, host key.
    Ping(ping::PingArgs),
    /// Run one command on every host of an environment, in parallel (not a deployment; journaled).
    Exec(exec::ExecArgs),
    /// Probe every host for the version it runs and compare with the state: in sync, drift, unreachable.
    Verify(verify::VerifyArgs),
    /// What changed between two plan files, in the language's terms.
    Diff(diff::DiffArgs),
    /// Run a plan: walk the execution graph, roll back on failure.
    Run(run::RunArgs),
    /// Rehearse a run with injected failures: the real engine, nothing runs, time is virtual; the state is only read.
    Simulate(simulate::SimulateArgs),
    /// Current versions per environment, running/paused/crashed runs, locks.
    Status(status::StatusArgs),
    /// One row per deployment: id, version, status, who, when, duration.
    History(history::HistoryArgs),
    /// Replay the journal of a run (default the latest).
    Logs(logs::LogsArgs),
    /// Approve a gate of a paused run (then `deploy resume`).
    Approve(approve::ApproveArgs),
    /// Continue a paused or crashed run from its journal.
    Resume(resume::ResumeArgs),
    /// Undo the last deployment of an environment.
    Rollback(rollback::RollbackArgs),
    /// Deploy every new commit of a git branch; optionally serve the API and push webhooks (docs/continuous.md).
    Watch(watch::WatchArgs),
    /// Serve the HTTP API (status, runs, events, approvals, rollbacks) over the state (docs/api.md).
    Serve(serve::ServeArgs),
    /// Show or release deployment locks.
    Lock(lock::LockArgs),
    /// List the modules a plan can import (stdlib, DEPLOY_PATH, its imports); `modules pin FILE` pins them.
    Modules(modules::ModulesArgs),
    /// Print a module's or template's documentation (e.g. std/http.healthy).
    Doc(doc::DocArgs),
    /// Rewrite plans in the canonical layout (docs/fmt.md).
    Fmt(fmt::FmtArgs),
    /// Run the language server on stdin/stdout (for editors).
    Lsp(lsp::LspArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
}

/// Runs the program and returns its exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version print to stdout and succeed; usage errors exit 1.
            let _ = error.print();
            return if error.use_stderr() { ExitCode::Usage.code() } else { ExitCode::Success.code() };
        }
    };
    quiet_on_closed_stdout(&cli.command);
    if cli.offline {
        // Read by the remote module cache wherever a plan is loaded; set
        // before any thread starts.
        std::env::set_var("DEPLOY_OFFLINE", "1");
    }
    let code = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Ping(args) => ping::run(args),
        Command::Exec(args) => exec::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Run(args) => run::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Status(args) => status::run(args),
        Command::History(args) => history::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Approve(args) => approve::run(args),
        Command::Resume(args) => resume::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Lock(args) => lock::run(args),
        Command::Modules(args) => modules::run(args),
        Command::Doc(args) => doc::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Completions(args) => completions::run(args),
    };
    code.code()
}

/// `deploy history | head`: a closed stdout ends a command quietly, as it
/// ends `cat` — by SIGPIPE, with no message. Commands that run a deployment
/// or serve (`run`, `resume`, `rollback`, `watch`, `serve`, `lsp`) keep
/// going instead: their views drop what cannot be written, and a run is
/// never cut short by its reader going away. Any print that still finds
/// the pipe closed ends the process the same quiet way, not with a panic.
fn quiet_on_closed_stdout(command: &Command) {
    let keeps_going = matches!(
        command,
        Command::Run(_)
            | Command::Resume(_)
            | Command::Rollback(_)
            | Command::Watch(_)
            | Command::Serve(_)
            | Command::Lsp(_)
    );
    if !keeps_going {
        // SAFETY: restores the default disposition of SIGPIPE (Rust's runtime
        // ignores it) before any thread is started.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if message
            .is_some_and(|message| message.starts_with("failed printing to stdout") && message.contains("os error 32"))
        {
            // SAFETY: default SIGPIPE, then raise it: the process ends as a
            // Unix filter does when its reader has gone.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
            std::process::exit(141);
        }
        default(info);
    }));
}

/// The clap command, for completions and docs.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
