//! What the parser expected where it stopped, and the diagnostic that says
//! so: the furthest position any alternative reached, the things that could
//! have come there named in words, the span in bytes (right on lines with
//! multibyte characters and tabs), and a visible label at end of input.

use std::collections::BTreeSet;

use super::lexer::{Lexer, TokenKind};
use super::span::{FileId, Span};
use crate::diagnostic::{Code, Diagnostic};

/// The furthest position where an alternative failed, and what each
/// alternative wanted there (the classic PEG error report).
#[derive(Default)]
pub(super) struct Expected {
    at: usize,
    what: Vec<Want>,
}

/// One thing that could have come next.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    /// A token or keyword, shown in backticks.
    Token(&'static str),
    /// A kind of thing, in words: "a name", "a value".
    Words(&'static str),
}

impl Want {
    fn describe(self) -> String {
        match self {
            Want::Token(token) => format!("`{token}`"),
            Want::Words(words) => words.to_string(),
        }
    }
}

impl Expected {
    pub(super) fn add(&mut self, at: usize, what: Want) {
        if at > self.at {
            self.at = at;
            self.what.clear();
        }
        if at == self.at && !self.what.contains(&what) {
            self.what.push(what);
        }
    }

    /// A mark to [`Expected::name`] a construct that failed where it began.
    pub(super) fn mark(&self) -> (usize, usize) {
        (self.at, self.what.len())
    }

    /// A construct that failed without consuming anything at `start` is
    /// named as a whole ("a value") instead of by its first tokens, unless
    /// only one thing was wanted there.
    pub(super) fn name(&mut self, start: usize, mark: (usize, usize), what: &'static str) {
        let what = Want::Words(what);
        if self.at != start {
            return;
        }
        let kept = if mark.0 == start { mark.1 } else { 0 };
        if self.what.len() == kept + 1 {
            return;
        }
        self.what.truncate(kept);
        self.add(start, what);
    }

    /// The diagnostic for a file that does not parse.
    pub(super) fn diagnostic(&self, file: FileId, text: &str) -> Diagnostic {
        let position = self.at.min(text.len());
        let expected: BTreeSet<String> = self.what.iter().map(|want| want.describe()).collect();
        let list: Vec<String> = expected.into_iter().collect();
        let wanted = join_alternatives(&list);
        let found = describe_found(text, position);
        let message = match &wanted {
            Some(wanted) => format!("expected {wanted}, found {found}"),
            None => format!("unexpected {found}"),
        };
        let label = match &wanted {
            Some(wanted) => format!("expected {wanted}"),
            None => "not valid here".to_string(),
        };
        let span = Span::new(position, next_char_end(text, position));
        let mut diagnostic = Diagnostic::new(Code::Syntax, message).at(file, span, label);
        if let Some(help) = help_for(text, position, &list) {
            diagnostic = diagnostic.with_help(help);
        }
        diagnostic
    }
}

fn next_char_end(text: &str, position: usize) -> usize {
    text[position..].chars().next().map_or(position, |c| position + c.len_utf8())
}

fn describe_found(text: &str, position: usize) -> String {
    let rest = &text[position..];
    match rest.chars().next() {
        None => "end of input".to_string(),
        Some('\n') | Some('\r') => "end of line".to_string(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').take(40).collect();
            format!("`{word}`")
        }
        Some(c) => format!("`{c}`"),
    }
}

fn join_alternatives(items: &[String]) -> Option<String> {
    match items {
        [] => None,
        [one] => Some(one.clone()),
        [rest @ .., last] => Some(format!("{} or {last}", rest.join(", "))),
    }
}

fn help_for(text: &str, position: usize, expected: &[String]) -> Option<String> {
    let expects = |what: &str| expected.iter().any(|e| e == what);
    let rest = &text[position..];
    if rest.is_empty() && expects("`}`") {
        return Some("a `{` above has no matching `}`".to_string());
    }
    let at_line_end = rest.starts_with('\n') || rest.starts_with("\r\n");
    if at_line_end && expects("`\"`") {
        return Some("strings end on the line they start; use `\\n` for a newline".to_string());
    }
    if rest.starts_with(':') && expects("`=`") {
        return Some("attributes are written `name = value`".to_string());
    }
    None
}

/// Brackets nested deeper than this are reported as such.
pub(super) const MAX_NESTING: usize = 64;

/// The diagnostic for brackets nested past [`MAX_NESTING`], if they are.
pub(super) fn check_nesting(file: FileId, text: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    for token in Lexer::new(text).tokens(0, text.len()) {
        if token.kind != TokenKind::Punct {
            continue;
        }
        let index = token.span.start;
        match text.as_bytes()[index] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::new(Code::Syntax, format!("brackets nested deeper than {MAX_NESTING} levels"))
                            .at(file, Span::new(index, index + 1), "too deep")
                            .with_help("a plan never needs this much nesting; look for unbalanced brackets"),
                    );
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only brackets the parser would descend into count: those in
    /// strings, snippets and comments do not.
    #[test]
    fn nesting_counts_the_brackets_of_the_code() {
        let deep = "[".repeat(MAX_NESTING + 1);
        assert!(check_nesting(FileId(0), &format!("stage a {{ x = {deep} }}")).is_some());
        for quoted in [format!("\"{deep}\""), format!("`{deep}`"), format!("/* {deep} */")] {
            assert_eq!(check_nesting(FileId(0), &format!("stage a {{ run {quoted} }}")), None, "{quoted}");
        }
    }
}
