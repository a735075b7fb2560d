//! Gates a stage decides itself (its canary `analysis`, blue/green `verify`
//! or `monitor`): the engine evaluates them once for the hosts rolled out so
//! far, in the stage's environment, and never evaluates their `when`. What
//! such a gate cannot know is refused here, so `check` and `run` agree.

use super::edges::gates_used_by;
use super::*;

/// Reports `${host}` (or `host` in a script) and `when` on gates a stage decides.
pub(super) fn check(nodes: &[NodeDef], diagnostics: &mut Vec<Diagnostic>) {
    let mut reported = vec![false; nodes.len()];
    for stage in nodes {
        for gate_id in gates_used_by(stage) {
            let Some(gate) = nodes.get(gate_id.0) else { continue };
            if std::mem::replace(&mut reported[gate_id.0], true) {
                continue;
            }
            if let Some(at) = host_use(gate) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::HostInStageGate,
                        format!(
                            "gate `{}` is decided by `{}` once for all its hosts, so `host` has no value in it",
                            gate.name, stage.name
                        ),
                    )
                    .at(at.file, at.span, "uses `host`")
                    .with_secondary(stage.name_location.file, stage.name_location.span, "decides the gate")
                    .with_help(
                        "point the gate at something every host shares (a var such as `${env.url}`), \
                         or check each host in the stage's own steps",
                    ),
                );
            }
            if let Some(when) = &gate.when {
                let span = Span::new(when.source_start, when.source_start + when.source.len());
                diagnostics.push(
                    Diagnostic::new(
                        Code::WhenOnStageGate,
                        format!(
                            "gate `{}` is decided by `{}`, which does not evaluate its `when`",
                            gate.name, stage.name
                        ),
                    )
                    .at(when.file, span, "never evaluated here")
                    .with_help("remove `when` from the gate, or put the condition on the stage that uses it"),
                );
            }
        }
    }
}

/// Where a gate refers to `host`: in a template argument, its approval
/// question or its check script.
fn host_use(gate: &NodeDef) -> Option<Location> {
    for (_, expr) in &gate.bindings {
        if let Some(at) = host_in_expr(expr) {
            return Some(at);
        }
    }
    let decision = gate.gate.as_deref()?;
    if let Some(approval) = &decision.approve {
        if names_host(&approval.question) {
            return Some(approval.question.location);
        }
    }
    let check = decision.check.as_ref()?;
    let read = script_reads_host(&check.script.source)?;
    let at = check.script.source_start + read;
    Some(Location { file: check.script.file, span: Span::new(at, at + "host".len()) })
}

fn host_in_expr(expr: &Expr) -> Option<Location> {
    match expr {
        Expr::Text(template) => names_host(template).then_some(template.location),
        Expr::List(items) => items.iter().find_map(host_in_expr),
        Expr::Env { default: Some(default), .. } => host_in_expr(default),
        _ => None,
    }
}

fn names_host(template: &StringTemplate) -> bool {
    template
        .parts
        .iter()
        .any(|part| matches!(part, TemplatePart::Var { path, .. } if path.len() == 1 && path[0] == "host"))
}

/// Where a Rhai snippet reads the variable `host` (its byte offset in the
/// snippet), as Rhai's parser sees it: not a word in a comment or a string,
/// not a property `.host`, a local or a parameter of that name.
fn script_reads_host(source: &str) -> Option<usize> {
    let engine = crate::script::strict_parser(&crate::script::ScriptLimits::default());
    let reads = crate::script::free_variables(&engine, source)?;
    reads.into_iter().find(|variable| variable.name == "host").map(|variable| variable.offset)
}

#[cfg(test)]
mod tests {
    use super::script_reads_host;

    #[test]
    fn finds_the_variable_not_properties_longer_names_or_comments() {
        assert_eq!(script_reads_host("http::get(`http://${host}/x`)"), Some(20));
        assert_eq!(script_reads_host("host == \"a\""), Some(0));
        assert_eq!(script_reads_host("ctx.host == 1"), None);
        assert_eq!(script_reads_host("let hostname = 1; hosts.len() > 0"), None);
        assert_eq!(script_reads_host("// look at every host\nversion == \"host\""), None);
    }
}
