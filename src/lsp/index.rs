//! What one file declares and what it refers to, with spans: the ground for
//! go-to-definition, references, rename, hover and the outline. Built from
//! the same syntax tree `deploy check` uses.

use crate::syntax::ast::*;
use crate::syntax::lexer::Tokens;
use crate::syntax::span::Span;
use crate::syntax::DocComments;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Stage,
    Gate,
    Param,
    Secret,
    Environment,
    Template,
    Import,
    /// A parameter of a template in this file.
    TemplateParam,
    /// A key of an environment's `vars { }`.
    EnvVar,
    /// A secret of an environment's `secrets { }`.
    EnvSecret,
    Pipeline,
}

impl SymbolKind {
    pub fn word(self) -> &'static str {
        match self {
            SymbolKind::Stage => "stage",
            SymbolKind::Gate => "gate",
            SymbolKind::Param => "param",
            SymbolKind::Secret => "secret",
            SymbolKind::Environment => "environment",
            SymbolKind::Template => "template",
            SymbolKind::Import => "module",
            SymbolKind::TemplateParam => "template parameter",
            SymbolKind::EnvVar => "environment var",
            SymbolKind::EnvSecret => "environment secret",
            SymbolKind::Pipeline => "pipeline",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Definition {
    pub kind: SymbolKind,
    pub name: String,
    pub name_span: Span,
    pub item_span: Span,
    /// The declaration as written up to its body: `stage build from m.t`.
    pub header: String,
    pub doc: Option<String>,
    /// For template parameters: the template's definition; for env vars: the environment's.
    pub parent: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A definition of this file, by index.
    Local(usize),
    /// `from alias.NAME`: a template of an imported module.
    Template { alias: String, name: String },
    /// An argument given to a template instance: `stage x from alias.t { ARG = ... }`.
    TemplateArgument { alias: String, template: String, argument: String },
    /// The path of `import "PATH" as alias`.
    Module { alias: String },
    /// A built-in name (`host`, `version`, ...).
    Builtin(String),
    /// `KEY` of `${host.KEY}`: a value of the current host, in the node's target environment.
    HostValue { key: String, environment: Option<String> },
}

#[derive(Clone, Debug)]
pub struct Reference {
    pub span: Span,
    pub target: Target,
}

#[derive(Debug, Default)]
pub struct FileIndex {
    pub definitions: Vec<Definition>,
    pub references: Vec<Reference>,
}

/// What a name in a value position may refer to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Node,
    Gate,
    Environment,
    Value,
}

/// Where the walk is: inside a template (its parameters are in scope), an
/// instance (its attributes are template arguments), a node with a target.
#[derive(Clone, Default)]
struct Context {
    template: Option<usize>,
    instance: Option<(String, String)>,
    environment: Option<String>,
}

impl FileIndex {
    pub fn build(text: &str, tokens: &Tokens, module: &Module) -> FileIndex {
        let mut index = FileIndex::default();
        let docs = DocComments::of_tokens(text, tokens);
        for item in &module.items {
            index.declare(text, tokens, &docs, item);
        }
        for item in &module.items {
            index.walk_item(item);
        }
        index.references.sort_by_key(|r| r.span.start);
        index
    }

    /// The definition or reference whose name covers `offset`.
    pub fn at(&self, offset: usize) -> Option<Target> {
        let covers = |span: Span| span.start <= offset && offset <= span.end;
        if let Some(reference) = self.references.iter().find(|r| covers(r.span)) {
            return Some(reference.target.clone());
        }
        self.definitions.iter().position(|d| covers(d.name_span)).map(Target::Local)
    }

    /// Every span that names definition `index`: the definition and its references.
    pub fn occurrences(&self, index: usize) -> Vec<Span> {
        let mut spans = Vec::new();
        if let Some(definition) = self.definitions.get(index) {
            spans.push(definition.name_span);
        }
        spans.extend(self.references.iter().filter(|r| r.target == Target::Local(index)).map(|r| r.span));
        spans
    }

    fn define(&mut self, kind: SymbolKind, name: &Ident, item_span: Span, header: String, doc: Option<String>) {
        self.definitions.push(Definition {
            kind,
            name: name.name.to_string(),
            name_span: name.span,
            item_span,
            header,
            doc,
            parent: None,
        });
    }

    fn declare(&mut self, text: &str, tokens: &Tokens, docs: &DocComments, item: &Item) {
        let span = item.span();
        let doc = docs.above(span.start).map(str::to_string);
        let body_start = match item {
            Item::Pipeline(p) => Some(p.body.span.start),
            Item::Environment(e) => Some(e.body.span.start),
            Item::Template(t) => Some(t.body.span.start),
            Item::Node(n) => Some(n.body.span.start),
            _ => None,
        };
        let header = tokens.header(text, span.start, body_start.unwrap_or(span.end));
        match item {
            Item::Import(import) => {
                self.define(SymbolKind::Import, &import.alias, span, header, doc);
            }
            Item::Pipeline(pipeline) => {
                let name =
                    Ident { name: pipeline.name.as_plain().unwrap_or_default().into(), span: pipeline.name.span };
                self.define(SymbolKind::Pipeline, &name, span, header, doc);
            }
            Item::Param(param) => self.define(SymbolKind::Param, &param.name, span, header, doc),
            Item::Secret(secret) => self.define(SymbolKind::Secret, &secret.name, span, header, doc),
            Item::Environment(environment) => {
                self.define(SymbolKind::Environment, &environment.name, span, header, doc);
                let parent = self.definitions.len() - 1;
                for entry in &environment.body.entries {
                    let Entry::Block(named) = entry else { continue };
                    let kind = match named.name.name.as_str() {
                        "vars" => SymbolKind::EnvVar,
                        "secrets" => SymbolKind::EnvSecret,
                        _ => continue,
                    };
                    for var in &named.body.entries {
                        if let Entry::Attribute(attribute) = var {
                            let header = tokens.header(text, attribute.span.start, attribute.span.end);
                            let doc = docs.above(attribute.span.start).map(str::to_string);
                            self.define(kind, &attribute.name, attribute.span, header, doc);
                            if let Some(last) = self.definitions.last_mut() {
                                last.parent = Some(parent);
                            }
                        }
                    }
                }
            }
            Item::Template(template) => {
                self.define(SymbolKind::Template, &template.name, span, header, doc);
                let parent = self.definitions.len() - 1;
                for param in &template.params {
                    let header = tokens.header(text, param.span.start, param.span.end);
                    let doc = docs.above(param.span.start).map(str::to_string);
                    self.define(SymbolKind::TemplateParam, &param.name, param.span, header, doc);
                    if let Some(last) = self.definitions.last_mut() {
                        last.parent = Some(parent);
                    }
                }
            }
            Item::Node(node) => {
                let kind = match node.kind {
                    NodeKind::Stage => SymbolKind::Stage,
                    NodeKind::Gate => SymbolKind::Gate,
                };
                self.define(kind, &node.name, span, header, doc);
            }
        }
    }

    /// The definition of `name` among `kinds` (template parameters of `template` first).
    pub fn find(&self, name: &str, kinds: &[SymbolKind], template: Option<usize>) -> Option<usize> {
        if let Some(template) = template {
            let param = self
                .definitions
                .iter()
                .position(|d| d.kind == SymbolKind::TemplateParam && d.parent == Some(template) && d.name == name);
            if param.is_some() {
                return param;
            }
        }
        self.definitions.iter().position(|d| kinds.contains(&d.kind) && d.name == name)
    }

    fn walk_item(&mut self, item: &Item) {
        match item {
            Item::Import(import) => self.references.push(Reference {
                span: import.path.span,
                target: Target::Module { alias: import.alias.name.to_string() },
            }),
            Item::Pipeline(pipeline) => self.walk_block(&pipeline.body, &Context::default()),
            Item::Param(param) => {
                if let Some(value) = &param.default {
                    self.walk_value(value, Role::Value, &Context::default());
                }
            }
            Item::Secret(secret) => self.walk_value(&secret.value, Role::Value, &Context::default()),
            Item::Environment(environment) => self.walk_block(&environment.body, &Context::default()),
            Item::Template(template) => {
                let context = Context {
                    template: self.find(&template.name.name, &[SymbolKind::Template], None),
                    ..Context::default()
                };
                self.walk_block(&template.body, &context);
            }
            Item::Node(node) => {
                let mut context = Context { environment: target_of(&node.body), ..Context::default() };
                if let Some(from) = &node.from {
                    if let [alias, name] = from.segments.as_slice() {
                        if let Some(import) = self.find(&alias.name, &[SymbolKind::Import], None) {
                            self.references.push(Reference { span: alias.span, target: Target::Local(import) });
                        }
                        self.references.push(Reference {
                            span: name.span,
                            target: Target::Template { alias: alias.name.to_string(), name: name.name.to_string() },
                        });
                        context.instance = Some((alias.name.to_string(), name.name.to_string()));
                    }
                }
                self.walk_block(&node.body, &context);
            }
        }
    }

    fn walk_block(&mut self, block: &Block, context: &Context) {
        for entry in &block.entries {
            match entry {
                Entry::Attribute(attribute) => self.walk_attribute(attribute, context),
                Entry::Block(named) => self.walk_block(&named.body, context),
                Entry::Run(run) => self.walk_string(&run.command, context),
                Entry::Script(script) => self.walk_rhai(&script.script, context),
                Entry::Upload(upload) => {
                    self.walk_string(&upload.local, context);
                    self.walk_string(&upload.remote, context);
                }
                Entry::Rollback(rollback) => self.walk_block(&rollback.body, context),
                Entry::Strategy(strategy) => {
                    if let Some(body) = &strategy.body {
                        self.walk_block(body, context);
                    }
                }
                Entry::Hook(hook) => self.walk_block(&hook.body, context),
                Entry::Approve(approve) => {
                    self.walk_string(&approve.question, context);
                    if let Some(by) = &approve.by {
                        self.walk_value(by, Role::Value, context);
                    }
                }
                Entry::Check(check) => {
                    for value in check.every.iter().chain(&check.within) {
                        self.walk_value(value, Role::Value, context);
                    }
                    self.walk_rhai(&check.script, context);
                }
            }
        }
    }

    fn walk_attribute(&mut self, attribute: &Attribute, context: &Context) {
        let name = attribute.name.name.as_str();
        if let Some((alias, template)) = &context.instance {
            if !crate::check::vocabulary::INSTANCE_ATTRIBUTES.contains(&name) {
                self.references.push(Reference {
                    span: attribute.name.span,
                    target: Target::TemplateArgument {
                        alias: alias.clone(),
                        template: template.clone(),
                        argument: name.to_string(),
                    },
                });
            }
        }
        let role = match name {
            "needs" => Role::Node,
            "target" => Role::Environment,
            "analysis" | "verify" | "monitor" => Role::Gate,
            _ => Role::Value,
        };
        self.walk_value(&attribute.value, role, context);
    }

    fn walk_value(&mut self, value: &Value, role: Role, context: &Context) {
        match &value.kind {
            ValueKind::Path(path) => self.walk_path(path, role, context),
            ValueKind::String(string) => self.walk_string(string, context),
            ValueKind::Rhai(rhai) => self.walk_rhai(rhai, context),
            ValueKind::List(items) => items.iter().for_each(|item| self.walk_value(item, role, context)),
            ValueKind::Map(attributes) => {
                attributes.iter().for_each(|a| self.walk_value(&a.value, Role::Value, context));
            }
            ValueKind::Call { args, .. } => args.iter().for_each(|arg| self.walk_value(arg, Role::Value, context)),
            ValueKind::Qualified { value, by, .. } => {
                self.walk_value(value, role, context);
                self.walk_value(by, Role::Value, context);
            }
            ValueKind::Duration(_) | ValueKind::Percent(_) | ValueKind::Int(_) | ValueKind::Bool(_) => {}
        }
    }

    fn walk_path(&mut self, path: &Path, role: Role, context: &Context) {
        let Some(first) = path.segments.first() else { return };
        let kinds: &[SymbolKind] = match role {
            Role::Node => &[SymbolKind::Stage, SymbolKind::Gate],
            Role::Gate => &[SymbolKind::Gate, SymbolKind::Stage],
            Role::Environment => &[SymbolKind::Environment],
            Role::Value => &[SymbolKind::Param, SymbolKind::Secret],
        };
        if role == Role::Value && first.name == "env" {
            if let Some(key) = path.segments.get(1) {
                self.env_var(key, context);
            }
            return;
        }
        if path.segments.len() != 1 {
            return;
        }
        let found = match role {
            Role::Value => self.value_name(&first.name, context),
            _ => self.find(&first.name, kinds, None),
        };
        if let Some(definition) = found {
            self.references.push(Reference { span: first.span, target: Target::Local(definition) });
        }
    }

    /// A param or secret named in a value: a template's parameter first, then the
    /// plan's params and secrets, then the secrets of the node's environment.
    fn value_name(&self, name: &str, context: &Context) -> Option<usize> {
        self.find(name, &[SymbolKind::Param, SymbolKind::Secret], context.template).or_else(|| {
            let environment = context.environment.as_ref()?;
            let environment = self.find(environment, &[SymbolKind::Environment], None)?;
            self.definitions
                .iter()
                .position(|d| d.kind == SymbolKind::EnvSecret && d.name == name && d.parent == Some(environment))
        })
    }

    fn env_var(&mut self, key: &Ident, context: &Context) {
        let environment =
            context.environment.as_ref().and_then(|name| self.find(name, &[SymbolKind::Environment], None));
        let found = self.definitions.iter().position(|d| {
            d.kind == SymbolKind::EnvVar && d.name == key.name && (environment.is_none() || d.parent == environment)
        });
        if let Some(definition) = found {
            self.references.push(Reference { span: key.span, target: Target::Local(definition) });
        }
    }

    /// A Rhai snippet: the plan's names it uses (params, secrets, template arguments, `env.KEY`).
    fn walk_rhai(&mut self, rhai: &Rhai, context: &Context) {
        for name in super::rhai_names::names(&rhai.source) {
            let span = Span::new(rhai.source_start + name.offset, rhai.source_start + name.offset + name.word.len());
            if name.env_key {
                self.env_var(&Ident { name: name.word.into(), span }, context);
            } else if let Some(definition) = self.value_name(name.word, context) {
                self.references.push(Reference { span, target: Target::Local(definition) });
            }
        }
    }

    fn walk_string(&mut self, string: &StringLit, context: &Context) {
        for part in &string.parts {
            let StringPart::Interpolation { path, .. } = part else { continue };
            let Some(first) = path.segments.first() else { continue };
            if first.name == "env" {
                if let Some(key) = path.segments.get(1) {
                    self.env_var(key, context);
                }
                continue;
            }
            if first.name == "host" {
                if let Some(key) = path.segments.get(1) {
                    let target =
                        Target::HostValue { key: key.name.to_string(), environment: context.environment.clone() };
                    self.references.push(Reference { span: key.span, target });
                }
            }
            match self.value_name(&first.name, context) {
                Some(definition) => {
                    self.references.push(Reference { span: first.span, target: Target::Local(definition) })
                }
                None if crate::check::BUILTINS.iter().any(|(name, _)| *name == first.name) => self
                    .references
                    .push(Reference { span: first.span, target: Target::Builtin(first.name.to_string()) }),
                None => {}
            }
        }
    }
}

/// `target = NAME` in a node's body.
fn target_of(body: &Block) -> Option<String> {
    body.entries.iter().find_map(|entry| match entry {
        Entry::Attribute(a) if a.name.name == "target" => match &a.value.kind {
            ValueKind::Path(path) => Some(path.dotted()),
            _ => None,
        },
        _ => None,
    })
}
