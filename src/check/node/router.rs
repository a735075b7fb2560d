//! `traffic = ROUTER` of a canary: the name of a stage whose steps set the
//! canary's share of requests to `${weight}` percent.

use super::*;

impl NodeBuilder<'_> {
    /// Resolves `traffic = NAME` to a stage other than this one.
    pub(super) fn router_ref(&self, typer: &mut Typer, value: &ast::Value) -> Option<NodeId> {
        let ValueKind::Path(path) = &value.kind else {
            typer.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("`traffic` takes the name of a router stage, found {}", value.kind.describe()),
                )
                .at(typer.file, value.span, "expected a stage name"),
            );
            return None;
        };
        let name = path.dotted();
        let problem = match self.ids.get(name.as_str()) {
            Some(id) if *id == self.node.id => "is this canary itself",
            Some(id) if self.kinds.get(id.0) == Some(&NodeKind::Stage) => return Some(*id),
            Some(_) => "is a gate",
            None => {
                let stages = self
                    .ids
                    .iter()
                    .filter(|(_, id)| self.kinds.get(id.0) == Some(&NodeKind::Stage) && **id != self.node.id)
                    .map(|(n, _)| n.as_str());
                let mut d = Diagnostic::new(Code::UnknownName, format!("unknown router stage `{name}`")).at(
                    typer.file,
                    path.span,
                    "not declared",
                );
                if let Some(close) =
                    self.may_suggest_among(self.ids.len()).then(|| did_you_mean(&name, stages)).flatten()
                {
                    d = d.with_help(format!("did you mean `{close}`?"));
                }
                typer.diagnostics.push(d);
                return None;
            }
        };
        typer.diagnostics.push(
            Diagnostic::new(Code::NotATrafficRouter, format!("`{name}` {problem}, not a traffic router"))
                .at(typer.file, path.span, "not a router stage")
                .with_help("declare a router: stage router from nginx.split { ... } and write traffic = router"),
        );
        None
    }
}

/// After every node is lowered: each router has a `weight` argument.
pub(super) fn check_routers(lowering: &mut Lowering, nodes: &[NodeDef]) {
    for node in nodes {
        let Some(traffic) = node.strategy.traffic() else { continue };
        let Some(router) = nodes.get(traffic.router.0) else { continue };
        if router.bindings.iter().any(|(name, _)| name == "weight") {
            continue;
        }
        lowering.push(
            Diagnostic::new(
                Code::NotATrafficRouter,
                format!("`{}` has no `weight` parameter, so it cannot set the canary's share", router.name),
            )
            .at(router.name_location.file, router.name_location.span, "no `weight` parameter")
            .with_help("a router is an instance of a template with `weight: int = 0`, such as std/nginx.split"),
        );
    }
}
