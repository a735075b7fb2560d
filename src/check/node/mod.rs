//! Lowering stages and gates: local nodes and template instances, their
//! steps, strategies, gates, hooks and the references between them.

mod decided_by_stage;
mod edges;
mod router;
mod steps;
mod strategy;
mod template;

pub(crate) use edges::gates_used_by;
pub use steps::lower_hooks;
pub use strategy::strategy_attributes;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};

use super::lowering::{check_duplicate_entries, unknown_entry, window, Lowering};
use super::model::*;
use super::scope::{EnvContext, EnvUse, NamesInScope};
use super::script_compiler::ScriptCompiler;
use super::values::{lower_type, Typer};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{self, Entry, Item, NodeDecl, Qualifier, ValueKind};
use crate::syntax::span::{FileId, Span};
use edges::{check_env_use, environment_contexts, lower_edges};
use steps::{lower_hook, steps};
use template::resolve_template;

/// Each node's id by name (the first of a name).
type NodeIds = HashMap<ast::Name, NodeId>;

pub const STAGE_ATTRIBUTES: &[&str] = &[
    "needs",
    "target",
    "timeout",
    "retry",
    "when",
    "monitor",
    "irreversible",
    "undo_failed",
    "become",
    "description",
    "run",
    "script",
    "upload",
    "template",
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
    "failure_limit",
    "inconclusive_limit",
    "on",
];
const GATE_ONLY: &[&str] = &[
    "approve",
    "check",
    "wait",
    "window",
    "on_fail",
    "on_inconclusive",
    "on_no_data",
    "failure_limit",
    "inconclusive_limit",
];
const STAGE_ONLY: &[&str] = &[
    "run",
    "script",
    "upload",
    "template",
    "rollback",
    "strategy",
    "target",
    "retry",
    "monitor",
    "irreversible",
    "become",
];
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
    "failure_limit",
    "inconclusive_limit",
    "description",
];
pub const STRATEGIES: &[&str] = &["all_at_once", "rolling", "canary", "blue_green"];
pub const POLICIES: &[&str] = &["rollback", "pause", "abort", "continue"];

/// Default bounds of `check` when not given.
const DEFAULT_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
const DEFAULT_CHECK_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);

/// A body that could not be parsed: the syntax diagnostics of the file.
pub struct BodySyntaxError(pub Vec<Diagnostic>);

/// Lowers the plan's stages and gates in one pass over their declarations,
/// each consumed and freed as soon as its model is built (with an outline
/// parse, each body is also parsed only then). What needs every node —
/// cycles, the environment a node inherits through `needs` — is checked
/// after the pass, from the model and the references recorded on the way.
pub fn lower_nodes(
    lowering: &mut Lowering,
    compiler: &ScriptCompiler,
    all_decls: Vec<NodeDecl>,
    lazy_bodies: bool,
) -> Result<Vec<NodeDef>, BodySyntaxError> {
    let loaded = lowering.loaded;
    let Some(root) = loaded.modules.first() else { return Ok(Vec::new()) };
    let file = root.file;
    let text = root_text(lowering, file);
    // Ids in declaration order; a duplicate name keeps its first definition.
    // Keyed by the tree's own short strings: most names are stored inline,
    // so neither map nor list allocates per node.
    // A name given again is E0101 here (the other namespaces' in the driver).
    let mut ids: NodeIds = HashMap::with_capacity(all_decls.len());
    let mut first_spans: Vec<Span> = Vec::with_capacity(all_decls.len());
    let mut first = Vec::with_capacity(all_decls.len());
    for node in &all_decls {
        let name = &node.name;
        let seen = ids.get(name.name.as_str()).and_then(|id| first_spans.get(id.0)).copied();
        match seen {
            Some(first_span) if !name.name.is_empty() => {
                lowering.push(super::lowering::defined_twice("stage or gate", file, name, first_span));
            }
            Some(_) => {}
            None => {
                ids.insert(name.name.clone(), NodeId(ids.len()));
                first_spans.push(name.span);
            }
        }
        first.push(seen.is_none());
    }
    // (Without duplicates, which a plan that checks has none of, the
    // declarations stay where they are.)
    let mut decls: Vec<NodeDecl> = if ids.len() == all_decls.len() {
        all_decls
    } else {
        all_decls.into_iter().zip(first).filter_map(|(decl, first)| first.then_some(decl)).collect()
    };
    let kinds: Vec<NodeKind> = decls.iter().map(|d| d.kind).collect();
    let names: Vec<ast::Name> = decls.iter().map(|d| d.name.name.clone()).collect();

    let mut nodes = Vec::with_capacity(decls.len());
    let mut needs_spans: Vec<Vec<(NodeId, Span)>> = Vec::with_capacity(decls.len());
    let mut env_uses: Vec<(NodeId, EnvUse)> = Vec::new();
    // The plan's names do not change while nodes are lowered: one copy for
    // all of them (a copy per node was a map cloned per stage).
    let plan_names = lowering.names.clone();
    // "Did you mean" for unknown gate and router names, bounded as for `needs`.
    let suggestions = Cell::new(super::lowering::SUGGESTION_BUDGET);
    for (index, decl_slot) in decls.iter_mut().enumerate() {
        if lazy_bodies {
            decl_slot.body = crate::syntax::parse_body(file, &text, decl_slot.body.span).map_err(BodySyntaxError)?;
        }
        let decl = &*decl_slot;
        let template = resolve_template(lowering, decl);
        let (node_needs, spans, target) = lower_edges(lowering, file, decl, &ids, &names);
        needs_spans.push(spans);
        let uses = RefCell::new(Vec::new());
        let env = EnvContext::Deferred(&uses);
        // Made in its place in the list: a node is 480 bytes, and building
        // it aside then moving it in copied each twice.
        nodes.push(NodeBuilder::empty_node(decl, NodeId(index), file));
        let Some(node) = nodes.last_mut() else { break };
        let mut builder = NodeBuilder::new(node, &ids, &kinds, compiler, &suggestions);
        builder.node.needs = node_needs;
        builder.node.target = target;
        match &template {
            None if decl.from.is_some() => {}
            None => {
                let scope = NamesInScope { plan: Some(&plan_names), template_params: None, env, builtins: true };
                builder.body(lowering, file, &scope, &decl.body.entries, BodyOrigin::Local);
            }
            Some(template) => {
                builder.node.template = Some(template.name.clone());
                builder.instance(lowering, decl, template, env);
            }
        }
        builder.finish(lowering, decl);
        env_uses.extend(uses.into_inner().into_iter().map(|u| (NodeId(index), u)));
        // The body is lowered: its tree is not needed any more.
        decl_slot.body.entries = Vec::new();
    }
    super::cycles::report(&nodes, &needs_spans, &mut lowering.diagnostics);
    router::check_routers(lowering, &nodes);
    let needs: Vec<&[NodeId]> = nodes.iter().map(|n| n.needs.as_slice()).collect();
    let targets: Vec<Option<EnvId>> = nodes.iter().map(|n| n.target).collect();
    let mut contexts = environment_contexts(&needs, &targets);
    edges::inherit_from_users(&nodes, &mut contexts);
    for (node, used) in env_uses {
        if let Some(problem) = check_env_use(lowering, &nodes[node.0], contexts[node.0], &used) {
            lowering.push(problem);
        }
    }
    decided_by_stage::check(&nodes, &mut lowering.diagnostics);
    Ok(nodes)
}

/// The plan file's text (shared, not copied).
fn root_text(lowering: &Lowering, file: FileId) -> std::sync::Arc<str> {
    lowering.loaded.sources.get(file).map(|f| f.text.clone()).unwrap_or_else(|| std::sync::Arc::from(""))
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
    node: &'a mut NodeDef,
    ids: &'a NodeIds,
    compiler: &'a ScriptCompiler,
    kinds: &'a [NodeKind],
    /// How many more names "did you mean" may compare unknown gate and
    /// router names with, for the whole plan (see `SUGGESTION_BUDGET`).
    suggestions: &'a Cell<usize>,
    strategy_span: Option<(FileId, Span)>,
    has_rollback: Option<(FileId, Span)>,
    irreversible: Option<(FileId, Span)>,
    /// Whether the gate has an approve, check, wait or window (even one with errors).
    decides: bool,
    /// `timeout = ...` was written (`timeout = none` included): no default applies.
    timeout_given: bool,
}

impl<'a> NodeBuilder<'a> {
    /// The node of `decl` before its body is lowered.
    fn empty_node(decl: &NodeDecl, id: NodeId, file: FileId) -> NodeDef {
        let gate = (decl.kind == NodeKind::Gate).then(Box::<GateDef>::default);
        NodeDef {
            gate,
            ..NodeDef::new(
                id,
                decl.name.name.to_string(),
                decl.kind,
                Location { file, span: decl.span },
                Location { file, span: decl.name.span },
            )
        }
    }

    fn new(
        node: &'a mut NodeDef,
        ids: &'a NodeIds,
        kinds: &'a [NodeKind],
        compiler: &'a ScriptCompiler,
        suggestions: &'a Cell<usize>,
    ) -> Self {
        NodeBuilder {
            node,
            ids,
            kinds,
            compiler,
            suggestions,
            strategy_span: None,
            has_rollback: None,
            irreversible: None,
            timeout_given: false,
            decides: false,
        }
    }

    /// Whether one more suggestion among at most `candidates` names fits
    /// the plan's budget (and takes its share).
    fn may_suggest_among(&self, candidates: usize) -> bool {
        match self.suggestions.get().checked_sub(candidates) {
            Some(left) => {
                self.suggestions.set(left);
                true
            }
            None => false,
        }
    }

    fn body(
        &mut self,
        lowering: &mut Lowering,
        file: FileId,
        scope: &NamesInScope,
        entries: &[Entry],
        origin: BodyOrigin,
    ) {
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
                if let Some(script) = self.compiler.compile_in(typer, &script.script) {
                    self.node.steps.push(Step::Script(script));
                }
            }
            Entry::Upload(upload) => self.node.steps.push(steps::upload(typer, upload)),
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
                if let Some(script) = self.compiler.compile_in(typer, &check.script) {
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
            "timeout" => self.lower_timeout(typer, a),
            "retry" => self.node.retry = retry(typer, &a.value),
            "when" => match &a.value.kind {
                ValueKind::Rhai(rhai) => self.node.when = self.compiler.compile_in(typer, rhai),
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
            "irreversible" => self.lower_irreversible(typer, a),
            "undo_failed" => {
                if let Some(Value::Bool(undo)) = typer.constant(&a.value, &Type::Bool) {
                    self.node.undo_failed = undo;
                }
            }
            "become" => {
                if let Some(Value::Bool(flag)) = typer.constant(&a.value, &Type::Bool) {
                    self.node.become_root = Some(flag);
                }
            }
            // Checked (a plain string), not kept: nothing reads a node's description.
            "description" => {
                let _ = typer.constant(&a.value, &Type::String);
            }
            "wait" | "window" | "failure_limit" | "inconclusive_limit" | "on_fail" | "on_inconclusive"
            | "on_no_data" => self.gate_attribute(typer, a),
            _ => {
                let accepted = if self.node.kind == NodeKind::Gate { GATE_ATTRIBUTES } else { STAGE_ATTRIBUTES };
                typer.diagnostics.push(unknown_entry(file, entry, &format!("a {}", self.node.kind.word()), accepted));
            }
        }
    }

    /// `timeout = 5m` or `timeout = none`.
    fn lower_timeout(&mut self, typer: &mut Typer, a: &ast::Attribute) {
        let file = typer.file;
        self.timeout_given = true;
        if matches!(&a.value.kind, ValueKind::Path(p) if p.dotted() == "none") {
            self.node.timeout = None;
        } else if let Some(Value::Duration(d)) = typer.constant(&a.value, &Type::Duration) {
            if d.is_zero() {
                typer.diagnostics.push(Diagnostic::new(Code::InvalidValue, "a timeout must be longer than zero").at(
                    file,
                    a.value.span,
                    "zero",
                ));
            }
            self.node.timeout = Some(d);
        }
    }

    /// `irreversible = "why"`: the stage cannot be undone.
    fn lower_irreversible(&mut self, typer: &mut Typer, a: &ast::Attribute) {
        let file = typer.file;
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

    /// The attributes only a gate has: when it decides and what follows.
    fn gate_attribute(&mut self, typer: &mut Typer, a: &ast::Attribute) {
        let file = typer.file;
        match a.name.name.as_str() {
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
            "failure_limit" | "inconclusive_limit" => {
                let Some(Value::Int(limit)) = typer.constant(&a.value, &Type::Int) else { return };
                let Ok(limit) = u32::try_from(limit) else {
                    typer.diagnostics.push(
                        Diagnostic::new(Code::InvalidValue, format!("`{}` cannot be negative", a.name.name))
                            .at(file, a.value.span, "negative")
                            .with_help("0 stops at the first such evaluation"),
                    );
                    return;
                };
                if let Some(gate) = &mut self.node.gate {
                    if a.name.name == "failure_limit" {
                        gate.failure_limit = Some(limit);
                    } else {
                        gate.inconclusive_limit = Some(limit);
                    }
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
            _ => {}
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
        match self.ids.get(name.as_str()) {
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
                if let Some(close) =
                    self.may_suggest_among(self.ids.len()).then(|| did_you_mean(&name, gates)).flatten()
                {
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

    fn finish(&mut self, lowering: &mut Lowering, decl: &NodeDecl) {
        let file = self.node.location.file;
        if self.node.kind == NodeKind::Stage && !self.timeout_given && !self.node.steps.is_empty() {
            self.node.timeout = lowering.pipeline.step_timeout;
            self.node.timeout_is_default = true;
        }
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
