//! Lowering stages and gates: local nodes and template instances, their
//! steps, strategies, gates, hooks and the references between them.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::lower::{check_duplicate_entries, unknown_entry, window, Lowering};
use super::model::*;
use super::scope::{EnvContext, Scope};
use super::scripts::ScriptCompiler;
use super::values::{lower_type, Typer};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{self, Entry, Item, NodeDecl, Qualifier, ValueKind};
use crate::syntax::span::{FileId, Span};

pub const STAGE_ATTRIBUTES: &[&str] = &[
    "needs",
    "target",
    "timeout",
    "retry",
    "when",
    "monitor",
    "irreversible",
    "description",
    "run",
    "script",
    "rollback",
    "strategy",
    "on",
];
pub const GATE_ATTRIBUTES: &[&str] = &[
    "needs",
    "when",
    "timeout",
    "description",
    "approve",
    "check",
    "wait",
    "window",
    "on_fail",
    "on_inconclusive",
    "on_no_data",
    "on",
];
const GATE_ONLY: &[&str] = &["approve", "check", "wait", "window", "on_fail", "on_inconclusive", "on_no_data"];
const STAGE_ONLY: &[&str] = &["run", "script", "rollback", "strategy", "target", "retry", "monitor", "irreversible"];
/// Attributes an instance (`stage x from m.t { ... }`) may give besides the template's arguments.
pub const INSTANCE_ATTRIBUTES: &[&str] = &[
    "needs",
    "target",
    "when",
    "timeout",
    "retry",
    "monitor",
    "on_fail",
    "on_inconclusive",
    "on_no_data",
    "description",
];
pub const STRATEGIES: &[&str] = &["all_at_once", "rolling", "canary", "blue_green"];
pub const POLICIES: &[&str] = &["rollback", "pause", "abort", "continue"];

/// The attributes a strategy accepts; `None` for an unknown strategy.
pub fn strategy_attributes(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "all_at_once" => Some(&[]),
        "rolling" => Some(&["batch", "max_failures"]),
        "canary" => Some(&["steps", "pause", "analysis"]),
        "blue_green" => Some(&["switch", "verify", "keep_previous"]),
        _ => None,
    }
}

/// Default bounds of `check` when not given.
const DEFAULT_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
const DEFAULT_CHECK_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);

/// A resolved `from` clause.
struct TemplateRef<'a> {
    template: &'a ast::Template,
    file: FileId,
    name: String,
}

/// Lowers the plan's stages and gates. The declarations are consumed one
/// by one, so the syntax tree of a node is freed once its model is built.
pub fn lower_nodes(lowering: &mut Lowering, compiler: &ScriptCompiler, all_decls: Vec<NodeDecl>) -> Vec<NodeDef> {
    let loaded = lowering.loaded;
    let Some(root) = loaded.modules.first() else { return Vec::new() };
    let file = root.file;
    // Ids in declaration order; a duplicate name keeps its first definition.
    let mut decls: Vec<NodeDecl> = Vec::with_capacity(all_decls.len());
    let mut ids: HashMap<String, NodeId> = HashMap::with_capacity(all_decls.len());
    for node in all_decls {
        if !ids.contains_key(&node.name.name) {
            ids.insert(node.name.name.clone(), NodeId(decls.len()));
            decls.push(node);
        }
    }
    let kinds: Vec<NodeKind> = decls.iter().map(|d| d.kind).collect();
    let names: Vec<String> = decls.iter().map(|d| d.name.name.clone()).collect();
    let templates: Vec<Option<TemplateRef>> = decls.iter().map(|d| resolve_template(lowering, d)).collect();

    // First pass: `needs` and `target`, so every node knows its environment.
    let mut needs: Vec<Vec<NodeId>> = Vec::new();
    let mut targets: Vec<Option<EnvId>> = Vec::new();
    for decl in &decls {
        let (node_needs, target) = lower_edges(lowering, file, decl, &ids, &names);
        needs.push(node_needs);
        targets.push(target);
    }
    super::cycles::report(file, &decls, &needs, &mut lowering.diagnostics);
    let contexts = environment_contexts(&needs, &targets);

    let mut nodes = Vec::with_capacity(decls.len());
    for (index, decl) in decls.into_iter().enumerate() {
        let decl = &decl;
        let env = match contexts[index] {
            Some(env) => {
                let environment = &lowering.environments[env.0];
                EnvContext::Known {
                    name: environment.name.clone(),
                    keys: environment.vars.iter().map(|(k, _)| k.clone()).collect(),
                }
            }
            None => EnvContext::None,
        };
        let mut builder = NodeBuilder::new(decl, NodeId(index), file, &ids, &kinds, compiler);
        builder.node.needs = needs[index].clone();
        builder.node.target = targets[index];
        builder.node.doc = crate::syntax::doc_comment(lowering.text_of(file), decl.span.start);
        match &templates[index] {
            None if decl.from.is_some() => {}
            None => {
                let names_copy = lowering.names.clone();
                let scope = Scope { plan: Some(&names_copy), template_params: None, env, builtins: true };
                builder.body(lowering, file, &scope, &decl.body.entries, BodyOrigin::Local);
            }
            Some(template) => {
                builder.node.template = Some(template.name.clone());
                builder.instance(lowering, decl, template, env);
            }
        }
        builder.finish(lowering, decl);
        nodes.push(builder.node);
    }
    nodes
}

fn resolve_template<'a>(lowering: &mut Lowering<'a>, decl: &NodeDecl) -> Option<TemplateRef<'a>> {
    let path = decl.from.as_ref()?;
    let loaded = lowering.loaded;
    let root = loaded.modules.first()?;
    let file = root.file;
    let (module_index, template_name) = match path.segments.as_slice() {
        [name] => (0, name),
        [alias, name] => match root.imports.iter().find(|(a, _)| *a == alias.name) {
            Some((_, Some(index))) => (*index, name),
            // The import itself failed; it was reported there.
            Some((_, None)) => return None,
            None => {
                let aliases = root.imports.iter().map(|(a, _)| a.as_str());
                let mut d = Diagnostic::new(Code::UnknownModule, format!("no module is imported as `{}`", alias.name))
                    .at(file, alias.span, "unknown module");
                d = match did_you_mean(&alias.name, aliases) {
                    Some(close) => d.with_help(format!("did you mean `{close}`?")),
                    None => d.with_help(format!("add `import \"std/...\" as {}` at the top of the plan", alias.name)),
                };
                lowering.push(d);
                return None;
            }
        },
        _ => {
            lowering.push(
                Diagnostic::new(Code::UnknownTemplate, "write `from TEMPLATE` or `from MODULE.TEMPLATE`").at(
                    file,
                    path.span,
                    "not a template name",
                ),
            );
            return None;
        }
    };
    let module = loaded.modules.get(module_index)?;
    let templates: Vec<&ast::Template> = module
        .ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Template(t) => Some(t),
            _ => None,
        })
        .collect();
    match templates.iter().find(|t| t.name.name == template_name.name) {
        Some(template) if template.kind == decl.kind => {
            Some(TemplateRef { template, file: module.file, name: path.dotted() })
        }
        Some(template) => {
            lowering.push(
                Diagnostic::new(
                    Code::UnknownTemplate,
                    format!(
                        "`{}` is a {} template; it cannot make a {}",
                        path.dotted(),
                        template.kind.word(),
                        decl.kind.word()
                    ),
                )
                .at(file, path.span, "wrong kind of template")
                .with_secondary(module.file, template.name.span, "defined here")
                .with_help(format!(
                    "declare it as `{} {} from {}`",
                    template.kind.word(),
                    decl.name.name,
                    path.dotted()
                )),
            );
            None
        }
        None => {
            let candidates = templates.iter().map(|t| t.name.name.as_str());
            let mut d = Diagnostic::new(Code::UnknownTemplate, format!("no template `{}`", path.dotted())).at(
                file,
                template_name.span,
                "unknown template",
            );
            d = match did_you_mean(&template_name.name, candidates) {
                Some(close) => d.with_help(format!("did you mean `{close}`?")),
                None => d.with_help(format!(
                    "the module defines: {}",
                    templates.iter().map(|t| t.name.name.as_str()).collect::<Vec<_>>().join(", ")
                )),
            };
            lowering.push(d);
            None
        }
    }
}

/// `needs` and `target` of one node (from its own body, not its template's).
fn lower_edges(
    lowering: &mut Lowering,
    file: FileId,
    decl: &NodeDecl,
    ids: &HashMap<String, NodeId>,
    names: &[String],
) -> (Vec<NodeId>, Option<EnvId>) {
    let mut needs = Vec::new();
    let mut target = None;
    let mut diagnostics = Vec::new();
    for entry in &decl.body.entries {
        let Entry::Attribute(attribute) = entry else { continue };
        match attribute.name.name.as_str() {
            "needs" => {
                let items: Vec<&ast::Value> = match &attribute.value.kind {
                    ValueKind::List(items) => items.iter().collect(),
                    ValueKind::Path(_) => vec![&attribute.value],
                    other => {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                format!("`needs` takes a list of stage and gate names, found {}", other.describe()),
                            )
                            .at(file, attribute.value.span, "expected [name, ...]")
                            .with_help("write needs = [build, smoke]"),
                        );
                        continue;
                    }
                };
                for item in items {
                    let ValueKind::Path(path) = &item.kind else {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                format!("expected a stage or gate name, found {}", item.kind.describe()),
                            )
                            .at(file, item.span, "not a name")
                            .with_help("names are written without quotes: needs = [build]"),
                        );
                        continue;
                    };
                    let name = path.dotted();
                    match ids.get(&name) {
                        Some(_) if name == decl.name.name => {
                            diagnostics.push(
                                Diagnostic::new(Code::NeedsCycle, format!("`{name}` needs itself"))
                                    .at(file, path.span, "a node cannot need itself")
                                    .with_help("remove it from `needs`"),
                            );
                        }
                        Some(id) => {
                            if needs.contains(id) {
                                diagnostics.push(
                                    Diagnostic::new(
                                        Code::DuplicateAttribute,
                                        format!("`{name}` is listed twice in `needs`"),
                                    )
                                    .at(file, path.span, "listed again"),
                                );
                            } else {
                                needs.push(*id);
                            }
                        }
                        None => {
                            let mut d = Diagnostic::new(Code::UnknownName, format!("unknown stage or gate `{name}`"))
                                .at(file, path.span, "not declared");
                            d = match did_you_mean(&name, names.iter().map(String::as_str)) {
                                Some(close) => d.with_help(format!("did you mean `{close}`?")),
                                None => d.with_help("`needs` lists stages and gates declared in this plan"),
                            };
                            diagnostics.push(d);
                        }
                    }
                }
            }
            "target" => {
                if decl.kind == NodeKind::Gate {
                    continue; // reported as a stage-only attribute
                }
                let ValueKind::Path(path) = &attribute.value.kind else {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            format!("`target` takes an environment name, found {}", attribute.value.kind.describe()),
                        )
                        .at(file, attribute.value.span, "expected a name")
                        .with_help("write target = production (no quotes)"),
                    );
                    continue;
                };
                let name = path.dotted();
                match lowering.environments.iter().find(|e| e.name == name) {
                    Some(env) => target = Some(env.id),
                    None => {
                        let mut d = Diagnostic::new(Code::UnknownEnvironment, format!("unknown environment `{name}`"))
                            .at(file, path.span, "not declared");
                        let names = lowering.environments.iter().map(|e| e.name.as_str());
                        d = match did_you_mean(&name, names) {
                            Some(close) => d.with_help(format!("did you mean `{close}`?")),
                            None => d.with_help(format!("declare it: environment {name} {{ hosts = [...] }}")),
                        };
                        diagnostics.push(d);
                    }
                }
            }
            _ => {}
        }
    }
    lowering.diagnostics.extend(diagnostics);
    (needs, target)
}

/// The environment each node sees as `env`: its target, or the target of
/// the closest node it needs (fewest edges; ties go to the first listed).
/// Computed in one pass over a topological order; nodes on a `needs` cycle
/// (reported elsewhere) see none.
fn environment_contexts(needs: &[Vec<NodeId>], targets: &[Option<EnvId>]) -> Vec<Option<EnvId>> {
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyOrigin {
    /// A node's own body.
    Local,
    /// A template's body.
    Template,
    /// The body of a `from` instance (arguments already taken out).
    Instance,
}

struct NodeBuilder<'a> {
    node: NodeDef,
    ids: &'a HashMap<String, NodeId>,
    compiler: &'a ScriptCompiler,
    kinds: &'a [NodeKind],
    strategy_span: Option<(FileId, Span)>,
    has_rollback: Option<(FileId, Span)>,
    irreversible: Option<(FileId, Span)>,
    /// Whether the gate has an approve, check, wait or window (even one with errors).
    decides: bool,
}

impl<'a> NodeBuilder<'a> {
    fn new(
        decl: &NodeDecl,
        id: NodeId,
        file: FileId,
        ids: &'a HashMap<String, NodeId>,
        kinds: &'a [NodeKind],
        compiler: &'a ScriptCompiler,
    ) -> Self {
        let gate = (decl.kind == NodeKind::Gate).then(|| {
            Box::new(GateDef {
                approve: None,
                check: None,
                wait: None,
                window: None,
                on_fail: OutcomePolicy::Rollback,
                on_inconclusive: OutcomePolicy::Pause,
                on_no_data: OutcomePolicy::Pause,
            })
        });
        NodeBuilder {
            node: NodeDef {
                id,
                name: decl.name.name.clone(),
                kind: decl.kind,
                location: Location { file, span: decl.span },
                name_location: Location { file, span: decl.name.span },
                needs: Vec::new(),
                target: None,
                strategy: Strategy::AllAtOnce,
                steps: Vec::new(),
                rollback: RollbackSpec::Missing,
                timeout: None,
                retry: None,
                when: None,
                monitor: None,
                hooks: Vec::new(),
                gate,
                bindings: Vec::new(),
                template: None,
                doc: None,
            },
            ids,
            kinds,
            compiler,
            strategy_span: None,
            has_rollback: None,
            irreversible: None,
            decides: false,
        }
    }

    /// A `from` instance: arguments become bindings, the template's body is
    /// lowered in the template's scope, the instance's own attributes after.
    fn instance(&mut self, lowering: &mut Lowering, decl: &NodeDecl, template: &TemplateRef, env: EnvContext) {
        let root_file = self.node.location.file;
        let plan_names = lowering.names.clone();
        let plan_scope = Scope { plan: Some(&plan_names), template_params: None, env: env.clone(), builtins: true };
        let mut diagnostics = Vec::new();
        let mut params: BTreeMap<String, (Type, Option<Value>)> = BTreeMap::new();
        let mut bindings = Vec::new();
        let mut rest: Vec<Entry> = Vec::new();
        let declared: Vec<&str> = template.template.params.iter().map(|p| p.name.name.as_str()).collect();
        check_duplicate_entries(root_file, &decl.body.entries, &mut diagnostics);
        let mut given: HashMap<&str, &ast::Attribute> = HashMap::new();
        for entry in &decl.body.entries {
            match entry {
                Entry::Attribute(a) if declared.contains(&a.name.name.as_str()) => {
                    given.insert(a.name.name.as_str(), a);
                }
                Entry::Attribute(a) if INSTANCE_ATTRIBUTES.contains(&a.name.name.as_str()) => rest.push(entry.clone()),
                Entry::Strategy(_) | Entry::Hook(_) => rest.push(entry.clone()),
                Entry::Attribute(a) => {
                    let mut d = Diagnostic::new(
                        Code::UnknownArgument,
                        format!("template `{}` has no parameter `{}`", template.name, a.name.name),
                    )
                    .at(root_file, a.name.span, "unknown argument")
                    .with_secondary(template.file, template.template.name.span, "template defined here");
                    let mut candidates: Vec<&str> = declared.clone();
                    candidates.extend(INSTANCE_ATTRIBUTES);
                    d = match did_you_mean(&a.name.name, candidates) {
                        Some(close) => d.with_help(format!("did you mean `{close}`?")),
                        None => d.with_help(format!("parameters: {}", declared.join(", "))),
                    };
                    diagnostics.push(d);
                }
                other => diagnostics.push(
                    Diagnostic::new(
                        Code::UnknownAttribute,
                        format!("`{}` cannot be added to a template instance", other.keyword()),
                    )
                    .at(root_file, other.keyword_span(), "not allowed here")
                    .with_help("an instance gives arguments and node attributes (needs, target, when, timeout, ...); steps belong in the template"),
                ),
            }
        }
        for param in &template.template.params {
            let ty = match lower_type(&param.ty) {
                Ok(ty) => ty,
                Err(name) => {
                    diagnostics.push(
                        Diagnostic::new(Code::TypeMismatch, format!("unknown type `{name}`"))
                            .at(template.file, param.ty.span, "not a type")
                            .with_help("types are string, int, bool, duration, percent and list<T>"),
                    );
                    continue;
                }
            };
            let (expr, constant) = match (given.get(param.name.name.as_str()), &param.default) {
                (Some(arg), _) => {
                    let mut typer = Typer { file: root_file, scope: &plan_scope, diagnostics: &mut diagnostics };
                    let expr = typer.expr(&arg.value, &ty);
                    let constant = expr.as_ref().and_then(|e| constant_of(e, &plan_names));
                    (expr, constant)
                }
                (None, Some(default)) => {
                    let empty = BTreeMap::new();
                    let scope = Scope { plan: None, template_params: Some(&empty), env: env.clone(), builtins: true };
                    let mut typer = Typer { file: template.file, scope: &scope, diagnostics: &mut diagnostics };
                    let expr = typer.expr(default, &ty);
                    let constant = expr.as_ref().and_then(|e| constant_of(e, &plan_names));
                    (expr, constant)
                }
                (None, None) => {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::MissingArgument,
                            format!("missing argument `{}` of template `{}`", param.name.name, template.name),
                        )
                        .at(root_file, decl.name.span, format!("needs `{} = ...`", param.name.name))
                        .with_secondary(template.file, param.span, "parameter declared here without default")
                        .with_help(format!("add `{} = <{}>` to the block", param.name.name, ty)),
                    );
                    (None, None)
                }
            };
            if let Some(expr) = expr {
                bindings.push((param.name.name.clone(), expr));
            }
            params.insert(param.name.name.clone(), (ty, constant));
        }
        lowering.diagnostics.extend(diagnostics);
        self.node.bindings = bindings;
        let template_scope = Scope { plan: None, template_params: Some(&params), env, builtins: true };
        if self.node.doc.is_none() {
            let text = lowering.text_of(template.file).to_string();
            self.node.doc = crate::syntax::doc_comment(&text, template.template.span.start);
        }
        self.body(lowering, template.file, &template_scope, &template.template.body.entries, BodyOrigin::Template);
        self.body(lowering, root_file, &plan_scope, &rest, BodyOrigin::Instance);
    }

    fn body(&mut self, lowering: &mut Lowering, file: FileId, scope: &Scope, entries: &[Entry], origin: BodyOrigin) {
        let mut diagnostics = Vec::new();
        if origin != BodyOrigin::Instance {
            check_duplicate_entries(file, entries, &mut diagnostics);
        }
        let mut typer = Typer { file, scope, diagnostics: &mut diagnostics };
        for entry in entries {
            self.entry(&mut typer, entry, origin);
        }
        lowering.diagnostics.extend(diagnostics);
    }

    fn wrong_kind(&self, typer: &mut Typer, entry: &Entry) {
        let (kind, other) = match self.node.kind {
            NodeKind::Stage => ("stage", "gate"),
            NodeKind::Gate => ("gate", "stage"),
        };
        typer.diagnostics.push(
            Diagnostic::new(Code::WrongNodeKind, format!("`{}` belongs in a {other}, not a {kind}", entry.keyword()))
                .at(typer.file, entry.keyword_span(), format!("not allowed in a {kind}"))
                .with_help(match self.node.kind {
                    NodeKind::Stage => "stages do work; put the decision in a gate and make this stage need it",
                    NodeKind::Gate => "gates decide; put the work in a stage that needs this gate",
                }),
        );
    }

    fn entry(&mut self, typer: &mut Typer, entry: &Entry, origin: BodyOrigin) {
        let is_gate = self.node.kind == NodeKind::Gate;
        let word = entry.keyword();
        self.decides |= matches!(word, "approve" | "check" | "wait" | "window");
        if is_gate && STAGE_ONLY.contains(&word) {
            self.wrong_kind(typer, entry);
            return;
        }
        if !is_gate && GATE_ONLY.contains(&word) {
            self.wrong_kind(typer, entry);
            return;
        }
        match entry {
            Entry::Attribute(a) => self.attribute(typer, a, entry, origin),
            Entry::Run(run) => {
                let template = typer.template(&run.command);
                self.node.steps.push(Step::Run(template));
            }
            Entry::Script(script) => {
                if let Some(script) = self.compiler.compile(typer.file, &script.script, typer.diagnostics) {
                    self.node.steps.push(Step::Script(script));
                }
            }
            Entry::Rollback(rollback) => {
                self.has_rollback = Some((typer.file, rollback.keyword));
                let steps = steps(typer, self.compiler, &rollback.body.entries, "a rollback block");
                self.node.rollback = RollbackSpec::Steps(steps);
            }
            Entry::Strategy(strategy) => self.strategy(typer, strategy),
            Entry::Hook(hook) => {
                let hooks = lower_hook(typer, self.compiler, hook, HookEvent::STAGE);
                self.node.hooks.extend(hooks);
            }
            Entry::Approve(approve) => {
                let question = typer.template(&approve.question);
                let by = match &approve.by {
                    Some(value) => match typer.constant(value, &Type::List(Box::new(Type::String))) {
                        Some(Value::List(items)) => items.iter().map(Value::to_text).collect(),
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                };
                if let Some(gate) = &mut self.node.gate {
                    gate.approve = Some(Approval { question, by });
                }
            }
            Entry::Check(check) => {
                let every = duration_or(typer, check.every.as_ref(), DEFAULT_CHECK_EVERY);
                let within = duration_or(typer, check.within.as_ref(), DEFAULT_CHECK_WITHIN);
                if every.is_zero() {
                    if let Some(value) = &check.every {
                        typer.diagnostics.push(
                            Diagnostic::new(Code::InvalidValue, "a check interval must be longer than zero")
                                .at(typer.file, value.span, "zero"),
                        );
                    }
                }
                if let Some(script) = self.compiler.compile(typer.file, &check.script, typer.diagnostics) {
                    if let Some(gate) = &mut self.node.gate {
                        gate.check = Some(Check { every, within, script });
                    }
                }
            }
            Entry::Block(_) => {
                let accepted = if is_gate { GATE_ATTRIBUTES } else { STAGE_ATTRIBUTES };
                typer.diagnostics.push(unknown_entry(
                    typer.file,
                    entry,
                    &format!("a {}", self.node.kind.word()),
                    accepted,
                ));
            }
        }
    }

    fn attribute(&mut self, typer: &mut Typer, a: &ast::Attribute, entry: &Entry, origin: BodyOrigin) {
        let file = typer.file;
        match a.name.name.as_str() {
            "needs" | "target" => {
                if origin == BodyOrigin::Template {
                    typer.diagnostics.push(
                        Diagnostic::new(
                            Code::UnknownAttribute,
                            format!("`{}` belongs on the instance, not in a template", a.name.name),
                        )
                        .at(file, a.name.span, "not allowed in a template")
                        .with_help(
                            "the plan says where an instance sits: stage x from m.t { needs = [...]  target = ... }",
                        ),
                    );
                }
            }
            "timeout" => {
                if let Some(Value::Duration(d)) = typer.constant(&a.value, &Type::Duration) {
                    if d.is_zero() {
                        typer.diagnostics.push(
                            Diagnostic::new(Code::InvalidValue, "a timeout must be longer than zero").at(
                                file,
                                a.value.span,
                                "zero",
                            ),
                        );
                    }
                    self.node.timeout = Some(d);
                }
            }
            "retry" => self.node.retry = retry(typer, &a.value),
            "when" => match &a.value.kind {
                ValueKind::Rhai(rhai) => self.node.when = self.compiler.compile(file, rhai, typer.diagnostics),
                other => typer.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        format!("`when` takes a Rhai expression in backticks, found {}", other.describe()),
                    )
                    .at(file, a.value.span, "expected `expression`")
                    .with_help("write when = `version != \"dev\"`"),
                ),
            },
            "monitor" => self.node.monitor = self.monitor(typer, &a.value),
            "irreversible" => {
                if let Some(Value::String(why)) = typer.constant(&a.value, &Type::String) {
                    if why.trim().is_empty() {
                        typer.diagnostics.push(
                            Diagnostic::new(Code::InvalidValue, "say why the stage cannot be undone")
                                .at(file, a.value.span, "empty reason")
                                .with_help("irreversible = \"drops the legacy table\""),
                        );
                    }
                    self.irreversible = Some((file, a.name.span));
                    if !matches!(self.node.rollback, RollbackSpec::Steps(_)) {
                        self.node.rollback = RollbackSpec::Irreversible(why);
                    }
                }
            }
            "description" => {
                if let Some(Value::String(text)) = typer.constant(&a.value, &Type::String) {
                    self.node.doc.get_or_insert(text);
                }
            }
            "wait" => {
                if let Some(Value::Duration(d)) = typer.constant(&a.value, &Type::Duration) {
                    if let Some(gate) = &mut self.node.gate {
                        gate.wait = Some(d);
                    }
                }
            }
            "window" => {
                let parsed = window(typer, &a.value);
                if let Some(gate) = &mut self.node.gate {
                    gate.window = parsed.or(gate.window.take());
                }
            }
            "on_fail" | "on_inconclusive" | "on_no_data" => {
                let policy = match typer.word(&a.value, POLICIES).as_deref() {
                    Some("rollback") => OutcomePolicy::Rollback,
                    Some("pause") => OutcomePolicy::Pause,
                    Some("abort") => OutcomePolicy::Abort,
                    Some("continue") => OutcomePolicy::Continue,
                    _ => return,
                };
                if let Some(gate) = &mut self.node.gate {
                    match a.name.name.as_str() {
                        "on_fail" => gate.on_fail = policy,
                        "on_inconclusive" => gate.on_inconclusive = policy,
                        _ => gate.on_no_data = policy,
                    }
                }
            }
            _ => {
                let accepted = if self.node.kind == NodeKind::Gate { GATE_ATTRIBUTES } else { STAGE_ATTRIBUTES };
                typer.diagnostics.push(unknown_entry(file, entry, &format!("a {}", self.node.kind.word()), accepted));
            }
        }
    }

    /// A gate named by `analysis`, `verify` or `monitor`.
    fn gate_ref(&self, typer: &mut Typer, value: &ast::Value, role: &str) -> Option<NodeId> {
        let ValueKind::Path(path) = &value.kind else {
            typer.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("`{role}` takes the name of a gate, found {}", value.kind.describe()),
                )
                .at(typer.file, value.span, "expected a gate name"),
            );
            return None;
        };
        let name = path.dotted();
        match self.ids.get(&name) {
            Some(id) if self.kinds.get(id.0) == Some(&NodeKind::Gate) => Some(*id),
            Some(_) => {
                typer.diagnostics.push(
                    Diagnostic::new(Code::NotAGate, format!("`{name}` is a stage, but `{role}` needs a gate"))
                        .at(typer.file, path.span, "a stage")
                        .with_help("declare a gate with a `check` and name it here"),
                );
                None
            }
            None => {
                let gates = self
                    .ids
                    .iter()
                    .filter(|(_, id)| self.kinds.get(id.0) == Some(&NodeKind::Gate))
                    .map(|(n, _)| n.as_str());
                let mut d = Diagnostic::new(Code::UnknownName, format!("unknown gate `{name}`")).at(
                    typer.file,
                    path.span,
                    "not declared",
                );
                if let Some(close) = did_you_mean(&name, gates) {
                    d = d.with_help(format!("did you mean `{close}`?"));
                }
                typer.diagnostics.push(d);
                None
            }
        }
    }

    fn monitor(&self, typer: &mut Typer, value: &ast::Value) -> Option<Monitor> {
        match &value.kind {
            ValueKind::Qualified { value: gate, qualifier: Qualifier::For, by } => {
                let gate = self.gate_ref(typer, gate, "monitor")?;
                let Value::Duration(duration) = typer.constant(by, &Type::Duration)? else { return None };
                Some(Monitor { gate, duration })
            }
            ValueKind::Path(_) => {
                let gate = self.gate_ref(typer, value, "monitor")?;
                Some(Monitor { gate, duration: std::time::Duration::ZERO })
            }
            other => {
                typer.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        format!("`monitor` takes `GATE for DURATION`, found {}", other.describe()),
                    )
                    .at(typer.file, value.span, "expected `GATE for DURATION`")
                    .with_help("write monitor = smoke for 10m"),
                );
                None
            }
        }
    }

    fn strategy(&mut self, typer: &mut Typer, decl: &ast::StrategyDecl) {
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
        for entry in entries {
            match entry {
                Entry::Attribute(a) if accepted.contains(&a.name.name.as_str()) => {
                    attributes.insert(a.name.name.as_str(), &a.value);
                }
                Entry::Block(b) if name == "blue_green" && b.name.name == "switch" => {
                    switch = Some(steps(typer, self.compiler, &b.body.entries, "`switch`"));
                }
                other => typer.diagnostics.push(unknown_entry(file, other, &what, accepted)),
            }
        }
        self.node.strategy = match name {
            "rolling" => {
                let batch = attributes.get("batch").and_then(|v| amount(typer, v)).unwrap_or(Amount::Count(1));
                if matches!(batch, Amount::Count(0)) || matches!(batch, Amount::Percent(p) if p <= 0.0) {
                    if let Some(value) = attributes.get("batch") {
                        typer.diagnostics.push(
                            Diagnostic::new(Code::InvalidValue, "a batch must hold at least one host").at(
                                file,
                                value.span,
                                "empty batch",
                            ),
                        );
                    }
                }
                let max_failures =
                    attributes.get("max_failures").and_then(|v| amount(typer, v)).unwrap_or(Amount::Count(0));
                Strategy::Rolling { batch, max_failures }
            }
            "canary" => {
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
                Strategy::Canary { steps, pause, analysis }
            }
            "blue_green" => {
                let switch = match switch {
                    Some(steps) => steps,
                    None => {
                        typer.diagnostics.push(
                            Diagnostic::new(Code::MissingValue, "blue_green needs a `switch { ... }` block")
                                .at(file, decl.name.span, "no switch")
                                .with_help("the switch steps move traffic to the new colour, e.g. switch { run \"./switch ${host}\" }"),
                        );
                        Vec::new()
                    }
                };
                let verify = attributes.get("verify").and_then(|v| self.gate_ref(typer, v, "verify"));
                let keep_previous = attributes
                    .get("keep_previous")
                    .and_then(|v| typer.constant(v, &Type::Duration))
                    .and_then(|v| if let Value::Duration(d) = v { Some(d) } else { None });
                Strategy::BlueGreen { switch, verify, keep_previous }
            }
            _ => Strategy::AllAtOnce,
        };
    }

    fn finish(&mut self, lowering: &mut Lowering, decl: &NodeDecl) {
        let file = self.node.location.file;
        if self.node.kind == NodeKind::Stage {
            if self.node.target.is_none() {
                if let Some((strategy_file, span)) = self.strategy_span {
                    lowering.push(
                        Diagnostic::new(
                            Code::StrategyWithoutTarget,
                            format!("stage `{}` has a strategy but no target", self.node.name),
                        )
                        .at(strategy_file, span, "rolls out over hosts")
                        .with_secondary(file, decl.name.span, "this stage runs once, locally")
                        .with_help("add `target = ENV` to say which hosts to roll out over"),
                    );
                }
            }
            if let (Some((rollback_file, rollback_span)), Some((irr_file, irr_span))) =
                (self.has_rollback, self.irreversible)
            {
                lowering.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("stage `{}` is both irreversible and has a rollback", self.node.name),
                    )
                    .at(irr_file, irr_span, "declared irreversible")
                    .with_secondary(rollback_file, rollback_span, "but has a rollback here")
                    .with_help("keep the rollback block if the stage can be undone, otherwise remove it"),
                );
            }
        }
        if let Some(gate) = &self.node.gate {
            let decides_nothing =
                gate.approve.is_none() && gate.check.is_none() && gate.wait.is_none() && gate.window.is_none();
            if decides_nothing && !self.decides && (decl.from.is_none() || self.node.template.is_some()) {
                lowering.push(
                    Diagnostic::new(Code::MissingValue, format!("gate `{}` decides nothing", self.node.name))
                        .at(file, decl.name.span, "no approve, check, wait or window")
                        .with_help("add `approve \"...\"`, `check every 5s within 2m `...``, `wait = 5m` or `window = \"...\"`"),
                );
            }
        }
    }
}

/// A value known before the run, from an argument expression.
fn constant_of(expr: &Expr, names: &super::scope::PlanNames) -> Option<Value> {
    match expr {
        Expr::Literal(value) => Some(value.clone()),
        Expr::Ref(path) if path.len() == 1 => names.params.get(&path[0]).and_then(|(_, v)| v.clone()),
        Expr::List(items) => items.iter().map(|i| constant_of(i, names)).collect::<Option<Vec<_>>>().map(Value::List),
        Expr::Env { var, default } => match std::env::var(var) {
            Ok(text) => Some(Value::String(text)),
            Err(_) => default.as_deref().and_then(|d| constant_of(d, names)),
        },
        _ => None,
    }
}

fn duration_or(typer: &mut Typer, value: Option<&ast::Value>, default: std::time::Duration) -> std::time::Duration {
    match value.and_then(|v| typer.constant(v, &Type::Duration)) {
        Some(Value::Duration(d)) => d,
        _ => default,
    }
}

/// `retry = 3 every 10s` or `retry = 3`.
fn retry(typer: &mut Typer, value: &ast::Value) -> Option<Retry> {
    let (count, every) = match &value.kind {
        ValueKind::Qualified { value: count, qualifier: Qualifier::Every, by } => (count.as_ref(), Some(by.as_ref())),
        ValueKind::Qualified { qualifier: Qualifier::For, .. } => {
            typer.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, "`retry` takes `N every DURATION`")
                    .at(typer.file, value.span, "expected `N every DURATION`")
                    .with_help("write retry = 3 every 10s"),
            );
            return None;
        }
        _ => (value, None),
    };
    let Value::Int(attempts) = typer.constant(count, &Type::Int)? else { return None };
    if !(0..=1000).contains(&attempts) {
        typer.diagnostics.push(Diagnostic::new(Code::InvalidValue, "a retry count must be between 0 and 1000").at(
            typer.file,
            count.span,
            "out of range",
        ));
        return None;
    }
    let every = duration_or(typer, every, std::time::Duration::from_secs(1));
    Some(Retry { attempts: attempts as u32, every })
}

/// `batch = 2` or `batch = 25%`.
fn amount(typer: &mut Typer, value: &ast::Value) -> Option<Amount> {
    let ty = match &value.kind {
        ValueKind::Percent(_) => Type::Percent,
        ValueKind::Int(_) => Type::Int,
        ValueKind::Path(path) => match typer.resolve(path)? {
            super::values::NameInfo::Typed(Type::Percent, _) => Type::Percent,
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

/// Steps of a rollback block, a hook or a switch: `run` and `script` only.
fn steps(typer: &mut Typer, compiler: &ScriptCompiler, entries: &[Entry], what: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Entry::Run(run) => out.push(Step::Run(typer.template(&run.command))),
            Entry::Script(script) => {
                if let Some(script) = compiler.compile(typer.file, &script.script, typer.diagnostics) {
                    out.push(Step::Script(script));
                }
            }
            other => typer.diagnostics.push(
                Diagnostic::new(Code::UnknownAttribute, format!("{what} holds `run` and `script` steps only"))
                    .at(typer.file, other.keyword_span(), "not a step")
                    .with_help("write run \"command\" or script ```...```"),
            ),
        }
    }
    out
}

fn lower_hook(
    typer: &mut Typer,
    compiler: &ScriptCompiler,
    hook: &ast::HookDecl,
    events: &[HookEvent],
) -> Option<HookDef> {
    let words: Vec<&str> = events.iter().map(|e| e.word()).collect();
    let Some(event) = events.iter().find(|e| e.word() == hook.event.name) else {
        let mut d = Diagnostic::new(Code::UnknownAttribute, format!("no `{}` event here", hook.event.name)).at(
            typer.file,
            hook.event.span,
            "unknown event",
        );
        d = match did_you_mean(&hook.event.name, words.iter().copied()) {
            Some(close) => d.with_help(format!("did you mean `{close}`?")),
            None => d.with_help(format!("events here: {}", words.join(", "))),
        };
        typer.diagnostics.push(d);
        return None;
    };
    let steps = steps(typer, compiler, &hook.body.entries, "a hook");
    Some(HookDef { event: *event, steps, location: Location { file: typer.file, span: hook.span } })
}

/// The pipeline's `on EVENT { ... }` hooks.
pub fn lower_hooks(
    lowering: &mut Lowering,
    compiler: &ScriptCompiler,
    file: FileId,
    entries: &[Entry],
    events: &[HookEvent],
) -> Vec<HookDef> {
    let names = lowering.names.clone();
    let scope = Scope { plan: Some(&names), template_params: None, env: EnvContext::None, builtins: true };
    let mut diagnostics = Vec::new();
    let mut typer = Typer { file, scope: &scope, diagnostics: &mut diagnostics };
    let mut hooks = Vec::new();
    for entry in entries {
        if let Entry::Hook(hook) = entry {
            hooks.extend(lower_hook(&mut typer, compiler, hook, events));
        }
    }
    lowering.diagnostics.extend(diagnostics);
    hooks
}
