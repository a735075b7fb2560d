//! The deployment row of a run starting now, and the params it records.

use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::state::{now_ms, Deployment, DeploymentKind, DeploymentStatus, Holder};

/// What a new deployment row says beyond the plan and its inputs.
pub struct NewDeployment<'a> {
    pub kind: DeploymentKind,
    pub holder: &'a Holder,
    pub version: String,
    pub previous_version: String,
    pub environments: Vec<String>,
    /// A rollback: the run it undoes.
    pub undoes: Option<String>,
}

impl NewDeployment<'_> {
    /// The row, `running` from now.
    pub fn row(self, graph: &ExecutionGraph, inputs: &ResolvedInputs) -> Deployment {
        let plan_file = std::fs::canonicalize(&graph.plan.plan_file).unwrap_or_else(|_| graph.plan.plan_file.clone());
        let plan_text = crate::check::loader::read_to_string_limited(&graph.plan.plan_file).unwrap_or_default();
        let now = now_ms();
        let holder = self.holder;
        Deployment {
            run_id: holder.run_id.clone(),
            kind: self.kind,
            pipeline: graph.plan.pipeline.name.clone(),
            environments: self.environments,
            version: self.version,
            previous_version: self.previous_version,
            params: recorded_params(inputs),
            plan_file: plan_file.display().to_string(),
            plan_hash: plan_hash(&plan_text),
            plan_text,
            plan_canonical: serde_json::to_string(&crate::canonical::canonical(&graph.plan)).unwrap_or_default(),
            plan_imports: serde_json::to_string(&crate::canonical::imported_sources(&graph.plan)).unwrap_or_default(),
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
            undoes: self.undoes,
            undone_by: None,
            modules: run_modules(&graph.plan.plan_file),
        }
    }
}

/// The remote modules of the plan at `plan`, one per file, at the commits
/// of the `deploy.lock` beside it (what checking the plan just used).
pub fn run_modules(plan: &std::path::Path) -> Vec<crate::state::RunModule> {
    let Ok(lock) = crate::remote::Lock::read_beside(plan) else { return Vec::new() };
    let mut modules = Vec::new();
    for source in lock.sources.values() {
        for path in source.files.keys() {
            modules.push(crate::state::RunModule {
                name: format!("{}{}//{path}@{}", crate::remote::import::PREFIX, source.url, source.reference),
                url: source.url.clone(),
                reference: source.reference.clone(),
                path: path.clone(),
                commit: source.commit.clone(),
                tag: source.tag.clone(),
            });
        }
    }
    modules
}

/// The hash of a plan's text.
pub fn plan_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Params (and secrets, as `***`) as the deployments row keeps them.
pub fn recorded_params(inputs: &ResolvedInputs) -> Vec<(String, String)> {
    let redactor = crate::record::redact::Redactor::new(inputs.secrets.iter().map(|(_, value)| value.as_str()));
    inputs
        .params
        .iter()
        .map(|(name, value)| (name.clone(), redactor.redact(&value.to_text())))
        .chain(inputs.secrets.iter().map(|(name, _)| (name.clone(), crate::record::redact::MASK.to_string())))
        .collect()
}

/// `NAME=VALUE` pairs that reproduce a recorded run's params (secrets are read again).
pub fn params_as_sets(deployment: &Deployment, graph: &ExecutionGraph) -> Vec<String> {
    deployment
        .params
        .iter()
        .filter(|(name, _)| graph.plan.params.iter().any(|param| &param.name == name))
        .filter(|(_, value)| value != crate::record::redact::MASK)
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

/// Every recorded param as `NAME=VALUE` (secrets left out), for checking
/// the plan again as the run's was: the values decide its constants
/// (durations, windows, waits). Names the plan does not declare (the
/// built-ins a front end bound) are not looked at by the check.
pub fn recorded_sets(deployment: &Deployment) -> Vec<String> {
    deployment
        .params
        .iter()
        .filter(|(_, value)| value != crate::record::redact::MASK)
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

/// A unified diff between a recorded plan text and the one now (3 lines of context).
pub fn unified(before: &str, after: &str, name: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (deployed)"), &format!("{name} (now)"))
        .to_string()
}

/// The built-ins a front end bound that the plan does not declare (`deploy
/// watch` binds `version` and `commit`), as the run's row recorded them.
pub fn restore_bound(deployment: &Deployment, graph: &ExecutionGraph, inputs: &mut ResolvedInputs) {
    for name in ["version", "commit"] {
        if graph.plan.params.iter().any(|param| param.name == name) {
            continue;
        }
        if let Some((_, value)) = deployment.params.iter().find(|(param, _)| param == name) {
            inputs.bind(name, value);
        }
    }
}
