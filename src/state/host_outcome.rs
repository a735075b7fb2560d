//! What a run did to each host, from what it recorded: its `node_runs`
//! (each stage on each host, across resumes) and the `rollback_step`
//! events of its journal. Only hosts a stage started on count: a host
//! left out by `--env`/`--limit`, a stage skipped by `when`, a host never
//! reached have no unit and are not changed; a host whose every unit was
//! undone is back where it was and is not changed either.
//!
//! Per host, over the units that were not undone:
//! - some unit still running (a crash), cancelled (an interrupt), whose
//!   undo failed, or failed while its stage failed too, or some units
//!   undone and others not: `unknown`;
//! - otherwise a unit failed while its stage succeeded (tolerated by
//!   `max_failures`): `failed`;
//! - otherwise: `ok`.

use std::collections::{HashMap, HashSet};

use super::hosts::HostState;
use super::records::{JournalEntry, NodeRun};
use crate::record::event::{EventData, RollbackStatus};

/// What of a plan the outcomes need.
#[derive(Clone, Debug, Default)]
pub struct Topology {
    /// Each targeted stage and the environment it targets.
    targets: HashMap<String, String>,
    /// The stages without a target.
    untargeted: HashSet<String>,
    /// Each environment's hosts (`--limit` or not).
    pub hosts: Vec<(String, Vec<String>)>,
}

impl Topology {
    pub fn of_plan(plan: &crate::check::model::Plan) -> Topology {
        let mut topology = Topology::default();
        for node in plan.nodes.iter().filter(|node| node.kind == crate::check::model::NodeKind::Stage) {
            match node.target {
                Some(target) => {
                    topology.targets.insert(node.name.clone(), plan.environment(target).name.clone());
                }
                None => {
                    topology.untargeted.insert(node.name.clone());
                }
            }
        }
        topology.hosts = plan
            .environments
            .iter()
            .map(|env| (env.name.clone(), env.hosts.iter().chain(&env.limited_out).cloned().collect()))
            .collect();
        topology
    }

    /// From a deployment's canonical plan (`deployments.plan_canonical`);
    /// `None` for a row from before schema 2 or one that does not parse.
    pub fn of_canonical(json: &str) -> Option<Topology> {
        let plan: crate::canonical::CanonicalPlan = serde_json::from_str(json).ok()?;
        let mut topology = Topology::default();
        for node in plan.nodes.iter().filter(|node| node.kind == "stage") {
            match node.settings.iter().find(|(key, _)| key == "target") {
                Some((_, environment)) => {
                    topology.targets.insert(node.name.clone(), environment.clone());
                }
                None => {
                    topology.untargeted.insert(node.name.clone());
                }
            }
        }
        topology.hosts = plan.environments.into_iter().map(|env| (env.name, env.hosts)).collect();
        Some(topology)
    }

    /// A plan none of whose stages has a target: its one "host" is this
    /// machine, in environment `""`.
    pub fn untargeted_plan(&self) -> bool {
        self.targets.is_empty()
    }
}

/// The undo of one unit: `(node, host, status)`.
pub type Undo = (String, Option<String>, RollbackStatus);

/// The `rollback_step` entries of a journal, as undos (unreadable ones left out).
pub fn undos(entries: &[JournalEntry]) -> Vec<Undo> {
    entries
        .iter()
        .filter_map(|entry| serde_json::from_str::<crate::record::event::Event>(&entry.event).ok())
        .filter_map(|event| match event.data {
            EventData::RollbackStep { node, host, status, .. } => Some((node, host, status)),
            _ => None,
        })
        .collect()
}

/// One host a run changed: `(environment, host, state)`. An untargeted
/// plan's stages give `("", "", state)`.
pub type HostOutcome = (String, String, HostState);

/// What the run of `node_runs` did to each host it touched, in the order
/// the hosts were first started on.
pub fn outcomes(topology: &Topology, node_runs: &[NodeRun], undos: &[Undo]) -> Vec<HostOutcome> {
    let stage_status: HashMap<&str, &str> = node_runs
        .iter()
        .filter(|run| run.host.is_empty())
        .map(|run| (run.node.as_str(), run.status.as_str()))
        .collect();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut units: HashMap<(String, String), Vec<&NodeRun>> = HashMap::new();
    for run in node_runs {
        if matches!(run.status.as_str(), "skipped" | "not_started") {
            continue;
        }
        let environment = if run.host.is_empty() {
            if !(topology.untargeted_plan() && topology.untargeted.contains(&run.node)) {
                continue;
            }
            String::new()
        } else {
            match topology.targets.get(&run.node) {
                Some(environment) => environment.clone(),
                None => continue,
            }
        };
        let key = (environment, run.host.clone());
        if !units.contains_key(&key) {
            order.push(key.clone());
        }
        units.entry(key).or_default().push(run);
    }
    let mut out = Vec::new();
    for key in order {
        let Some(runs) = units.get(&key) else { continue };
        let undo_of = |run: &NodeRun| {
            let host = (!run.host.is_empty()).then_some(run.host.as_str());
            undos
                .iter()
                .rev()
                .find(|(node, undo_host, _)| *node == run.node && undo_host.as_deref() == host)
                .map(|(_, _, status)| *status)
        };
        let undone = runs.iter().filter(|run| undo_of(run) == Some(RollbackStatus::Succeeded)).count();
        let mut kept = 0;
        let mut failed = false;
        let mut unknown = false;
        for run in runs {
            match undo_of(run) {
                Some(RollbackStatus::Succeeded) => continue,
                // Left as it is, as the plan says (`irreversible`, or no
                // rollback block: W0001): beside units that were undone the
                // host is back where it was; alone, it ran the new version.
                Some(RollbackStatus::Irreversible | RollbackStatus::Missing) if undone > 0 => continue,
                Some(RollbackStatus::Failed | RollbackStatus::Cancelled) => unknown = true,
                _ => {}
            }
            kept += 1;
            match run.status.as_str() {
                "succeeded" => {}
                // The stage went on without this host: a tolerated failure.
                "failed" if !run.host.is_empty() && stage_status.get(run.node.as_str()) == Some(&"succeeded") => {
                    failed = true
                }
                _ => unknown = true,
            }
        }
        if kept == 0 {
            continue;
        }
        let state = if unknown || undone > 0 {
            HostState::Unknown
        } else if failed {
            HostState::Failed
        } else {
            HostState::Ok
        };
        out.push((key.0, key.1, state));
    }
    out
}

/// What a `deploy rollback` did to each host, from its `rollback_step`
/// events: every unit on the host that has an undo undone → `undone` (units
/// the plan leaves as they are — `irreversible`, no rollback block — do not
/// count); an undo that failed or was cancelled → `unknown`; nothing undone
/// → no change.
pub fn undone_hosts(topology: &Topology, undos: &[Undo]) -> Vec<HostOutcome> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut statuses: HashMap<(String, String), Vec<RollbackStatus>> = HashMap::new();
    for (node, host, status) in undos {
        let (Some(host), Some(environment)) = (host, topology.targets.get(node)) else { continue };
        let key = (environment.clone(), host.clone());
        if !statuses.contains_key(&key) {
            order.push(key.clone());
        }
        statuses.entry(key).or_default().push(*status);
    }
    let mut out = Vec::new();
    for key in order {
        let Some(list) = statuses.get(&key) else { continue };
        // A unit the plan says is left as it is (`irreversible`, or no
        // rollback block: W0001) is neither undone nor in doubt: the host
        // is undone when every unit that has an undo was undone.
        let undoable: Vec<&RollbackStatus> = list
            .iter()
            .filter(|status| !matches!(status, RollbackStatus::Irreversible | RollbackStatus::Missing))
            .collect();
        if undoable.is_empty() {
            continue;
        }
        let undone = undoable.iter().all(|status| **status == RollbackStatus::Succeeded);
        out.push((key.0, key.1, if undone { HostState::Undone } else { HostState::Unknown }));
    }
    out
}

/// The hosts a rollback that died mid-way had started to undo: every host
/// with a `rollback_step`, or a rollback step's process started, for a
/// stage targeting it. What each runs now nothing proves.
pub fn hosts_a_crashed_rollback_touched(
    topology: &Topology,
    events: &[crate::record::event::Event],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for event in events {
        let (node, host) = match &event.data {
            EventData::RollbackStep { node, host: Some(host), .. } => (node, host),
            EventData::ProcessStarted { node, host: Some(host), rollback: true, .. } => (node, host),
            _ => continue,
        };
        let Some(environment) = topology.targets.get(node) else { continue };
        let key = (environment.clone(), host.clone());
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(node: &str, host: &str, status: &str) -> NodeRun {
        NodeRun {
            run_id: "r".into(),
            node: node.into(),
            host: host.into(),
            kind: "stage".into(),
            batch: None,
            attempt: None,
            status: status.into(),
            started_at: None,
            ended_at: None,
            duration_ms: None,
            exit_code: None,
            error: None,
        }
    }

    fn topology() -> Topology {
        let mut topology = Topology::default();
        topology.targets.insert("web".into(), "production".into());
        topology.targets.insert("db".into(), "production".into());
        topology.untargeted.insert("build".into());
        topology
    }

    fn state_of(outcomes: &[HostOutcome], host: &str) -> Option<HostState> {
        outcomes.iter().find(|(_, name, _)| name == host).map(|(_, _, state)| *state)
    }

    #[test]
    fn each_host_gets_what_its_units_say() {
        let runs = vec![
            unit("build", "", "succeeded"),
            unit("web", "", "succeeded"),
            unit("web", "h1", "succeeded"),
            unit("web", "h2", "failed"),
            unit("web", "h3", "running"),
            unit("web", "h4", "cancelled"),
            unit("web", "h5", "not_started"),
        ];
        let outcomes = outcomes(&topology(), &runs, &[]);
        assert_eq!(state_of(&outcomes, "h1"), Some(HostState::Ok));
        assert_eq!(state_of(&outcomes, "h2"), Some(HostState::Failed));
        assert_eq!(state_of(&outcomes, "h3"), Some(HostState::Unknown));
        assert_eq!(state_of(&outcomes, "h4"), Some(HostState::Unknown));
        assert_eq!(state_of(&outcomes, "h5"), None);
        // A targeted plan's untargeted stage is no host.
        assert_eq!(state_of(&outcomes, ""), None);
    }

    #[test]
    fn undone_hosts_are_unchanged_and_ones_in_doubt_unknown() {
        let runs = vec![
            unit("web", "", "failed"),
            unit("web", "h1", "succeeded"),
            unit("db", "h1", "succeeded"),
            unit("web", "h2", "succeeded"),
            unit("db", "h2", "succeeded"),
            unit("web", "h3", "failed"),
            unit("web", "h4", "succeeded"),
        ];
        let undos = vec![
            ("web".to_string(), Some("h1".to_string()), RollbackStatus::Succeeded),
            ("db".to_string(), Some("h1".to_string()), RollbackStatus::Succeeded),
            ("web".to_string(), Some("h2".to_string()), RollbackStatus::Succeeded),
            ("db".to_string(), Some("h2".to_string()), RollbackStatus::Irreversible),
            ("web".to_string(), Some("h4".to_string()), RollbackStatus::Failed),
        ];
        let outcomes = outcomes(&topology(), &runs, &undos);
        assert_eq!(state_of(&outcomes, "h1"), None);
        // `db` is irreversible, `web` was undone: back where it was.
        assert_eq!(state_of(&outcomes, "h2"), None);
        // Failed while its stage failed, and not undone: nothing says what it runs.
        assert_eq!(state_of(&outcomes, "h3"), Some(HostState::Unknown));
        assert_eq!(state_of(&outcomes, "h4"), Some(HostState::Unknown));
    }

    #[test]
    fn a_rollback_undoes_hosts_or_leaves_them_unknown() {
        let undo = |node: &str, host: &str, status| (node.to_string(), Some(host.to_string()), status);
        let undos = vec![
            undo("web", "h1", RollbackStatus::Succeeded),
            undo("db", "h1", RollbackStatus::Succeeded),
            undo("web", "h2", RollbackStatus::Failed),
            undo("web", "h3", RollbackStatus::Irreversible),
            undo("web", "h4", RollbackStatus::Succeeded),
            undo("db", "h4", RollbackStatus::Missing),
            undo("web", "h5", RollbackStatus::Succeeded),
            undo("db", "h5", RollbackStatus::Failed),
        ];
        let hosts = undone_hosts(&topology(), &undos);
        assert_eq!(state_of(&hosts, "h1"), Some(HostState::Undone));
        assert_eq!(state_of(&hosts, "h2"), Some(HostState::Unknown));
        assert_eq!(state_of(&hosts, "h3"), None);
        // Its other stage has no rollback block: left as is, as the plan says (W0001).
        assert_eq!(state_of(&hosts, "h4"), Some(HostState::Undone));
        assert_eq!(state_of(&hosts, "h5"), Some(HostState::Unknown));
    }

    #[test]
    fn an_untargeted_plan_is_one_local_host() {
        let mut topology = Topology::default();
        topology.untargeted.insert("build".into());
        let outcomes = outcomes(&topology, &[unit("build", "", "succeeded")], &[]);
        assert_eq!(outcomes, vec![(String::new(), String::new(), HostState::Ok)]);
    }
}
