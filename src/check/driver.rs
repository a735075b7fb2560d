//! The checker's driver: loaded syntax trees → the checked [`Plan`].
//! Declarations are collected first (so order in the text never matters),
//! then every item is lowered, then the whole-plan lints run.

use super::vocabulary::{ENVIRONMENT_ENTRIES, LIMIT_KEYS, PIPELINE_ENTRIES, PROTECT_KEYS};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::loader::Loaded;
use super::lowering::{check_duplicate_entries, unknown_entry, window, Lowering};
use super::model::*;
use super::node::lower_nodes;
use super::scope::{EnvContext, NamesInScope, PlanNames, BUILTINS};
use super::ssh_block;
use super::values::{infer_type, lower_type, parse_set_value, Typer, TYPE_NAMES};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{self, Entry, Item};
use crate::syntax::span::{FileId, Span};

/// Checks loaded modules and builds the plan; `sets` are `--set` values,
/// which fix the params' values for checks that need them (batch sizes,
/// durations given by params).
pub fn lower(
    loaded: &Loaded,
    decls: Vec<ast::NodeDecl>,
    plan_file: &Path,
    sets: &[(String, String)],
) -> Result<(Option<Plan>, Vec<Diagnostic>), super::node::BodySyntaxError> {
    let mut lowering = Lowering {
        loaded,
        diagnostics: Vec::new(),
        names: PlanNames::default(),
        environments: Vec::new(),
        environment_secrets: Vec::new(),
        pipeline: default_settings(plan_file),
        suggestions_left: super::lowering::SUGGESTION_BUDGET,
    };
    let Some(root) = loaded.modules.first() else {
        return Ok((None, lowering.diagnostics));
    };
    let file = root.file;
    check_module_items(&mut lowering);
    check_duplicates(&mut lowering, file, &root.ast.items);
    let used_aliases: Vec<String> =
        decls.iter().filter_map(|d| d.from.as_ref()?.segments.first().map(|s| s.name.to_string())).collect();
    let pipeline_hooks = lower_pipeline(&mut lowering, file, &root.ast.items);
    let (params, secrets) = lower_inputs(&mut lowering, file, &root.ast.items, sets);
    let base_dir = plan_file.parent().map(Path::to_path_buf).unwrap_or_default();
    lower_environments(&mut lowering, file, &root.ast.items, &base_dir);
    let keyword_names: Vec<String> = root
        .ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Param(p) => Some(p.name.name.to_string()),
            Item::Secret(s) => Some(s.name.name.to_string()),
            _ => None,
        })
        .filter(|name| super::script_words::is_rhai_word(name))
        .collect();
    let compiler =
        super::script_compiler::ScriptCompiler::new(&lowering.pipeline.script_limits).reported(keyword_names);
    let lazy_bodies = root.lazy_bodies;
    // A stage or gate body with a syntax error: the caller parses the file
    // again, keeping what parses (see `check_loaded`).
    let nodes = lower_nodes(&mut lowering, &compiler, decls, lazy_bodies)?;
    let hooks = pipeline_hooks
        .map(|entries| super::node::lower_hooks(&mut lowering, &compiler, file, &entries, HookEvent::PIPELINE));
    let mut secrets = secrets;
    secrets.append(&mut lowering.environment_secrets);
    let plan = Plan {
        pipeline: lowering.pipeline.clone(),
        params,
        secrets,
        environments: std::mem::take(&mut lowering.environments),
        nodes,
        hooks: hooks.unwrap_or_default(),
        plan_file: plan_file.to_path_buf(),
        base_dir: plan_file
            .parent()
            .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
            .unwrap_or(Path::new("."))
            .to_path_buf(),
        sources: loaded.sources.clone(),
    };
    super::lints::run(&plan, loaded, &used_aliases, &mut lowering.diagnostics);
    super::ssh_looking_hosts::check(&plan, &mut lowering.diagnostics);
    Ok((Some(plan), lowering.diagnostics))
}

/// The pipeline's settings before its block is read: named after the file.
fn default_settings(plan_file: &Path) -> PipelineSettings {
    PipelineSettings {
        name: plan_file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "deploy".into()),
        description: None,
        on_failure: FailurePolicy::Rollback,
        lock: LockScope::Pipeline,
        script_limits: ScriptLimits::default(),
        max_parallel: None,
        watch: None,
        step_timeout: Some(DEFAULT_STEP_TIMEOUT),
        location: None,
    }
}

/// Modules (every file but the plan) hold only imports and templates.
fn check_module_items(lowering: &mut Lowering) {
    let mut problems = Vec::new();
    for module in lowering.loaded.modules.iter().skip(1) {
        for item in &module.ast.items {
            let what = match item {
                Item::Import(_) | Item::Template(_) => continue,
                Item::Pipeline(_) => "a pipeline",
                Item::Param(_) => "a param",
                Item::Secret(_) => "a secret",
                Item::Environment(_) => "an environment",
                Item::Node(_) => "a stage or gate",
            };
            problems.push(
                Diagnostic::new(Code::UnknownAttribute, format!("a module cannot declare {what}"))
                    .at(module.file, item.span(), "not allowed in a module")
                    .with_help("modules hold templates (and imports); the plan that imports them declares the rest"),
            );
        }
    }
    lowering.diagnostics.extend(problems);
}

/// One namespace's first definitions, for E0101 (the names borrowed from
/// the tree: a plan of a million stages made a million `String`s here).
struct Namespace<'a> {
    what: &'static str,
    first: HashMap<&'a str, Span>,
}

impl<'a> Namespace<'a> {
    fn new(what: &'static str, capacity: usize) -> Self {
        Namespace { what, first: HashMap::with_capacity(capacity) }
    }

    fn declare(&mut self, file: FileId, name: &'a ast::Ident, diagnostics: &mut Vec<Diagnostic>) {
        if name.name.is_empty() {
            return;
        }
        match self.first.get(name.name.as_str()) {
            Some(first) => diagnostics.push(super::lowering::defined_twice(self.what, file, name, *first)),
            None => {
                self.first.insert(name.name.as_str(), name.span);
            }
        }
    }
}

/// Names declared twice (E0101). Stages and gates are told by
/// [`lower_nodes`], which keeps each name's first node: one map of a
/// million names instead of two.
fn check_duplicates(lowering: &mut Lowering, file: FileId, items: &[Item]) {
    let mut diagnostics = Vec::new();
    let mut environments = Namespace::new("environment", 0);
    let mut inputs = Namespace::new("param or secret", 0);
    let mut pipeline: Option<Span> = None;
    for item in items {
        match item {
            Item::Environment(env) => environments.declare(file, &env.name, &mut diagnostics),
            Item::Param(param) => inputs.declare(file, &param.name, &mut diagnostics),
            Item::Secret(secret) => inputs.declare(file, &secret.name, &mut diagnostics),
            Item::Pipeline(p) => match pipeline {
                Some(first) => diagnostics.push(
                    Diagnostic::new(Code::DuplicateName, "a plan has one `pipeline` block")
                        .at(file, p.span, "second pipeline block")
                        .with_secondary(file, first, "first pipeline block")
                        .with_help("merge the two blocks"),
                ),
                None => pipeline = Some(p.span),
            },
            _ => {}
        }
        // Params and secrets cannot shadow built-ins (except `version`, which
        // a plan declares to say what it deploys).
        let reserved = match item {
            Item::Param(p) => Some(&p.name),
            Item::Secret(s) => Some(&s.name),
            _ => None,
        };
        if let Some(name) = reserved.filter(|name| super::script_words::is_rhai_word(&name.name)) {
            diagnostics.push(
                Diagnostic::new(
                    Code::RhaiWordAsName,
                    format!("`{}` is a Rhai keyword, so no script can use it as a name", name.name),
                )
                .at(file, name.span, "named like a Rhai keyword")
                .with_help(format!(
                    "rename it, for example to `{0}_name` (and `${{{0}}}` to `${{{0}_name}}`)",
                    name.name
                )),
            );
        }
        if let Some(name) = reserved {
            if name.name != "version" && (name.name == "env" || BUILTINS.iter().any(|(b, _)| *b == name.name)) {
                diagnostics.push(
                    Diagnostic::new(Code::DuplicateName, format!("`{}` is a built-in name", name.name))
                        .at(file, name.span, "reserved")
                        .with_help(format!(
                            "built-ins: {}, env; choose another name",
                            BUILTINS.iter().map(|(b, _)| *b).collect::<Vec<_>>().join(", ")
                        )),
                );
            }
        }
    }
    for module in &lowering.loaded.modules {
        let mut templates = Namespace::new("template", 0);
        let mut aliases = Namespace::new("import alias", 0);
        for item in &module.ast.items {
            match item {
                Item::Template(t) => templates.declare(module.file, &t.name, &mut diagnostics),
                Item::Import(i) => aliases.declare(module.file, &i.alias, &mut diagnostics),
                _ => {}
            }
        }
    }
    lowering.diagnostics.extend(diagnostics);
}

/// The pipeline block; returns its hooks to lower once nodes exist.
fn lower_pipeline(lowering: &mut Lowering, file: FileId, items: &[Item]) -> Option<Vec<Entry>> {
    let pipeline = items.iter().find_map(|item| match item {
        Item::Pipeline(p) => Some(p),
        _ => None,
    })?;
    let mut diagnostics = Vec::new();
    let empty = PlanNames::default();
    let scope = NamesInScope { plan: Some(&empty), template_params: None, env: EnvContext::None, builtins: false };
    let mut typer = Typer { file, scope: &scope, diagnostics: &mut diagnostics };
    let mut settings = lowering.pipeline.clone();
    match pipeline.name.as_plain() {
        Some(name) if !name.trim().is_empty() => settings.name = name,
        _ => typer.diagnostics.push(
            Diagnostic::new(Code::InvalidValue, "the pipeline name must be a plain, non-empty string")
                .at(file, pipeline.name.span, "name")
                .with_help("write `pipeline \"webshop\" { ... }`"),
        ),
    }
    settings.location = Some(Location { file, span: pipeline.span });
    check_duplicate_entries(file, &pipeline.body.entries, typer.diagnostics);
    let mut hooks = Vec::new();
    for entry in &pipeline.body.entries {
        match entry {
            Entry::Attribute(a) => pipeline_attribute(&mut typer, entry, a, &mut settings),
            Entry::Block(b) if b.name.name == "limits" => lower_limits(&mut typer, b, &mut settings.script_limits),
            Entry::Block(b) if b.name.name == "watch" => {
                settings.watch = Some(super::watch::lower_watch(&mut typer, b))
            }
            Entry::Hook(_) => hooks.push(entry.clone()),
            _ => typer.diagnostics.push(unknown_entry(file, entry, "the pipeline block", PIPELINE_ENTRIES)),
        }
    }
    lowering.pipeline = settings;
    lowering.diagnostics.extend(diagnostics);
    Some(hooks)
}

/// One `name = value` of the pipeline block.
fn pipeline_attribute(typer: &mut Typer, entry: &Entry, a: &ast::Attribute, settings: &mut PipelineSettings) {
    let file = typer.file;
    match a.name.name.as_str() {
        "description" => {
            if let Some(Value::String(text)) = typer.constant(&a.value, &Type::String) {
                settings.description = Some(text);
            }
        }
        "on_failure" => {
            settings.on_failure = match typer.word(&a.value, super::vocabulary::PIPELINE_POLICIES).as_deref() {
                Some("pause") => FailurePolicy::Pause,
                Some("abort") => FailurePolicy::Abort,
                _ => FailurePolicy::Rollback,
            }
        }
        "lock" => {
            if typer.word(&a.value, super::vocabulary::LOCK_SCOPES).as_deref() == Some("environment") {
                settings.lock = LockScope::Environment;
            }
        }
        "step_timeout" => {
            if matches!(&a.value.kind, ast::ValueKind::Path(p) if p.dotted() == "none") {
                settings.step_timeout = None;
            } else if let Some(Value::Duration(d)) = typer.constant(&a.value, &Type::Duration) {
                if d.is_zero() {
                    typer.diagnostics.push(
                        Diagnostic::new(Code::InvalidValue, "a timeout must be longer than zero")
                            .at(file, a.value.span, "zero")
                            .with_help("write a duration such as 30m, or `none` for no default timeout"),
                    );
                } else {
                    settings.step_timeout = Some(d);
                }
            }
        }
        "max_parallel" => {
            if let Some(Value::Int(n)) = typer.constant(&a.value, &Type::Int) {
                if !(1..=1024).contains(&n) {
                    typer.diagnostics.push(
                        Diagnostic::new(Code::InvalidValue, "max_parallel must be between 1 and 1024").at(
                            file,
                            a.value.span,
                            "out of range",
                        ),
                    );
                } else {
                    settings.max_parallel = Some(n as usize);
                }
            }
        }
        _ => typer.diagnostics.push(unknown_entry(file, entry, "the pipeline block", PIPELINE_ENTRIES)),
    }
}

/// The pipeline's `limits { ... }` block: the script sandbox's limits.
fn lower_limits(typer: &mut Typer, b: &ast::NamedBlock, limits: &mut ScriptLimits) {
    let file = typer.file;
    check_duplicate_entries(file, &b.body.entries, typer.diagnostics);
    for limit in &b.body.entries {
        let Entry::Attribute(a) = limit else {
            typer.diagnostics.push(unknown_entry(file, limit, "`limits`", LIMIT_KEYS));
            continue;
        };
        if a.name.name == "timeout" {
            if let Some(Value::Duration(d)) = typer.constant(&a.value, &Type::Duration) {
                limits.timeout = d;
            }
            continue;
        }
        if !LIMIT_KEYS.contains(&a.name.name.as_str()) {
            typer.diagnostics.push(unknown_entry(file, limit, "`limits`", LIMIT_KEYS));
            continue;
        }
        let Some(Value::Int(n)) = typer.constant(&a.value, &Type::Int) else { continue };
        if n < 1 {
            typer.diagnostics.push(Diagnostic::new(Code::InvalidValue, "a limit must be at least 1").at(
                file,
                a.value.span,
                "too small",
            ));
            continue;
        }
        let n = n as u64;
        let size = usize::try_from(n).unwrap_or(usize::MAX);
        match a.name.name.as_str() {
            "operations" => limits.max_operations = n,
            "call_depth" => limits.max_call_depth = size.min(1024),
            "expr_depth" => limits.max_expr_depth = size.min(1024),
            "string_size" => limits.max_string_size = size,
            "array_size" => limits.max_array_size = size,
            _ => limits.max_map_size = size,
        }
    }
}

fn lower_inputs(
    lowering: &mut Lowering,
    file: FileId,
    items: &[Item],
    sets: &[(String, String)],
) -> (Vec<ParamDef>, Vec<SecretDef>) {
    let mut diagnostics = Vec::new();
    let empty = PlanNames::default();
    let scope = NamesInScope { plan: Some(&empty), template_params: None, env: EnvContext::None, builtins: false };
    let mut params = Vec::new();
    let mut secrets = Vec::new();
    for item in items {
        match item {
            Item::Param(param) => {
                let ty = match lower_type(&param.ty) {
                    Ok(ty) => ty,
                    Err(name) => {
                        let mut d = Diagnostic::new(Code::TypeMismatch, format!("unknown type `{name}`")).at(
                            file,
                            param.ty.span,
                            "not a type",
                        );
                        d = match did_you_mean(&name, TYPE_NAMES.iter().copied()) {
                            Some(close) => d.with_help(format!("did you mean `{close}`?")),
                            None => d.with_help("types are string, int, bool, duration, percent and list<T>"),
                        };
                        diagnostics.push(d);
                        continue;
                    }
                };
                let mut typer = Typer { file, scope: &scope, diagnostics: &mut diagnostics };
                let default = param.default.as_ref().and_then(|v| typer.expr(v, &ty));
                let mut known = match &default {
                    Some(Expr::Literal(value)) => Some(value.clone()),
                    Some(Expr::Env { .. }) => param.default.as_ref().and_then(|v| typer.constant(v, &ty)),
                    _ => None,
                };
                if let Some((_, set)) = sets.iter().rev().find(|(name, _)| *name == param.name.name) {
                    known = parse_set_value(set, &ty).ok();
                }
                lowering.names.params.insert(param.name.name.to_string(), (ty.clone(), known));
                params.push(ParamDef {
                    name: param.name.name.to_string(),
                    ty,
                    default,
                    location: Location { file, span: param.span },
                });
            }
            Item::Secret(secret) => {
                let mut typer = Typer { file, scope: &scope, diagnostics: &mut diagnostics };
                if let Some(source) = super::secret_source::lower_secret_source(&mut typer, &secret.value) {
                    lowering.names.secrets.push(secret.name.name.to_string());
                    secrets.push(SecretDef {
                        name: secret.name.name.to_string(),
                        source,
                        environment: None,
                        location: Location { file, span: secret.span },
                    });
                }
            }
            _ => {}
        }
    }
    lowering.diagnostics.extend(diagnostics);
    (params, secrets)
}

fn lower_environments(lowering: &mut Lowering, file: FileId, items: &[Item], base_dir: &Path) {
    let mut diagnostics = Vec::new();
    let names = lowering.names.clone();
    let scope = NamesInScope { plan: Some(&names), template_params: None, env: EnvContext::None, builtins: true };
    let mut environments: Vec<EnvironmentDef> = Vec::new();
    let mut environment_secrets: Vec<SecretDef> = Vec::new();
    let mut seen = BTreeMap::new();
    for item in items {
        let Item::Environment(env) = item else { continue };
        if seen.insert(env.name.name.to_string(), ()).is_some() {
            continue;
        }
        let mut typer = Typer { file, scope: &scope, diagnostics: &mut diagnostics };
        let id = EnvId(environments.len());
        environments.push(lower_environment(&mut typer, env, id, base_dir, &mut environment_secrets));
    }
    lowering.environments = environments;
    for secret in &environment_secrets {
        if !lowering.names.secrets.contains(&secret.name) {
            lowering.names.secrets.push(secret.name.clone());
        }
    }
    lowering.environment_secrets = environment_secrets;
    lowering.diagnostics.extend(diagnostics);
}

/// `probe = "readlink current | xargs basename"`: a command run on each
/// host by `deploy verify`; `${host}` and the params may be used in it.
fn lower_probe(typer: &mut Typer, value: &ast::Value) -> Option<StringTemplate> {
    match &value.kind {
        ast::ValueKind::String(text) if text.as_plain().is_some_and(|plain| plain.trim().is_empty()) => {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidValue, "a probe may not be empty")
                    .at(typer.file, value.span, "empty command")
                    .with_help("write probe = \"readlink /srv/app/current | xargs basename\""),
            );
            None
        }
        ast::ValueKind::String(text) => Some(typer.template(text)),
        other => {
            typer.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    format!("`probe` takes a command in a string, found {}", other.describe()),
                )
                .at(typer.file, value.span, "expected a string")
                .with_help("write probe = \"readlink /srv/app/current | xargs basename\""),
            );
            None
        }
    }
}

/// One environment: its hosts, how they are reached, vars and protection.
fn lower_environment(
    typer: &mut Typer,
    env: &ast::Environment,
    id: EnvId,
    base_dir: &Path,
    environment_secrets: &mut Vec<SecretDef>,
) -> EnvironmentDef {
    let file = typer.file;
    check_duplicate_entries(file, &env.body.entries, typer.diagnostics);
    let mut hosts = None;
    let mut vars = Vec::new();
    let mut protect = Protect::default();
    let mut transport = TransportKind::Local;
    let mut ssh = SshSettings::default();
    let mut inventory_hosts = Vec::new();
    let mut groups = Vec::new();
    let mut hosts_span = env.name.span;
    let mut probe = None;
    for entry in &env.body.entries {
        match entry {
            Entry::Attribute(a) if a.name.name == "transport" => transport = ssh_block::transport(typer, &a.value),
            Entry::Block(b) if b.name.name == "ssh" => ssh = ssh_block::ssh_block(typer, b, base_dir),
            Entry::Attribute(a)
                if a.name.name == "hosts"
                    && matches!(&a.value.kind, ast::ValueKind::Call { name, .. } if super::vocabulary::HOST_SOURCES.contains(&name.name.as_str())) =>
            {
                hosts_span = a.value.span;
                if let Some(read) = ssh_block::inventory(typer, &a.value, base_dir) {
                    groups = read.groups;
                    let found = read.hosts;
                    hosts = Some(
                        found
                            .iter()
                            .map(|h| crate::check::model::HostDef {
                                name: h.name.clone(),
                                address: h.address.clone(),
                                vars: super::hosts::inventory_vars(&h.vars),
                                location: Location { file, span: a.value.span },
                            })
                            .collect(),
                    );
                    inventory_hosts = found;
                }
            }
            Entry::Attribute(a) if a.name.name == "hosts" => {
                hosts_span = a.value.span;
                hosts = super::hosts::lower_hosts(typer, &env.name.name, &a.value);
            }
            Entry::Block(b) if b.name.name == "secrets" => {
                environment_secrets_block(typer, &env.name.name, b, environment_secrets)
            }
            Entry::Attribute(a) if a.name.name == "description" => {
                typer.constant(&a.value, &Type::String);
            }
            Entry::Attribute(a) if a.name.name == "probe" => probe = lower_probe(typer, &a.value),
            Entry::Block(b) if b.name.name == "vars" => lower_vars(typer, b, &mut vars),
            Entry::Block(b) if b.name.name == "protect" => lower_protect(typer, b, &mut protect),
            _ => typer.diagnostics.push(unknown_entry(file, entry, "an environment", ENVIRONMENT_ENTRIES)),
        }
    }
    let host_defs = hosts.unwrap_or_else(|| missing_hosts(typer, env));
    let destinations = match transport {
        TransportKind::Ssh => ssh_block::destinations(typer, &host_defs, &inventory_hosts, hosts_span),
        TransportKind::Local => Vec::new(),
    };
    EnvironmentDef {
        id,
        name: env.name.name.to_string(),
        hosts: host_defs.iter().map(|host| host.name.clone()).collect(),
        host_defs,
        limited_out: Vec::new(),
        groups,
        vars,
        protect,
        transport,
        ssh,
        destinations,
        probe,
        location: Location { file, span: env.span },
    }
}

/// An environment's `secrets { name = source }` block.
fn environment_secrets_block(
    typer: &mut Typer,
    environment: &str,
    b: &ast::NamedBlock,
    environment_secrets: &mut Vec<SecretDef>,
) {
    let file = typer.file;
    check_duplicate_entries(file, &b.body.entries, typer.diagnostics);
    for entry in &b.body.entries {
        let Entry::Attribute(a) = entry else {
            typer.diagnostics.push(
                Diagnostic::new(Code::UnknownAttribute, "`secrets` holds `name = source` pairs only")
                    .at(file, entry.keyword_span(), "not a secret")
                    .with_help("write secrets { db = command(\"pass show db/prod\") }"),
            );
            continue;
        };
        if let Some(source) = super::secret_source::lower_secret_source(typer, &a.value) {
            environment_secrets.push(SecretDef {
                name: a.name.name.to_string(),
                source,
                environment: Some(environment.to_string()),
                location: Location { file, span: a.span },
            });
        }
    }
}

/// An environment's `vars { key = value }` block.
fn lower_vars(typer: &mut Typer, b: &ast::NamedBlock, vars: &mut Vec<(String, Expr)>) {
    let file = typer.file;
    check_duplicate_entries(file, &b.body.entries, typer.diagnostics);
    for var in &b.body.entries {
        match var {
            Entry::Attribute(a) => {
                let ty = infer_type(&a.value);
                if let Some(expr) = typer.expr(&a.value, &ty) {
                    vars.push((a.name.name.to_string(), expr));
                }
            }
            other => typer.diagnostics.push(
                Diagnostic::new(Code::UnknownAttribute, "`vars` holds `key = value` pairs only").at(
                    file,
                    other.keyword_span(),
                    "not a var",
                ),
            ),
        }
    }
}

/// An environment's `protect { ... }` block.
fn lower_protect(typer: &mut Typer, b: &ast::NamedBlock, protect: &mut Protect) {
    let file = typer.file;
    check_duplicate_entries(file, &b.body.entries, typer.diagnostics);
    for rule in &b.body.entries {
        let Entry::Attribute(a) = rule else {
            typer.diagnostics.push(unknown_entry(file, rule, "`protect`", PROTECT_KEYS));
            continue;
        };
        match a.name.name.as_str() {
            "approval" => {
                protect.approval = typer.word(&a.value, super::vocabulary::APPROVAL).as_deref() == Some("required")
            }
            "window" => protect.window = window(typer, &a.value),
            "by" => {
                let list = Type::List(Box::new(Type::String));
                if let Some(Value::List(items)) = typer.constant(&a.value, &list) {
                    protect.approvers = items.iter().map(Value::to_text).collect();
                }
            }
            _ => typer.diagnostics.push(unknown_entry(file, rule, "`protect`", PROTECT_KEYS)),
        }
    }
}

/// An environment without hosts: none, reported unless a `hosts` entry
/// that did not lower has been reported already.
fn missing_hosts(typer: &mut Typer, env: &ast::Environment) -> Vec<HostDef> {
    let file = typer.file;
    let has_hosts_attribute =
        env.body.entries.iter().any(|e| matches!(e, Entry::Attribute(a) if a.name.name == "hosts"));
    if !has_hosts_attribute {
        typer.diagnostics.push(
            Diagnostic::new(Code::MissingValue, format!("environment `{}` has no `hosts`", env.name.name))
                .at(file, env.name.span, "needs hosts")
                .with_help("add hosts = [\"web-1\", \"web-2\"]"),
        );
    }
    Vec::new()
}
