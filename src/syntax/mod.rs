//! Syntax: `.deploy` text → syntax tree with spans. Knows nothing of meaning.

pub mod ast;
mod parser;
pub mod span;
mod syntax_error;

pub use parser::{parse, parse_duration};

/// Doc comments (`/// ...` lines) directly above the byte offset `item_start`.
pub fn doc_comment(text: &str, item_start: usize) -> Option<String> {
    let before = text.get(..item_start)?;
    let mut lines: Vec<&str> = Vec::new();
    for line in before.lines().rev().skip_while(|line| line.trim().is_empty()).take_while(|_| true) {
        let trimmed = line.trim_start();
        match trimmed.strip_prefix("///") {
            Some(doc) => lines.push(doc.strip_prefix(' ').unwrap_or(doc)),
            None => break,
        }
    }
    if lines.is_empty() {
        return None;
    }
    lines.reverse();
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::FileId;

    #[test]
    fn parses_the_design_brief_example() {
        let text = std::fs::read_to_string("/tmp/brief.deploy").unwrap_or_default();
        match parse(FileId(0), &text) {
            Ok(module) => assert!(module.items.len() > 10, "{module:#?}"),
            Err(errors) => panic!("{errors:#?}"),
        }
    }
}
