//! `deploy ping FILE [--env ENV] [--limit PATTERN]` — connects to every host of the plan's SSH
//! environments in parallel and reports reachability, connection time,
//! round-trip time and host-key status per host (like `ansible -m ping`).
//! Exits 1 when any host fails.

use std::path::PathBuf;
use std::sync::Arc;

use super::load::load_selected_graph;
use super::ExitCode;
use crate::check::model::TransportKind;
use crate::engine::transport::{Reachability, SshHost, SshTransport, Transport};
use crate::engine::DEFAULT_MAX_PARALLEL;

#[derive(Debug, clap::Args)]
pub struct PingArgs {
    /// The plan file.
    pub file: PathBuf,
    /// Only this environment's hosts.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only these hosts: Ansible host patterns (`web-1,db-*`, `web:&prod`, `!web-3`, `@file`).
    #[arg(long = "limit", value_name = "PATTERN")]
    pub limit: Vec<String>,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Connections opened at once (at most 32 are being opened at any time).
    #[arg(long, default_value_t = DEFAULT_MAX_PARALLEL)]
    pub max_parallel: usize,
    /// One JSON object per host instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct HostReport {
    environment: String,
    transport: TransportKind,
    #[serde(flatten)]
    reachability: Reachability,
}

pub fn run(args: PingArgs) -> ExitCode {
    let selection = crate::check::selection::Selection::from_args(&[], &args.limit);
    let Ok(graph) = load_selected_graph(&args.file, &args.sets, &selection) else {
        return ExitCode::Usage;
    };
    let plan = &graph.plan;
    if let Some(name) = &args.env {
        if plan.environment_named(name).is_none() {
            let names: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
            return super::failure::fail(format!("no environment `{name}` (environments: {})", names.join(", ")));
        }
    }
    let environments: Vec<_> =
        plan.environments.iter().filter(|e| args.env.as_ref().map_or(true, |name| &e.name == name)).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            return super::failure::fail(format!("cannot start: {error}"));
        }
    };
    let max_parallel = args.max_parallel.max(1);
    let reports = runtime.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(max_parallel));
        let mut tasks = tokio::task::JoinSet::new();
        let mut transports = Vec::new();
        for (order, environment) in environments.iter().enumerate() {
            if environment.transport == TransportKind::Local {
                for (index, host) in environment.hosts.iter().enumerate() {
                    tasks.spawn(std::future::ready(((order, index), local_report(&environment.name, host))));
                }
                continue;
            }
            let ssh =
                Arc::new(SshTransport::new(SshHost::of(environment), max_parallel, std::time::Duration::from_secs(1)));
            transports.push(ssh.clone());
            for (index, host) in environment.hosts.iter().enumerate() {
                let (ssh, permits, host, name) = (ssh.clone(), permits.clone(), host.clone(), environment.name.clone());
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let reachability = ssh.ping(&host).await;
                    ((order, index), HostReport { environment: name, transport: TransportKind::Ssh, reachability })
                });
            }
        }
        let mut reports = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(report) = done {
                reports.push(report);
            }
        }
        for ssh in transports {
            ssh.close().await;
        }
        reports.sort_by_key(|(key, _)| *key);
        reports.into_iter().map(|(_, report)| report).collect::<Vec<_>>()
    });
    print(&reports, args.json);
    if reports.iter().all(|report| report.reachability.reachable) {
        ExitCode::Success
    } else {
        ExitCode::Usage
    }
}

fn local_report(environment: &str, host: &str) -> HostReport {
    HostReport {
        environment: environment.to_string(),
        transport: TransportKind::Local,
        reachability: Reachability {
            host: host.to_string(),
            destination: "this machine".into(),
            reachable: true,
            connect_ms: Some(0),
            rtt_ms: Some(0),
            host_key: "not needed".into(),
            error: None,
        },
    }
}

fn print(reports: &[HostReport], json: bool) {
    if json {
        for report in reports {
            if let Ok(line) = serde_json::to_string(report) {
                println!("{line}");
            }
        }
        return;
    }
    let ms = |value: Option<u64>| value.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into());
    for report in reports {
        let r = &report.reachability;
        match &r.error {
            None => println!(
                "{:<12} {:<12} {:<28} ok      connect {:<8} rtt {:<7} host key {}",
                report.environment,
                r.host,
                r.destination,
                ms(r.connect_ms),
                ms(r.rtt_ms),
                r.host_key
            ),
            Some(error) => {
                println!(
                    "{:<12} {:<12} {:<28} failed  host key {}: {error}",
                    report.environment, r.host, r.destination, r.host_key
                )
            }
        }
    }
    let failed = reports.iter().filter(|r| !r.reachability.reachable).count();
    println!("{} of {} hosts reachable", reports.len() - failed, reports.len());
}
