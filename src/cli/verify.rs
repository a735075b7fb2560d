//! `deploy verify FILE [--env E]` — what is really on the hosts: runs each
//! environment's `probe` on every host and compares with the state. Exit 0
//! when every host is in sync, 1 on drift, 2 when a host could not be
//! probed (docs/state.md "Drift").

use std::path::PathBuf;

use super::flags::PlanStateArgs;
use super::load::{load_graph, load_inputs_reading};
use super::{report, ExitCode};
use crate::session::verify::{verify, HostCheck, Verdict, VerifyRequest};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The plan file.
    pub file: PathBuf,
    /// Only this environment's hosts [default: every environment with a `probe`].
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Probes run at once.
    #[arg(long, value_name = "N", default_value_t = crate::engine::DEFAULT_MAX_PARALLEL)]
    pub max_parallel: usize,
    // `--state`, and `--json`: one JSON object with every host.
    #[command(flatten)]
    pub store: PlanStateArgs,
}

pub fn run(args: VerifyArgs) -> ExitCode {
    let json = args.store.json;
    let Some(graph) = load_graph(&args.file, &args.sets) else {
        return ExitCode::Usage;
    };
    let inputs = match load_inputs_reading(&graph, &args.sets, true) {
        Ok(inputs) => inputs,
        Err(error) => return report::error_as(error, json),
    };
    let location = args.store.location(&args.file);
    let request = VerifyRequest {
        location: &location,
        graph: &graph,
        inputs: &inputs,
        environment: args.env.as_deref(),
        max_parallel: args.max_parallel,
    };
    let checks = match verify(&request) {
        Ok(checks) => checks,
        Err(error) => return report::error_as(error, json),
    };
    if json {
        print_json(&checks);
    } else {
        print_text(&checks);
    }
    exit_of(&checks)
}

fn count(checks: &[HostCheck], verdict: Verdict) -> usize {
    checks.iter().filter(|check| check.status == verdict).count()
}

/// 2 when a host could not be probed (nothing can be said of it), else 1 on drift.
fn exit_of(checks: &[HostCheck]) -> ExitCode {
    if count(checks, Verdict::Unreachable) > 0 {
        ExitCode::Failed
    } else if count(checks, Verdict::Drift) > 0 {
        ExitCode::Usage
    } else {
        ExitCode::Success
    }
}

fn print_text(checks: &[HostCheck]) {
    let width = checks.iter().map(|check| check.environment.len() + check.host.len() + 1).max().unwrap_or(0);
    for check in checks {
        let name = format!("{} {}", check.environment, check.host);
        println!("{name:<width$}  {}", check.describe());
    }
    println!(
        "\n{} host(s): {} in sync, {} drift, {} unreachable",
        checks.len(),
        count(checks, Verdict::InSync),
        count(checks, Verdict::Drift),
        count(checks, Verdict::Unreachable)
    );
}

fn print_json(checks: &[HostCheck]) {
    let document = serde_json::json!({
        "hosts": checks,
        "in_sync": count(checks, Verdict::InSync),
        "drift": count(checks, Verdict::Drift),
        "unreachable": count(checks, Verdict::Unreachable),
    });
    println!("{document}");
}
