//! The formatter: one canonical layout for `.deploy` files (docs/fmt.md).
//! It works on the same parse as `deploy check`, keeps comments (the
//! lexer's comment tokens) where they were, copies literals and Rhai snippets byte for byte, and refuses to hand
//! out a result whose syntax tree differs from the input's.

pub mod equivalence;
mod layout;
mod printer;

use crate::diagnostic::Diagnostic;
use crate::syntax::lexer::Tokens;
use crate::syntax::span::FileId;

pub use printer::Comment;

/// Why a text was not formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The text does not parse: its diagnostics.
    Syntax(Vec<Diagnostic>),
    /// The formatter's output would not mean the same (a bug): the text is left alone.
    Internal(String),
}

/// Formats `text`. A text with a syntax error is refused with its
/// diagnostics (in `file`).
pub fn format_source(file: FileId, text: &str) -> Result<String, FormatError> {
    let module = crate::syntax::parse(file, text).map_err(FormatError::Syntax)?;
    let tokens = Tokens::of(text);
    let comments = printer::comments(text, &tokens);
    let formatted = printer::Printer::new(text, &tokens, comments.clone()).module(&module);
    verify(file, &module, &comments, &formatted)?;
    Ok(formatted)
}

/// The output must parse to the same tree and hold the same comments in the
/// same order; if not, that is a formatter bug, and the input is left alone.
fn verify(
    file: FileId,
    module: &crate::syntax::ast::Module,
    comments: &[Comment],
    formatted: &str,
) -> Result<(), FormatError> {
    let problem = match crate::syntax::parse(file, formatted) {
        Err(_) => Some("its output does not parse"),
        Ok(output) => {
            let same_comments = printer::comments(formatted, &Tokens::of(formatted))
                .iter()
                .map(|c| &c.text)
                .eq(comments.iter().map(|c| &c.text));
            if equivalence::without_spans(&output) != equivalence::without_spans(module) {
                Some("its output means something else")
            } else if !same_comments {
                Some("its output moves or loses a comment")
            } else {
                None
            }
        }
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(FormatError::Internal(format!(
            "the formatter cannot format this file ({problem}); it is left unchanged. This is a bug in `deploy fmt`: please report it with the file"
        ))),
    }
}
