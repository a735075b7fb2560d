//! What every task of a run shares: the graph, the resolved inputs, the
//! options, the bus, the transports, the script runner, the parallelism
//! permits and the completion log — and what a step on one host sees
//! (interpolation scope, environment variables, script variables).

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use rhai::Dynamic;
use tokio::sync::Semaphore;

use super::approval_prompt::ApprovalPrompt;
use super::interpolate::ValuesInScope;
use super::script_runner::ScriptRunner;
use super::transport::Transport;
use crate::check::model::{EnvId, EnvironmentDef, NodeDef, NodeId, Plan, Value};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::record::bus::Bus;
use crate::record::warning::WarningKind;
use crate::record::written::{NotWritten, LONGEST_WAIT};
use crate::script::{HostTable, ScriptVariables};
use tokio_util::sync::CancellationToken;

/// `--max-parallel` when not given: how many commands run at once.
pub const DEFAULT_MAX_PARALLEL: usize = 16;

/// The SIGTERM → SIGKILL grace period when not set by `DEPLOY_KILL_GRACE_MS`.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

/// How a run was asked to behave.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub run_id: String,
    /// Commands (a node on one host) running at once; at least 1.
    pub max_parallel: usize,
    /// The version deployed before this run; the state store feeds it later.
    pub previous_version: Option<String>,
    pub approvals: Approvals,
    pub kill_grace: Duration,
    /// A resumed run: what finished before (from the state's journal).
    pub resumed: Resumed,
    /// `deploy simulate`: events carry `simulated` and the virtual clock's times.
    pub simulated: bool,
    /// `--env` / `--limit` the run was started with (recorded in `run_started`).
    pub selection: crate::check::selection::Selection,
    /// `deploy rollback` per host: each host's own `version` (what runs on
    /// it) and `previous_version` (where it goes), over the run's.
    pub host_versions: Vec<HostVersions>,
}

/// One host's own `${version}` and `${previous_version}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostVersions {
    pub host: String,
    pub version: String,
    pub previous_version: String,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            run_id: new_run_id(),
            max_parallel: DEFAULT_MAX_PARALLEL,
            previous_version: None,
            approvals: Approvals::default(),
            kill_grace: DEFAULT_KILL_GRACE,
            resumed: Resumed::default(),
            simulated: false,
            selection: Default::default(),
            host_versions: Vec::new(),
        }
    }
}

/// Answers to `approve` gates given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Approvals {
    /// `--yes`: approve every gate.
    pub all: bool,
    /// `--approve NAME`: approve these gates.
    pub gates: Vec<String>,
    /// Who approves (`--as`, `DEPLOY_USER`, the OS user).
    pub approver: String,
    /// Ask on the terminal when neither `--yes` nor `--approve` answers.
    pub interactive: bool,
    /// Approvals recorded with `deploy approve`: (gate, approver).
    pub recorded: Vec<(String, String)>,
}

impl Approvals {
    pub fn approves(&self, gate: &str) -> bool {
        self.all || self.gates.iter().any(|name| name == gate) || self.recorded.iter().any(|(name, _)| name == gate)
    }

    /// Who approved `gate`: a recorded approver (one in `allowed` when the
    /// list is not empty), else the approver of this command line.
    pub fn approver_for(&self, gate: &str, allowed: &[String]) -> &str {
        self.recorded
            .iter()
            .filter(|(name, _)| name == gate)
            .map(|(_, approver)| approver.as_str())
            .find(|approver| allowed.is_empty() || allowed.iter().any(|name| name == approver))
            .unwrap_or(&self.approver)
    }
}

/// What a resumed run does not do again: nodes that succeeded or were
/// skipped, hosts of partly done stages that succeeded, and the units that
/// completed, in order (so a rollback in the resumed run undoes them too).
#[derive(Clone, Debug, Default)]
pub struct Resumed {
    pub nodes: Vec<String>,
    pub hosts: Vec<(String, String)>,
    pub completed: Vec<(String, Option<String>)>,
}

impl Resumed {
    pub fn node_done(&self, node: &str) -> bool {
        self.nodes.iter().any(|name| name == node)
    }

    pub fn host_done(&self, node: &str, host: &str) -> bool {
        self.hosts.iter().any(|(name, done)| name == node && done == host)
    }
}

/// A run id: the start time, the process id and 32 random bits, so two
/// ids made in the same millisecond differ — in one process (a counter
/// goes into the random part) and on many machines.
pub fn new_run_id() -> String {
    format!("{}-{}-{:08x}", chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"), std::process::id(), random_u32())
}

/// 32 bits from the standard library's randomly keyed hasher (its keys come
/// from the operating system's random source), over a process-wide counter
/// and the time.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    (hasher.finish() >> 32) as u32
}

/// One unit of work that started: a node on one host (or the node itself
/// when it has no target), and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRecord {
    pub node: NodeId,
    pub host: Option<String>,
    pub outcome: UnitOutcome,
    pub phase: UnitPhase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitOutcome {
    Completed,
    /// Its steps ran and failed: they may have changed something.
    Failed,
    /// Killed mid-way: it may have changed something.
    Cancelled,
}

/// What a unit did: a stage's steps, or a blue/green switch on one host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnitPhase {
    #[default]
    Steps,
    /// The `switch` steps of a blue/green rollout: undone by switching back.
    Switch,
    /// A traffic canary reached 100% (and kept the previous version for
    /// `keep_previous`): undone by sending every request back to it.
    Promoted,
    /// A traffic canary at 100% retired the previous version on this host:
    /// undone by installing the previous version again.
    Retired,
}

/// Units in the order they ended; the rollback path walks it backwards.
#[derive(Clone, Debug, Default)]
pub struct CompletionLog {
    records: Arc<Mutex<Vec<UnitRecord>>>,
}

impl CompletionLog {
    pub fn push(&self, record: UnitRecord) {
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    /// The units a resumed run completed before, as if it had just run them.
    pub fn resumed(graph: &ExecutionGraph, resumed: &Resumed) -> CompletionLog {
        let log = CompletionLog::default();
        for (node, host) in &resumed.completed {
            if let Some(def) = graph.plan.node_named(node) {
                log.push(UnitRecord {
                    node: def.id,
                    host: host.clone(),
                    outcome: UnitOutcome::Completed,
                    phase: UnitPhase::Steps,
                });
            }
        }
        log
    }

    pub fn snapshot(&self) -> Vec<UnitRecord> {
        self.records.lock().map(|records| records.clone()).unwrap_or_default()
    }
}

/// What every task of a run shares, in three parts: what is run
/// ([`RunPlan`], fixed for the run), what does the work ([`RunServices`]),
/// and what the run records as it goes ([`RunLog`]). A stage reads the
/// plan, uses the services and writes to the log.
pub struct RunContext {
    pub run: RunPlan,
    pub services: RunServices,
    pub log: RunLog,
}

/// The plan being run, with its inputs and options.
pub struct RunPlan {
    pub graph: ExecutionGraph,
    pub inputs: ResolvedInputs,
    /// The inputs with `version` set to the previous version (a blue/green switch back).
    pub previous_inputs: ResolvedInputs,
    /// What the pipeline's hooks run as.
    pub pipeline_node: NodeDef,
    pub options: RunOptions,
    /// The environment each node sees: its target, or the closest one it needs.
    pub environments: Vec<Option<EnvId>>,
    pub version: String,
    /// Each environment's hosts with their values (`host.KEY` in scripts),
    /// by [`EnvId`], made the first time a script needs them.
    pub host_tables: Vec<std::sync::OnceLock<Arc<HostTable>>>,
}

impl RunPlan {
    /// The version deployed before this run (`--previous-version` or the
    /// state's), empty when none is known.
    pub fn previous_version(&self) -> &str {
        self.options.previous_version.as_deref().unwrap_or("")
    }

    fn own(&self, host: Option<&str>) -> Option<&HostVersions> {
        let host = host?;
        self.options.host_versions.iter().find(|own| own.host == host)
    }

    /// The version on `host`: its own (a per-host rollback), else the run's.
    pub fn version_on(&self, host: Option<&str>) -> &str {
        self.own(host).map_or(self.version.as_str(), |own| own.version.as_str())
    }

    /// The version `host` goes back to: its own, else the run's previous version.
    pub fn previous_version_on(&self, host: Option<&str>) -> &str {
        self.own(host).map_or_else(|| self.previous_version(), |own| own.previous_version.as_str())
    }
}

/// What runs the steps, scripts and prompts, and how many commands may run at once.
pub struct RunServices {
    /// Runs the steps of stages with a `target`.
    pub transport: Arc<dyn Transport>,
    /// Runs the steps of stages without a target, and hooks.
    pub local: Arc<dyn Transport>,
    /// The transport of each environment with `transport = ssh`, by [`EnvId`].
    pub remotes: Vec<Option<Arc<dyn Transport>>>,
    pub scripts: Arc<dyn ScriptRunner>,
    /// Asks a person on the terminal (when `--yes`/`--approve` do not answer).
    pub prompt: Option<Arc<dyn ApprovalPrompt>>,
    /// One prompt at a time.
    pub prompt_lock: tokio::sync::Mutex<()>,
    /// `--max-parallel`.
    pub permits: Arc<Semaphore>,
}

/// What the run records: its events and the units that ended, since it started.
pub struct RunLog {
    pub bus: Bus,
    pub completions: CompletionLog,
    pub started: Instant,
    /// The warnings from outside the engine; a failed journal write among
    /// them stops the run before its next host ([`RunLog::unrecorded`]).
    pub warnings: crate::record::warning::Warnings,
}

impl RunLog {
    /// Waits until the journal holds every event emitted so far (at once
    /// without a journal, or when `cancel` fires); a journal that fails or
    /// does not answer makes the run [`RunLog::unrecorded`], which it then
    /// returns.
    pub async fn recorded_so_far(&self, cancel: &CancellationToken) -> Option<String> {
        let waited = tokio::select! {
            waited = self.warnings.written().wait_for(self.bus.emitted()) => waited,
            () = cancel.cancelled() => return None,
        };
        if waited == Err(NotWritten::TooSlow) {
            self.warnings.warn(
                WarningKind::Journal,
                format!("the journal did not confirm the run's events within {} s", LONGEST_WAIT.as_secs()),
            );
        }
        self.unrecorded()
    }

    /// Why nothing more may be changed: the state cannot be written, so
    /// what the run would do could not be recorded.
    pub fn unrecorded(&self) -> Option<String> {
        self.warnings.unrecorded().map(|why| {
            format!(
                "the state cannot be written ({why}), so what this run does could not be recorded; \
                 nothing more is changed: make room for the state (or fix its database), then `deploy resume`"
            )
        })
    }
}

impl RunContext {
    pub fn plan(&self) -> &Plan {
        &self.run.graph.plan
    }

    /// The environment a node sees: its target, or the one it inherits
    /// from the closest node it needs (a gate after a rollout sees the
    /// rollout's `env`).
    pub fn environment_of(&self, node: &NodeDef) -> Option<&EnvironmentDef> {
        let id = node.target.or_else(|| self.run.environments.get(node.id.0).copied().flatten())?;
        self.plan().environments.get(id.0)
    }

    /// The environment whose hosts a stage runs on: its `target` only.
    pub fn target_of(&self, node: &NodeDef) -> Option<&EnvironmentDef> {
        node.target.and_then(|id| self.plan().environments.get(id.0))
    }

    /// Where a step of `node` on `host` runs: a target's SSH transport, the
    /// run's transport for other targets, this machine without a host.
    pub fn transport_for(&self, node: &NodeDef, host: Option<&str>) -> &dyn Transport {
        match (node.target, host) {
            (Some(target), Some(_)) => match self.services.remotes.get(target.0) {
                Some(Some(remote)) => remote.as_ref(),
                _ => self.services.transport.as_ref(),
            },
            (Some(_), None) | (None, _) => self.services.local.as_ref(),
        }
    }

    /// What `${...}` sees in a step of `node` on `host`.
    pub fn scope<'a>(&'a self, node: &'a NodeDef, host: Option<&'a str>, attempt: u32) -> ValuesInScope<'a> {
        self.scope_in(node, host, attempt, self.environment_of(node))
    }

    /// What `${...}` sees in `node`, in `environment` (a gate evaluated
    /// for a stage sees the stage's environment).
    pub fn scope_in<'a>(
        &'a self,
        node: &'a NodeDef,
        host: Option<&'a str>,
        attempt: u32,
        environment: Option<&'a EnvironmentDef>,
    ) -> ValuesInScope<'a> {
        ValuesInScope {
            plan: self.plan(),
            inputs: &self.run.inputs,
            node: Some(node),
            environment,
            host,
            version: self.run.own(host).map(|own| own.version.as_str()),
            previous_version: self.run.previous_version_on(host),
            attempt,
            mask_secrets: false,
        }
    }

    /// The environment variables of a step's process.
    pub fn step_env(&self, node: &NodeDef, host: Option<&str>, attempt: u32, rollback: bool) -> Vec<(String, String)> {
        let mut env = vec![
            ("DEPLOY_PIPELINE".to_string(), self.plan().pipeline.name.clone()),
            ("DEPLOY_STAGE".to_string(), node.name.clone()),
            ("DEPLOY_HOST".to_string(), host.unwrap_or("").to_string()),
            ("DEPLOY_VERSION".to_string(), self.run.version_on(host).to_string()),
            ("DEPLOY_PREVIOUS_VERSION".to_string(), self.run.previous_version_on(host).to_string()),
            ("DEPLOY_RUN_ID".to_string(), self.run.options.run_id.clone()),
            ("DEPLOY_COMMIT".to_string(), self.run.inputs.commit()),
            ("DEPLOY_ATTEMPT".to_string(), attempt.to_string()),
            ("DEPLOY_ENVIRONMENT".to_string(), self.environment_of(node).map(|e| e.name.clone()).unwrap_or_default()),
        ];
        if rollback {
            env.push(("DEPLOY_ROLLBACK".to_string(), "1".to_string()));
        }
        env
    }

    /// What a script of `node` on `host` sees.
    pub fn script_context(&self, node: &NodeDef, host: Option<&str>, attempt: u32) -> ScriptVariables {
        self.script_context_in(node, host, attempt, self.environment_of(node))
    }

    /// The typed context of a script: params, template arguments, `env`
    /// (name and vars), `version`, `previous_version`, `host`, `stage`,
    /// `attempt`, `pipeline`, and the secrets (redacted in what it prints).
    pub fn script_context_in(
        &self,
        node: &NodeDef,
        host: Option<&str>,
        attempt: u32,
        environment: Option<&EnvironmentDef>,
    ) -> ScriptVariables {
        let mut context = ScriptVariables {
            variables: Vec::with_capacity(self.run.inputs.params.len() + 12),
            hosts: environment.map(|environment| self.host_table(node, environment)),
        };
        for (name, value) in &self.run.inputs.params {
            context.set(name, to_dynamic(value));
        }
        let scope = self.scope_in(node, host, attempt, environment);
        let outer = ValuesInScope { node: None, ..scope };
        for (name, expr) in &node.bindings {
            if let Some(value) = outer.eval(expr) {
                context.set(name, to_dynamic(&value));
            }
        }
        match environment {
            Some(environment) => {
                let vars: Vec<(&str, Dynamic)> = environment
                    .vars
                    .iter()
                    .filter_map(|(key, expr)| outer.eval(expr).map(|value| (key.as_str(), to_dynamic(&value))))
                    .collect();
                context.set_env(&environment.name, vars);
            }
            None => context.set_env("", Vec::<(&str, Dynamic)>::new()),
        }
        context.set_str("version", self.run.version_on(host));
        context.set_str("previous_version", self.run.previous_version_on(host));
        context.set_str("host", host.unwrap_or(""));
        context.set_str("stage", &node.name);
        context.set_int("attempt", i64::from(attempt));
        context.set_str("pipeline", &self.plan().pipeline.name);
        context.set_str("commit", &self.run.inputs.commit());
        context.set_secrets(self.run.inputs.secrets_in(environment.map(|environment| environment.name.as_str())));
        context
    }

    /// The hosts of `environment` with their values: `name`, `address`,
    /// each host's vars and the environment's (as `${host.KEY}` sees them).
    fn host_table(&self, node: &NodeDef, environment: &EnvironmentDef) -> Arc<HostTable> {
        let Some(slot) = self.run.host_tables.get(environment.id.0) else { return Arc::default() };
        slot.get_or_init(|| {
            let mut keys: Vec<&str> = crate::script::HOST_BUILT_IN_KEYS.to_vec();
            keys.extend(environment.host_value_keys());
            keys.sort_unstable();
            keys.dedup();
            let table = environment
                .hosts
                .iter()
                .map(|host| {
                    let scope = ValuesInScope { node: None, ..self.scope_in(node, Some(host), 1, Some(environment)) };
                    let values: rhai::Map = keys
                        .iter()
                        .filter_map(|key| {
                            let value = scope.lookup(&[String::from("host"), key.to_string()])?;
                            Some((rhai::ImmutableString::from(*key).into(), to_dynamic(&value)))
                        })
                        .collect();
                    (host.clone(), values)
                })
                .collect();
            Arc::new(table)
        })
        .clone()
    }

    /// Kills everything still running on every transport (a second Ctrl-C).
    pub fn kill_all(&self) {
        let services = &self.services;
        services.transport.kill_all();
        services.local.kill_all();
        for remote in services.remotes.iter().flatten() {
            remote.kill_all();
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        millis(self.log.started.elapsed())
    }
}

/// For each node, the environment it sees: its target, or else the one of
/// the first node it needs that has one (in topological order).
pub fn inherited_environments(graph: &ExecutionGraph) -> Vec<Option<EnvId>> {
    let plan = &graph.plan;
    let mut out: Vec<Option<EnvId>> = vec![None; plan.nodes.len()];
    for id in &graph.order {
        let node = plan.node(*id);
        out[id.0] = node.target.or_else(|| node.needs.iter().find_map(|need| out.get(need.0).copied().flatten()));
    }
    out
}

pub use crate::record::event::millis;

pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::String(text) => Dynamic::from(text.clone()),
        Value::Int(number) => Dynamic::from_int(*number),
        Value::Bool(flag) => Dynamic::from_bool(*flag),
        Value::Duration(_) => Dynamic::from(value.to_text()),
        Value::Percent(percent) => Dynamic::from_float(*percent),
        Value::List(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
    }
}

#[cfg(test)]
mod run_id_tests {
    #[test]
    fn ids_made_in_the_same_millisecond_differ() {
        let ids: Vec<String> = (0..10_000).map(|_| super::new_run_id()).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // Many came in the same millisecond: the time and pid alone would collide.
        let prefixes: std::collections::HashSet<&str> = ids.iter().map(|id| &id[..id.len() - 9]).collect();
        assert!(prefixes.len() < ids.len());
    }
}
