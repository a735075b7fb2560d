//! `deploy status` — the current version per environment, runs that are
//! running, paused or crashed, the locks, and versions known to be bad.

use super::flags::StateArgs;
use super::report;
use super::ExitCode;
pub use crate::session::overview::{lock_views, LockView};
use crate::session::overview::{overview, ActiveRun, EnvironmentView, HostView, Overview};
use crate::state::{format_time, DeploymentStatus, WatcherRecord};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    state: StateArgs,
}

pub fn render_lock(view: &LockView) -> String {
    let lease = &view.lease;
    let mut line = format!(
        "  {}  held by {} (pid {}, run {}) since {}, heartbeat {}",
        lease.scope,
        lease.owner,
        lease.pid,
        lease.run_id,
        format_time(lease.acquired_at),
        format_time(lease.heartbeat_at)
    );
    if !lease.message.is_empty() {
        line.push_str(&format!(": \"{}\"", lease.message));
    }
    if let Some(why) = &view.stale {
        line.push_str(&format!("\n    stale: {why}; the next run takes it over"));
    }
    line
}

pub fn run(args: StatusArgs) -> ExitCode {
    let args = args.state;
    let location = args.location();
    let Some(mut store) = (match report::open_reader(&location) {
        Ok(store) => store,
        Err(code) => return code,
    }) else {
        if args.json {
            println!(
                r#"{{"state":null,"environments":[],"warnings":[],"runs":[],"locks":[],"bad_versions":[],"watchers":[]}}"#
            );
        } else {
            println!("no deploy state at {} yet: nothing has run", location.describe());
        }
        return ExitCode::Success;
    };
    let pipeline = match &args.plan {
        Some(plan) => match super::load::load_graph(plan, &[]) {
            Some(graph) => Some(graph.plan.pipeline.name.clone()),
            None => return ExitCode::Usage,
        },
        None => None,
    };
    let status = match overview(store.as_mut(), pipeline.as_deref()) {
        Ok(status) => status,
        Err(error) => return report::error(error),
    };
    if args.json {
        return super::output::print_json(&status);
    }
    print!("{}", render(&status));
    ExitCode::Success
}

/// One process group a crashed run left running.
fn survivor_line(survivor: &crate::engine::survivors::Survivor) -> String {
    let host = survivor.host.as_deref().map(|host| format!(" on {host}")).unwrap_or_default();
    let what = if survivor.rollback { "rollback step" } else { "step" };
    let state = match &survivor.members {
        Some(members) => format!("{} process(es) still running", members.len()),
        None if survivor.remote => "on the SSH host, not checked from here".to_string(),
        None => format!("on machine {}, not checked from here", survivor.machine),
    };
    format!(
        "left running: pid {} (process group {}) — {} {what} {}{host}, started {}; {state}; `deploy resume` ends it first",
        survivor.pid, survivor.pgid, survivor.node, survivor.step, survivor.started
    )
}

fn render(status: &Overview) -> String {
    let mut out = format!("state: {} ({})\n", status.state, status.backend);
    out.push_str("\nenvironments:\n");
    if status.environments.is_empty() {
        out.push_str("  nothing deployed yet\n");
    }
    for entry in &status.environments {
        out.push_str(&environment_line(entry));
        for host in &entry.hosts {
            out.push_str(&host_line(host));
        }
    }
    if !status.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for warning in &status.warnings {
            out.push_str(&format!("  {warning}\n"));
        }
    }
    out.push_str("\nruns:\n");
    if status.runs.is_empty() {
        out.push_str("  none running, paused or crashed\n");
    }
    for run in &status.runs {
        render_run(&mut out, run);
    }
    out.push_str("\nlocks:\n");
    if status.locks.is_empty() {
        out.push_str("  none\n");
    }
    for lock in &status.locks {
        out.push_str(&render_lock(lock));
        out.push('\n');
    }
    for watcher in &status.watchers {
        render_watcher(&mut out, watcher);
    }
    if !status.bad_versions.is_empty() {
        out.push_str("\nknown bad versions:\n");
        for bad in &status.bad_versions {
            let environment = if bad.environment.is_empty() { "(no target)" } else { &bad.environment };
            out.push_str(&format!(
                "  {} {environment}: {} — {} ({})\n",
                bad.pipeline,
                bad.version,
                bad.reason,
                format_time(bad.marked_at)
            ));
        }
    }
    out
}

/// An environment and the version it runs (of most hosts, when mixed).
fn environment_line(entry: &EnvironmentView) -> String {
    let environment = if entry.environment.is_empty() { "(no target)" } else { &entry.environment };
    let previous = if entry.previous_version.is_empty() {
        String::new()
    } else {
        format!(", previous {}", entry.previous_version)
    };
    let mixed = if entry.mixed { " — mixed: its hosts run different versions" } else { "" };
    format!(
        "  {} {environment}: {}{previous}{mixed} (run {}, {})\n",
        entry.pipeline,
        entry.current_version,
        entry.current_run,
        format_time(entry.updated_at)
    )
}

/// One host of an environment: its version, state, what it ran before, and the run.
fn host_line(host: &HostView) -> String {
    let version = if host.version.is_empty() { "(nothing)" } else { &host.version };
    let previous =
        if host.previous_version.is_empty() { String::new() } else { format!(", previous {}", host.previous_version) };
    let verified = host.verified.as_ref().map_or(String::new(), |verified| {
        let found = verified.found.as_deref().filter(|found| !found.is_empty()).unwrap_or("nothing");
        let what = match verified.status.as_str() {
            "in_sync" => "in sync".to_string(),
            "drift" => format!("drift: the host has {found}"),
            _ => format!("unreachable: {}", verified.error.as_deref().unwrap_or("no answer")),
        };
        format!("; verified {}: {what}", crate::state::format_time(verified.at))
    });
    format!("    {}: {version} {}{previous} (run {}){verified}\n", host.host, host.state.as_str(), host.run)
}

/// A run that is running, paused or crashed, with what it left behind.
fn render_run(out: &mut String, run: &ActiveRun) {
    let hint = match run.status {
        DeploymentStatus::Paused => "; continue with `deploy resume`",
        DeploymentStatus::Crashed => "; its process is gone: `deploy resume` or `deploy rollback`",
        DeploymentStatus::RollbackFailed => {
            "; its rollback failed: the hosts above say what each runs; fix the cause, then `deploy rollback` again"
        }
        _ => "",
    };
    out.push_str(&format!(
        "  {} {} {} version {} by {} since {} (heartbeat {}){hint}\n",
        run.run_id,
        run.status.as_str(),
        run.pipeline,
        run.version,
        run.started_by,
        format_time(run.started_at),
        format_time(run.heartbeat_at)
    ));
    for survivor in &run.survivors {
        out.push_str(&format!("    {}\n", survivor_line(survivor)));
    }
    for share in &run.traffic {
        out.push_str(&format!(
            "    canary {}: {} of requests to the new version ({})\n",
            share.node,
            crate::graph::batches::percent_text(share.weight),
            share.label
        ));
    }
}

/// What a `deploy watch` follows and is doing.
fn render_watcher(out: &mut String, watcher: &WatcherRecord) {
    out.push_str(&format!(
        "\nwatcher: {} follows {} of {} (pid {} of {}): {}{}\n",
        watcher.pipeline,
        watcher.branch,
        watcher.repo,
        watcher.pid,
        watcher.owner,
        watcher.state,
        if watcher.detail.is_empty() { String::new() } else { format!(" — {}", watcher.detail) }
    ));
    if let Some(error) = &watcher.last_error {
        out.push_str(&format!("  last fetch failed: {error}\n"));
    }
}
