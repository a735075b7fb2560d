//! The syntax tree of one `.deploy` file. Every node carries the byte span it
//! was parsed from; nothing here is resolved or type-checked yet.

use std::time::Duration;

use super::span::Span;

/// A name as written; short names (almost all of them) are stored inline,
/// without an allocation of their own.
pub type Name = smartstring::alias::String;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Import(Import),
    Pipeline(Pipeline),
    Param(Param),
    Secret(Secret),
    Environment(Environment),
    Template(Template),
    Node(NodeDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(item) => item.span,
            Item::Pipeline(item) => item.span,
            Item::Param(item) => item.span,
            Item::Secret(item) => item.span,
            Item::Environment(item) => item.span,
            Item::Template(item) => item.span,
            Item::Node(item) => item.span,
        }
    }
}

/// `import "std/http" as http`
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub path: StringLit,
    pub alias: Ident,
    pub span: Span,
}

/// `pipeline "name" { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub name: StringLit,
    pub body: Block,
    pub span: Span,
}

/// `param name: type = default`
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Value>,
    pub span: Span,
}

/// `secret name = env("VAR")`
#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

/// `environment name { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Stage,
    Gate,
}

impl NodeKind {
    pub fn word(self) -> &'static str {
        match self {
            NodeKind::Stage => "stage",
            NodeKind::Gate => "gate",
        }
    }
}

/// `template stage name(param: type = default, ...) { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub kind: NodeKind,
    pub name: Ident,
    pub params: Vec<TemplateParam>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TemplateParam {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Value>,
    pub span: Span,
}

/// `stage name { ... }` or `gate name from module.template { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct NodeDecl {
    pub kind: NodeKind,
    pub name: Ident,
    pub from: Option<Path>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    Named(String),
    List(Box<TypeExpr>),
}

/// `{ entry* }`
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// `name = value`
    Attribute(Attribute),
    /// `vars { ... }`, `protect { ... }`, `switch { ... }`, `limits { ... }`
    Block(Box<NamedBlock>),
    /// `run "command"`
    Run(RunStep),
    /// `script `expr`` or a fenced block
    Script(ScriptStep),
    /// `upload "local" to "remote"`
    Upload(Box<UploadStep>),
    /// `rollback { steps }`
    Rollback(Box<RollbackBlock>),
    /// `strategy kind { ... }`
    Strategy(Box<StrategyDecl>),
    /// `on event { steps }`
    Hook(Box<HookDecl>),
    /// `approve "question" by [...]`
    Approve(Box<ApproveDecl>),
    /// `check every D within D `expr``
    Check(Box<CheckDecl>),
}

impl Entry {
    pub fn span(&self) -> Span {
        match self {
            Entry::Attribute(e) => e.span,
            Entry::Block(e) => e.span,
            Entry::Run(e) => e.span,
            Entry::Script(e) => e.span,
            Entry::Upload(e) => e.span,
            Entry::Rollback(e) => e.span,
            Entry::Strategy(e) => e.span,
            Entry::Hook(e) => e.span,
            Entry::Approve(e) => e.span,
            Entry::Check(e) => e.span,
        }
    }

    /// The word that starts the entry, for "not allowed here" diagnostics.
    pub fn keyword(&self) -> &str {
        match self {
            Entry::Attribute(e) => &e.name.name,
            Entry::Block(e) => &e.name.name,
            Entry::Run(_) => "run",
            Entry::Script(_) => "script",
            Entry::Upload(upload) if upload.render => "template",
            Entry::Upload(_) => "upload",
            Entry::Rollback(_) => "rollback",
            Entry::Strategy(_) => "strategy",
            Entry::Hook(_) => "on",
            Entry::Approve(_) => "approve",
            Entry::Check(_) => "check",
        }
    }

    /// The span of the word that starts the entry.
    pub fn keyword_span(&self) -> Span {
        match self {
            Entry::Attribute(e) => e.name.span,
            Entry::Block(e) => e.name.span,
            Entry::Run(e) => e.keyword,
            Entry::Script(e) => e.keyword,
            Entry::Upload(e) => e.keyword,
            Entry::Rollback(e) => e.keyword,
            Entry::Strategy(e) => e.keyword,
            Entry::Hook(e) => e.keyword,
            Entry::Approve(e) => e.keyword,
            Entry::Check(e) => e.keyword,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NamedBlock {
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunStep {
    pub command: StringLit,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScriptStep {
    pub script: Rhai,
    pub keyword: Span,
    pub span: Span,
}

/// `upload "local" to "remote"`: a file or tree copied to every host of the stage.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadStep {
    pub local: StringLit,
    pub remote: StringLit,
    /// `template "x.j2" to "..."`: the file is rendered per host first.
    pub render: bool,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RollbackBlock {
    pub body: Block,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StrategyDecl {
    pub name: Ident,
    pub body: Option<Block>,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HookDecl {
    pub event: Ident,
    pub body: Block,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApproveDecl {
    pub question: StringLit,
    pub by: Option<Value>,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckDecl {
    pub every: Option<Value>,
    pub within: Option<Value>,
    pub script: Rhai,
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    /// `2 every 10s`
    Every,
    /// `smoke for 10m`
    For,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    String(StringLit),
    Rhai(Rhai),
    Duration(Duration),
    /// Percent as written: `12.5%` is 12.5.
    Percent(f64),
    Int(i64),
    Bool(bool),
    List(Vec<Value>),
    Map(Vec<Attribute>),
    Call {
        name: Ident,
        args: Vec<Value>,
    },
    Path(Path),
    Qualified {
        value: Box<Value>,
        qualifier: Qualifier,
        by: Box<Value>,
    },
}

impl ValueKind {
    /// What the value is, in words, for type errors.
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKind::String(_) => "a string",
            ValueKind::Rhai(_) => "a Rhai snippet",
            ValueKind::Duration(_) => "a duration",
            ValueKind::Percent(_) => "a percent",
            ValueKind::Int(_) => "an integer",
            ValueKind::Bool(_) => "a boolean",
            ValueKind::List(_) => "a list",
            ValueKind::Map(_) => "a map",
            ValueKind::Call { .. } => "a function call",
            ValueKind::Path(_) => "a name",
            ValueKind::Qualified { qualifier: Qualifier::Every, .. } => "`N every D`",
            ValueKind::Qualified { qualifier: Qualifier::For, .. } => "`NAME for D`",
        }
    }
}

/// `name` or `module.name` or `env.key`
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        names.join(".")
    }
}

/// A string literal with its `${...}` interpolations.
#[derive(Clone, Debug, PartialEq)]
pub struct StringLit {
    pub parts: Vec<StringPart>,
    pub span: Span,
}

impl StringLit {
    /// The text when the string has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StringPart::Text(text) => out.push_str(text),
                StringPart::Interpolation { .. } => return None,
            }
        }
        Some(out)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StringPart {
    Text(String),
    /// `${path}` or `${raw(path)}`
    Interpolation {
        path: Path,
        raw: bool,
        span: Span,
    },
}

/// Embedded Rhai source.
#[derive(Clone, Debug, PartialEq)]
pub struct Rhai {
    pub source: String,
    /// Byte offset of `source` in the file (after the opening backticks).
    pub source_start: usize,
    pub fenced: bool,
    pub span: Span,
}
