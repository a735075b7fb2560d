//! Doc comments, read from the lexer's tokens: a run of `///` line
//! comments, each at the start of its line (indentation allowed), one
//! directly under the other, documents the item (or template parameter,
//! environment var) whose first token follows the run, blank lines between
//! them allowed. A blank line inside the run ends it: only the lines under
//! the blank one document the item. A `///` after code on its line, inside a
//! Rhai snippet or a `/* */` comment documents nothing.

use super::lexer::{Lexer, Token, TokenKind, Tokens};

/// The doc comments of one text, each by where the item it documents starts.
#[derive(Clone, Debug, Default)]
pub struct DocComments {
    /// In text order (so by `item_start`).
    blocks: Vec<DocBlock>,
}

#[derive(Clone, Debug)]
struct DocBlock {
    /// Where the first token after the run starts (the text's length when
    /// the run ends the text).
    item_start: usize,
    /// The run begins on the text's first line.
    on_first_line: bool,
    /// A blank line (or the end of the text) follows the run.
    blank_line_after: bool,
    /// Its lines without `///` (and one space after it), joined by `\n`.
    text: String,
}

impl DocComments {
    /// The doc comments of `text`, in one pass of the lexer. A text with no
    /// `///` at all holds none, and is not lexed (most plans: their check
    /// pays nothing for this).
    pub fn of(text: &str) -> DocComments {
        if !text.contains("///") {
            return DocComments::default();
        }
        DocComments::read(text, Lexer::new(text).tokens(0, text.len()))
    }

    /// The doc comments of `text`, from its tokens already lexed.
    pub fn of_tokens(text: &str, tokens: &Tokens) -> DocComments {
        DocComments::read(text, tokens.iter().copied())
    }

    fn read(text: &str, tokens: impl Iterator<Item = Token>) -> DocComments {
        let mut blocks = Vec::new();
        // The run being read: its lines, and whether it began on line 1.
        let mut run: Option<(Vec<&str>, bool)> = None;
        // Only whitespace since the start of the line (or of the text).
        let mut line_start = true;
        let mut first_line = true;
        // The whitespace after the run's last line: how many line breaks.
        let mut breaks_after_run = 0;
        let mut tokens = tokens.peekable();
        while let Some(token) = tokens.next() {
            if token.kind == TokenKind::Whitespace {
                let breaks = token.text(text).bytes().filter(|b| *b == b'\n').count();
                if breaks > 0 {
                    line_start = true;
                    first_line = false;
                }
                if run.is_some() {
                    breaks_after_run = breaks;
                    if tokens.peek().is_none() {
                        // The run ends the text.
                        push(&mut blocks, run.take(), text.len(), true);
                    }
                }
                continue;
            }
            let doc_line = match token.kind {
                TokenKind::LineComment if line_start => token.text(text).strip_prefix("///"),
                _ => None,
            };
            match (doc_line, run.as_mut()) {
                // The next line of the run.
                (Some(line), Some((lines, _))) if breaks_after_run == 1 => lines.push(line),
                (Some(line), _) => {
                    // A blank line ended the run before: it documents nothing.
                    let ended = run.replace((vec![line], first_line));
                    if ended.is_some() {
                        push(&mut blocks, ended, token.span.start, true);
                    }
                }
                (None, _) => push(&mut blocks, run.take(), token.span.start, breaks_after_run > 1),
            }
            breaks_after_run = 0;
            line_start = false;
        }
        // A run whose last line ends the text (no line break after it).
        push(&mut blocks, run.take(), text.len(), true);
        DocComments { blocks }
    }

    /// The doc comment of the item whose first token starts at `item_start`.
    pub fn above(&self, item_start: usize) -> Option<&str> {
        let index = self.blocks.binary_search_by_key(&item_start, |block| block.item_start).ok()?;
        self.blocks.get(index).map(|block| block.text.as_str())
    }

    /// The module's own doc comment: the run on the text's first lines when
    /// a blank line (or the end of the text) follows it; a run directly
    /// above the first item documents that item instead.
    pub fn module(&self) -> Option<&str> {
        self.blocks.first().filter(|block| block.on_first_line && block.blank_line_after).map(|b| b.text.as_str())
    }

    /// The first line of the first doc comment, for a one-line summary.
    pub fn first_line(&self) -> Option<&str> {
        self.blocks.first().and_then(|block| block.text.lines().next())
    }
}

/// Ends a run: it documents what starts at `item_start`.
fn push(blocks: &mut Vec<DocBlock>, run: Option<(Vec<&str>, bool)>, item_start: usize, blank_line_after: bool) {
    let Some((lines, on_first_line)) = run else { return };
    let lines: Vec<&str> = lines
        .into_iter()
        .map(|line| {
            // A `\r\n` line break leaves its `\r` in the comment.
            let line = line.strip_suffix('\r').unwrap_or(line);
            line.strip_prefix(' ').unwrap_or(line)
        })
        .collect();
    blocks.push(DocBlock { item_start, on_first_line, blank_line_after, text: lines.join("\n") });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_of(text: &str, item: &str) -> Option<String> {
        let at = text.find(item).unwrap_or(text.len());
        let from_text = DocComments::of(text).above(at).map(str::to_string);
        let from_tokens = DocComments::of_tokens(text, &Tokens::of(text)).above(at).map(str::to_string);
        assert_eq!(from_text, from_tokens);
        from_text
    }

    #[test]
    fn the_lines_right_above_an_item() {
        let text = "/// Builds.\n///   indented\n  ///no space\nstage build {}\n";
        assert_eq!(doc_of(text, "stage").as_deref(), Some("Builds.\n  indented\nno space"));
        assert_eq!(doc_of("stage a {}\n", "stage"), None);
        // Blank lines between the comment and the item are allowed...
        assert_eq!(doc_of("/// A.\n\n  \nstage a {}", "stage").as_deref(), Some("A."));
        // ... a blank line inside the comment ends it.
        assert_eq!(doc_of("/// Old.\n\n/// New.\nstage a {}", "stage").as_deref(), Some("New."));
        // An empty `///` line is part of it.
        assert_eq!(doc_of("/// A.\n///\n/// B.\nstage a {}", "stage").as_deref(), Some("A.\n\nB."));
        // `\r\n` line breaks.
        assert_eq!(doc_of("/// A.\r\n/// B.\r\n\r\nstage a {}", "stage").as_deref(), Some("A.\nB."));
        // `////` is a doc line too (as it has always been).
        assert_eq!(doc_of("//// A.\nstage a {}", "stage").as_deref(), Some("/ A."));
    }

    #[test]
    fn what_is_not_a_doc_comment() {
        // A plain comment between the doc comment and the item.
        assert_eq!(doc_of("/// A.\n// plain\nstage a {}", "stage a"), None);
        assert_eq!(doc_of("/// A.\n/* b */ stage a {}", "stage a"), None);
        // A `///` after code on its line.
        assert_eq!(doc_of("stage a {} /// A.\nstage b {}", "stage b"), None);
        // The item does not start its line.
        assert_eq!(doc_of("/// A.\nstage a {} stage b {}", "stage b"), None);
        // A `///` inside a block comment or a snippet.
        assert_eq!(doc_of("/*\n/// A. */\nstage b {}", "stage b"), None);
        assert_eq!(doc_of("stage a { script ```\n/// A.\n``` }\nstage b {}", "stage b"), None);
    }

    #[test]
    fn template_parameters_and_vars() {
        let text = "template stage t(\n  /// The URL.\n  url: string,\n  /// How long.\n  within: duration = 2m,\n) {}";
        assert_eq!(doc_of(text, "url").as_deref(), Some("The URL."));
        assert_eq!(doc_of(text, "within").as_deref(), Some("How long."));
        assert_eq!(doc_of("vars {\n  /// Port.\n  PORT = \"80\"\n}", "PORT").as_deref(), Some("Port."));
    }

    #[test]
    fn the_module_comment() {
        let module = |text: &str| DocComments::of(text).module().map(str::to_string);
        assert_eq!(module("/// Web.\n/// More.\n\ntemplate stage a() {}").as_deref(), Some("Web.\nMore."));
        assert_eq!(module("/// Web.\n"), Some("Web.".into()));
        assert_eq!(module("/// Web."), Some("Web.".into()));
        assert_eq!(module("/// Web.\n   \ntemplate stage a() {}"), Some("Web.".into()));
        // Directly above the first item: that item's doc.
        assert_eq!(module("/// A.\ntemplate stage a() {}"), None);
        // Not at the top.
        assert_eq!(module("\n/// A.\n\ntemplate stage a() {}"), None);
        assert_eq!(module("// plain\n/// A.\n\ntemplate stage a() {}"), None);
        // The module comment also documents the first item (blank lines between allowed).
        let text = "/// Web.\n\ntemplate stage a() {}";
        assert_eq!(doc_of(text, "template").as_deref(), Some("Web."));
        assert_eq!(DocComments::of("x\n/// First.\n/// Second.\n").first_line(), Some("First."));
    }
}
