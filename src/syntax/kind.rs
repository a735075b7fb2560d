//! The kinds of the concrete syntax tree: tokens (trivia included) and
//! nodes, and the `rowan` language that carries them.

/// A token or node kind of the lossless tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
#[allow(non_camel_case_types)]
pub enum SyntaxKind {
    // Trivia.
    /// Blanks, tabs, carriage returns and a byte-order mark.
    WHITESPACE = 0,
    NEWLINE,
    /// `// ...` or `/* ... */`.
    COMMENT,
    /// `/// ...`: documents the item below it.
    DOC_COMMENT,
    /// Text that does not parse.
    ERROR_TOKEN,

    // Tokens.
    L_BRACE,
    R_BRACE,
    L_BRACK,
    R_BRACK,
    L_PAREN,
    R_PAREN,
    EQ,
    COMMA,
    DOT,
    COLON,
    LT,
    GT,
    /// A word in a keyword's place: `stage`, `run`, `every`, `raw`, `list`...
    KEYWORD,
    IDENT,
    /// `true` or `false`.
    BOOL,
    DURATION,
    PERCENT,
    INTEGER,
    /// The `"` that opens or closes a string.
    QUOTE,
    /// Text of a string between escapes and interpolations.
    STRING_TEXT,
    ESCAPE,
    /// `${` in a string.
    INTERPOLATION_OPEN,
    /// `` ` ``, ```` ``` ```` or ```` ```rhai ````: what opens or closes a Rhai snippet.
    RHAI_DELIMITER,
    RHAI_SOURCE,
    /// A stage's or gate's body as delimited by the outline parse, unparsed.
    LAZY_BODY,

    // Nodes.
    SOURCE_FILE,
    /// An item, an entry or a line that does not parse.
    ERROR,
    IMPORT,
    PIPELINE,
    PARAM,
    SECRET,
    ENVIRONMENT,
    TEMPLATE,
    TEMPLATE_PARAM,
    /// `stage name ...` or `gate name ...`.
    NODE_DECL,
    TYPE_EXPR,
    BLOCK,
    ATTRIBUTE,
    NAMED_BLOCK,
    RUN_STEP,
    SCRIPT_STEP,
    UPLOAD_STEP,
    ROLLBACK,
    STRATEGY,
    HOOK,
    APPROVE,
    CHECK,
    /// A duration, percent, integer or boolean.
    LITERAL,
    STRING,
    INTERPOLATION,
    RHAI,
    LIST,
    MAP,
    CALL,
    PATH,
    /// `value every value`, `value for value`.
    QUALIFIED,
}

impl SyntaxKind {
    const LAST: SyntaxKind = SyntaxKind::QUALIFIED;

    /// Whitespace, newlines and comments: kept in the tree, skipped by the grammar.
    pub fn is_trivia(self) -> bool {
        matches!(self, SyntaxKind::WHITESPACE | SyntaxKind::NEWLINE | SyntaxKind::COMMENT | SyntaxKind::DOC_COMMENT)
    }

    /// The node kinds that are items of a file.
    pub fn is_item(self) -> bool {
        use SyntaxKind::*;
        matches!(self, IMPORT | PIPELINE | PARAM | SECRET | ENVIRONMENT | TEMPLATE | NODE_DECL)
    }
}

impl From<SyntaxKind> for rowan::SyntaxKind {
    fn from(kind: SyntaxKind) -> Self {
        rowan::SyntaxKind(kind as u16)
    }
}

/// The `rowan` language of `.deploy` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeployLanguage {}

impl rowan::Language for DeployLanguage {
    type Kind = SyntaxKind;

    fn kind_from_raw(raw: rowan::SyntaxKind) -> SyntaxKind {
        if raw.0 <= SyntaxKind::LAST as u16 {
            // SAFETY: `SyntaxKind` is `repr(u16)` with contiguous discriminants
            // from 0 to `LAST`, and `raw.0` is in that range.
            unsafe { std::mem::transmute::<u16, SyntaxKind>(raw.0) }
        } else {
            SyntaxKind::ERROR
        }
    }

    fn kind_to_raw(kind: SyntaxKind) -> rowan::SyntaxKind {
        kind.into()
    }
}

pub type SyntaxNode = rowan::SyntaxNode<DeployLanguage>;
pub type SyntaxToken = rowan::SyntaxToken<DeployLanguage>;
pub type SyntaxElement = rowan::SyntaxElement<DeployLanguage>;
