//! `deploy exec`: one ad-hoc command on every selected host of an
//! environment, in parallel, over the environment's transport (like
//! `ansible web -a uptime`). Not a deployment: no lease, no versions, no
//! rollback; journaled as an `exec` action (who ran what where, and each
//! host's exit) under a run id of its own (`exec-...`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::action::{self, Action};
use super::error::{SessionError, SessionErrorKind, SessionResult};
use crate::check::model::{EnvironmentDef, TransportKind};
use crate::engine::transport::{CommandSpec, LocalTransport, SshHost, SshTransport, Transport};
use crate::state::StateLocation;

/// What ran on one host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostExec {
    pub host: String,
    /// The exit status (`None`: killed by a signal, or never started).
    pub code: Option<i32>,
    pub ok: bool,
    /// stdout and stderr lines, in the order they came.
    pub output: Vec<String>,
    /// Why the command did not run or did not end (unreachable, signal).
    pub error: Option<String>,
}

/// An ad-hoc command for the hosts of one environment.
pub struct ExecRequest<'a> {
    pub environment: &'a EnvironmentDef,
    /// The words after `--`, joined with spaces for `sh -c` (as `ansible -a`).
    pub command: String,
    /// Through `sudo -n` (no password prompt, no tty).
    pub become_root: bool,
    /// The plan's directory: where local hosts run.
    pub plan_dir: &'a Path,
    pub max_parallel: usize,
    pub state: StateLocation,
    pub by: String,
}

/// The command as the host's shell gets it (`--become` on an SSH
/// environment goes through the transport's own `become`).
fn command_line(request: &ExecRequest<'_>) -> String {
    if request.become_root && request.environment.transport == TransportKind::Local {
        format!("sudo -n -- sh -c {}", crate::shell_quote::shell_quote(&request.command))
    } else {
        request.command.clone()
    }
}

/// What `deploy exec` did.
#[derive(Debug)]
pub struct ExecOutcome {
    /// Each host's result, in host order.
    pub hosts: Vec<HostExec>,
    /// The journal's run id for the action, or why it was not journaled.
    pub journal: Result<String, String>,
}

/// Runs the command on every host of the environment (already limited)
/// and journals it.
pub fn exec(request: &ExecRequest<'_>) -> SessionResult<ExecOutcome> {
    let environment = request.environment;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| SessionError::new(SessionErrorKind::Usage, format!("cannot start: {error}")))?;
    let command = command_line(request);
    let transport: Arc<dyn Transport> = match environment.transport {
        TransportKind::Local => Arc::new(LocalTransport::new(super::kill_grace())),
        TransportKind::Ssh => {
            Arc::new(SshTransport::new(SshHost::of(environment), request.max_parallel.max(1), super::kill_grace()))
        }
    };
    let results = runtime.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(request.max_parallel.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, host) in environment.hosts.iter().enumerate() {
            let (transport, permits, host) = (transport.clone(), permits.clone(), host.clone());
            let spec = CommandSpec {
                command: command.clone(),
                cwd: request.plan_dir.to_path_buf(),
                env: vec![
                    ("DEPLOY_HOST".into(), host.clone()),
                    ("DEPLOY_ENVIRONMENT".into(), environment.name.clone()),
                ],
                become_root: request.become_root.then_some(true),
            };
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let lines = Arc::new(Mutex::new(Vec::new()));
                let sink_lines = lines.clone();
                let sink: crate::engine::transport::OutputSink = Arc::new(move |_, line| {
                    if let Ok(mut lines) = sink_lines.lock() {
                        lines.push(line);
                    }
                });
                let result = transport.run(&host, spec, sink, CancellationToken::new()).await;
                let output = lines.lock().map(|lines| lines.clone()).unwrap_or_default();
                let report = match result {
                    Ok(exit) => HostExec {
                        host: host.clone(),
                        code: exit.code,
                        ok: exit.success(),
                        output,
                        error: (exit.code.is_none()).then(|| exit.describe()),
                    },
                    Err(error) => {
                        HostExec { host: host.clone(), code: None, ok: false, output, error: Some(error.to_string()) }
                    }
                };
                (index, report)
            });
        }
        let mut results = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(result) = done {
                results.push(result);
            }
        }
        transport.close().await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect::<Vec<_>>()
    });
    let journal = journal(request, &results);
    Ok(ExecOutcome { hosts: results, journal })
}

/// Records the command as an `exec` action; a store that cannot be opened
/// or written is reported, not a failure of the command that ran.
fn journal(request: &ExecRequest<'_>, results: &[HostExec]) -> Result<String, String> {
    let run_id = format!("exec-{}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"), std::process::id());
    let outcomes: Vec<String> = results
        .iter()
        .map(|r| match r.code {
            Some(code) => format!("{}={code}", r.host),
            None => format!("{}=failed", r.host),
        })
        .collect();
    let message = format!(
        "{}{} on {} of {}: {}",
        if request.become_root { "(become) " } else { "" },
        request.command,
        results.len(),
        request.environment.name,
        outcomes.join(" ")
    );
    super::open(&request.state, true)
        .and_then(|mut store| {
            action::record(store.as_mut(), &run_id, Action { action: "exec", by: &request.by, node: None, message })
        })
        .map(|()| run_id)
        .map_err(|error| error.to_string())
}
