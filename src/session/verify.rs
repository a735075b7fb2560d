//! `deploy verify`: what is really on the hosts. Each selected environment's
//! `probe` runs on every host over the environment's transport, in
//! parallel; the last line it prints is the version there, compared with
//! the host's record in the store (Argo CD's sync status, for hosts).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::error::{SessionError, SessionResult};
use crate::check::model::{EnvironmentDef, StringTemplate, TransportKind};
use crate::engine::interpolate::{Quoting, ValuesInScope};
use crate::engine::transport::{CommandSpec, LocalTransport, SshHost, SshTransport, Transport};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::state::{HostCheckRecord, StateLocation, StateStore};

/// How long one probe may take on one host.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the probe found on a host, against the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The host runs what the store says.
    InSync,
    /// It runs something else.
    Drift,
    /// The probe could not say: the host was not reached, or the probe failed.
    Unreachable,
}

/// One host, verified.
#[derive(Clone, Debug, Serialize)]
pub struct HostCheck {
    pub environment: String,
    pub host: String,
    pub status: Verdict,
    /// The version the store records for the host (`""`: none).
    pub recorded: String,
    /// What the probe printed last (`None`: it did not answer).
    pub found: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::InSync => "in_sync",
            Verdict::Drift => "drift",
            Verdict::Unreachable => "unreachable",
        }
    }
}

impl HostCheck {
    /// `in sync (2.0.0)`, `drift: store says 2.0.0, host has 1.9.0`, `unreachable: …`.
    pub fn describe(&self) -> String {
        let shown = |version: &str| if version.is_empty() { "nothing".to_string() } else { version.to_string() };
        match self.status {
            Verdict::InSync => format!("in sync ({})", shown(&self.recorded)),
            Verdict::Drift => format!(
                "drift: store says {}, host has {}",
                shown(&self.recorded),
                shown(self.found.as_deref().unwrap_or(""))
            ),
            Verdict::Unreachable => format!("unreachable: {}", self.error.as_deref().unwrap_or("no answer")),
        }
    }
}

/// What to verify.
pub struct VerifyRequest<'a> {
    pub location: &'a StateLocation,
    pub graph: &'a ExecutionGraph,
    pub inputs: &'a ResolvedInputs,
    /// `--env`: only this environment (it must have a probe).
    pub environment: Option<&'a str>,
    pub max_parallel: usize,
}

/// Probes every host of the selected environments and compares.
pub fn verify(request: &VerifyRequest) -> SessionResult<Vec<HostCheck>> {
    let environments = probed_environments(request)?;
    let recorded = recorded_versions(request.location, &request.graph.plan.pipeline.name)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|error| {
        SessionError::new(super::error::SessionErrorKind::Runtime, format!("cannot start: {error}"))
    })?;
    let checks = runtime.block_on(probe_all(request, &environments, &recorded));
    remember(request.location, &request.graph.plan.pipeline.name, &checks)?;
    Ok(checks)
}

/// Keeps each host's result as its last verification (`deploy status`, the
/// API and the dashboard show it); nothing is written where no state exists.
fn remember(location: &StateLocation, pipeline: &str, checks: &[HostCheck]) -> SessionResult<()> {
    let Some(mut store) = crate::state::open(location, false)? else {
        return Ok(());
    };
    let now = crate::state::now_ms();
    let records: Vec<HostCheckRecord> = checks
        .iter()
        .map(|check| HostCheckRecord {
            pipeline: pipeline.to_string(),
            environment: check.environment.clone(),
            host: check.host.clone(),
            status: check.status.word().to_string(),
            recorded: check.recorded.clone(),
            found: check.found.clone(),
            error: check.error.clone(),
            checked_at: now,
        })
        .collect();
    store.record_checks(&records)?;
    Ok(())
}

fn probed_environments<'a>(request: &VerifyRequest<'a>) -> SessionResult<Vec<&'a EnvironmentDef>> {
    let plan = &request.graph.plan;
    if let Some(name) = request.environment {
        let Some(environment) = plan.environment_named(name) else {
            let names: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
            return Err(SessionError::usage(format!("`--env {name}`: the plan has no such environment"))
                .with_code("E0134")
                .with_help(format!("environments: {}", names.join(", "))));
        };
        if environment.probe.is_none() {
            return Err(no_probe(&[name]));
        }
        return Ok(vec![environment]);
    }
    let probed: Vec<&EnvironmentDef> = plan.environments.iter().filter(|e| e.probe.is_some()).collect();
    if probed.is_empty() {
        let names: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
        return Err(no_probe(&names));
    }
    Ok(probed)
}

fn no_probe(names: &[&str]) -> SessionError {
    SessionError::usage(format!("no probe to run: {} says how to read the version on a host", names.join(", ")))
        .with_code("no_probe")
        .with_help("give the environment a probe, e.g. probe = \"readlink /srv/app/current | xargs basename\"")
}

/// (environment, host) → the version the store records there: the host's
/// own record, else (a store of an older deploy) its environment's.
type Recorded = Vec<((String, String), String)>;

fn recorded_versions(location: &StateLocation, pipeline: &str) -> SessionResult<Recorded> {
    let Some(mut store) = crate::state::open(location, false)? else {
        return Ok(Vec::new());
    };
    let store: &mut dyn StateStore = store.as_mut();
    let mut recorded: Recorded = store
        .environment_versions(Some(pipeline))?
        .into_iter()
        .map(|environment| ((environment.environment, String::new()), environment.current_version))
        .collect();
    for host in store.host_versions(Some(pipeline))? {
        recorded.push(((host.environment, host.host), host.version));
    }
    Ok(recorded)
}

fn recorded_for(recorded: &Recorded, environment: &str, host: &str) -> String {
    let find = |wanted: &str| {
        recorded.iter().find(|((env, name), _)| env == environment && name == wanted).map(|(_, version)| version)
    };
    find(host).or_else(|| find("")).cloned().unwrap_or_default()
}

async fn probe_all(
    request: &VerifyRequest<'_>,
    environments: &[&EnvironmentDef],
    recorded: &Recorded,
) -> Vec<HostCheck> {
    let permits = Arc::new(tokio::sync::Semaphore::new(request.max_parallel.max(1)));
    // Where a run's local steps run: the plan's directory.
    let base = &request.graph.plan.base_dir;
    let work_dir = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base.clone() };
    let mut tasks = tokio::task::JoinSet::new();
    let mut transports: Vec<Arc<dyn Transport>> = Vec::new();
    for (order, environment) in environments.iter().enumerate() {
        let transport: Arc<dyn Transport> = match environment.transport {
            TransportKind::Local => Arc::new(LocalTransport::new(super::kill_grace())),
            TransportKind::Ssh => {
                Arc::new(SshTransport::new(SshHost::of(environment), request.max_parallel, super::kill_grace()))
            }
        };
        transports.push(transport.clone());
        let Some(probe) = &environment.probe else { continue };
        for (index, host) in environment.hosts.iter().enumerate() {
            let command = render(request, environment, probe, host);
            let spec = CommandSpec {
                command: command.unwrap_or_default(),
                cwd: work_dir.clone(),
                env: vec![
                    ("DEPLOY_HOST".to_string(), host.clone()),
                    ("DEPLOY_ENVIRONMENT".to_string(), environment.name.clone()),
                    ("DEPLOY_PIPELINE".to_string(), request.graph.plan.pipeline.name.clone()),
                ],
                become_root: None,
            };
            let check = HostCheck {
                environment: environment.name.clone(),
                host: host.clone(),
                status: Verdict::Unreachable,
                recorded: recorded_for(recorded, &environment.name, host),
                found: None,
                error: None,
            };
            let (transport, permits) = (transport.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                ((order, index), probe_host(transport.as_ref(), spec, check).await)
            });
        }
    }
    let mut checks = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(check) = done {
            checks.push(check);
        }
    }
    for transport in transports {
        transport.close().await;
    }
    checks.sort_by_key(|(key, _)| *key);
    checks.into_iter().map(|(_, check)| check).collect()
}

fn render(request: &VerifyRequest, environment: &EnvironmentDef, probe: &StringTemplate, host: &str) -> Option<String> {
    let scope = ValuesInScope {
        plan: &request.graph.plan,
        inputs: request.inputs,
        node: None,
        environment: Some(environment),
        host: Some(host),
        version: None,
        previous_version: "",
        attempt: 1,
        mask_secrets: false,
    };
    scope.render(probe, Quoting::Shell).ok()
}

async fn probe_host(transport: &dyn Transport, spec: CommandSpec, mut check: HostCheck) -> HostCheck {
    if spec.command.is_empty() {
        check.error = Some("the probe could not be rendered for this host".into());
        return check;
    }
    let stdout: Arc<Mutex<Vec<String>>> = Arc::default();
    let stderr: Arc<Mutex<Vec<String>>> = Arc::default();
    let (out, err) = (stdout.clone(), stderr.clone());
    let sink: crate::engine::transport::OutputSink = Arc::new(move |stream, line| {
        let lines = if stream == crate::record::event::Stream::Stderr { &err } else { &out };
        if let Ok(mut lines) = lines.lock() {
            lines.push(line);
        }
    });
    let cancel = CancellationToken::new();
    let ran = tokio::time::timeout(PROBE_TIMEOUT, transport.run(&check.host, spec, sink, cancel.clone())).await;
    let last = |lines: &Arc<Mutex<Vec<String>>>| {
        lines.lock().ok().and_then(|lines| lines.iter().rev().find(|line| !line.trim().is_empty()).cloned())
    };
    match ran {
        Err(_) => {
            cancel.cancel();
            check.error =
                Some(format!("the probe did not answer within {}", crate::duration::format_duration(PROBE_TIMEOUT)));
        }
        Ok(Err(error)) => check.error = Some(error.to_string()),
        Ok(Ok(exit)) if !exit.success() => {
            let why = last(&stderr).map(|line| format!(": {}", line.trim())).unwrap_or_default();
            let code = exit.code.map_or_else(|| "a signal".to_string(), |code| format!("exit {code}"));
            check.error = Some(format!("the probe failed ({code}){why}"));
        }
        Ok(Ok(_)) => {
            let found = last(&stdout).map(|line| line.trim().to_string()).unwrap_or_default();
            check.status = if found == check.recorded { Verdict::InSync } else { Verdict::Drift };
            check.found = Some(found);
        }
    }
    check
}

/// `deploy serve --verify-every D`: verifies the plan's hosts every `every`
/// on a thread of its own, for as long as the process runs; each result is
/// recorded (the overview shows it) and summed up through `reporter`.
pub fn verify_every(
    plan: PathBuf,
    location: StateLocation,
    every: Duration,
    reporter: Arc<dyn super::reporter::Reporter>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("deploy-verify".into()).spawn(move || loop {
        std::thread::sleep(every);
        let reporter = reporter.as_ref();
        let verified = super::load::load_graph(&plan, &[], reporter).and_then(|graph| {
            let inputs = super::load::load_inputs(&graph, &[], reporter)?;
            let request = VerifyRequest {
                location: &location,
                graph: &graph,
                inputs: &inputs,
                environment: None,
                max_parallel: crate::engine::DEFAULT_MAX_PARALLEL,
            };
            verify(&request)
        });
        match verified {
            Ok(checks) => {
                let count = |verdict: Verdict| checks.iter().filter(|check| check.status == verdict).count();
                reporter.notice(&format!(
                    "verify: {} in sync, {} drift, {} unreachable",
                    count(Verdict::InSync),
                    count(Verdict::Drift),
                    count(Verdict::Unreachable)
                ));
            }
            Err(error) => reporter.notice(&format!("verify: {}", error.message)),
        }
    })
}
