//! Whole-plan checks that need the complete model: `needs` cycles, rollback
//! coverage, irreversible changes before approvals, timing rules, unused
//! imports and batches larger than their environment.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

use super::loader::Loaded;
use super::model::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{Entry, Item, ValueKind};
use crate::syntax::span::Span;

pub fn run(plan: &Plan, loaded: &Loaded, diagnostics: &mut Vec<Diagnostic>) {
    cycles(plan, loaded, diagnostics);
    rollback_coverage(plan, loaded, diagnostics);
    irreversible_before_approval(plan, diagnostics);
    timing(plan, diagnostics);
    unused_imports(loaded, diagnostics);
    batch_sizes(plan, diagnostics);
}

/// The span of `other` inside `node`'s `needs` list, for labelling edges.
fn needs_span(loaded: &Loaded, node: &NodeDef, other: &str) -> Span {
    let Some(root) = loaded.modules.first() else { return node.name_location.span };
    for item in &root.ast.items {
        let Item::Node(decl) = item else { continue };
        if decl.name.span != node.name_location.span {
            continue;
        }
        for entry in &decl.body.entries {
            let Entry::Attribute(a) = entry else { continue };
            if a.name.name != "needs" {
                continue;
            }
            let items: Vec<&crate::syntax::ast::Value> = match &a.value.kind {
                ValueKind::List(items) => items.iter().collect(),
                _ => vec![&a.value],
            };
            for value in items {
                if let ValueKind::Path(path) = &value.kind {
                    if path.dotted() == other {
                        return path.span;
                    }
                }
            }
        }
    }
    node.name_location.span
}

fn cycles(plan: &Plan, loaded: &Loaded, diagnostics: &mut Vec<Diagnostic>) {
    let mut graph = DiGraph::<usize, ()>::new();
    let indices: Vec<_> = plan.nodes.iter().map(|n| graph.add_node(n.id.0)).collect();
    for node in &plan.nodes {
        for need in &node.needs {
            graph.add_edge(indices[need.0], indices[node.id.0], ());
        }
    }
    for component in tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let mut members: Vec<usize> = component.iter().map(|i| graph[*i]).collect();
        members.sort();
        // Walk the cycle from its first member, following `needs` inside it.
        let start = members[0];
        let mut path = vec![start];
        let mut current = start;
        loop {
            let next = plan.nodes[current]
                .needs
                .iter()
                .map(|n| n.0)
                .find(|n| members.contains(n) && (!path.contains(n) || *n == start));
            match next {
                Some(next) if next == start => break,
                Some(next) => {
                    path.push(next);
                    current = next;
                }
                None => break,
            }
        }
        let names: Vec<&str> = path.iter().map(|i| plan.nodes[*i].name.as_str()).collect();
        let shown = format!("{} → {}", names.join(" → "), names[0]);
        let first = &plan.nodes[path[0]];
        let second = path.get(1).map(|i| &plan.nodes[*i]).unwrap_or(first);
        let mut diagnostic = Diagnostic::new(Code::NeedsCycle, format!("`needs` form a cycle: {shown}"))
            .at(
                first.location.file,
                needs_span(loaded, first, &second.name),
                format!("`{}` needs `{}`", first.name, second.name),
            )
            .with_help("a node can only start after everything it needs; remove one edge of the cycle");
        for (index, id) in path.iter().enumerate().skip(1) {
            let node = &plan.nodes[*id];
            let next = &plan.nodes[path[(index + 1) % path.len()]];
            diagnostic = diagnostic.with_secondary(
                node.location.file,
                needs_span(loaded, node, &next.name),
                format!("`{}` needs `{}`", node.name, next.name),
            );
        }
        diagnostics.push(diagnostic);
    }
}

fn rollback_coverage(plan: &Plan, loaded: &Loaded, diagnostics: &mut Vec<Diagnostic>) {
    for node in &plan.nodes {
        if node.kind != NodeKind::Stage || node.steps.is_empty() || !matches!(node.rollback, RollbackSpec::Missing) {
            continue;
        }
        let mut diagnostic = Diagnostic::new(Code::NoRollback, format!("stage `{}` has no rollback", node.name))
            .at(node.name_location.file, node.name_location.span, "cannot be undone as written")
            .with_help("add `rollback { run \"...\" }`, or `irreversible = \"why\"` if it cannot be undone");
        if let Some(template) = &node.template {
            diagnostic = diagnostic.with_help(format!(
                "the template `{template}` declares no rollback; add one to it or mark it irreversible"
            ));
        }
        let _ = loaded;
        diagnostics.push(diagnostic);
    }
}

/// Whether a node asks a person before going on: a gate with `approve`, or
/// a stage whose target environment requires approval.
fn is_approval(plan: &Plan, node: &NodeDef) -> bool {
    match (&node.gate, node.target) {
        (Some(gate), _) => gate.approve.is_some(),
        (None, Some(target)) => plan.environment(target).protect.approval,
        _ => false,
    }
}

fn irreversible_before_approval(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    let count = plan.nodes.len();
    for node in &plan.nodes {
        if !matches!(node.rollback, RollbackSpec::Irreversible(_)) {
            continue;
        }
        // Nodes that (transitively) need this one: they run after it.
        let mut after = vec![false; count];
        let mut changed = true;
        while changed {
            changed = false;
            for other in &plan.nodes {
                if after[other.id.0] {
                    continue;
                }
                if other.needs.iter().any(|n| n.0 == node.id.0 || after[n.0]) {
                    after[other.id.0] = true;
                    changed = true;
                }
            }
        }
        if let Some(approval) = plan.nodes.iter().find(|other| after[other.id.0] && is_approval(plan, other)) {
            diagnostics.push(
                Diagnostic::new(
                    Code::IrreversibleBeforeApproval,
                    format!("irreversible stage `{}` runs before the approval `{}`", node.name, approval.name),
                )
                .at(node.name_location.file, node.name_location.span, "cannot be undone")
                .with_secondary(approval.name_location.file, approval.name_location.span, "asked only afterwards")
                .with_help(format!(
                    "make `{}` need `{}` so that the change is approved first",
                    node.name, approval.name
                )),
            );
        }
    }
}

fn timing(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    use crate::check::format_duration as f;
    for node in &plan.nodes {
        if let Some(check) = node.gate.as_ref().and_then(|g| g.check.as_ref()) {
            if check.within < check.every {
                diagnostics.push(
                    Diagnostic::new(
                        Code::TimeoutShorterThanInterval,
                        format!(
                            "gate `{}` checks every {} within {}: it is evaluated once",
                            node.name,
                            f(check.every),
                            f(check.within)
                        ),
                    )
                    .at(node.name_location.file, node.name_location.span, "bound shorter than interval")
                    .with_help("make `within` a multiple of `every`"),
                );
            }
            if let Some(timeout) = node.timeout {
                if timeout < check.every {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::TimeoutShorterThanInterval,
                            format!(
                                "gate `{}` times out after {} but checks every {}",
                                node.name,
                                f(timeout),
                                f(check.every)
                            ),
                        )
                        .at(node.name_location.file, node.name_location.span, "timeout shorter than interval")
                        .with_help("raise the timeout or check more often"),
                    );
                }
            }
        }
        if let Some(monitor) = node.monitor {
            let gate = plan.node(monitor.gate);
            if let Some(check) = gate.gate.as_ref().and_then(|g| g.check.as_ref()) {
                if !monitor.duration.is_zero() && monitor.duration < check.every {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::TimeoutShorterThanInterval,
                            format!(
                                "`{}` monitors `{}` for {} but it checks every {}",
                                node.name,
                                gate.name,
                                f(monitor.duration),
                                f(check.every)
                            ),
                        )
                        .at(node.name_location.file, node.name_location.span, "monitor shorter than interval")
                        .with_help("monitor for longer, or check more often"),
                    );
                }
            }
        }
        if let (Some(timeout), Strategy::Canary { pause, .. }) = (node.timeout, &node.strategy) {
            if timeout < *pause {
                diagnostics.push(
                    Diagnostic::new(
                        Code::TimeoutShorterThanInterval,
                        format!(
                            "stage `{}` times out after {} but pauses {} between canary steps",
                            node.name,
                            f(timeout),
                            f(*pause)
                        ),
                    )
                    .at(node.name_location.file, node.name_location.span, "timeout shorter than pause")
                    .with_help("the timeout bounds each host's steps; a canary pause longer than it never fits"),
                );
            }
        }
    }
}

fn unused_imports(loaded: &Loaded, diagnostics: &mut Vec<Diagnostic>) {
    let Some(root) = loaded.modules.first() else { return };
    let mut used: Vec<String> = Vec::new();
    for item in &root.ast.items {
        if let Item::Node(node) = item {
            if let Some(path) = &node.from {
                if let Some(first) = path.segments.first() {
                    used.push(first.name.clone());
                }
            }
        }
    }
    for item in &root.ast.items {
        let Item::Import(import) = item else { continue };
        let resolved = root.imports.iter().any(|(alias, module)| *alias == import.alias.name && module.is_some());
        if resolved && !used.contains(&import.alias.name) {
            diagnostics.push(
                Diagnostic::new(Code::UnusedImport, format!("module `{}` is imported but not used", import.alias.name))
                    .at(root.file, import.span, "unused")
                    .with_help("remove the import, or use a template: stage x from MODULE.TEMPLATE { ... }"),
            );
        }
    }
}

fn batch_sizes(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    for node in &plan.nodes {
        let (Strategy::Rolling { batch, max_failures }, Some(target)) = (&node.strategy, node.target) else { continue };
        let hosts = plan.environment(target).hosts.len() as u64;
        for (what, amount) in [("batch", batch), ("max_failures", max_failures)] {
            if let Amount::Count(count) = amount {
                if *count > hosts && hosts > 0 {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::StrategyLargerThanHosts,
                            format!(
                                "`{what} = {count}` but `{}` has {hosts} host{}",
                                plan.environment(target).name,
                                if hosts == 1 { "" } else { "s" }
                            ),
                        )
                        .at(node.name_location.file, node.name_location.span, "rolling rollout")
                        .with_help(format!("use at most {hosts}, or a percent")),
                    );
                }
            }
        }
    }
}
