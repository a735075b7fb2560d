//! The edges of a node (`needs`, `target`) and the environment each node
//! sees through them.

use super::*;

/// `needs` and `target` of one node (from its own body, not its template's).
pub(super) fn lower_edges(
    lowering: &mut Lowering,
    file: FileId,
    decl: &NodeDecl,
    ids: &NodeIds,
    names: &[ast::Name],
) -> (Vec<NodeId>, Vec<(NodeId, Span)>, Option<EnvId>) {
    let mut needs = Vec::new();
    let mut spans = Vec::new();
    let mut target = None;
    let mut diagnostics = Vec::new();
    for entry in &decl.body.entries {
        let Entry::Attribute(attribute) = entry else { continue };
        match attribute.name.name.as_str() {
            "needs" => {
                let Some(items) = needs_items(file, &attribute.value, &mut diagnostics) else { continue };
                for item in items {
                    let known = Known { ids, names };
                    if let Some((id, span)) = needed(lowering, file, decl, item, known, &needs, &mut diagnostics) {
                        needs.push(id);
                        spans.push((id, span));
                    }
                }
            }
            "target" => {
                if decl.kind == NodeKind::Gate {
                    continue; // reported as a stage-only attribute
                }
                if let Some(id) = lower_target(lowering, file, attribute, &mut diagnostics) {
                    target = Some(id);
                }
            }
            _ => {}
        }
    }
    lowering.diagnostics.extend(diagnostics);
    (needs, spans, target)
}

/// The names a `needs` value lists: a list or one name.
fn needs_items<'v>(
    file: FileId,
    value: &'v ast::Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<&'v ast::Value>> {
    match &value.kind {
        ValueKind::List(items) => Some(items.iter().collect()),
        ValueKind::Path(_) => Some(vec![value]),
        other => {
            diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("`needs` takes a list of stage and gate names, found {}", other.describe()),
                )
                .at(file, value.span, "expected [name, ...]")
                .with_help("write needs = [build, smoke]"),
            );
            None
        }
    }
}

/// The plan's nodes by name, and their names in order.
#[derive(Clone, Copy)]
struct Known<'a> {
    ids: &'a NodeIds,
    names: &'a [ast::Name],
}

/// One name in `needs`: the node it names, unless it is unknown, the node
/// itself, or listed already.
fn needed(
    lowering: &mut Lowering,
    file: FileId,
    decl: &NodeDecl,
    item: &ast::Value,
    Known { ids, names }: Known,
    needs: &[NodeId],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(NodeId, Span)> {
    let ValueKind::Path(path) = &item.kind else {
        diagnostics.push(
            Diagnostic::new(
                Code::TypeMismatch,
                format!("expected a stage or gate name, found {}", item.kind.describe()),
            )
            .at(file, item.span, "not a name")
            .with_help("names are written without quotes: needs = [build]"),
        );
        return None;
    };
    let name = path.dotted();
    match ids.get(name.as_str()) {
        Some(_) if name == decl.name.name => {
            diagnostics.push(
                Diagnostic::new(Code::NeedsCycle, format!("`{name}` needs itself"))
                    .at(file, path.span, "a node cannot need itself")
                    .with_help("remove it from `needs`"),
            );
            None
        }
        Some(id) => {
            if needs.contains(id) {
                diagnostics.push(
                    Diagnostic::new(Code::DuplicateAttribute, format!("`{name}` is listed twice in `needs`")).at(
                        file,
                        path.span,
                        "listed again",
                    ),
                );
                None
            } else {
                Some((*id, path.span))
            }
        }
        None => {
            let mut d = Diagnostic::new(Code::UnknownName, format!("unknown stage or gate `{name}`")).at(
                file,
                path.span,
                "not declared",
            );
            let close = if lowering.may_suggest_among(names.len()) {
                did_you_mean(&name, names.iter().map(|name| name.as_str()))
            } else {
                None
            };
            d = match close {
                Some(close) => d.with_help(format!("did you mean `{close}`?")),
                None => d.with_help("`needs` lists stages and gates declared in this plan"),
            };
            diagnostics.push(d);
            None
        }
    }
}

/// The environment `target` names.
fn lower_target(
    lowering: &Lowering,
    file: FileId,
    attribute: &ast::Attribute,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<EnvId> {
    let ValueKind::Path(path) = &attribute.value.kind else {
        diagnostics.push(
            Diagnostic::new(
                Code::TypeMismatch,
                format!("`target` takes an environment name, found {}", attribute.value.kind.describe()),
            )
            .at(file, attribute.value.span, "expected a name")
            .with_help("write target = production (no quotes)"),
        );
        return None;
    };
    let name = path.dotted();
    match lowering.environments.iter().find(|e| e.name == name) {
        Some(env) => Some(env.id),
        None => {
            let mut d = Diagnostic::new(Code::UnknownEnvironment, format!("unknown environment `{name}`")).at(
                file,
                path.span,
                "not declared",
            );
            let names = lowering.environments.iter().map(|e| e.name.as_str());
            d = match did_you_mean(&name, names) {
                Some(close) => d.with_help(format!("did you mean `{close}`?")),
                None => d.with_help(format!("declare it: environment {name} {{ hosts = [...] }}")),
            };
            diagnostics.push(d);
            None
        }
    }
}

/// The environment each node sees as `env`: its target, or the target of
/// the closest node it needs (fewest edges; ties go to the first listed).
/// Computed in one pass over a topological order; nodes on a `needs` cycle
/// (reported elsewhere) see none.
pub(super) fn environment_contexts(needs: &[&[NodeId]], targets: &[Option<EnvId>]) -> Vec<Option<EnvId>> {
    let count = needs.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut missing = vec![0usize; count];
    for (node, node_needs) in needs.iter().enumerate() {
        for need in node_needs.iter().filter(|n| n.0 < count) {
            dependents[need.0].push(node);
            missing[node] += 1;
        }
    }
    let mut ready: VecDeque<usize> = (0..count).filter(|&n| missing[n] == 0).collect();
    let mut nearest: Vec<Option<(usize, EnvId)>> = vec![None; count];
    while let Some(node) = ready.pop_front() {
        nearest[node] = match targets[node] {
            Some(target) => Some((0, target)),
            None => needs[node]
                .iter()
                .filter_map(|need| nearest.get(need.0).copied().flatten())
                .min_by_key(|(distance, _)| *distance)
                .map(|(distance, env)| (distance + 1, env)),
        };
        for dependent in &dependents[node] {
            missing[*dependent] -= 1;
            if missing[*dependent] == 0 {
                ready.push_back(*dependent);
            }
        }
    }
    nearest.into_iter().map(|n| n.map(|(_, env)| env)).collect()
}

/// An `env.KEY` reference against the environment the node turned out to see.
pub(super) fn check_env_use(
    lowering: &Lowering,
    node: &NodeDef,
    context: Option<EnvId>,
    used: &EnvUse,
) -> Option<Diagnostic> {
    if used.on_host {
        return check_host_use(lowering, node, used);
    }
    let dotted = format!("env.{}", used.key);
    let (why, candidates): (String, Vec<String>) = match context {
        None => (
            match node.kind {
                NodeKind::Stage => format!(
                    "`{}` has no environment; give it `target = ENV` or make it need a stage that has one",
                    node.name
                ),
                NodeKind::Gate => format!(
                    "`{}` has no environment; make it need a stage that has a `target`, \
                     or use it as the `analysis`, `verify` or `monitor` of one",
                    node.name
                ),
            },
            Vec::new(),
        ),
        Some(env) => {
            let environment = &lowering.environments[env.0];
            if used.key == "name" || environment.vars.iter().any(|(k, _)| *k == used.key) {
                return None;
            }
            (
                format!("environment `{}` has no var `{}`", environment.name, used.key),
                environment.vars.iter().map(|(k, _)| format!("env.{k}")).collect(),
            )
        }
    };
    let mut diagnostic = Diagnostic::new(Code::UnknownName, format!("unknown name `{dotted}`: {why}")).at(
        used.file,
        used.span,
        "not defined here",
    );
    if let Some(close) = did_you_mean(&dotted, candidates.iter().map(String::as_str)) {
        diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
    } else if !candidates.is_empty() {
        diagnostic = diagnostic.with_help(format!("names here: {}", candidates.join(", ")));
    }
    Some(diagnostic)
}

/// A gate with no environment of its own that a targeted stage uses as its
/// `analysis`, `verify` or `monitor` is decided in that stage's environment
/// (as the engine does), so it sees that environment's vars.
pub(super) fn inherit_from_users(nodes: &[NodeDef], contexts: &mut [Option<EnvId>]) {
    for node in nodes {
        let Some(env) = contexts.get(node.id.0).copied().flatten() else { continue };
        for gate in gates_used_by(node) {
            if let Some(slot) = contexts.get_mut(gate.0) {
                if slot.is_none() {
                    *slot = Some(env);
                }
            }
        }
    }
}

/// The gates a stage decides itself: its canary `analysis`, blue/green
/// `verify` and `monitor`, with the role each plays.
pub(crate) fn gates_used_by(node: &NodeDef) -> Vec<NodeId> {
    let mut gates = Vec::new();
    match &node.strategy {
        Strategy::Canary { analysis: Some(gate), .. } => gates.push(*gate),
        Strategy::BlueGreen { verify: Some(gate), .. } => gates.push(*gate),
        _ => {}
    }
    if let Some(monitor) = node.monitor {
        gates.push(monitor.gate);
    }
    gates
}

/// A `host.KEY` reference: the node must run on hosts (a `target`), and
/// every host must have KEY (or the environment a var KEY).
fn check_host_use(lowering: &Lowering, node: &NodeDef, used: &EnvUse) -> Option<Diagnostic> {
    let at = Location { file: used.file, span: used.span };
    let Some(env) = node.target else {
        return Some(
            Diagnostic::new(
                Code::UnknownName,
                format!("unknown name `host.{}`: `{}` does not run on hosts", used.key, node.name),
            )
            .at(used.file, used.span, "not defined here")
            .with_help("give the stage `target = ENV`; its steps then run once per host with `${host.KEY}` bound"),
        );
    };
    crate::check::hosts::check_host_key(&lowering.environments[env.0], &used.key, at)
}
