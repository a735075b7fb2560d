//! What `deploy plan` (and the dashboard's plan page) adds from the state: what changes against the last
//! successful deployment — the version, the params, and a unified diff of
//! the plan text when it changed since.

use super::error::SessionResult;
use serde::Serialize;

use crate::canonical::diff::{describe, Change};
use crate::canonical::CanonicalPlan;
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::state::{format_time, DeploymentKind, DeploymentQuery, DeploymentStatus, StateLocation};

#[derive(Debug, Serialize)]
pub struct Changes {
    /// The last successful deployment of this pipeline.
    pub since_run: String,
    pub since: i64,
    pub version_from: String,
    pub version_to: String,
    /// (param, before, after) for every param that differs.
    pub params: Vec<(String, String, String)>,
    /// A unified diff of the plan text; empty when unchanged.
    pub plan_diff: String,
    /// Environments where the new version is known bad.
    pub known_bad: Vec<String>,
    /// What changed in the language's terms; `None` when the deployment
    /// was recorded before the state kept canonical plans.
    pub semantic: Option<Vec<Change>>,
    /// For environments whose last successful deployment is an older one:
    /// what changed since that one.
    pub environments: Vec<EnvironmentChanges>,
}

#[derive(Debug, Serialize)]
pub struct EnvironmentChanges {
    pub environment: String,
    pub since_run: String,
    pub version_from: String,
    pub semantic: Option<Vec<Change>>,
}

/// The semantic changes from a recorded deployment's plan to `now`.
fn semantic_since(deployment: &crate::state::Deployment, now: &CanonicalPlan) -> Option<Vec<Change>> {
    if deployment.plan_canonical.is_empty() {
        return None;
    }
    let before: CanonicalPlan = serde_json::from_str(&deployment.plan_canonical).ok()?;
    Some(crate::canonical::diff::diff(&before, now))
}

pub use crate::session::record::unified;

/// What the state says about a plan about to run.
#[derive(Debug, Default)]
pub struct Deployed {
    /// The current version of the environment the plan deploys to last.
    pub previous_version: String,
    /// `None` without a successful deployment.
    pub changes: Option<Changes>,
    /// Each host's own version now, the previous version this run would bind there.
    pub host_versions: Vec<crate::engine::context::HostVersions>,
}

/// Reads the state beside the plan (or `--state`) without creating it.
pub fn deployed(graph: &ExecutionGraph, inputs: &ResolvedInputs, state: Option<&str>) -> SessionResult<Deployed> {
    deployed_at(graph, inputs, &StateLocation::for_plan(state, &graph.plan.plan_file))
}

/// Reads the state at `location` without creating it.
pub fn deployed_at(
    graph: &ExecutionGraph,
    inputs: &ResolvedInputs,
    location: &StateLocation,
) -> SessionResult<Deployed> {
    let Some(mut store) = crate::state::open_read_only(location)? else {
        return Ok(Deployed::default());
    };
    let pipeline = &graph.plan.pipeline.name;
    let final_environment = crate::session::liveness::final_environment(graph);
    let previous_version = store
        .environment_versions(Some(pipeline))?
        .into_iter()
        .find(|entry| entry.environment == final_environment)
        .map(|entry| entry.current_version)
        .unwrap_or_default();
    let host_versions = super::host_record::own_previous_versions(store.as_mut(), &graph.plan, "", &inputs.version())?;
    Ok(Deployed { previous_version, changes: changes(store.as_mut(), graph, inputs)?, host_versions })
}

fn changes(
    store: &mut dyn crate::state::StateStore,
    graph: &ExecutionGraph,
    inputs: &ResolvedInputs,
) -> SessionResult<Option<Changes>> {
    let pipeline = &graph.plan.pipeline.name;
    let succeeded: Vec<crate::state::Deployment> = store
        .deployments(&DeploymentQuery {
            pipeline: Some(pipeline.clone()),
            kind: Some(DeploymentKind::Run),
            ..Default::default()
        })?
        .into_iter()
        .filter(|deployment| deployment.status == DeploymentStatus::Succeeded && deployment.undone_by.is_none())
        .collect();
    let Some(last) = succeeded.first().cloned() else { return Ok(None) };
    let canonical_now = crate::canonical::canonical(&graph.plan);
    let mut environments = Vec::new();
    for environment in crate::session::liveness::target_environments(graph) {
        let Some(own) = succeeded.iter().find(|deployment| deployment.targets(&environment)) else { continue };
        if own.run_id != last.run_id {
            environments.push(EnvironmentChanges {
                environment,
                since_run: own.run_id.clone(),
                version_from: own.version.clone(),
                semantic: semantic_since(own, &canonical_now),
            });
        }
    }
    let mut semantic = semantic_since(&last, &canonical_now);
    let now = crate::session::record::recorded_params(inputs);
    let mut params = Vec::new();
    for (name, value) in &now {
        let before = last.params.iter().find(|(old, _)| old == name).map(|(_, v)| v.clone()).unwrap_or_default();
        if &before != value {
            params.push((name.clone(), before, value.clone()));
        }
    }
    for (name, value) in &last.params {
        if !now.iter().any(|(new, _)| new == name) {
            params.push((name.clone(), value.clone(), String::new()));
        }
    }
    let text = crate::check::loader::read_to_string_limited(&graph.plan.plan_file).unwrap_or_default();
    let plan_diff = if crate::session::record::plan_hash(&text) == last.plan_hash {
        String::new()
    } else {
        unified(&last.plan_text, &text, &graph.plan.plan_file.display().to_string())
    };
    let version = inputs.version();
    let known_bad = store
        .bad_versions(pipeline)?
        .into_iter()
        .filter(|bad| bad.version == version)
        .map(|bad| if bad.environment.is_empty() { "(no target)".to_string() } else { bad.environment })
        .collect();
    if let Some(list) = semantic.as_mut() {
        list.extend(params.iter().map(|(name, from, to)| Change::ParamValueChanged {
            name: name.clone(),
            from: from.clone(),
            to: to.clone(),
        }));
    }
    Ok(Some(Changes {
        semantic,
        environments,
        since_run: last.run_id,
        since: last.started_at,
        version_from: last.version,
        version_to: version,
        params,
        plan_diff,
        known_bad,
    }))
}

pub fn render(changes: &Changes) -> String {
    let mut out = format!(
        "\nChanges since the last successful deployment (run {}, {}):\n",
        changes.since_run,
        format_time(changes.since)
    );
    if changes.version_from == changes.version_to {
        out.push_str(&format!("  version {} (unchanged)\n", changes.version_to));
    } else {
        out.push_str(&format!("  version {} → {}\n", changes.version_from, changes.version_to));
    }
    for environment in &changes.known_bad {
        out.push_str(&format!("  warning: version {} is known bad in {environment}\n", changes.version_to));
    }
    if changes.params.is_empty() {
        out.push_str("  params unchanged\n");
    }
    for (name, before, after) in &changes.params {
        out.push_str(&format!("  param {name}: {before} → {after}\n"));
    }
    if let Some(semantic) = &changes.semantic {
        out.push_str(&render_semantic(semantic, "  "));
        if !changes.plan_diff.is_empty() {
            out.push_str("  the plan file's text:\n");
            for line in changes.plan_diff.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    } else if changes.plan_diff.is_empty() {
        out.push_str("  plan unchanged\n");
    } else {
        out.push_str("  plan changed:\n");
        for line in changes.plan_diff.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// The semantic changes, one per line under `indent`.
pub fn render_semantic(changes: &[Change], indent: &str) -> String {
    let plan_changes: Vec<&Change> =
        changes.iter().filter(|c| !matches!(c, Change::ParamValueChanged { .. })).collect();
    if plan_changes.is_empty() {
        return format!("{indent}plan unchanged\n");
    }
    let mut out = format!("{indent}plan changed:\n");
    for change in plan_changes {
        out.push_str(&format!("{indent}  {}\n", describe(change)));
    }
    out
}

/// `deploy plan --diff-only`: the changes against what is deployed, per environment.
pub fn render_diff_only(changes: Option<&Changes>) -> String {
    let Some(changes) = changes else {
        return "Nothing deployed yet: no changes to show.\n".to_string();
    };
    let mut out = render(changes).trim_start_matches('\n').to_string();
    for environment in &changes.environments {
        out.push_str(&format!(
            "\nChanges in {} since its last successful deployment (run {}, version {}):\n",
            environment.environment, environment.since_run, environment.version_from
        ));
        match &environment.semantic {
            Some(semantic) => out.push_str(&render_semantic(semantic, "  ")),
            None => out.push_str("  (recorded before the state kept canonical plans)\n"),
        }
    }
    out
}
