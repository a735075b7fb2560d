//! Template instances: resolving `from MODULE.TEMPLATE`, and lowering an
//! instance (its arguments become bindings; the template's body is lowered
//! in the template's scope, the instance's own attributes after it).

use super::*;

/// A resolved `from` clause.
pub(super) struct TemplateRef<'a> {
    pub(super) template: &'a ast::Template,
    pub(super) file: FileId,
    pub(super) name: String,
}

pub(super) fn resolve_template<'a>(lowering: &mut Lowering<'a>, decl: &NodeDecl) -> Option<TemplateRef<'a>> {
    let path = decl.from.as_ref()?;
    let loaded = lowering.loaded;
    let file = loaded.modules.first()?.file;
    let (module_index, template_name) = template_module(lowering, path)?;
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

/// The module a `from` path names (0: the plan itself) and the template's
/// name in it.
fn template_module<'p>(lowering: &mut Lowering, path: &'p ast::Path) -> Option<(usize, &'p ast::Ident)> {
    let loaded = lowering.loaded;
    let root = loaded.modules.first()?;
    let file = root.file;
    match path.segments.as_slice() {
        [name] => Some((0, name)),
        [alias, name] => match root.imports.iter().find(|(a, _)| *a == alias.name) {
            Some((_, Some(index))) => Some((*index, name)),
            // The import itself failed; it was reported there.
            Some((_, None)) => None,
            None => {
                let aliases = root.imports.iter().map(|(a, _)| a.as_str());
                let mut d = Diagnostic::new(Code::UnknownModule, format!("no module is imported as `{}`", alias.name))
                    .at(file, alias.span, "unknown module");
                d = match did_you_mean(&alias.name, aliases) {
                    Some(close) => d.with_help(format!("did you mean `{close}`?")),
                    None => d.with_help(format!("add `import \"std/...\" as {}` at the top of the plan", alias.name)),
                };
                lowering.push(d);
                None
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
            None
        }
    }
}

impl NodeBuilder<'_> {
    /// A `from` instance: arguments become bindings, the template's body is
    /// lowered in the template's scope, the instance's own attributes after.
    pub(super) fn instance(
        &mut self,
        lowering: &mut Lowering,
        decl: &NodeDecl,
        template: &TemplateRef,
        env: EnvContext,
    ) {
        let root_file = self.node.location.file;
        let plan_names = lowering.names.clone();
        let plan_scope = NamesInScope { plan: Some(&plan_names), template_params: None, env, builtins: true };
        let mut diagnostics = Vec::new();
        let mut params: BTreeMap<String, (Type, Option<Value>)> = BTreeMap::new();
        let mut bindings = Vec::new();
        let declared: Vec<&str> = template.template.params.iter().map(|p| p.name.name.as_str()).collect();
        check_duplicate_entries(root_file, &decl.body.entries, &mut diagnostics);
        let (given, rest) = instance_entries(root_file, decl, template, &declared, &mut diagnostics);
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
                    let scope = NamesInScope { plan: None, template_params: Some(&empty), env, builtins: true };
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
                bindings.push((param.name.name.to_string(), expr));
            }
            params.insert(param.name.name.to_string(), (ty, constant));
        }
        lowering.diagnostics.extend(diagnostics);
        self.node.bindings = bindings;
        let template_scope = NamesInScope { plan: None, template_params: Some(&params), env, builtins: true };
        self.body(lowering, template.file, &template_scope, &template.template.body.entries, BodyOrigin::Template);
        self.body(lowering, root_file, &plan_scope, &rest, BodyOrigin::Instance);
    }
}

/// An instance's own entries: the template's arguments by name, and the
/// node attributes, strategy and hooks it adds; anything else is reported.
fn instance_entries<'d>(
    root_file: FileId,
    decl: &'d NodeDecl,
    template: &TemplateRef,
    declared: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) -> (HashMap<&'d str, &'d ast::Attribute>, Vec<Entry>) {
    let mut rest: Vec<Entry> = Vec::new();
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
                let mut candidates: Vec<&str> = declared.to_vec();
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
    (given, rest)
}

/// A value known before the run, from an argument expression.
fn constant_of(expr: &Expr, names: &crate::check::scope::PlanNames) -> Option<Value> {
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
