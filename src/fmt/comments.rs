//! The comments of a file, read from the `COMMENT` and `DOC_COMMENT`
//! tokens of its lossless tree (so nothing inside a string or a Rhai
//! snippet is one), with what their surroundings say about placement.

use crate::syntax::span::Span;
use crate::syntax::{SyntaxKind, SyntaxNode};

/// One comment of the source, with what its surroundings say about placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    /// The comment as written, without trailing whitespace.
    pub text: String,
    /// `// ...` (ends its line) rather than `/* ... */`.
    pub is_line: bool,
    /// Nothing but whitespace before it on its line.
    pub own_line: bool,
    /// A blank line separates it from what comes before.
    pub blank_before: bool,
}

/// Every comment of the tree `root` of `text`, in order.
pub fn find_comments(text: &str, root: &SyntaxNode) -> Vec<Comment> {
    root.descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .filter(|token| matches!(token.kind(), SyntaxKind::COMMENT | SyntaxKind::DOC_COMMENT))
        // A comment inside `${ ... }` is part of its string, which is copied as written.
        .filter(|token| !token.parent_ancestors().any(|node| node.kind() == SyntaxKind::STRING))
        .map(|token| {
            let range = token.text_range();
            let span = Span::new(range.start().into(), range.end().into());
            comment(text, span, token.text().starts_with("//"))
        })
        .collect()
}

fn comment(text: &str, span: Span, is_line: bool) -> Comment {
    Comment {
        span,
        text: text.get(span.start..span.end).unwrap_or_default().trim_end().to_string(),
        is_line,
        own_line: starts_line(text, span.start),
        blank_before: blank_line_before(text, span.start),
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}')
}

/// Only whitespace between the start of the line (or file) and `pos`.
pub fn starts_line(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or_default();
    match before.rfind(|c: char| !is_space(c)) {
        None => true,
        Some(index) => before[index..].contains('\n'),
    }
}

/// A blank line between the last thing before `pos` and `pos` (never at the
/// start of the file).
pub fn blank_line_before(text: &str, pos: usize) -> bool {
    let before = text.get(..pos).unwrap_or_default();
    match before.rfind(|c: char| !is_space(c)) {
        None => false,
        Some(index) => before[index..].matches('\n').count() >= 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::FileId;

    #[test]
    fn comments_inside_strings_and_scripts_are_not_comments() {
        let text = "// a\nstage s { run \"echo // no ${x // no\n}\" /* b */\n script `1 // no` }\n";
        let tree = crate::syntax::parse_tree(FileId(0), text);
        let found: Vec<String> = find_comments(text, tree.root()).into_iter().map(|c| c.text).collect();
        assert_eq!(found, ["// a", "/* b */"]);
    }
}
