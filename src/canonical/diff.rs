//! What changed between two canonical plans, in the language's terms:
//! stages and gates added, removed or renamed (same body, new name), their
//! `needs`, settings (target, strategy and batches, timeouts, gate
//! thresholds and policies), steps added, removed or changed (a word diff),
//! rollback blocks, environments and their hosts, params and their values,
//! and imported modules.

use serde::Serialize;

use super::words::word_diff;
use super::{CanonicalNode, CanonicalPlan};

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    NodeAdded {
        kind: String,
        name: String,
    },
    NodeRemoved {
        kind: String,
        name: String,
    },
    NodeRenamed {
        kind: String,
        from: String,
        to: String,
    },
    NeedAdded {
        node: String,
        need: String,
    },
    NeedRemoved {
        node: String,
        need: String,
    },
    /// A node's setting (`strategy`, `timeout`, a gate's `check`, ...) or the pipeline's (`node` empty).
    SettingChanged {
        node: String,
        key: String,
        from: Option<String>,
        to: Option<String>,
    },
    StepAdded {
        node: String,
        list: String,
        index: usize,
        step: String,
    },
    StepRemoved {
        node: String,
        list: String,
        index: usize,
        step: String,
    },
    /// `diff` marks removed words `[-so-]` and added ones `{+so+}`.
    StepChanged {
        node: String,
        list: String,
        index: usize,
        from: String,
        to: String,
        diff: String,
    },
    RollbackChanged {
        node: String,
        from: String,
        to: String,
    },
    EnvironmentAdded {
        name: String,
    },
    EnvironmentRemoved {
        name: String,
    },
    HostAdded {
        environment: String,
        host: String,
    },
    HostRemoved {
        environment: String,
        host: String,
    },
    EnvironmentChanged {
        environment: String,
        key: String,
        from: Option<String>,
        to: Option<String>,
    },
    ParamAdded {
        name: String,
        ty: String,
        default: Option<String>,
    },
    ParamRemoved {
        name: String,
    },
    ParamChanged {
        name: String,
        key: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// A param's resolved value against the one the deployment ran with.
    ParamValueChanged {
        name: String,
        from: String,
        to: String,
    },
    ModuleAdded {
        path: String,
        hash: String,
    },
    ModuleRemoved {
        path: String,
        hash: String,
    },
    ModuleChanged {
        path: String,
        from: String,
        to: String,
    },
}

/// Every change from `old` to `new`.
pub fn diff(old: &CanonicalPlan, new: &CanonicalPlan) -> Vec<Change> {
    let mut out = Vec::new();
    settings_diff(&mut out, "", &old.settings, &new.settings);
    params_diff(&mut out, old, new);
    environments_diff(&mut out, old, new);
    nodes_diff(&mut out, old, new);
    modules_diff(&mut out, old, new);
    out
}

fn settings_diff(out: &mut Vec<Change>, node: &str, old: &[(String, String)], new: &[(String, String)]) {
    let get = |list: &[(String, String)], key: &str| list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut keys: Vec<&String> = old.iter().map(|(k, _)| k).collect();
    keys.extend(new.iter().map(|(k, _)| k).filter(|k| !old.iter().any(|(o, _)| o == *k)));
    for key in keys {
        let (from, to) = (get(old, key), get(new, key));
        if from != to {
            out.push(Change::SettingChanged { node: node.to_string(), key: key.clone(), from, to });
        }
    }
}

fn params_diff(out: &mut Vec<Change>, old: &CanonicalPlan, new: &CanonicalPlan) {
    for param in &new.params {
        match old.params.iter().find(|p| p.name == param.name) {
            None => out.push(Change::ParamAdded {
                name: param.name.clone(),
                ty: param.ty.clone(),
                default: param.default.clone(),
            }),
            Some(before) => {
                if before.ty != param.ty {
                    out.push(Change::ParamChanged {
                        name: param.name.clone(),
                        key: "type".into(),
                        from: Some(before.ty.clone()),
                        to: Some(param.ty.clone()),
                    });
                }
                if before.default != param.default {
                    out.push(Change::ParamChanged {
                        name: param.name.clone(),
                        key: "default".into(),
                        from: before.default.clone(),
                        to: param.default.clone(),
                    });
                }
            }
        }
    }
    for param in old.params.iter().filter(|p| !new.params.iter().any(|n| n.name == p.name)) {
        out.push(Change::ParamRemoved { name: param.name.clone() });
    }
}

fn environments_diff(out: &mut Vec<Change>, old: &CanonicalPlan, new: &CanonicalPlan) {
    for env in &new.environments {
        let Some(before) = old.environments.iter().find(|e| e.name == env.name) else {
            out.push(Change::EnvironmentAdded { name: env.name.clone() });
            for host in &env.hosts {
                out.push(Change::HostAdded { environment: env.name.clone(), host: host.clone() });
            }
            continue;
        };
        for host in env.hosts.iter().filter(|h| !before.hosts.contains(h)) {
            out.push(Change::HostAdded { environment: env.name.clone(), host: host.clone() });
        }
        for host in before.hosts.iter().filter(|h| !env.hosts.contains(h)) {
            out.push(Change::HostRemoved { environment: env.name.clone(), host: host.clone() });
        }
        let vars = |list: &[(String, String)]| list.iter().map(|(k, v)| (format!("vars.{k}"), v.clone())).collect();
        let old_vars: Vec<(String, String)> = vars(&before.vars);
        let new_vars: Vec<(String, String)> = vars(&env.vars);
        let mut changes = Vec::new();
        settings_diff(&mut changes, "", &old_vars, &new_vars);
        let protect = |list: &[String]| if list.is_empty() { None } else { Some(list.join("  ")) };
        if before.protect != env.protect {
            changes.push(Change::SettingChanged {
                node: String::new(),
                key: "protect".into(),
                from: protect(&before.protect),
                to: protect(&env.protect),
            });
        }
        for change in changes {
            if let Change::SettingChanged { key, from, to, .. } = change {
                out.push(Change::EnvironmentChanged { environment: env.name.clone(), key, from, to });
            }
        }
    }
    for env in old.environments.iter().filter(|e| !new.environments.iter().any(|n| n.name == e.name)) {
        out.push(Change::EnvironmentRemoved { name: env.name.clone() });
    }
}

fn nodes_diff(out: &mut Vec<Change>, old: &CanonicalPlan, new: &CanonicalPlan) {
    let added: Vec<&CanonicalNode> = new.nodes.iter().filter(|n| !old.nodes.iter().any(|o| o.name == n.name)).collect();
    let removed: Vec<&CanonicalNode> =
        old.nodes.iter().filter(|o| !new.nodes.iter().any(|n| n.name == o.name)).collect();
    // A removed node whose body reappears under a new name was renamed.
    let mut renames: Vec<(String, String)> = Vec::new();
    for gone in &removed {
        let body = gone.body();
        if let Some(came) = added.iter().find(|n| n.body() == body && !renames.iter().any(|(_, to)| *to == n.name)) {
            renames.push((gone.name.clone(), came.name.clone()));
        }
    }
    let renamed = |name: &str| renames.iter().find(|(from, _)| from == name).map(|(_, to)| to.clone());
    for (from, to) in &renames {
        let kind = new.nodes.iter().find(|n| &n.name == to).map(|n| n.kind.clone()).unwrap_or_default();
        out.push(Change::NodeRenamed { kind, from: from.clone(), to: to.clone() });
    }
    for node in added.iter().filter(|n| !renames.iter().any(|(_, to)| *to == n.name)) {
        out.push(Change::NodeAdded { kind: node.kind.clone(), name: node.name.clone() });
    }
    for node in removed.iter().filter(|n| renamed(&n.name).is_none()) {
        out.push(Change::NodeRemoved { kind: node.kind.clone(), name: node.name.clone() });
    }
    for node in &new.nodes {
        let before = old.nodes.iter().find(|o| o.name == node.name || renamed(&o.name).as_deref() == Some(&node.name));
        let Some(before) = before else { continue };
        let old_needs: Vec<String> = before.needs.iter().map(|n| renamed(n).unwrap_or_else(|| n.clone())).collect();
        for need in node.needs.iter().filter(|n| !old_needs.contains(n)) {
            out.push(Change::NeedAdded { node: node.name.clone(), need: need.clone() });
        }
        for need in old_needs.iter().filter(|n| !node.needs.contains(n)) {
            out.push(Change::NeedRemoved { node: node.name.clone(), need: need.clone() });
        }
        settings_diff(out, &node.name, &before.settings, &node.settings);
        settings_diff(out, &node.name, &before.bindings, &node.bindings);
        if before.rollback != node.rollback {
            out.push(Change::RollbackChanged {
                node: node.name.clone(),
                from: before.rollback.clone(),
                to: node.rollback.clone(),
            });
        }
        lists_diff(out, &node.name, &before.lists, &node.lists);
    }
}

fn lists_diff(out: &mut Vec<Change>, node: &str, old: &[(String, Vec<String>)], new: &[(String, Vec<String>)]) {
    let empty = Vec::new();
    let mut names: Vec<&String> = new.iter().map(|(name, _)| name).collect();
    names.extend(old.iter().map(|(name, _)| name).filter(|name| !new.iter().any(|(n, _)| n == *name)));
    for name in names {
        let before = old.iter().find(|(n, _)| n == name).map_or(&empty, |(_, steps)| steps);
        let after = new.iter().find(|(n, _)| n == name).map_or(&empty, |(_, steps)| steps);
        steps_diff(out, node, name, before, after);
    }
}

fn steps_diff(out: &mut Vec<Change>, node: &str, list: &str, old: &[String], new: &[String]) {
    use similar::{capture_diff_slices, Algorithm, DiffOp};
    let removed = |out: &mut Vec<Change>, range: std::ops::Range<usize>| {
        for (index, step) in old.iter().enumerate().take(range.end).skip(range.start) {
            out.push(Change::StepRemoved {
                node: node.into(),
                list: list.into(),
                index: index + 1,
                step: step.clone(),
            });
        }
    };
    let added = |out: &mut Vec<Change>, range: std::ops::Range<usize>| {
        for (index, step) in new.iter().enumerate().take(range.end).skip(range.start) {
            out.push(Change::StepAdded { node: node.into(), list: list.into(), index: index + 1, step: step.clone() });
        }
    };
    for op in capture_diff_slices(Algorithm::Myers, old, new) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { old_index, old_len, .. } => removed(out, old_index..old_index + old_len),
            DiffOp::Insert { new_index, new_len, .. } => added(out, new_index..new_index + new_len),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                let paired = old_len.min(new_len);
                let pairs = old.iter().skip(old_index).zip(new.iter().skip(new_index)).take(paired);
                for (offset, (from, to)) in pairs.enumerate() {
                    out.push(Change::StepChanged {
                        node: node.into(),
                        list: list.into(),
                        index: new_index + offset + 1,
                        from: from.clone(),
                        to: to.clone(),
                        diff: word_diff(from, to),
                    });
                }
                removed(out, old_index + paired..old_index + old_len);
                added(out, new_index + paired..new_index + new_len);
            }
        }
    }
}

fn modules_diff(out: &mut Vec<Change>, old: &CanonicalPlan, new: &CanonicalPlan) {
    for module in &new.modules {
        match old.modules.iter().find(|m| m.path == module.path) {
            None => out.push(Change::ModuleAdded { path: module.path.clone(), hash: module.hash.clone() }),
            Some(before) if before.hash != module.hash => out.push(Change::ModuleChanged {
                path: module.path.clone(),
                from: before.hash.clone(),
                to: module.hash.clone(),
            }),
            Some(_) => {}
        }
    }
    for module in old.modules.iter().filter(|m| !new.modules.iter().any(|n| n.path == m.path)) {
        out.push(Change::ModuleRemoved { path: module.path.clone(), hash: module.hash.clone() });
    }
}

/// One line per change, for people.
pub fn describe(change: &Change) -> String {
    let opt = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_string());
    match change {
        Change::NodeAdded { kind, name } => format!("+ {kind} {name}"),
        Change::NodeRemoved { kind, name } => format!("- {kind} {name}"),
        Change::NodeRenamed { kind, from, to } => format!("~ {kind} {from} renamed to {to}"),
        Change::NeedAdded { node, need } => format!("~ {node}: needs {need} (added)"),
        Change::NeedRemoved { node, need } => format!("~ {node}: no longer needs {need}"),
        Change::SettingChanged { node, key, from, to } if node.is_empty() => {
            format!("~ pipeline {key}: {} → {}", opt(from), opt(to))
        }
        Change::SettingChanged { node, key, from, to } => format!("~ {node}: {key}: {} → {}", opt(from), opt(to)),
        Change::StepAdded { node, list, index, step } => format!("+ {node}: {list} step {index}: {step}"),
        Change::StepRemoved { node, list, index, step } => format!("- {node}: {list} step {index}: {step}"),
        Change::StepChanged { node, list, index, diff, .. } => format!("~ {node}: {list} step {index}: {diff}"),
        Change::RollbackChanged { node, from, to } => format!("~ {node}: rollback: {from} → {to}"),
        Change::EnvironmentAdded { name } => format!("+ environment {name}"),
        Change::EnvironmentRemoved { name } => format!("- environment {name}"),
        Change::HostAdded { environment, host } => format!("+ environment {environment}: host {host}"),
        Change::HostRemoved { environment, host } => format!("- environment {environment}: host {host}"),
        Change::EnvironmentChanged { environment, key, from, to } => {
            format!("~ environment {environment}: {key}: {} → {}", opt(from), opt(to))
        }
        Change::ParamAdded { name, ty, default } => match default {
            Some(default) => format!("+ param {name}: {ty} = {default}"),
            None => format!("+ param {name}: {ty}"),
        },
        Change::ParamRemoved { name } => format!("- param {name}"),
        Change::ParamChanged { name, key, from, to } => format!("~ param {name}: {key}: {} → {}", opt(from), opt(to)),
        Change::ParamValueChanged { name, from, to } => format!("~ param {name} value: {from} → {to}"),
        Change::ModuleAdded { path, hash } => format!("+ module {path} ({hash})"),
        Change::ModuleRemoved { path, hash } => format!("- module {path} ({hash})"),
        Change::ModuleChanged { path, from, to } => format!("~ module {path}: {from} → {to}"),
    }
}
