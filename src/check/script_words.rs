//! The words Rhai keeps for itself: a param or secret named like one is
//! visible to scripts under that name, and no script could use it.

/// Rhai's keywords and the words it reserves for future use.
pub const RHAI_WORDS: &[&str] = &[
    "true",
    "false",
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "loop",
    "until",
    "for",
    "in",
    "continue",
    "break",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "import",
    "export",
    "as",
    "global",
    "Fn",
    "call",
    "curry",
    "this",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "print",
    "debug",
    "type_of",
    "eval",
    "var",
    "static",
    "shared",
    "goto",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "use",
    "with",
    "module",
    "package",
    "super",
    "thread",
    "spawn",
    "go",
    "await",
    "async",
    "sync",
    "yield",
    "default",
    "void",
    "null",
    "nil",
];

pub fn is_rhai_word(name: &str) -> bool {
    RHAI_WORDS.contains(&name)
}

/// Whether `source` holds `word` as a whole token.
pub fn mentions_word(source: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    source.match_indices(word).any(|(start, _)| {
        let before = source[..start].chars().next_back();
        let after = source[start + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}
