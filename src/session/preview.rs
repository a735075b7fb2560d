//! What a run would do, as data, before anything runs: waves, the
//! resolved commands per host, batches, gates, rollback coverage and the
//! worst-case times. `deploy plan` and `deploy run --dry-run` render it for
//! people or as JSON; it is computed here once for every front end.

use serde::Serialize;

use crate::check::model::*;
use crate::duration::format_duration;
use crate::engine::interpolate::{Quoting, ValuesInScope};
use crate::graph::batches::{batches, Batch};
use crate::graph::timing::{worst_case, WorstCase};
use crate::graph::traffic_timing::{traffic_timing, TrafficTiming};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;

/// What a run would do, as data: printed for people or as JSON.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub pipeline: String,
    pub description: Option<String>,
    pub version: String,
    pub previous_version: String,
    pub on_failure: FailurePolicy,
    pub params: Vec<(String, String)>,
    pub waves: Vec<Vec<String>>,
    pub nodes: Vec<NodePreview>,
    pub rollback_path: Vec<String>,
    pub coverage: Coverage,
    /// The worst-case time to complete and to roll back.
    pub worst_case: WorstCase,
    /// Against the last successful deployment (from the state).
    pub changes: Option<super::plan_diff::Changes>,
    /// Every environment's hosts, with their transport and destination.
    pub environments: Vec<super::preview_hosts::EnvironmentPreview>,
    /// Where each host would go back to if this run were undone: its own
    /// recorded version (hosts of one environment can differ), as the run's
    /// `${previous_version}` on that host. Empty without a state.
    pub host_rollback: Vec<HostRollbackPreview>,
    /// The remote modules the plan uses, at the commits of its `deploy.lock`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_modules: Vec<RemoteModulePreview>,
}

/// One repository and ref of [`Preview::remote_modules`].
#[derive(Debug, Clone, Serialize)]
pub struct RemoteModulePreview {
    pub url: String,
    /// The ref as the import writes it.
    pub reference: String,
    pub commit: String,
    /// The tag a version range picked.
    pub tag: Option<String>,
    /// The module files used from it.
    pub files: Vec<String>,
}

impl RemoteModulePreview {
    /// What the lock beside `plan` names (nothing when there is none or it cannot be read:
    /// loading the plan already reported that).
    pub fn of_plan(plan: &std::path::Path) -> Vec<RemoteModulePreview> {
        let Ok(lock) = crate::remote::Lock::read_beside(plan) else { return Vec::new() };
        lock.sources
            .into_values()
            .map(|source| RemoteModulePreview {
                url: source.url,
                reference: source.reference,
                commit: source.commit,
                tag: source.tag,
                files: source.files.into_keys().collect(),
            })
            .collect()
    }
}

/// One host of [`Preview::host_rollback`].
#[derive(Debug, Clone, Serialize)]
pub struct HostRollbackPreview {
    pub host: String,
    /// What the run would put there.
    pub version: String,
    /// What undoing the run would bring it back to (`""`: nothing ran there).
    pub previous_version: String,
}

#[derive(Debug, Serialize)]
pub struct NodePreview {
    pub name: String,
    pub kind: NodeKind,
    pub template: Option<String>,
    pub needs: Vec<String>,
    pub target: Option<String>,
    pub strategy: String,
    pub batches: Vec<Batch>,
    /// A canary by share of requests: each step's share, pause, analysis and bounds.
    pub traffic: Option<TrafficTiming>,
    pub protection: Vec<String>,
    pub timeout: Option<String>,
    pub retry: Option<String>,
    pub conditional: bool,
    /// Commands per host (`local` when the node has no target).
    pub commands: Vec<HostCommands>,
    pub rollback: NodeRollback,
    pub gate: Vec<String>,
    /// Outside `--env` / `--limit`: why the node is skipped.
    pub skipped: Option<String>,
    /// How each host of the target is reached.
    pub transports: Vec<HostTransport>,
    /// Gates this stage decides itself (`analysis`, `verify`, `monitor`).
    pub decides: Vec<String>,
    /// A canary by share of requests: the router stage it runs at each step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HostTransport {
    pub host: String,
    pub transport: String,
}

#[derive(Debug, Serialize)]
pub struct HostCommands {
    pub host: String,
    pub steps: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NodeRollback {
    Steps { commands: Vec<HostCommands> },
    Irreversible { reason: String },
    Missing,
    None,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub stages: usize,
    pub undoable: usize,
    pub irreversible: Vec<String>,
    pub missing: Vec<String>,
}

fn describe_step(step: &Step, scope: &ValuesInScope) -> String {
    match step {
        Step::Run(template) => match scope.render(template, Quoting::Shell) {
            Ok(command) => command,
            Err(problem) => format!("<cannot render: {problem}>"),
        },
        Step::Upload(upload) => {
            let render = |template| match scope.render(template, Quoting::None) {
                Ok(text) => text,
                Err(problem) => format!("<cannot render: {problem}>"),
            };
            format!("upload {} to {}", render(&upload.local), render(&upload.remote))
        }
        Step::Script(script) => {
            let first = script.source.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            format!("script: {first}{}", if script.source.trim().lines().count() > 1 { " …" } else { "" })
        }
    }
}

fn commands(
    plan: &Plan,
    node: &NodeDef,
    steps: &[Step],
    base: ValuesInScope,
    own: &[crate::engine::context::HostVersions],
) -> Vec<HostCommands> {
    let local = ["local".to_string()];
    let hosts: &[String] = match node.target {
        Some(target) => &plan.environment(target).hosts,
        None => &local,
    };
    hosts
        .iter()
        .map(|host| {
            // Each host's own previous version, as the run binds it.
            let previous = match own.iter().find(|own| own.host == *host) {
                Some(own) if node.target.is_some() => own.previous_version.as_str(),
                _ => base.previous_version,
            };
            let scope = ValuesInScope { host: Some(host), previous_version: previous, ..base };
            HostCommands { host: host.clone(), steps: steps.iter().map(|s| describe_step(s, &scope)).collect() }
        })
        .collect()
}

/// What `deploy plan` shows. `own`: each host's own previous version
/// (`host_record::own_previous_versions`), empty without a state.
pub fn preview(
    graph: &ExecutionGraph,
    inputs: &ResolvedInputs,
    previous_version: &str,
    own: &[crate::engine::context::HostVersions],
) -> Preview {
    let plan = &graph.plan;
    let previewer = NodePreviewer::new(graph, inputs, previous_version, own);
    let nodes = graph.order.iter().map(|id| previewer.node(*id)).collect();
    let waves = previewer.waves().map(|wave| wave.iter().map(|id| plan.node(*id).name.clone()).collect()).collect();
    Preview { nodes, waves, ..outline(graph, inputs, previous_version, own) }
}

/// [`preview`] without [`Preview::nodes`] and [`Preview::waves`]: what a
/// renderer that previews each node as it prints it (with a
/// [`NodePreviewer`], in [`NodePreviewer::waves`]) needs besides. A plan
/// of a million stages was a million node previews held at once.
pub fn outline(
    graph: &ExecutionGraph,
    inputs: &ResolvedInputs,
    previous_version: &str,
    own: &[crate::engine::context::HostVersions],
) -> Preview {
    let plan = &graph.plan;
    let mut coverage = Coverage { stages: 0, undoable: 0, irreversible: Vec::new(), missing: Vec::new() };
    for id in &graph.order {
        count_coverage(plan.node(*id), &mut coverage);
    }
    Preview {
        pipeline: plan.pipeline.name.clone(),
        description: plan.pipeline.description.clone(),
        version: inputs.version(),
        previous_version: previous_version.to_string(),
        on_failure: plan.pipeline.on_failure,
        params: inputs
            .params
            .iter()
            .map(|(name, value)| (name.clone(), value.to_text()))
            .chain(inputs.secret_names().into_iter().map(|name| (name, "***".to_string())))
            .collect(),
        waves: Vec::new(),
        nodes: Vec::new(),
        rollback_path: graph.rollback_path().iter().map(|id| plan.node(*id).name.clone()).collect(),
        coverage,
        worst_case: worst_case(graph, plan.pipeline.max_parallel.unwrap_or(crate::engine::DEFAULT_MAX_PARALLEL)),
        changes: None,
        environments: super::preview_hosts::environments(plan),
        host_rollback: own
            .iter()
            .filter(|own| plan.environments.iter().any(|environment| environment.hosts.contains(&own.host)))
            .map(|own| HostRollbackPreview {
                host: own.host.clone(),
                version: own.version.clone(),
                previous_version: own.previous_version.clone(),
            })
            .collect(),
        remote_modules: Vec::new(),
    }
}

/// What each node's preview shares: the plan, its inputs and the
/// environment each node sees.
pub struct NodePreviewer<'a> {
    graph: &'a ExecutionGraph,
    inputs: &'a ResolvedInputs,
    previous_version: &'a str,
    own: &'a [crate::engine::context::HostVersions],
    contexts: Vec<Option<EnvId>>,
    max_parallel: u64,
}

impl<'a> NodePreviewer<'a> {
    pub fn new(
        graph: &'a ExecutionGraph,
        inputs: &'a ResolvedInputs,
        previous_version: &'a str,
        own: &'a [crate::engine::context::HostVersions],
    ) -> Self {
        let plan = &graph.plan;
        let max_parallel = plan.pipeline.max_parallel.unwrap_or(crate::engine::DEFAULT_MAX_PARALLEL).max(1) as u64;
        NodePreviewer { graph, inputs, previous_version, own, contexts: environment_of(graph), max_parallel }
    }

    pub fn plan(&self) -> &'a Plan {
        &self.graph.plan
    }

    /// The plan's nodes in the order they are previewed.
    pub fn order(&self) -> &'a [NodeId] {
        &self.graph.order
    }

    /// The waves as [`Preview::waves`] lists them: without the gates and
    /// routers only stages decide, and without waves left empty.
    pub fn waves(&self) -> impl Iterator<Item = Vec<NodeId>> + 'a {
        let decided = decided_by_stages(&self.graph.plan);
        self.graph
            .waves
            .iter()
            .map(move |w| w.iter().filter(|id| !decided[id.0]).copied().collect::<Vec<NodeId>>())
            .filter(|w| !w.is_empty())
    }

    /// One node's preview.
    pub fn node(&self, id: NodeId) -> NodePreview {
        let plan = &self.graph.plan;
        let node = plan.node(id);
        let environment = self.contexts[id.0].map(|e| plan.environment(e));
        let scope = ValuesInScope {
            plan,
            inputs: self.inputs,
            node: Some(node),
            environment,
            host: None,
            version: None,
            previous_version: self.previous_version,
            attempt: 1,
            mask_secrets: true,
        };
        let hosts: &[String] = node.target.map_or(&[], |t| &plan.environment(t).hosts);
        let protection = protection(plan, node);
        let rollback = rollback_preview(plan, node, scope, self.own);
        let gate = node.gate.as_ref().map(|g| gate_lines(g, &scope)).unwrap_or_default();
        let strategy = strategy_text(plan, &node.strategy);
        NodePreview {
            name: node.name.clone(),
            kind: node.kind,
            template: node.template.clone(),
            needs: node.needs.iter().map(|n| plan.node(*n).name.clone()).collect(),
            target: node.target.map(|t| plan.environment(t).name.clone()),
            strategy,
            batches: if node.target.is_some() { batches(&node.strategy, hosts) } else { Vec::new() },
            traffic: traffic_timing(plan, node, self.max_parallel),
            protection,
            timeout: node.timeout.map(format_duration),
            retry: node.retry.map(|r| format!("{} every {}", r.attempts, format_duration(r.every))),
            conditional: node.when.is_some(),
            commands: if node.kind == NodeKind::Stage {
                commands(plan, node, &node.steps, scope, self.own)
            } else {
                Vec::new()
            },
            rollback,
            gate,
            skipped: node.deselected.clone(),
            decides: crate::check::node_gates_used_by(node).iter().map(|g| plan.node(*g).name.clone()).collect(),
            router: node.strategy.traffic().map(|traffic| plan.node(traffic.router).name.clone()),
            transports: transports(plan, node, hosts),
        }
    }
}

/// Counts a node into the rollback coverage (as [`rollback_preview`] shows it).
fn count_coverage(node: &NodeDef, coverage: &mut Coverage) {
    match (&node.kind, &node.rollback) {
        (NodeKind::Gate, _) => {}
        (_, RollbackSpec::Steps(_)) => {
            coverage.stages += 1;
            coverage.undoable += 1;
        }
        (_, RollbackSpec::Irreversible(_)) => {
            coverage.stages += 1;
            coverage.irreversible.push(node.name.clone());
        }
        (_, RollbackSpec::Missing) if node.steps.is_empty() => {}
        (_, RollbackSpec::Missing) => {
            coverage.stages += 1;
            coverage.missing.push(node.name.clone());
        }
    }
}

/// How each host of a stage is reached.
fn transports(plan: &Plan, node: &NodeDef, hosts: &[String]) -> Vec<HostTransport> {
    let transport = node.target.map_or("local", |target| plan.environment(target).transport.word());
    hosts.iter().map(|host| HostTransport { host: host.clone(), transport: transport.to_string() }).collect()
}

/// Why a stage on a protected environment may wait.
fn protection(plan: &Plan, node: &NodeDef) -> Vec<String> {
    let mut protection = Vec::new();
    if let Some(target) = node.target {
        let env = plan.environment(target);
        if env.protect.approval {
            let by = if env.protect.approvers.is_empty() {
                String::new()
            } else {
                format!(" by {}", env.protect.approvers.join(", "))
            };
            protection.push(format!("approval required{by} (environment `{}` is protected)", env.name));
        }
        if let Some(window) = &env.protect.window {
            protection.push(format!("only within {} (environment `{}` is protected)", window.text, env.name));
        }
    }
    protection
}

/// How a node is undone (counted by [`count_coverage`]).
fn rollback_preview(
    plan: &Plan,
    node: &NodeDef,
    scope: ValuesInScope,
    own: &[crate::engine::context::HostVersions],
) -> NodeRollback {
    match (&node.kind, &node.rollback) {
        (NodeKind::Gate, _) => NodeRollback::None,
        (_, RollbackSpec::Steps(steps)) => NodeRollback::Steps { commands: commands(plan, node, steps, scope, own) },
        (_, RollbackSpec::Irreversible(reason)) => NodeRollback::Irreversible { reason: reason.clone() },
        (_, RollbackSpec::Missing) if node.steps.is_empty() => NodeRollback::None,
        (_, RollbackSpec::Missing) => NodeRollback::Missing,
    }
}

/// What a gate waits for and checks, one line each, and its policies.
fn gate_lines(g: &GateDef, scope: &ValuesInScope) -> Vec<String> {
    let mut gate = Vec::new();
    if let Some(window) = &g.window {
        gate.push(format!("window {}", window.text));
    }
    if let Some(wait) = g.wait {
        gate.push(format!("wait {}", format_duration(wait)));
    }
    if let Some(check) = &g.check {
        gate.push(format!("check every {} within {}", format_duration(check.every), format_duration(check.within)));
    }
    if let Some(approve) = &g.approve {
        let question = scope.render(&approve.question, Quoting::None).unwrap_or_default();
        let by = if approve.by.is_empty() { String::new() } else { format!(" (by {})", approve.by.join(", ")) };
        gate.push(format!("approve \"{question}\"{by}"));
    }
    gate.push(format!(
        "on fail: {}, inconclusive: {}, no data: {}",
        policy(g.on_fail),
        policy(g.on_inconclusive),
        policy(g.on_no_data)
    ));
    gate
}

/// The strategy of a stage in words.
fn strategy_text(plan: &Plan, strategy: &Strategy) -> String {
    match strategy {
        Strategy::AllAtOnce => "all_at_once".to_string(),
        Strategy::Rolling { batch, max_failures } => {
            format!("rolling, batch {}, max failures {}", amount(*batch), amount(*max_failures))
        }
        Strategy::Canary { steps, pause, analysis, traffic } => {
            let steps: Vec<String> = steps.iter().map(|s| format!("{s}%")).collect();
            let analysis = analysis.map(|a| format!(", analysis {}", plan.node(a).name)).unwrap_or_default();
            let router = traffic
                .as_ref()
                .map(|t| format!(" of requests through {}", plan.node(t.router).name))
                .unwrap_or_default();
            format!("canary {}{router}, pause {}{analysis}", steps.join(" → "), format_duration(*pause))
        }
        Strategy::BlueGreen { verify, keep_previous, .. } => {
            let verify = verify.map(|v| format!(", verify {}", plan.node(v).name)).unwrap_or_default();
            let keep = keep_previous.map(|k| format!(", keep previous {}", format_duration(k))).unwrap_or_default();
            format!("blue_green{verify}{keep}")
        }
    }
}

/// For each node: a gate only stages decide (as `analysis`, `verify` or
/// `monitor`), or a router stage only traffic canaries run, with no edges
/// of its own: it runs inside those stages, not as a wave (as the engine
/// runs it). One pass over the plan (a pass per node made the preview of
/// 24,000 stages quadratic).
fn decided_by_stages(plan: &Plan) -> Vec<bool> {
    let mut used = vec![false; plan.nodes.len()];
    let mut needed = vec![false; plan.nodes.len()];
    for stage in &plan.nodes {
        for gate in crate::check::node_gates_used_by(stage) {
            if plan.nodes.get(gate.0).is_some_and(|node| node.kind == NodeKind::Gate) {
                used[gate.0] = true;
            }
        }
        if let Some(router) = stage.strategy.traffic().map(|traffic| traffic.router) {
            if let Some(slot) = used.get_mut(router.0) {
                *slot = true;
            }
        }
        for need in &stage.needs {
            if let Some(slot) = needed.get_mut(need.0) {
                *slot = true;
            }
        }
    }
    plan.nodes.iter().enumerate().map(|(i, node)| used[i] && node.needs.is_empty() && !needed[i]).collect()
}

/// The environment each node sees: its target, or the closest needed one.
fn environment_of(graph: &ExecutionGraph) -> Vec<Option<EnvId>> {
    let plan = &graph.plan;
    let mut out: Vec<Option<EnvId>> = vec![None; plan.nodes.len()];
    for id in &graph.order {
        let node = plan.node(*id);
        out[id.0] = node.target.or_else(|| node.needs.iter().find_map(|n| out[n.0]));
    }
    out
}

fn policy(policy: OutcomePolicy) -> &'static str {
    match policy {
        OutcomePolicy::Rollback => "rollback",
        OutcomePolicy::Pause => "pause",
        OutcomePolicy::Abort => "abort",
        OutcomePolicy::Continue => "continue",
    }
}

fn amount(amount: Amount) -> String {
    match amount {
        Amount::Count(n) => n.to_string(),
        Amount::Percent(p) => format!("{p}%"),
    }
}
