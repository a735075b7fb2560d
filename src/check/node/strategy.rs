//! `strategy` blocks: all_at_once, rolling, canary, blue_green.

use super::*;

/// The attributes a strategy accepts; `None` for an unknown strategy.
pub fn strategy_attributes(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "all_at_once" => Some(&[]),
        "rolling" => Some(&["batch", "max_failures"]),
        "canary" => Some(&["steps", "pause", "analysis", "traffic", "keep_previous"]),
        "blue_green" => Some(&["switch", "verify", "keep_previous"]),
        _ => None,
    }
}

impl NodeBuilder<'_> {
    /// `traffic = ROUTER`, `keep_previous` and `retire { steps }` of a
    /// canary; without `traffic` the other two are errors.
    fn traffic(
        &mut self,
        typer: &mut Typer,
        attributes: &HashMap<&str, &ast::Value>,
        retire: Option<(Span, Vec<Step>)>,
        decl: &ast::StrategyDecl,
    ) -> Option<Box<Traffic>> {
        let keep_previous = keep_previous(typer, attributes.get("keep_previous"));
        let Some(value) = attributes.get("traffic") else {
            let stray = attributes.get("keep_previous").map(|v| v.span).or(retire.as_ref().map(|(span, _)| *span));
            if let Some(span) = stray {
                typer.diagnostics.push(
                    Diagnostic::new(Code::MissingValue, "`keep_previous` and `retire` need `traffic = ROUTER`")
                        .at(typer.file, span, "only for a canary by share of requests")
                        .with_secondary(typer.file, decl.name.span, "a canary over hosts")
                        .with_help("name a router stage: traffic = router (see std/nginx.split)"),
                );
            }
            return None;
        };
        let router = self.router_ref(typer, value)?;
        let retire = retire.map(|(_, steps)| steps).unwrap_or_default();
        Some(Box::new(Traffic { router, keep_previous, retire }))
    }

    pub(super) fn strategy(&mut self, typer: &mut Typer, decl: &ast::StrategyDecl) {
        let file = typer.file;
        self.strategy_span = Some((file, decl.keyword.join(decl.name.span)));
        let entries: &[Entry] = decl.body.as_ref().map(|b| b.entries.as_slice()).unwrap_or(&[]);
        check_duplicate_entries(file, entries, typer.diagnostics);
        let name = decl.name.name.as_str();
        let accepted: &[&str] = match strategy_attributes(name) {
            Some(accepted) => accepted,
            None => {
                let mut d = Diagnostic::new(Code::UnknownAttribute, format!("unknown strategy `{name}`")).at(
                    file,
                    decl.name.span,
                    "not a strategy",
                );
                d = match did_you_mean(name, STRATEGIES.iter().copied()) {
                    Some(close) => d.with_help(format!("did you mean `{close}`?")),
                    None => d.with_help(format!("strategies: {}", STRATEGIES.join(", "))),
                };
                typer.diagnostics.push(d);
                return;
            }
        };
        let what = format!("strategy {name}");
        let mut attributes: HashMap<&str, &ast::Value> = HashMap::new();
        let mut switch: Option<Vec<Step>> = None;
        let mut retire: Option<(Span, Vec<Step>)> = None;
        for entry in entries {
            match entry {
                Entry::Attribute(a) if accepted.contains(&a.name.name.as_str()) => {
                    attributes.insert(a.name.name.as_str(), &a.value);
                }
                Entry::Block(b) if name == "blue_green" && b.name.name == "switch" => {
                    switch = Some(steps(typer, self.compiler, &b.body.entries, "`switch`"));
                }
                Entry::Block(b) if name == "canary" && b.name.name == "retire" => {
                    retire = Some((b.name.span, steps(typer, self.compiler, &b.body.entries, "`retire`")));
                }
                other => typer.diagnostics.push(unknown_entry(file, other, &what, accepted)),
            }
        }
        self.node.strategy = match name {
            "rolling" => rolling(typer, &attributes),
            "canary" => self.canary(typer, &attributes, retire, decl),
            "blue_green" => self.blue_green(typer, &attributes, switch, decl),
            _ => Strategy::AllAtOnce,
        };
    }

    /// `strategy canary { steps, pause, analysis, traffic ... }`.
    fn canary(
        &mut self,
        typer: &mut Typer,
        attributes: &HashMap<&str, &ast::Value>,
        retire: Option<(Span, Vec<Step>)>,
        decl: &ast::StrategyDecl,
    ) -> Strategy {
        let file = typer.file;
        let steps = match attributes.get("steps") {
            Some(value) => canary_steps(typer, value),
            None => {
                typer.diagnostics.push(
                    Diagnostic::new(Code::InvalidCanarySteps, "a canary needs `steps`")
                        .at(file, decl.name.span, "no steps")
                        .with_help("write steps = [10%, 50%, 100%]"),
                );
                vec![100.0]
            }
        };
        let pause = duration_or(typer, attributes.get("pause").copied(), std::time::Duration::ZERO);
        let analysis = attributes.get("analysis").and_then(|v| self.gate_ref(typer, v, "analysis"));
        let traffic = self.traffic(typer, attributes, retire, decl);
        Strategy::Canary { steps, pause, analysis, traffic }
    }

    /// `strategy blue_green { switch { ... } verify keep_previous }`.
    fn blue_green(
        &mut self,
        typer: &mut Typer,
        attributes: &HashMap<&str, &ast::Value>,
        switch: Option<Vec<Step>>,
        decl: &ast::StrategyDecl,
    ) -> Strategy {
        let file = typer.file;
        let switch = match switch {
            Some(steps) => steps,
            None => {
                typer.diagnostics.push(
                    Diagnostic::new(Code::MissingValue, "blue_green needs a `switch { ... }` block")
                        .at(file, decl.name.span, "no switch")
                        .with_help(
                            "the switch steps move traffic to the new colour, e.g. switch { run \"./switch ${host}\" }",
                        ),
                );
                Vec::new()
            }
        };
        let verify = attributes.get("verify").and_then(|v| self.gate_ref(typer, v, "verify"));
        let keep_previous = keep_previous(typer, attributes.get("keep_previous"));
        Strategy::BlueGreen { switch, verify, keep_previous }
    }
}

/// `strategy rolling { batch max_failures }`.
fn rolling(typer: &mut Typer, attributes: &HashMap<&str, &ast::Value>) -> Strategy {
    let file = typer.file;
    let batch = attributes.get("batch").and_then(|v| amount(typer, v)).unwrap_or(Amount::Count(1));
    if matches!(batch, Amount::Count(0)) || matches!(batch, Amount::Percent(p) if p <= 0.0) {
        if let Some(value) = attributes.get("batch") {
            typer.diagnostics.push(Diagnostic::new(Code::InvalidValue, "a batch must hold at least one host").at(
                file,
                value.span,
                "empty batch",
            ));
        }
    }
    let max_failures = attributes.get("max_failures").and_then(|v| amount(typer, v)).unwrap_or(Amount::Count(0));
    Strategy::Rolling { batch, max_failures }
}

/// `keep_previous = DURATION`.
fn keep_previous(typer: &mut Typer, value: Option<&&ast::Value>) -> Option<std::time::Duration> {
    let value = value?;
    match typer.constant(value, &Type::Duration)? {
        Value::Duration(d) => Some(d),
        _ => None,
    }
}

/// `batch = 2` or `batch = 25%`.
fn amount(typer: &mut Typer, value: &ast::Value) -> Option<Amount> {
    let ty = match &value.kind {
        ValueKind::Percent(_) => Type::Percent,
        ValueKind::Int(_) => Type::Int,
        ValueKind::Path(path) => match typer.resolve(path)? {
            crate::check::values::NameInfo::Typed(Type::Percent, _) => Type::Percent,
            _ => Type::Int,
        },
        other => {
            typer.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("expected a host count or a percent, found {}", other.describe()),
                )
                .at(typer.file, value.span, "expected N or P%")
                .with_help("write batch = 2 or batch = 25%"),
            );
            return None;
        }
    };
    match typer.constant(value, &ty)? {
        Value::Int(n) if n >= 0 => Some(Amount::Count(n as u64)),
        Value::Int(_) => {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidValue, "a host count cannot be negative")
                    .at(typer.file, value.span, "negative"),
            );
            None
        }
        Value::Percent(p) => Some(Amount::Percent(p)),
        _ => None,
    }
}

fn canary_steps(typer: &mut Typer, value: &ast::Value) -> Vec<f64> {
    let list = Type::List(Box::new(Type::Percent));
    let Some(Value::List(items)) = typer.constant(value, &list) else { return vec![100.0] };
    let steps: Vec<f64> =
        items.iter().filter_map(|v| if let Value::Percent(p) = v { Some(*p) } else { None }).collect();
    let spans: Vec<Span> = match &value.kind {
        ValueKind::List(items) => items.iter().map(|v| v.span).collect(),
        _ => vec![value.span; steps.len()],
    };
    let span_of = |i: usize| spans.get(i).copied().unwrap_or(value.span);
    if steps.is_empty() {
        typer.diagnostics.push(
            Diagnostic::new(Code::InvalidCanarySteps, "canary steps are empty")
                .at(typer.file, value.span, "no steps")
                .with_help("write steps = [10%, 50%, 100%]"),
        );
        return vec![100.0];
    }
    for (i, step) in steps.iter().enumerate() {
        if *step <= 0.0 {
            typer.diagnostics.push(Diagnostic::new(Code::InvalidCanarySteps, "a canary step must be above 0%").at(
                typer.file,
                span_of(i),
                "0% moves no host",
            ));
        }
        if i > 0 && *step <= steps[i - 1] {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidCanarySteps, "canary steps must increase")
                    .at(typer.file, span_of(i), format!("not more than {}%", steps[i - 1]))
                    .with_secondary(typer.file, span_of(i - 1), "previous step")
                    .with_help("each step brings more hosts to the new version: [10%, 50%, 100%]"),
            );
        }
    }
    if let Some(last) = steps.last() {
        if (*last - 100.0).abs() > f64::EPSILON {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidCanarySteps, "the last canary step must be 100%")
                    .at(typer.file, span_of(steps.len() - 1), format!("stops at {last}%"))
                    .with_help("end with 100% so that the rollout completes"),
            );
        }
    }
    steps
}
