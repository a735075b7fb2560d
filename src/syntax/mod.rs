//! Syntax: `.deploy` text → syntax tree with spans. Knows nothing of meaning.

pub mod ast;
pub mod cst;
mod descent;
mod events;
pub mod ident;
pub mod kind;
mod lexer;
pub mod literal;
mod lower;
/// Spans and source files live in the leaf module [`crate::source`].
pub use crate::source as span;
mod syntax_error;

pub use ident::KEYWORDS;
pub use kind::{SyntaxKind, SyntaxNode, SyntaxToken};
pub use literal::parse_duration;

use crate::diagnostic::Diagnostic;
use ast::Module;
use span::FileId;

/// A file's lossless tree (every token, comment and blank line; what does
/// not parse in `ERROR` nodes) and the diagnostics of its text: the first
/// syntax error, then literals out of range.
pub struct SyntaxTree {
    root: SyntaxNode,
    syntax_error: Option<Box<Diagnostic>>,
    errors: Vec<Diagnostic>,
}

impl SyntaxTree {
    /// The root, a `SOURCE_FILE` node; its text is the file's, byte for byte.
    pub fn root(&self) -> &SyntaxNode {
        &self.root
    }

    /// The typed view of the root.
    pub fn file(&self) -> Option<cst::SourceFile> {
        cst::SourceFile::cast(self.root.clone())
    }

    /// Whether the text is in the grammar (literals may still be out of range).
    pub fn is_grammatical(&self) -> bool {
        self.syntax_error.is_none()
    }

    /// Everything wrong with the text, the syntax error first.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.syntax_error.iter().map(|error| (**error).clone()).chain(self.errors.iter().cloned()).collect()
    }

    /// The items of a text without errors, or the syntax error (alone) or
    /// the literals out of range: what [`parse`] says.
    pub fn checked_module(&self) -> Result<Module, Vec<Diagnostic>> {
        match (&self.syntax_error, self.errors.is_empty()) {
            (Some(error), _) => Err(vec![(**error).clone()]),
            (None, false) => Err(self.errors.clone()),
            (None, true) => Ok(lower::module(&self.root)),
        }
    }

    /// The items of the tree as the checker reads them (salvaged ones included).
    pub fn module(&self) -> Module {
        lower::module(&self.root)
    }
}

/// Parses one file into its lossless tree; always a tree, even for text
/// that does not parse.
pub fn parse_tree(file: FileId, text: &str) -> SyntaxTree {
    let parsed = descent::parse_file(file, text, &mut rowan::NodeCache::default());
    SyntaxTree { root: SyntaxNode::new_root(parsed.green), syntax_error: parsed.syntax_error, errors: parsed.errors }
}

/// Parses one file into a syntax tree, or says why it does not parse.
pub fn parse(file: FileId, text: &str) -> Result<Module, Vec<Diagnostic>> {
    parse_tree(file, text).checked_module()
}

/// Parses as much of a file as parses (every item that does), with the
/// diagnostics of what does not: what the editor works on while a file is
/// being typed. For a file that parses, the same tree as [`parse`].
pub fn parse_tolerant(file: FileId, text: &str) -> (Module, Vec<Diagnostic>) {
    let tree = parse_tree(file, text);
    (tree.module(), tree.diagnostics())
}

/// Parses a file with the bodies of stages and gates left for later (see
/// [`parse_body`]): `Ok((module, true))`. When the outline cannot be taken,
/// the whole file is parsed as by [`parse`]: `Ok((module, false))`.
pub fn parse_outline(file: FileId, text: &str) -> Result<(Module, bool), Vec<Diagnostic>> {
    match descent::parse_outline(file, text) {
        Some(parsed) if parsed.errors.is_empty() => Ok((lower::module(&SyntaxNode::new_root(parsed.green)), true)),
        Some(parsed) => Err(parsed.errors),
        None => parse(file, text).map(|module| (module, false)),
    }
}

/// Parses the body of a stage or gate that [`parse_outline`] delimited; on
/// a syntax error, the diagnostics of the whole file.
pub fn parse_body(file: FileId, text: &str, span: span::Span) -> Result<ast::Block, Vec<Diagnostic>> {
    let lowered = descent::parse_body(file, text, span).map(|parsed| {
        let block = lower::block(&SyntaxNode::new_root(parsed.green), span.start);
        (block, parsed.errors)
    });
    match lowered {
        Some((Some(block), errors)) if errors.is_empty() => Ok(block),
        Some((_, errors)) if !errors.is_empty() => Err(errors),
        _ => match parse(file, text) {
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

    /// Every fixture, example and library file: the tree holds its text byte
    /// for byte, and a file that parses has no `ERROR` node.
    #[test]
    fn the_tree_is_lossless_on_every_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for dir in ["tests/fixtures/valid", "tests/fixtures/invalid", "examples", "stdlib/std"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
                let tree = parse_tree(FileId(0), &text);
                assert_eq!(tree.root().text().to_string(), text, "{}", entry.path().display());
                let has_error = tree.root().descendants().any(|node| node.kind() == SyntaxKind::ERROR);
                assert_eq!(has_error, !tree.is_grammatical(), "{}", entry.path().display());
                seen += 1;
            }
        }
        assert!(seen > 20, "only {seen} files");
    }

    #[test]
    fn comments_and_blank_lines_are_tokens() {
        let text = "/// Builds.\nstage build {\n\n  // why\n  run \"make\"\n}\n";
        let tree = parse_tree(FileId(0), text);
        let kinds: Vec<SyntaxKind> = tree.root().descendants_with_tokens().map(|element| element.kind()).collect();
        assert_eq!(kinds.iter().filter(|kind| **kind == SyntaxKind::NEWLINE).count(), 6);
        assert!(kinds.contains(&SyntaxKind::DOC_COMMENT) && kinds.contains(&SyntaxKind::COMMENT));
        let stage = tree.file().and_then(|file| file.items().next());
        let Some(cst::Item::Node(stage)) = stage else { panic!("{:#?}", tree.root()) };
        assert_eq!(stage.name().map(|name| name.text().to_string()).as_deref(), Some("build"));
        assert_eq!(usize::from(stage.syntax().text_range().start()), 12, "the doc comment is outside the node");
    }

    #[test]
    fn an_item_that_does_not_parse_is_an_error_node() {
        let text = "stage a { run \"x\" }\nstage b { timeout = }\nstage c {}\n";
        let tree = parse_tree(FileId(0), text);
        assert_eq!(tree.root().text().to_string(), text);
        let errors: Vec<String> = tree
            .root()
            .children()
            .filter(|node| node.kind() == SyntaxKind::ERROR)
            .map(|node| node.text().to_string())
            .collect();
        assert_eq!(errors, vec!["stage b { timeout = }".to_string()]);
        let names: Vec<String> = tree
            .module()
            .items
            .iter()
            .filter_map(|item| match item {
                ast::Item::Node(node) => Some(node.name.name.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(!tree.is_grammatical() && tree.diagnostics().len() == 1);
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
