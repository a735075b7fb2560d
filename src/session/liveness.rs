//! What a deployment row means now: whether its process still lives, and
//! which environments it is about.

use crate::graph::ExecutionGraph;
use crate::state::lease::{liveness, ttl, Liveness};
use crate::state::{now_ms, Deployment, DeploymentStatus, Holder};

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

/// Whether a deployment is about `environment` (`""`: a plan without targets).
pub fn touches(deployment: &Deployment, environment: &str) -> bool {
    if environment.is_empty() {
        deployment.environments.is_empty()
    } else {
        deployment.targets(environment)
    }
}

/// The environments the plan's stages target, in plan order; stages left
/// out by `--env`/`--limit` do not count.
pub fn target_environments(graph: &ExecutionGraph) -> Vec<String> {
    let plan = &graph.plan;
    let mut names: Vec<String> = Vec::new();
    for node in plan.nodes.iter().filter(|node| node.deselected.is_none()) {
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
/// targeted node in graph order (of those `--env`/`--limit` selected);
/// `""` for a plan without targets.
pub fn final_environment(graph: &ExecutionGraph) -> String {
    graph
        .order
        .iter()
        .rev()
        .map(|id| graph.plan.node(*id))
        .filter(|node| node.deselected.is_none())
        .find_map(|node| node.target)
        .map(|target| graph.plan.environment(target).name.clone())
        .unwrap_or_default()
}

/// What a run of this plan locks: the whole pipeline under `lock = pipeline`,
/// its targets under `lock = environment`.
pub fn lease_scope(graph: &ExecutionGraph) -> super::lease::LeaseScope {
    let environments = match graph.plan.pipeline.lock {
        crate::check::model::LockScope::Pipeline => Vec::new(),
        crate::check::model::LockScope::Environment => target_environments(graph),
    };
    super::lease::LeaseScope { pipeline: graph.plan.pipeline.name.clone(), environments }
}
