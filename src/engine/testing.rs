//! Hand-built plans for the engine's unit tests (the checker builds them in
//! real runs).

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;

use super::script_runner::compile_script;
use super::{run, Parts, RunOptions, RunReport};
use crate::check::model::*;
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::record::bus::EventLog;
use crate::record::event::{Event, EventData};
use crate::syntax::span::SourceMap;

/// `"echo ${host} ${raw(x)}"` → a template (no escapes).
pub fn template(text: &str) -> StringTemplate {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            parts.push(TemplatePart::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after.find('}').unwrap();
        let inner = &after[..end];
        let (name, raw) = match inner.strip_prefix("raw(").and_then(|s| s.strip_suffix(')')) {
            Some(name) => (name, true),
            None => (inner, false),
        };
        parts.push(TemplatePart::Var { path: name.split('.').map(str::to_string).collect(), raw });
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    StringTemplate { parts, location: Location::default() }
}

pub fn run_step(text: &str) -> Step {
    Step::Run(template(text))
}

pub struct PlanBuilder {
    pub plan: Plan,
}

impl PlanBuilder {
    pub fn new(dir: &Path) -> PlanBuilder {
        PlanBuilder {
            plan: Plan {
                pipeline: PipelineSettings {
                    name: "test".into(),
                    description: None,
                    on_failure: FailurePolicy::Rollback,
                    lock: LockScope::Pipeline,
                    script_limits: ScriptLimits::default(),
                    max_parallel: None,
                    watch: None,
                    step_timeout: None,
                    location: None,
                },
                params: Vec::new(),
                secrets: Vec::new(),
                environments: Vec::new(),
                nodes: Vec::new(),
                hooks: Vec::new(),
                plan_file: dir.join("release.deploy"),
                base_dir: dir.to_path_buf(),
                sources: SourceMap::default(),
            },
        }
    }

    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.plan.pipeline.on_failure = policy;
        self
    }

    pub fn environment(mut self, name: &str, hosts: &[&str]) -> Self {
        let id = EnvId(self.plan.environments.len());
        self.plan.environments.push(EnvironmentDef {
            probe: None,
            id,
            name: name.into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            host_defs: hosts
                .iter()
                .map(|h| crate::check::model::HostDef {
                    name: h.to_string(),
                    address: None,
                    vars: Vec::new(),
                    location: Location::default(),
                })
                .collect(),
            limited_out: Vec::new(),
            groups: Vec::new(),
            vars: Vec::new(),
            protect: Protect::default(),
            transport: Default::default(),
            ssh: Default::default(),
            destinations: Vec::new(),
            location: Location::default(),
        });
        self
    }

    /// A stage; `f` fills in the rest.
    pub fn stage(self, name: &str, needs: &[&str], steps: &[&str], f: impl FnOnce(&mut NodeDef)) -> Self {
        self.node(NodeKind::Stage, name, needs, steps, f)
    }

    pub fn gate(self, name: &str, needs: &[&str], gate: GateDef) -> Self {
        self.node(NodeKind::Gate, name, needs, &[], |node| node.gate = Some(Box::new(gate)))
    }

    fn node(
        mut self,
        kind: NodeKind,
        name: &str,
        needs: &[&str],
        steps: &[&str],
        f: impl FnOnce(&mut NodeDef),
    ) -> Self {
        let id = NodeId(self.plan.nodes.len());
        let needs = needs.iter().map(|need| self.plan.node_named(need).map(|n| n.id).unwrap()).collect();
        let mut node = NodeDef {
            needs,
            steps: steps.iter().map(|s| run_step(s)).collect(),
            ..NodeDef::new(id, name.into(), kind, Location::default(), Location::default())
        };
        f(&mut node);
        self.plan.nodes.push(node);
        self
    }

    pub fn target(&self, env: &str) -> Option<EnvId> {
        self.plan.environment_named(env).map(|e| e.id)
    }
}

pub fn rollback(steps: &[&str]) -> RollbackSpec {
    RollbackSpec::Steps(steps.iter().map(|s| run_step(s)).collect())
}

pub fn when(source: &str) -> Option<Script> {
    Some(compile_script(source).unwrap())
}

pub fn gate() -> GateDef {
    GateDef::default()
}

pub struct Outcome {
    pub report: RunReport,
    pub events: Vec<Event>,
}

impl Outcome {
    /// Every line of output, in order.
    pub fn lines(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match &e.data {
                EventData::StepOutput { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect()
    }
}

pub struct Runner {
    pub inputs: ResolvedInputs,
    pub options: RunOptions,
    /// Send an interrupt after this long (and a second one after `second`).
    pub interrupt_after: Option<Duration>,
    pub second_interrupt_after: Option<Duration>,
}

impl Default for Runner {
    fn default() -> Self {
        Runner {
            inputs: ResolvedInputs {
                params: vec![("version".into(), Value::String("1.0".into()))],
                secrets: vec![],
                ..Default::default()
            },
            options: RunOptions { kill_grace: Duration::from_millis(200), ..RunOptions::default() },
            interrupt_after: None,
            second_interrupt_after: None,
        }
    }
}

impl Runner {
    pub fn run(self, plan: Plan) -> Outcome {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let log = EventLog::default();
            let graph = ExecutionGraph::build(plan);
            let (sender, receiver) = mpsc::unbounded_channel();
            if let Some(after) = self.interrupt_after {
                let sender = sender.clone();
                let second = self.second_interrupt_after;
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = sender.send(());
                    if let Some(second) = second {
                        tokio::time::sleep(second).await;
                        let _ = sender.send(());
                    }
                });
            }
            let parts = Parts::local(&graph, &self.options);
            let report = run(graph, self.inputs, self.options, parts, vec![Box::new(log.clone())], receiver).await;
            drop(sender);
            Outcome { report, events: log.snapshot() }
        })
    }
}

/// Shared for tests that only need a directory.
pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
