//! What every task of a run shares: the graph, the resolved inputs, the
//! options, the bus, the transports, the script runner, the parallelism
//! permits and the completion log — and what a step on one host sees
//! (interpolation scope, environment variables, script variables).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::Dynamic;
use tokio::sync::Semaphore;

use super::bus::Bus;
use super::interpolate::Scope;
use super::scripts::{ScriptRunner, ScriptVars};
use super::transport::Transport;
use crate::check::inputs::ResolvedInputs;
use crate::check::model::{EnvironmentDef, NodeDef, NodeId, Plan, Value};
use crate::graph::ExecutionGraph;

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

/// A run id: the start time and the process id, unique enough on one machine.
pub fn new_run_id() -> String {
    format!("{}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"), std::process::id())
}

/// One unit of work that started: a node on one host (or the node itself
/// when it has no target), and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRecord {
    pub node: NodeId,
    pub host: Option<String>,
    pub outcome: UnitOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitOutcome {
    Completed,
    /// Its steps ran and failed: they may have changed something.
    Failed,
    /// Killed mid-way: it may have changed something.
    Cancelled,
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
                log.push(UnitRecord { node: def.id, host: host.clone(), outcome: UnitOutcome::Completed });
            }
        }
        log
    }

    pub fn snapshot(&self) -> Vec<UnitRecord> {
        self.records.lock().map(|records| records.clone()).unwrap_or_default()
    }
}

pub struct RunContext {
    pub graph: ExecutionGraph,
    pub inputs: ResolvedInputs,
    pub options: RunOptions,
    pub bus: Bus,
    /// Runs the steps of stages with a `target`.
    pub transport: Arc<dyn Transport>,
    /// Runs the steps of stages without a target, and hooks.
    pub local: Arc<dyn Transport>,
    pub scripts: Arc<dyn ScriptRunner>,
    pub permits: Arc<Semaphore>,
    pub completions: CompletionLog,
    pub version: String,
    pub previous_version: String,
    pub started: Instant,
}

impl RunContext {
    pub fn plan(&self) -> &Plan {
        &self.graph.plan
    }

    pub fn environment_of(&self, node: &NodeDef) -> Option<&EnvironmentDef> {
        node.target.and_then(|id| self.plan().environments.get(id.0))
    }

    pub fn transport_for(&self, node: &NodeDef) -> &dyn Transport {
        if node.target.is_some() {
            self.transport.as_ref()
        } else {
            self.local.as_ref()
        }
    }

    /// What `${...}` sees in a step of `node` on `host`.
    pub fn scope<'a>(&'a self, node: &'a NodeDef, host: Option<&'a str>, attempt: u32) -> Scope<'a> {
        Scope {
            plan: self.plan(),
            inputs: &self.inputs,
            node: Some(node),
            environment: self.environment_of(node),
            host,
            previous_version: &self.previous_version,
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
            ("DEPLOY_VERSION".to_string(), self.version.clone()),
            ("DEPLOY_PREVIOUS_VERSION".to_string(), self.previous_version.clone()),
            ("DEPLOY_RUN_ID".to_string(), self.options.run_id.clone()),
            ("DEPLOY_ATTEMPT".to_string(), attempt.to_string()),
            ("DEPLOY_ENVIRONMENT".to_string(), self.environment_of(node).map(|e| e.name.clone()).unwrap_or_default()),
        ];
        if rollback {
            env.push(("DEPLOY_ROLLBACK".to_string(), "1".to_string()));
        }
        env
    }

    /// What a script of `node` on `host` sees.
    pub fn script_vars(&self, node: &NodeDef, host: Option<&str>, attempt: u32) -> ScriptVars {
        let mut variables: Vec<(String, Dynamic)> = Vec::new();
        for (name, value) in &self.inputs.params {
            variables.push((name.clone(), to_dynamic(value)));
        }
        let scope = self.scope(node, host, attempt);
        for (name, expr) in &node.bindings {
            if let Some(value) = (Scope { node: None, ..scope }).eval(expr) {
                variables.push((name.clone(), to_dynamic(&value)));
            }
        }
        let mut env = rhai::Map::new();
        if let Some(environment) = self.environment_of(node) {
            for (key, expr) in &environment.vars {
                if let Some(value) = (Scope { node: None, ..scope }).eval(expr) {
                    env.insert(key.as_str().into(), to_dynamic(&value));
                }
            }
            env.insert("name".into(), Dynamic::from(environment.name.clone()));
        }
        variables.push(("env".into(), Dynamic::from_map(env)));
        variables.push(("version".into(), Dynamic::from(self.version.clone())));
        variables.push(("previous_version".into(), Dynamic::from(self.previous_version.clone())));
        variables.push(("host".into(), Dynamic::from(host.unwrap_or("").to_string())));
        variables.push(("stage".into(), Dynamic::from(node.name.clone())));
        variables.push(("attempt".into(), Dynamic::from_int(i64::from(attempt))));
        variables.push(("pipeline".into(), Dynamic::from(self.plan().pipeline.name.clone())));
        ScriptVars { variables, secrets: self.inputs.secrets.clone() }
    }

    pub fn elapsed_ms(&self) -> u64 {
        millis(self.started.elapsed())
    }
}

pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

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
