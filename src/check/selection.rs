//! `--env ENV` and `--limit PATTERN` (Ansible's host patterns,
//! host_pattern.rs): what of a plan a run touches. Nodes
//! outside the selection stay in the plan, marked with why they are skipped,
//! so `plan`, the live view, `--json` and `history` all show them as skipped.

use super::host_pattern::{select, HostUniverse, UnknownTerm};
use super::model::{NodeKind, Plan};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};

/// What the command line selected; empty lists select everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    pub environments: Vec<String>,
    /// Host patterns (`web-*`, `web:&prod`, `!db-1`), one term each, with
    /// `@FILE` replaced by the file's patterns.
    pub limit: Vec<String>,
}

impl Selection {
    /// From repeatable `--env` and comma-separated `--limit` values.
    pub fn from_args(environments: &[String], limits: &[String]) -> Selection {
        let split = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect()
        };
        Selection { environments: split(environments), limit: super::host_pattern::terms(limits) }
    }

    pub fn is_everything(&self) -> bool {
        self.environments.is_empty() && self.limit.is_empty()
    }

    /// The hosts of `universe` within `--limit` (every host without one).
    pub fn hosts_within(&self, universe: &HostUniverse) -> Result<Vec<String>, Vec<UnknownTerm>> {
        if self.limit.is_empty() {
            return Ok(universe.hosts.clone());
        }
        select(&self.limit, universe)
    }

    /// Restricts `plan` to the selection, or says what is unknown.
    pub fn apply(&self, plan: &mut Plan) -> Result<(), Vec<Diagnostic>> {
        let within = self.validate(plan)?;
        if self.is_everything() {
            return Ok(());
        }
        // A set: 100,000 hosts are kept or left out in linear time.
        let within: std::collections::HashSet<String> = within.into_iter().collect();
        for environment in &mut plan.environments {
            environment.host_defs.retain(|host| within.contains(&host.name));
            let (kept, left_out): (Vec<String>, Vec<String>) =
                environment.hosts.drain(..).partition(|host| within.contains(host));
            environment.hosts = kept;
            environment.limited_out = left_out;
        }
        let selected = self.selected_nodes(plan);
        for node in &mut plan.nodes {
            if selected[node.id.0] {
                continue;
            }
            let target = node.target.map(|t| plan.environments[t.0].name.clone());
            node.deselected = Some(match target {
                Some(env) if !self.environments.is_empty() && !self.environments.contains(&env) => {
                    format!("targets {env}, not selected by --env {}", self.environments.join(","))
                }
                Some(env) => format!("no host of {env} is within --limit {}", self.limit.join(",")),
                None => format!("leads to no selected environment (--env {})", self.environments.join(",")),
            });
        }
        Ok(())
    }

    fn validate(&self, plan: &Plan) -> Result<Vec<String>, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let environments: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
        for wanted in &self.environments {
            if !environments.contains(&wanted.as_str()) {
                let mut d = Diagnostic::new(
                    Code::UnknownSelection,
                    format!("`--env {wanted}`: the plan has no such environment"),
                );
                if let Some(close) = did_you_mean(wanted, environments.iter().copied()) {
                    d = d.with_help(format!("did you mean `{close}`? environments: {}", environments.join(", ")));
                } else {
                    d = d.with_help(format!("environments: {}", list_or_none(&environments)));
                }
                problems.push(d);
            }
        }
        let universe = universe(plan);
        let within = match self.hosts_within(&universe) {
            Ok(within) => within,
            Err(unknown) => {
                problems.extend(unknown.iter().map(|term| unknown_term(term, &universe)));
                Vec::new()
            }
        };
        if problems.is_empty() {
            Ok(within)
        } else {
            Err(problems)
        }
    }

    /// Targeted nodes of a selected environment with a host left; untargeted
    /// nodes that lead to one or follow one.
    fn selected_nodes(&self, plan: &Plan) -> Vec<bool> {
        let count = plan.nodes.len();
        let in_selection: Vec<Option<bool>> = plan
            .nodes
            .iter()
            .map(|node| {
                node.target.map(|t| {
                    let env = &plan.environments[t.0];
                    (self.environments.is_empty() || self.environments.contains(&env.name)) && !env.hosts.is_empty()
                })
            })
            .collect();
        if self.environments.is_empty() {
            return in_selection.iter().map(|s| s.unwrap_or(true)).collect();
        }
        let mut selected: Vec<bool> = in_selection.iter().map(|s| s.unwrap_or(false)).collect();
        let roots: Vec<usize> = (0..count).filter(|&i| in_selection[i] == Some(true)).collect();
        // Untargeted ancestors of a selected node, then untargeted descendants.
        let mut stack = roots.clone();
        let mut visited = vec![false; count];
        while let Some(index) = stack.pop() {
            for need in &plan.nodes[index].needs {
                if need.0 < count && !std::mem::replace(&mut visited[need.0], true) {
                    if in_selection[need.0].is_none() {
                        selected[need.0] = true;
                    }
                    stack.push(need.0);
                }
            }
        }
        let mut changed = true;
        while changed {
            changed = false;
            for node in &plan.nodes {
                let follows = node.needs.iter().any(|n| {
                    roots.contains(&n.0)
                        || (selected[n.0] && in_selection[n.0].is_none() && follows_root(plan, n.0, &roots))
                });
                if in_selection[node.id.0].is_none() && !selected[node.id.0] && follows {
                    selected[node.id.0] = true;
                    changed = true;
                }
            }
        }
        // A gate a selected stage decides is never run on its own anyway.
        for node in &plan.nodes {
            if node.kind == NodeKind::Gate && !selected[node.id.0] && node.needs.is_empty() {
                let used = plan
                    .nodes
                    .iter()
                    .any(|stage| selected[stage.id.0] && super::node::gates_used_by(stage).contains(&node.id));
                selected[node.id.0] = used;
            }
        }
        selected
    }
}

/// Whether node `index` needs (transitively) one of `roots`.
fn follows_root(plan: &Plan, index: usize, roots: &[usize]) -> bool {
    let mut stack = vec![index];
    let mut seen = vec![false; plan.nodes.len()];
    while let Some(at) = stack.pop() {
        if roots.contains(&at) {
            return true;
        }
        if std::mem::replace(&mut seen[at], true) {
            continue;
        }
        stack.extend(plan.nodes[at].needs.iter().map(|n| n.0).filter(|&n| n < plan.nodes.len()));
    }
    false
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Every host of the plan and the inventory groups of its environments.
pub fn universe(plan: &Plan) -> HostUniverse {
    let mut universe = HostUniverse::default();
    for environment in &plan.environments {
        for host in environment.hosts.iter().chain(&environment.limited_out) {
            universe.add_host(host);
        }
        for (group, hosts) in &environment.groups {
            universe.add_group(group, hosts);
        }
    }
    universe
}

/// The one wording for a `--limit` term that selects nothing, for every
/// command: E0134 naming the term, with the hosts and groups there are.
pub fn unknown_term(unknown: &UnknownTerm, universe: &HostUniverse) -> Diagnostic {
    let names = universe.names();
    let d = Diagnostic::new(Code::UnknownSelection, format!("`--limit {}` matches no host of the plan", unknown.term));
    let groups: Vec<&str> = universe.groups.iter().map(|(name, _)| name.as_str()).collect();
    let listed = if groups.is_empty() {
        format!("hosts: {}", list_or_none(&universe.hosts.iter().map(String::as_str).collect::<Vec<_>>()))
    } else {
        format!(
            "hosts: {}; groups: all, {}",
            list_or_none(&universe.hosts.iter().map(String::as_str).collect::<Vec<_>>()),
            groups.join(", ")
        )
    };
    let bare = unknown.term.trim_start_matches(['&', '!']);
    match (&unknown.why, did_you_mean(bare, names.iter().copied())) {
        (Some(why), _) => d.with_help(format!("{why}; {listed}")),
        (None, Some(close)) => d.with_help(format!("did you mean `{close}`? {listed}")),
        (None, None) => d.with_help(listed),
    }
}
