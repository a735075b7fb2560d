//! Syntax: `.deploy` text → syntax tree with spans. Knows nothing of meaning.

pub mod ast;
mod descent;
mod literal;
mod parser;
/// Spans and source files live in the leaf module [`crate::source`].
pub use crate::source as span;
mod syntax_error;

pub use descent::KEYWORDS;
pub use literal::parse_duration;

use crate::diagnostic::Diagnostic;
use ast::Module;
use span::FileId;

/// Parses one file into a syntax tree. The hand-written parser does the
/// work; when it fails, the pest grammar (the reference) decides and
/// describes the error.
pub fn parse(file: FileId, text: &str) -> Result<Module, Vec<Diagnostic>> {
    match descent::parse(file, text) {
        Ok(module) => Ok(module),
        Err(descent::Failure::Invalid(errors)) => Err(errors),
        Err(descent::Failure::Syntax) => parse_reference(file, text),
    }
}

/// Parses a file with the bodies of stages and gates left for later (see
/// [`parse_body`]): `Ok((module, true))`. When the outline cannot be taken,
/// the whole file is parsed as by [`parse`]: `Ok((module, false))`.
pub fn parse_outline(file: FileId, text: &str) -> Result<(Module, bool), Vec<Diagnostic>> {
    match descent::parse_outline(file, text) {
        Ok(module) => Ok((module, true)),
        Err(descent::Failure::Invalid(errors)) => Err(errors),
        Err(descent::Failure::Syntax) => parse(file, text).map(|module| (module, false)),
    }
}

/// Parses the body of a stage or gate that [`parse_outline`] delimited; on
/// a syntax error, the diagnostics of the whole file.
pub fn parse_body(file: FileId, text: &str, span: span::Span) -> Result<ast::Block, Vec<Diagnostic>> {
    match descent::parse_body(file, text, span) {
        Ok(block) => Ok(block),
        Err(descent::Failure::Invalid(errors)) => Err(errors),
        Err(descent::Failure::Syntax) => match parse(file, text) {
            Err(errors) => Err(errors),
            // The reference parser accepts the file: take the body from it.
            Ok(module) => module
                .items
                .into_iter()
                .find_map(|item| match item {
                    ast::Item::Node(node) if node.body.span == span => Some(node.body),
                    _ => None,
                })
                .ok_or_else(|| {
                    vec![Diagnostic::new(crate::diagnostic::Code::Syntax, "the body of a stage or gate does not parse")]
                }),
        },
    }
}

/// Parses with the pest grammar only: for tests that hold the two parsers
/// to the same language.
pub fn parse_reference(file: FileId, text: &str) -> Result<Module, Vec<Diagnostic>> {
    parser::parse_with_pest(file, text)
}

/// Parses with the hand-written parser only (`None` on a syntax error).
pub fn parse_fast(file: FileId, text: &str) -> Option<Result<Module, Vec<Diagnostic>>> {
    match descent::parse(file, text) {
        Ok(module) => Some(Ok(module)),
        Err(descent::Failure::Invalid(errors)) => Some(Err(errors)),
        Err(descent::Failure::Syntax) => None,
    }
}

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

    /// The example of the design brief, kept as a fixture.
    #[test]
    fn parses_the_design_brief_example() {
        let text = include_str!("../../tests/fixtures/valid/webshop.deploy");
        match parse(FileId(0), text) {
            Ok(module) => assert!(module.items.len() > 10, "{module:#?}"),
            Err(errors) => panic!("{errors:#?}"),
        }
    }
}
