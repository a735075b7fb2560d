//! The one identifier rule of the language: `ident_start ident_char*`, not
//! an item keyword (grammar/deploy.pest, `ident`). Everything that asks "is
//! this a name" (the parser, the editor, rename) asks here.

/// Words that begin items; they cannot name a stage, gate, param or module.
pub const KEYWORDS: &[&str] = &["import", "pipeline", "param", "secret", "environment", "template", "stage", "gate"];

/// A letter or `_`: what a name starts with.
pub fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

/// A letter, digit or `_`: what a name continues with.
pub fn is_ident_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Whether `word` as a whole is a name the parser accepts.
pub fn is_ident(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.first().copied().is_some_and(is_ident_start)
        && bytes.iter().copied().all(is_ident_char)
        && !KEYWORDS.contains(&word)
}

/// The end of the run of identifier characters that starts at `from`.
pub fn ident_end(bytes: &[u8], from: usize) -> usize {
    let mut end = from;
    while end < bytes.len() && is_ident_char(bytes[end]) {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keywords() {
        assert!(is_ident("build_2"));
        assert!(is_ident("_x"));
        assert!(is_ident("run"), "step words are contextual");
        assert!(!is_ident("stage"));
        assert!(!is_ident("2x"));
        assert!(!is_ident("a-b"));
        assert!(!is_ident(""));
        assert!(!is_ident("é"));
    }
}
