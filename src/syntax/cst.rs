//! Typed views over the lossless tree: `NodeDecl::name()`,
//! `Block::entries()`... Each view is a node of one kind; its accessors
//! find the children the grammar puts there, and say `None` when a tree of
//! text that does not parse lacks them.

use super::kind::{SyntaxKind, SyntaxNode, SyntaxToken};

macro_rules! views {
    ($($(#[$doc:meta])* $name:ident = $kind:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(SyntaxNode);

        impl $name {
            pub fn cast(node: SyntaxNode) -> Option<Self> {
                (node.kind() == SyntaxKind::$kind).then_some(Self(node))
            }

            pub fn syntax(&self) -> &SyntaxNode {
                &self.0
            }
        }
    )*};
}

views! {
    SourceFile = SOURCE_FILE;
    Import = IMPORT;
    Pipeline = PIPELINE;
    Param = PARAM;
    Secret = SECRET;
    Environment = ENVIRONMENT;
    Template = TEMPLATE;
    TemplateParam = TEMPLATE_PARAM;
    /// `stage name ...` or `gate name ...`
    NodeDecl = NODE_DECL;
    TypeExpr = TYPE_EXPR;
    Block = BLOCK;
    Attribute = ATTRIBUTE;
    NamedBlock = NAMED_BLOCK;
    RunStep = RUN_STEP;
    ScriptStep = SCRIPT_STEP;
    UploadStep = UPLOAD_STEP;
    Rollback = ROLLBACK;
    Strategy = STRATEGY;
    Hook = HOOK;
    Approve = APPROVE;
    Check = CHECK;
    /// A duration, percent, integer or boolean: one token.
    Literal = LITERAL;
    StringLit = STRING;
    Interpolation = INTERPOLATION;
    Rhai = RHAI;
    List = LIST;
    Map = MAP;
    Call = CALL;
    Path = PATH;
    Qualified = QUALIFIED;
}

/// The first child token of `kind`.
fn token(node: &SyntaxNode, kind: SyntaxKind) -> Option<SyntaxToken> {
    node.children_with_tokens().filter_map(|element| element.into_token()).find(|token| token.kind() == kind)
}

/// The child tokens of `kind`.
fn tokens(node: &SyntaxNode, kind: SyntaxKind) -> impl Iterator<Item = SyntaxToken> {
    node.children_with_tokens().filter_map(|element| element.into_token()).filter(move |token| token.kind() == kind)
}

/// The first child that is a `T`.
fn child<T>(node: &SyntaxNode, cast: fn(SyntaxNode) -> Option<T>) -> Option<T> {
    node.children().find_map(cast)
}

/// The first value after the keyword `word`.
fn value_after(node: &SyntaxNode, word: &str) -> Option<Value> {
    let mut seen = false;
    for element in node.children_with_tokens() {
        match element {
            rowan::NodeOrToken::Token(token) if token.kind() == SyntaxKind::KEYWORD => seen = token.text() == word,
            rowan::NodeOrToken::Node(node) if seen => return Value::cast(node),
            _ => {}
        }
    }
    None
}

/// An item of a file.
#[derive(Clone, Debug)]
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
    pub fn cast(node: SyntaxNode) -> Option<Self> {
        Some(match node.kind() {
            SyntaxKind::IMPORT => Item::Import(Import(node)),
            SyntaxKind::PIPELINE => Item::Pipeline(Pipeline(node)),
            SyntaxKind::PARAM => Item::Param(Param(node)),
            SyntaxKind::SECRET => Item::Secret(Secret(node)),
            SyntaxKind::ENVIRONMENT => Item::Environment(Environment(node)),
            SyntaxKind::TEMPLATE => Item::Template(Template(node)),
            SyntaxKind::NODE_DECL => Item::Node(NodeDecl(node)),
            _ => return None,
        })
    }
}

impl SourceFile {
    /// The items of the file, those salvaged from text that does not parse included.
    pub fn items(&self) -> impl Iterator<Item = Item> {
        self.0.children().filter_map(|node| match node.kind() {
            SyntaxKind::ERROR => node.children().find_map(Item::cast),
            _ => Item::cast(node),
        })
    }
}

impl Import {
    pub fn path(&self) -> Option<StringLit> {
        child(&self.0, StringLit::cast)
    }
    pub fn alias(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
}

impl Pipeline {
    pub fn name(&self) -> Option<StringLit> {
        child(&self.0, StringLit::cast)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

impl Param {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn ty(&self) -> Option<TypeExpr> {
        child(&self.0, TypeExpr::cast)
    }
    pub fn default(&self) -> Option<Value> {
        child(&self.0, Value::cast)
    }
}

impl TemplateParam {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn ty(&self) -> Option<TypeExpr> {
        child(&self.0, TypeExpr::cast)
    }
    pub fn default(&self) -> Option<Value> {
        child(&self.0, Value::cast)
    }
}

impl Secret {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn value(&self) -> Option<Value> {
        child(&self.0, Value::cast)
    }
}

impl Environment {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

impl Template {
    /// `stage` or `gate` (the keyword after `template`).
    pub fn kind_keyword(&self) -> Option<SyntaxToken> {
        tokens(&self.0, SyntaxKind::KEYWORD).nth(1)
    }
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn params(&self) -> impl Iterator<Item = TemplateParam> {
        self.0.children().filter_map(TemplateParam::cast)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

impl NodeDecl {
    /// `stage` or `gate`.
    pub fn kind_keyword(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::KEYWORD)
    }
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    /// The template after `from`.
    pub fn from(&self) -> Option<Path> {
        child(&self.0, Path::cast)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
    /// The body as the outline parse left it: delimited, not parsed.
    pub fn lazy_body(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::LAZY_BODY)
    }
}

impl TypeExpr {
    /// The element type of `list<...>`.
    pub fn element(&self) -> Option<TypeExpr> {
        child(&self.0, TypeExpr::cast)
    }
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
}

impl Block {
    /// The entries that parse (lines dropped from a salvaged block are `ERROR` nodes).
    pub fn entries(&self) -> impl Iterator<Item = Entry> {
        self.0.children().filter_map(Entry::cast)
    }
}

/// An entry of a block.
#[derive(Clone, Debug)]
pub enum Entry {
    Attribute(Attribute),
    Block(NamedBlock),
    Run(RunStep),
    Script(ScriptStep),
    Upload(UploadStep),
    Rollback(Rollback),
    Strategy(Strategy),
    Hook(Hook),
    Approve(Approve),
    Check(Check),
}

impl Entry {
    pub fn cast(node: SyntaxNode) -> Option<Self> {
        Some(match node.kind() {
            SyntaxKind::ATTRIBUTE => Entry::Attribute(Attribute(node)),
            SyntaxKind::NAMED_BLOCK => Entry::Block(NamedBlock(node)),
            SyntaxKind::RUN_STEP => Entry::Run(RunStep(node)),
            SyntaxKind::SCRIPT_STEP => Entry::Script(ScriptStep(node)),
            SyntaxKind::UPLOAD_STEP => Entry::Upload(UploadStep(node)),
            SyntaxKind::ROLLBACK => Entry::Rollback(Rollback(node)),
            SyntaxKind::STRATEGY => Entry::Strategy(Strategy(node)),
            SyntaxKind::HOOK => Entry::Hook(Hook(node)),
            SyntaxKind::APPROVE => Entry::Approve(Approve(node)),
            SyntaxKind::CHECK => Entry::Check(Check(node)),
            _ => return None,
        })
    }
}

impl Attribute {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn value(&self) -> Option<Value> {
        child(&self.0, Value::cast)
    }
}

impl NamedBlock {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

/// The word that starts a step or decision entry.
macro_rules! keyword_of {
    ($($view:ident),*) => {$(
        impl $view {
            pub fn keyword(&self) -> Option<SyntaxToken> {
                token(&self.0, SyntaxKind::KEYWORD)
            }
        }
    )*};
}

keyword_of!(RunStep, ScriptStep, UploadStep, Rollback, Strategy, Hook, Approve, Check);

impl RunStep {
    pub fn command(&self) -> Option<StringLit> {
        child(&self.0, StringLit::cast)
    }
}

impl ScriptStep {
    pub fn script(&self) -> Option<Rhai> {
        child(&self.0, Rhai::cast)
    }
}

impl UploadStep {
    pub fn local(&self) -> Option<StringLit> {
        self.0.children().filter_map(StringLit::cast).next()
    }
    pub fn remote(&self) -> Option<StringLit> {
        self.0.children().filter_map(StringLit::cast).nth(1)
    }
}

impl Rollback {
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

impl Strategy {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

impl Hook {
    pub fn event(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn body(&self) -> Option<Block> {
        child(&self.0, Block::cast)
    }
}

impl Approve {
    pub fn question(&self) -> Option<StringLit> {
        child(&self.0, StringLit::cast)
    }
    pub fn by(&self) -> Option<Value> {
        value_after(&self.0, "by")
    }
}

impl Check {
    pub fn every(&self) -> Option<Value> {
        value_after(&self.0, "every")
    }
    pub fn within(&self) -> Option<Value> {
        value_after(&self.0, "within")
    }
    /// The snippet: the last child.
    pub fn script(&self) -> Option<Rhai> {
        self.0.last_child().and_then(Rhai::cast)
    }
}

/// A value.
#[derive(Clone, Debug)]
pub enum Value {
    Literal(Literal),
    String(StringLit),
    Rhai(Rhai),
    List(List),
    Map(Map),
    Call(Call),
    Path(Path),
    Qualified(Qualified),
}

impl Value {
    pub fn cast(node: SyntaxNode) -> Option<Self> {
        Some(match node.kind() {
            SyntaxKind::LITERAL => Value::Literal(Literal(node)),
            SyntaxKind::STRING => Value::String(StringLit(node)),
            SyntaxKind::RHAI => Value::Rhai(Rhai(node)),
            SyntaxKind::LIST => Value::List(List(node)),
            SyntaxKind::MAP => Value::Map(Map(node)),
            SyntaxKind::CALL => Value::Call(Call(node)),
            SyntaxKind::PATH => Value::Path(Path(node)),
            SyntaxKind::QUALIFIED => Value::Qualified(Qualified(node)),
            _ => return None,
        })
    }

    pub fn syntax(&self) -> &SyntaxNode {
        match self {
            Value::Literal(v) => &v.0,
            Value::String(v) => &v.0,
            Value::Rhai(v) => &v.0,
            Value::List(v) => &v.0,
            Value::Map(v) => &v.0,
            Value::Call(v) => &v.0,
            Value::Path(v) => &v.0,
            Value::Qualified(v) => &v.0,
        }
    }
}

impl Literal {
    /// The one token: `DURATION`, `PERCENT`, `INTEGER` or `BOOL`.
    pub fn token(&self) -> Option<SyntaxToken> {
        self.0.first_token()
    }
}

impl StringLit {
    /// The text, escapes and interpolations between the quotes.
    pub fn parts(&self) -> impl Iterator<Item = rowan::SyntaxElement<super::kind::DeployLanguage>> {
        self.0.children_with_tokens().filter(|element| element.kind() != SyntaxKind::QUOTE)
    }
}

impl Interpolation {
    /// `${raw(path)}`: inserted without quoting.
    pub fn is_raw(&self) -> bool {
        tokens(&self.0, SyntaxKind::KEYWORD).any(|token| token.text() == "raw")
    }
    pub fn path(&self) -> Option<Path> {
        child(&self.0, Path::cast)
    }
}

impl Rhai {
    /// The opening delimiter: `` ` ``, ```` ``` ```` or ```` ```rhai ````.
    pub fn open(&self) -> Option<SyntaxToken> {
        self.0.first_token()
    }
    pub fn source(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::RHAI_SOURCE)
    }
}

impl List {
    pub fn items(&self) -> impl Iterator<Item = Value> {
        self.0.children().filter_map(Value::cast)
    }
}

impl Map {
    pub fn attributes(&self) -> impl Iterator<Item = Attribute> {
        self.0.children().filter_map(Attribute::cast)
    }
}

impl Call {
    pub fn name(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::IDENT)
    }
    pub fn args(&self) -> impl Iterator<Item = Value> {
        self.0.children().filter_map(Value::cast)
    }
}

impl Path {
    pub fn segments(&self) -> impl Iterator<Item = SyntaxToken> {
        tokens(&self.0, SyntaxKind::IDENT)
    }
}

impl Qualified {
    pub fn value(&self) -> Option<Value> {
        child(&self.0, Value::cast)
    }
    /// `every` or `for`.
    pub fn qualifier(&self) -> Option<SyntaxToken> {
        token(&self.0, SyntaxKind::KEYWORD)
    }
    pub fn by(&self) -> Option<Value> {
        self.0.children().filter_map(Value::cast).nth(1)
    }
}
