//! `deploy exec FILE ENV [--limit PATTERN] [--become] -- COMMAND...` — one
//! command on every selected host of ENV, in parallel, over the
//! environment's transport; prints each host's output and exit code (like
//! `ansible web -a uptime`). Exit 1 when any host failed. Not a
//! deployment; journaled as an `exec` action (session/exec.rs).

use std::path::PathBuf;

use super::flags::PlanStateArgs;
use super::load::load_selected_graph;
use super::ExitCode;
use crate::check::selection::Selection;
use crate::engine::DEFAULT_MAX_PARALLEL;
use crate::session::exec::{ExecRequest, HostExec};

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The plan file.
    pub file: PathBuf,
    /// The environment whose hosts run the command.
    pub environment: String,
    /// Only these hosts: Ansible host patterns (`web-1,db-*`, `web:&prod`, `!web-3`, `@file`).
    #[arg(long = "limit", value_name = "PATTERN")]
    pub limit: Vec<String>,
    /// Run the command through `sudo -n` (no password prompt, no tty).
    #[arg(long = "become")]
    pub become_root: bool,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Hosts run at once (at most 32 connections are being opened at any time).
    #[arg(long, default_value_t = DEFAULT_MAX_PARALLEL)]
    pub max_parallel: usize,
    #[command(flatten)]
    pub state: PlanStateArgs,
    /// The command, after `--`: run by `sh -c` on each host, its words joined by spaces.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: ExecArgs) -> ExitCode {
    let json = args.state.json;
    let selection = Selection::from_args(std::slice::from_ref(&args.environment), &args.limit);
    let Ok(graph) = load_selected_graph(&args.file, &args.sets, &selection) else {
        return ExitCode::Usage;
    };
    let Some(environment) = graph.plan.environment_named(&args.environment) else {
        return super::failure::fail(format!("no environment `{}`", args.environment));
    };
    if environment.hosts.is_empty() {
        return super::failure::fail(format!(
            "no host of {} is within --limit {}",
            environment.name,
            selection.limit.join(",")
        ));
    }
    let plan_dir = args.file.parent().map(PathBuf::from).unwrap_or_default();
    let plan_dir = if plan_dir.as_os_str().is_empty() { PathBuf::from(".") } else { plan_dir };
    let request = ExecRequest {
        environment,
        command: args.command.join(" "),
        become_root: args.become_root,
        plan_dir: &plan_dir,
        max_parallel: args.max_parallel,
        state: args.state.location(&args.file),
        by: crate::session::approver_name(None),
    };
    let outcome = match crate::session::exec::exec(&request) {
        Ok(outcome) => outcome,
        Err(error) => return super::failure::report(&error, json),
    };
    if let Err(why) = &outcome.journal {
        eprintln!("warning: the command ran but was not journaled: {why}");
    }
    for host in &outcome.hosts {
        print_host(host, json);
    }
    if outcome.hosts.iter().all(|host| host.ok) {
        ExitCode::Success
    } else {
        ExitCode::Usage
    }
}

fn print_host(host: &HostExec, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(host) {
            println!("{line}");
        }
        return;
    }
    let status = match (host.ok, host.code, &host.error) {
        (true, _, _) => "ok | rc=0".to_string(),
        (false, Some(code), _) => format!("FAILED | rc={code}"),
        (false, None, Some(error)) if error.starts_with("cannot reach") => format!("UNREACHABLE | {error}"),
        (false, None, Some(error)) => format!("FAILED | {error}"),
        (false, None, None) => "FAILED".to_string(),
    };
    println!("{} | {status} >>", host.host);
    for line in &host.output {
        println!("{line}");
    }
}
