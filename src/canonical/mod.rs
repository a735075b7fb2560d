//! The canonical plan: what a checked plan means, in the language's own
//! terms and without spans — its params, environments and hosts, stages and
//! gates with their edges, strategies, steps, rollback blocks, gate
//! thresholds and policies, and the modules it imported with the hash of
//! each. The state store records it with every run, so `deploy plan` can
//! say what changed since ([`diff`]), and `deploy diff` compares two files.

pub mod diff;
pub mod words;

use serde::{Deserialize, Serialize};

use crate::check::model::*;
use crate::duration::format_duration;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CanonicalPlan {
    pub pipeline: String,
    pub settings: Vec<(String, String)>,
    pub params: Vec<CanonicalParam>,
    pub secrets: Vec<String>,
    pub environments: Vec<CanonicalEnvironment>,
    pub nodes: Vec<CanonicalNode>,
    pub modules: Vec<CanonicalModule>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CanonicalParam {
    pub name: String,
    pub ty: String,
    pub default: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CanonicalEnvironment {
    pub name: String,
    pub hosts: Vec<String>,
    pub vars: Vec<(String, String)>,
    pub protect: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CanonicalNode {
    pub name: String,
    pub kind: String,
    pub needs: Vec<String>,
    /// `target`, `strategy`, `timeout`, `retry`, `when`, `monitor`, `from`,
    /// and a gate's `check`, `wait`, `window`, `approve`, `on_*`: (key, value).
    pub settings: Vec<(String, String)>,
    /// Step lists by name: `steps`, `rollback`, `switch`, `on start`, ...
    pub lists: Vec<(String, Vec<String>)>,
    /// `steps`, `irreversible: why`, or `none`.
    pub rollback: String,
    pub bindings: Vec<(String, String)>,
}

impl CanonicalNode {
    /// Everything but the name and the edges: what a rename keeps.
    pub fn body(&self) -> CanonicalNode {
        CanonicalNode { name: String::new(), needs: Vec::new(), ..self.clone() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CanonicalModule {
    /// As imported: `std/http`, `stages/db.deploy`.
    pub path: String,
    /// The first 12 hex digits of the SHA-256 of its text.
    pub hash: String,
}

/// An imported file as the state records it: its path and its text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedSource {
    pub path: String,
    pub text: String,
}

pub fn canonical(plan: &Plan) -> CanonicalPlan {
    let pipeline = &plan.pipeline;
    let mut settings = vec![("on_failure".to_string(), format!("{:?}", pipeline.on_failure).to_lowercase())];
    settings.push(("lock".to_string(), format!("{:?}", pipeline.lock).to_lowercase()));
    if let Some(max) = pipeline.max_parallel {
        settings.push(("max_parallel".to_string(), max.to_string()));
    }
    CanonicalPlan {
        pipeline: pipeline.name.clone(),
        settings,
        params: plan
            .params
            .iter()
            .map(|p| CanonicalParam {
                name: p.name.clone(),
                ty: p.ty.to_string(),
                default: p.default.as_ref().map(expr),
            })
            .collect(),
        secrets: plan.secrets.iter().map(|s| s.name.clone()).collect(),
        environments: plan.environments.iter().map(environment).collect(),
        nodes: plan.nodes.iter().map(|node| canonical_node(plan, node)).collect(),
        modules: modules(plan),
    }
}

/// The files a plan imported (every loaded file but the plan itself).
pub fn imported_sources(plan: &Plan) -> Vec<RecordedSource> {
    plan.sources
        .files()
        .skip(1)
        .map(|(_, file)| RecordedSource {
            path: module_path(plan, &file.path, &file.name),
            text: file.text.to_string(),
        })
        .collect()
}

/// A module's path relative to the plan's directory (`std/...` as is), so
/// the same plan checked from elsewhere names its modules the same way.
fn module_path(plan: &Plan, path: &std::path::Path, name: &str) -> String {
    let base = &plan.base_dir;
    if !base.as_os_str().is_empty() {
        if let Ok(relative) = path.strip_prefix(base) {
            return relative.display().to_string();
        }
        if let (Ok(full), Ok(base)) = (std::fs::canonicalize(path), std::fs::canonicalize(base)) {
            if let Ok(relative) = full.strip_prefix(base) {
                return relative.display().to_string();
            }
        }
    }
    if path.is_relative() {
        path.display().to_string()
    } else {
        name.to_string()
    }
}

fn modules(plan: &Plan) -> Vec<CanonicalModule> {
    imported_sources(plan)
        .into_iter()
        .map(|source| CanonicalModule { hash: short_hash(&source.text), path: source.path })
        .collect()
}

pub fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().take(6).map(|byte| format!("{byte:02x}")).collect()
}

fn environment(env: &EnvironmentDef) -> CanonicalEnvironment {
    let mut protect = Vec::new();
    if env.protect.approval {
        protect.push("approval = required".to_string());
    }
    if !env.protect.approvers.is_empty() {
        protect.push(format!("by = [{}]", env.protect.approvers.join(", ")));
    }
    if let Some(window) = &env.protect.window {
        protect.push(format!("window = \"{}\"", window.text));
    }
    CanonicalEnvironment {
        name: env.name.clone(),
        hosts: env.hosts.clone(),
        vars: env.vars.iter().map(|(k, v)| (k.clone(), expr(v))).collect(),
        protect,
    }
}

fn canonical_node(plan: &Plan, node: &NodeDef) -> CanonicalNode {
    let mut settings: Vec<(String, String)> = Vec::new();
    let mut set = |key: &str, value: String| settings.push((key.to_string(), value));
    if let Some(template) = &node.template {
        set("from", template.clone());
    }
    if let Some(target) = node.target {
        set("target", plan.environment(target).name.clone());
        set("strategy", strategy(plan, &node.strategy));
    }
    if let Some(timeout) = node.timeout {
        set("timeout", format_duration(timeout));
    }
    if let Some(retry) = node.retry {
        set("retry", format!("{} every {}", retry.attempts, format_duration(retry.every)));
    }
    if let Some(when) = &node.when {
        set("when", when.source.trim().to_string());
    }
    if let Some(monitor) = node.monitor {
        set("monitor", format!("{} for {}", plan.node(monitor.gate).name, format_duration(monitor.duration)));
    }
    if let Some(gate) = node.gate.as_deref() {
        gate_settings(gate, &mut set);
    }
    let mut lists = vec![("steps".to_string(), node.steps.iter().map(step).collect::<Vec<_>>())];
    let rollback = match &node.rollback {
        RollbackSpec::Steps(steps) => {
            lists.push(("rollback".to_string(), steps.iter().map(step).collect()));
            "steps".to_string()
        }
        RollbackSpec::Irreversible(why) => format!("irreversible: {why}"),
        RollbackSpec::Missing => "none".to_string(),
    };
    if let Strategy::BlueGreen { switch, .. } = &node.strategy {
        lists.push(("switch".to_string(), switch.iter().map(step).collect()));
    }
    for hook in &node.hooks {
        lists.push((format!("on {}", hook.event.word()), hook.steps.iter().map(step).collect()));
    }
    lists.retain(|(name, steps)| name == "steps" || !steps.is_empty());
    CanonicalNode {
        name: node.name.clone(),
        kind: node.kind.word().to_string(),
        needs: node.needs.iter().map(|id| plan.node(*id).name.clone()).collect(),
        settings,
        lists,
        rollback,
        bindings: node.bindings.iter().map(|(k, v)| (k.clone(), expr(v))).collect(),
    }
}

fn gate_settings(gate: &GateDef, set: &mut impl FnMut(&str, String)) {
    if let Some(check) = &gate.check {
        set("check", format!("every {} within {}", format_duration(check.every), format_duration(check.within)));
        set("check script", check.script.source.trim().to_string());
    }
    if let Some(wait) = gate.wait {
        set("wait", format_duration(wait));
    }
    if let Some(window) = &gate.window {
        set("window", window.text.clone());
    }
    if let Some(approve) = &gate.approve {
        let by = if approve.by.is_empty() { String::new() } else { format!(" by [{}]", approve.by.join(", ")) };
        set("approve", format!("\"{}\"{by}", template(&approve.question)));
    }
    set("on_fail", policy(gate.on_fail));
    set("on_inconclusive", policy(gate.on_inconclusive));
    set("on_no_data", policy(gate.on_no_data));
}

fn policy(policy: OutcomePolicy) -> String {
    format!("{policy:?}").to_lowercase()
}

fn strategy(plan: &Plan, strategy: &Strategy) -> String {
    let amount = |amount: &Amount| match amount {
        Amount::Count(n) => n.to_string(),
        Amount::Percent(p) => format!("{p}%"),
    };
    match strategy {
        Strategy::AllAtOnce => "all_at_once".to_string(),
        Strategy::Rolling { batch, max_failures } => {
            format!("rolling {{ batch = {}  max_failures = {} }}", amount(batch), amount(max_failures))
        }
        Strategy::Canary { steps, pause, analysis, traffic } => {
            let steps: Vec<String> = steps.iter().map(|s| format!("{s}%")).collect();
            let analysis = analysis.map(|a| format!("  analysis = {}", plan.node(a).name)).unwrap_or_default();
            let traffic = match traffic {
                Some(traffic) => {
                    let keep = traffic
                        .keep_previous
                        .map(|k| format!("  keep_previous = {}", format_duration(k)))
                        .unwrap_or_default();
                    let retire: Vec<String> = traffic.retire.iter().map(step).collect();
                    let retire =
                        if retire.is_empty() { String::new() } else { format!("  retire {{ {} }}", retire.join("  ")) };
                    format!("  traffic = {}{keep}{retire}", plan.node(traffic.router).name)
                }
                None => String::new(),
            };
            format!(
                "canary {{ steps = [{}]  pause = {}{analysis}{traffic} }}",
                steps.join(", "),
                format_duration(*pause)
            )
        }
        Strategy::BlueGreen { verify, keep_previous, .. } => {
            let verify = verify.map(|v| format!("  verify = {}", plan.node(v).name)).unwrap_or_default();
            let keep = keep_previous.map(|k| format!("  keep_previous = {}", format_duration(k))).unwrap_or_default();
            format!("blue_green {{{verify}{keep} }}")
        }
    }
}

fn step(step: &Step) -> String {
    match step {
        Step::Run(command) => format!("run \"{}\"", template(command)),
        Step::Script(script) => format!("script ```{}```", script.source.trim()),
        Step::Upload(upload) => format!("upload \"{}\" to \"{}\"", template(&upload.local), template(&upload.remote)),
    }
}

/// A string template as written: text and `${...}`.
pub fn template(template: &StringTemplate) -> String {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            TemplatePart::Text(text) => out.push_str(text),
            TemplatePart::Var { path, raw: false } => out.push_str(&format!("${{{}}}", path.join("."))),
            TemplatePart::Var { path, raw: true } => out.push_str(&format!("${{raw({})}}", path.join("."))),
        }
    }
    out
}

fn expr(expr: &Expr) -> String {
    match expr {
        Expr::Literal(Value::String(text)) => format!("\"{text}\""),
        Expr::Literal(value) => value.to_text(),
        Expr::Text(text) => format!("\"{}\"", template(text)),
        Expr::Env { var, default: Some(default) } => format!("env(\"{var}\", {})", self::expr(default)),
        Expr::Env { var, default: None } => format!("env(\"{var}\")"),
        Expr::Ref(path) => path.join("."),
        Expr::List(items) => format!("[{}]", items.iter().map(self::expr).collect::<Vec<_>>().join(", ")),
    }
}
