//! Syntax: `.deploy` text → syntax tree with spans. Knows nothing of meaning.

pub mod ast;
mod descent;
pub mod doc_comment;
pub(crate) mod ident;
pub mod lexer;
pub mod literal;
/// Spans and source files live in the leaf module [`crate::source`].
pub use crate::source as span;
mod syntax_error;
mod unclosed;

pub use ident::KEYWORDS;

use crate::diagnostic::Diagnostic;
use ast::Module;
pub use descent::Partial;
pub use doc_comment::DocComments;
use span::FileId;

/// Parses one file into a syntax tree, or says why it does not parse.
pub fn parse(file: FileId, text: &str) -> Result<Module, Vec<Diagnostic>> {
    descent::parse(file, text).map_err(descent::ParseFailure::into_diagnostics)
}

/// Parses as much of a file as parses (every item that does), with the
/// diagnostics of what does not: what the editor works on while a file is
/// being typed. For a file that parses, the same tree as [`parse`].
pub fn parse_tolerant(file: FileId, text: &str) -> (Module, Vec<Diagnostic>) {
    descent::parse_tolerant(file, text)
}

/// Parses as much of a file as parses, saying where it did not (see
/// [`Partial`]): what the loader keeps of a file with syntax errors, so the
/// rest of it is still checked. For a file that parses, the tree of
/// [`parse`], no diagnostics and no broken spans.
pub fn parse_partial(file: FileId, text: &str) -> Partial {
    descent::parse_recovering(file, text)
}

/// Parses a file with the bodies of stages and gates left for later (see
/// [`parse_body`]): `Ok((module, true))`. When the outline cannot be taken,
/// the whole file is parsed as by [`parse`]: `Ok((module, false))`.
pub fn parse_outline(file: FileId, text: &str) -> Result<(Module, bool), Vec<Diagnostic>> {
    match descent::parse_outline(file, text) {
        Some(Ok(module)) => Ok((module, true)),
        Some(Err(failure)) => Err(failure.into_diagnostics()),
        None => parse(file, text).map(|module| (module, false)),
    }
}

/// Parses the body of a stage or gate that [`parse_outline`] delimited; on
/// a syntax error, the diagnostics of the whole file.
pub fn parse_body(file: FileId, text: &str, span: span::Span) -> Result<ast::Block, Vec<Diagnostic>> {
    match descent::parse_body(file, text, span) {
        Some(Ok(block)) => Ok(block),
        Some(Err(failure)) => Err(failure.into_diagnostics()),
        None => match parse(file, text) {
            Err(errors) => Err(errors),
            // The whole file parses: take the body from it.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::FileId;

    /// Salvaging a broken item whose nested block lies past the salvage
    /// limit once moved the position backwards and looped, allocating
    /// without bound (found by tests/properties.rs).
    #[test]
    fn salvage_never_moves_backwards() {
        let text = include_str!("../../tests/fuzz/regressions/salvage_nested_block_past_the_item.deploy");
        let (_, diagnostics) = parse_tolerant(FileId(0), text);
        assert!(!diagnostics.is_empty());
    }

    /// A delimiter left open in one item does not hide the syntax errors
    /// of the others: each broken item has its own, said at its opening.
    #[test]
    fn every_syntax_error_after_an_unclosed_delimiter() {
        let text = include_str!("../../tests/fixtures/invalid/e0001_every_error_after_an_unclosed_delimiter.deploy");
        let (module, diagnostics) = parse_tolerant(FileId(0), text);
        let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["missing `]`", "expected `=` or `{`, found `bogus`", "missing `)`", "this block is not closed"]
        );
        assert_eq!(module.items.len(), 4, "each broken stage is still salvaged");
    }

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
