//! Whole-plan checks that need the complete model: rollback coverage, irreversible changes before approvals, timing rules, unused
//! imports and batches larger than their environment.

use super::loader::Loaded;
use super::model::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::Item;

/// `used_aliases`: the module aliases that some `from` names.
pub fn run(plan: &Plan, loaded: &Loaded, used_aliases: &[String], diagnostics: &mut Vec<Diagnostic>) {
    rollback_coverage(plan, diagnostics);
    irreversible_before_approval(plan, diagnostics);
    timing(plan, diagnostics);
    unused_imports(loaded, used_aliases, diagnostics);
    batch_sizes(plan, diagnostics);
    super::template_lint::check(plan, diagnostics);
}

fn rollback_coverage(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    // A traffic router is undone by its own steps with weight 0.
    let routers: Vec<NodeId> = plan.nodes.iter().filter_map(|n| n.strategy.traffic().map(|t| t.router)).collect();
    for node in &plan.nodes {
        if node.kind != NodeKind::Stage
            || node.steps.is_empty()
            || !matches!(node.rollback, RollbackSpec::Missing)
            || routers.contains(&node.id)
        {
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
    // Most plans have no irreversible stage or no approval: nothing to walk.
    let irreversible = plan.nodes.iter().any(|node| matches!(node.rollback, RollbackSpec::Irreversible(_)));
    if !irreversible || !plan.nodes.iter().any(|node| is_approval(plan, node)) {
        return;
    }
    // For every node, the first approval that runs after it (needs it,
    // directly or not), found by walking dependents from the last node back.
    let count = plan.nodes.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut remaining = vec![0usize; count];
    for node in &plan.nodes {
        for need in &node.needs {
            dependents[need.0].push(node.id.0);
            remaining[need.0] += 1;
        }
    }
    // Reverse topological order: a node after all that need it.
    let mut ready: Vec<usize> = (0..count).filter(|&n| remaining[n] == 0).collect();
    let mut approval_after: Vec<Option<usize>> = vec![None; count];
    while let Some(node) = ready.pop() {
        approval_after[node] = dependents[node]
            .iter()
            .map(|&d| if is_approval(plan, &plan.nodes[d]) { Some(d) } else { approval_after[d] })
            .find(Option::is_some)
            .flatten();
        for need in &plan.nodes[node].needs {
            remaining[need.0] -= 1;
            if remaining[need.0] == 0 {
                ready.push(need.0);
            }
        }
    }
    for node in &plan.nodes {
        if !matches!(node.rollback, RollbackSpec::Irreversible(_)) {
            continue;
        }
        if let Some(approval) = approval_after[node.id.0].map(|a| &plan.nodes[a]) {
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
    use crate::duration::format_duration as f;
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

fn unused_imports(loaded: &Loaded, used: &[String], diagnostics: &mut Vec<Diagnostic>) {
    let Some(root) = loaded.modules.first() else { return };
    for item in &root.ast.items {
        let Item::Import(import) = item else { continue };
        let resolved = root.imports.iter().any(|(alias, module)| *alias == import.alias.name && module.is_some());
        if resolved && !used.iter().any(|u| *u == import.alias.name) {
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
