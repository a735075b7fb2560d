//! What `run`, `resume` and `rollback` share around the engine: opening the
//! state, taking the leases (waiting with `--lock-timeout`), the heartbeat,
//! the journal as the first event consumer, and recording how it ended.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::ExitCode;
use crate::engine::view::{JsonView, LiveView, PlainView};
use crate::engine::{EventSink, RunReport};
use crate::graph::ExecutionGraph;
use crate::state::heartbeat::Heartbeat;
use crate::state::journal::{JournalHealth, JournalSink, NodeIndex};
use crate::state::lease::{heartbeat_interval, liveness, ttl, Liveness};
use crate::state::{
    format_time, now_ms, Deployment, DeploymentStatus, Finish, Holder, LeaseOutcome, LeaseRequest, StateLocation,
    StateStore,
};

/// `--state`, `--lock-timeout`, `--lock-message`: shared by the commands that run.
#[derive(Debug, Clone, clap::Args)]
pub struct LockArgs {
    /// Wait up to D (e.g. 30s, 5m) for a lease someone else holds, instead of failing at once.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Why this run holds the lock (shown to anyone who finds it locked).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub lock_message: String,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|error| format!("`{text}` is not a duration (e.g. 30s, 5m): {error}"))
}

/// Opens the store, printing the error. `Ok(None)`: no SQLite file and `create` is false.
pub fn open_store(location: &StateLocation, create: bool) -> Result<Option<Box<dyn StateStore>>, ExitCode> {
    crate::state::open(location, create).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::Usage
    })
}

/// Opens a store that must exist.
pub fn open_existing(location: &StateLocation) -> Result<Box<dyn StateStore>, ExitCode> {
    match open_store(location, false)? {
        Some(store) => Ok(store),
        None => {
            eprintln!("error: no deploy state at {} (nothing has run here yet?)", location.describe());
            Err(ExitCode::Usage)
        }
    }
}

/// Prints a store error and gives exit 1.
pub fn fail(error: crate::state::StateError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::Usage
}

/// The environments a run of this plan locks: none (the whole pipeline)
/// under `lock = pipeline`, its targets under `lock = environment`.
pub fn lock_environments(graph: &ExecutionGraph) -> Vec<String> {
    match graph.plan.pipeline.lock {
        crate::check::model::LockScope::Pipeline => Vec::new(),
        crate::check::model::LockScope::Environment => target_environments(graph),
    }
}

/// The environments the plan's stages target, in plan order.
pub fn target_environments(graph: &ExecutionGraph) -> Vec<String> {
    let plan = &graph.plan;
    let mut names: Vec<String> = Vec::new();
    for node in &plan.nodes {
        if let Some(target) = node.target {
            let name = &plan.environment(target).name;
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

/// The environment a plan finally deploys to: the target of the last
/// targeted node in graph order; `""` for a plan without targets.
pub fn final_environment(graph: &ExecutionGraph) -> String {
    graph
        .order
        .iter()
        .rev()
        .find_map(|id| graph.plan.node(*id).target)
        .map(|target| graph.plan.environment(target).name.clone())
        .unwrap_or_default()
}

/// Whether a deployment is about `environment` (`""`: a plan without targets).
pub fn touches(deployment: &Deployment, environment: &str) -> bool {
    if environment.is_empty() {
        deployment.environments.is_empty()
    } else {
        deployment.targets(environment)
    }
}

/// Whether the process of a `running` deployment is still there.
pub fn deployment_liveness(deployment: &Deployment, me: &Holder) -> Liveness {
    liveness(&deployment.machine, deployment.pid, &deployment.pid_start, deployment.heartbeat_at, me, now_ms(), ttl())
}

/// The status to show: `running` becomes `crashed` when its process is gone.
pub fn effective_status(deployment: &Deployment, me: &Holder) -> DeploymentStatus {
    if deployment.status == DeploymentStatus::Running
        && matches!(deployment_liveness(deployment, me), Liveness::Dead(_))
    {
        DeploymentStatus::Crashed
    } else {
        deployment.status
    }
}

/// Takes the leases of `pipeline` (or of its `environments`), waiting up to
/// `--lock-timeout`. Prints who holds it when it cannot.
pub fn acquire(
    store: &mut dyn StateStore,
    pipeline: &str,
    environments: Vec<String>,
    holder: &Holder,
    lock: &LockArgs,
) -> Result<(), ExitCode> {
    let started = Instant::now();
    let mut waiting_said = false;
    loop {
        let request = LeaseRequest {
            pipeline: pipeline.to_string(),
            environments: environments.clone(),
            holder: holder.clone(),
            message: lock.lock_message.clone(),
            now: now_ms(),
            ttl_ms: i64::try_from(ttl().as_millis()).unwrap_or(i64::MAX),
        };
        match store.acquire_leases(&request).map_err(fail)? {
            LeaseOutcome::Acquired { taken_over } => {
                for (lease, why) in taken_over {
                    eprintln!(
                        "deploy: warning: took over the lock on `{}` from {} (pid {}, run {}): {why}; \
                         that run is marked crashed",
                        lease.scope, lease.owner, lease.pid, lease.run_id
                    );
                }
                return Ok(());
            }
            LeaseOutcome::Held(lease) => {
                let timeout = lock.lock_timeout.unwrap_or_default();
                let message = if lease.message.is_empty() { String::new() } else { format!(": \"{}\"", lease.message) };
                let holder_text = format!(
                    "`{}` is locked by {} (pid {}, run {}) since {}{message}",
                    lease.scope,
                    lease.owner,
                    lease.pid,
                    lease.run_id,
                    format_time(lease.acquired_at)
                );
                if started.elapsed() >= timeout {
                    eprintln!("error: {holder_text}");
                    eprintln!(
                        "  help: wait for it to finish, retry with --lock-timeout 10m, or if it is stuck: \
                         deploy lock release --force {}",
                        lease.pipeline
                    );
                    return Err(ExitCode::Usage);
                }
                if !waiting_said {
                    eprintln!("deploy: {holder_text}; waiting up to {}", humantime::format_duration(timeout));
                    waiting_said = true;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
}

/// The terminal view, plain lines, or JSON events.
pub fn view(json: bool) -> Box<dyn EventSink> {
    if json {
        Box::new(JsonView::new(std::io::stdout()))
    } else if std::io::stdout().is_terminal() {
        Box::new(LiveView::new())
    } else {
        Box::new(PlainView::new(std::io::stdout()))
    }
}

/// Runs `body` (the engine) with the heartbeat going and the journal as the
/// first consumer, each on a connection of its own.
pub fn journaled(
    location: &StateLocation,
    run_id: &str,
    graph: &ExecutionGraph,
    base_seq: u64,
    view: Box<dyn EventSink>,
    body: impl FnOnce(Vec<Box<dyn EventSink>>) -> RunReport,
) -> Result<(RunReport, JournalHealth), ExitCode> {
    let heartbeat_store = open_store(location, true)?.ok_or(ExitCode::Usage)?;
    let journal_store = open_store(location, true)?.ok_or(ExitCode::Usage)?;
    let heartbeat = Heartbeat::start(heartbeat_store, run_id, heartbeat_interval(ttl()));
    let health = JournalHealth::default();
    let journal = JournalSink::start(journal_store, run_id, base_seq, NodeIndex::of(graph), health.clone());
    let report = body(vec![Box::new(journal), view]);
    heartbeat.stop();
    Ok((report, health))
}

/// Records the end of a run and releases its leases.
pub fn finish(store: &mut dyn StateStore, finish: &Finish, health: &JournalHealth) -> ExitCode {
    let mut code = ExitCode::Success;
    if let Err(error) = store.finish_deployment(finish) {
        eprintln!("error: the end of run {} could not be recorded: {error}", finish.run_id);
        code = ExitCode::Usage;
    }
    if let Err(error) = store.release_leases(&finish.run_id) {
        eprintln!("error: the lock of run {} could not be released: {error}", finish.run_id);
        code = ExitCode::Usage;
    }
    if let Some(error) = health.error() {
        eprintln!("error: part of the journal of run {} was not written: {error}", finish.run_id);
        code = ExitCode::Usage;
    }
    code
}

/// Starts a multi-threaded runtime and runs the engine future in it, with
/// SIGINT/SIGTERM delivered to it.
pub fn block_on<F, Fut>(graph: &ExecutionGraph, engine: F) -> Option<RunReport>
where
    F: FnOnce(tokio::sync::mpsc::UnboundedReceiver<()>) -> Fut,
    Fut: std::future::Future<Output = RunReport>,
{
    // Scripts run on the blocking pool's threads; with this much stack they
    // run right there instead of on a helper thread of the sandbox.
    let stack = crate::script::required_stack_size(&graph.plan.pipeline.script_limits);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(stack).build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return None;
        }
    };
    let report = runtime.block_on(async move {
        let interrupts = super::run::listen_for_signals();
        engine(interrupts).await
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    Some(report)
}

/// The hash of a plan's text.
pub fn plan_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Params (and secrets, as `***`) as the deployments row keeps them.
pub fn recorded_params(inputs: &crate::check::inputs::ResolvedInputs) -> Vec<(String, String)> {
    let redactor = crate::engine::redact::Redactor::new(inputs.secret_values());
    inputs
        .params
        .iter()
        .map(|(name, value)| (name.clone(), redactor.redact(&value.to_text())))
        .chain(inputs.secret_names().into_iter().map(|name| (name, crate::engine::redact::MASK.to_string())))
        .collect()
}

/// `--set` pairs that reproduce a recorded run's params (secrets are read again).
pub fn params_as_sets(deployment: &Deployment, graph: &ExecutionGraph) -> Vec<String> {
    deployment
        .params
        .iter()
        .filter(|(name, _)| graph.plan.params.iter().any(|param| &param.name == name))
        .filter(|(_, value)| value != crate::engine::redact::MASK)
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

/// A deployment row for a run starting now.
#[allow(clippy::too_many_arguments)]
pub fn new_deployment(
    kind: crate::state::DeploymentKind,
    holder: &Holder,
    graph: &ExecutionGraph,
    inputs: &crate::check::inputs::ResolvedInputs,
    version: String,
    previous_version: String,
    environments: Vec<String>,
    undoes: Option<String>,
) -> Deployment {
    let plan_file = std::fs::canonicalize(&graph.plan.plan_file).unwrap_or_else(|_| graph.plan.plan_file.clone());
    let plan_text = std::fs::read_to_string(&graph.plan.plan_file).unwrap_or_default();
    let now = now_ms();
    Deployment {
        run_id: holder.run_id.clone(),
        kind,
        pipeline: graph.plan.pipeline.name.clone(),
        environments,
        version,
        previous_version,
        params: recorded_params(inputs),
        plan_file: plan_file.display().to_string(),
        plan_hash: plan_hash(&plan_text),
        plan_text,
        started_by: holder.owner.clone(),
        machine: holder.machine.clone(),
        pid: holder.pid,
        pid_start: holder.pid_start.clone(),
        started_at: now,
        heartbeat_at: now,
        ended_at: None,
        status: DeploymentStatus::Running,
        exit_code: None,
        parts: 1,
        undoes,
        undone_by: None,
    }
}
