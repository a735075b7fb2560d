//! What the parser expected where it stopped, and the diagnostic that says
//! so: the furthest position any alternative reached, the things that could
//! have come there named in words, the span in bytes (right on lines with
//! multibyte characters and tabs), and a visible label at end of input.

use std::collections::BTreeSet;

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

/// The diagnostic for brackets nested past [`MAX_NESTING`], the parser
/// having given up at the bracket at `at` (brackets left open by items
/// before do not count: the parser starts each item afresh).
pub(super) fn nested_too_deep(file: FileId, at: usize) -> Diagnostic {
    Diagnostic::new(Code::Syntax, format!("brackets nested deeper than {MAX_NESTING} levels"))
        .at(file, Span::new(at, at + 1), "too deep")
        .with_help("a plan never needs this much nesting; look for unbalanced brackets")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nesting_errors(text: &str) -> Vec<(String, usize)> {
        let (_, diagnostics) = crate::syntax::parse_tolerant(FileId(0), text);
        diagnostics
            .into_iter()
            .filter(|d| d.message.contains("nested deeper"))
            .map(|d| (d.message, d.primary.map_or(0, |label| label.span.start)))
            .collect()
    }

    /// Only brackets the parser would descend into count: those in
    /// strings, snippets and comments do not.
    #[test]
    fn nesting_counts_the_brackets_of_the_code() {
        let deep = "[".repeat(MAX_NESTING + 1);
        let text = format!("stage a {{ x = {deep} }}");
        // The `{` and 63 `[`: the 64th `[` is one too many.
        let too_deep = text.find('[').unwrap_or(0) + MAX_NESTING - 1;
        assert_eq!(nesting_errors(&text), [("brackets nested deeper than 64 levels".to_string(), too_deep)]);
        for quoted in [format!("\"{deep}\""), format!("`{deep}`"), format!("/* {deep} */")] {
            assert_eq!(nesting_errors(&format!("stage a {{ run {quoted} }}")), [], "{quoted}");
        }
    }

    /// Brackets left open by one item do not add to the next one's: 40
    /// stages that each leave a `{` and a `[` open are 40 errors, each
    /// said at its own `[`, not one "nested too deep" at the 33rd stage.
    #[test]
    fn brackets_left_open_by_items_before_do_not_nest() {
        let text = "stage s { needs = [build\n".repeat(40);
        let (_, diagnostics) = crate::syntax::parse_tolerant(FileId(0), &text);
        let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["missing `]`"; 40]);
    }
}
