//! `deploy lock status` and `deploy lock release [--force] [PIPELINE]`.

use super::flags::StateArgs;
use super::report;
use super::status::{lock_views, render_lock};
use super::ExitCode;
use crate::session::release_lock::{release_lock, ReleaseRequest};
use crate::state::Holder;

#[derive(Debug, clap::Args)]
pub struct LockArgs {
    #[command(subcommand)]
    command: LockCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LockCommand {
    /// Show who holds which lock, and whether the holder is gone.
    Status(LockTarget),
    /// Release a lock whose holder is gone; with --force, any lock.
    Release {
        #[command(flatten)]
        target: LockTarget,
        /// The pipeline whose lock to release [default: the only one locked, or --plan's].
        pipeline: Option<String>,
        /// Only the lock of this environment (`lock = environment`).
        #[arg(long = "env", value_name = "ENV")]
        environment: Option<String>,
        /// Release it even though its holder may still be running.
        #[arg(long)]
        force: bool,
    },
}

type LockTarget = StateArgs;

pub fn run(args: LockArgs) -> ExitCode {
    match args.command {
        LockCommand::Status(target) => status(target),
        LockCommand::Release { target, pipeline, environment, force } => release(target, pipeline, environment, force),
    }
}

fn status(target: LockTarget) -> ExitCode {
    let location = target.location();
    let Some(mut store) = (match report::open_store(&location, false) {
        Ok(store) => store,
        Err(code) => return code,
    }) else {
        if target.json {
            println!("[]");
        } else {
            println!("no locks (no state at {})", location.describe());
        }
        return ExitCode::Success;
    };
    let leases = match store.leases() {
        Ok(leases) => leases,
        Err(error) => return report::fail(error),
    };
    let views = lock_views(leases, &Holder::current(""));
    if target.json {
        return super::output::print_json(&views);
    }
    if views.is_empty() {
        println!("no locks");
    }
    for view in &views {
        println!("{}", render_lock(view).trim_start());
    }
    ExitCode::Success
}

fn release(target: LockTarget, pipeline: Option<String>, environment: Option<String>, force: bool) -> ExitCode {
    let location = target.location();
    let mut store = match report::open_existing(&location) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let leases = match store.leases() {
        Ok(leases) => leases,
        Err(error) => return report::fail(error),
    };
    let pipeline = match pipeline {
        Some(pipeline) => pipeline,
        None => match &target.plan {
            Some(plan) => match super::load::load_graph(plan, &[]) {
                Some(graph) => graph.plan.pipeline.name.clone(),
                None => return ExitCode::Usage,
            },
            None => {
                let mut names: Vec<&str> = leases.iter().map(|lease| lease.pipeline.as_str()).collect();
                names.dedup();
                match names.as_slice() {
                    [] => {
                        println!("no locks");
                        return ExitCode::Success;
                    }
                    [one] => one.to_string(),
                    _ => {
                        return super::failure::fail(format!(
                            "several pipelines are locked ({}); name one",
                            names.join(", ")
                        ));
                    }
                }
            }
        },
    };
    let release = ReleaseRequest {
        pipeline: &pipeline,
        environment: environment.as_deref(),
        force,
        by: &crate::session::approver_name(None),
    };
    match release_lock(store.as_mut(), &release) {
        Ok(dropped) => {
            for lease in dropped {
                println!("released `{}` (was held by {}, run {})", lease.scope, lease.owner, lease.run_id);
            }
            ExitCode::Success
        }
        Err(error) => super::failure::report(&error, false),
    }
}
