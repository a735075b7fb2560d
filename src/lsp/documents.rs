//! The open documents: their text as the editor has it (saved or not), and
//! the syntax tree and index of each version, built when first asked for.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

use super::declarations::{declarations, Declarations};
use super::index::FileIndex;
use super::line_index::{Encoding, LineIndex};
use crate::syntax::lexer::Tokens;
use crate::syntax::span::{FileId, Span};

/// One version of a file, parsed as far as it parses: the partial tree of a
/// file being typed still answers hover, goto, completion and symbols.
pub struct Analysis {
    pub index: FileIndex,
    pub declarations: Declarations,
    /// Whether the whole file parsed (renaming needs every occurrence).
    pub complete: bool,
}

impl Analysis {
    pub fn of(text: &str, tokens: &Tokens) -> Analysis {
        let (module, errors) = crate::syntax::parse_tolerant(FileId(0), text);
        let complete = !errors.iter().any(|d| d.code == crate::diagnostic::Code::Syntax);
        let index = FileIndex::build(text, tokens, &module);
        Analysis { index, declarations: declarations(&module), complete }
    }
}

pub struct Document {
    pub uri: Uri,
    /// The file's path (canonical when it exists): imports resolve relative to it.
    pub path: PathBuf,
    pub text: Arc<str>,
    pub version: i32,
    pub lines: LineIndex,
    analysis: OnceLock<Arc<Analysis>>,
    tokens: OnceLock<Arc<Tokens>>,
}

impl Document {
    pub fn new(uri: Uri, text: Arc<str>, version: i32, encoding: Encoding) -> Document {
        let path = path_of(&uri);
        let lines = LineIndex::new(&text, encoding);
        Document { uri, path, text, version, lines, analysis: OnceLock::new(), tokens: OnceLock::new() }
    }

    /// The tree and index of this version (partial when it does not parse).
    pub fn analysis(&self) -> Arc<Analysis> {
        self.analysis.get_or_init(|| Arc::new(Analysis::of(&self.text, &self.tokens()))).clone()
    }

    /// The tokens of this version (lexed when first asked for).
    pub fn tokens(&self) -> Arc<Tokens> {
        self.tokens.get_or_init(|| Arc::new(Tokens::of(&self.text))).clone()
    }

    pub fn offset(&self, position: Position) -> usize {
        self.lines.offset(&self.text, position)
    }

    pub fn range(&self, span: Span) -> Range {
        self.lines.range(&self.text, span)
    }

    /// This document after the editor's changes (whole text or ranges).
    pub fn changed(&self, changes: Vec<TextDocumentContentChangeEvent>, version: i32, encoding: Encoding) -> Document {
        let mut text = self.text.to_string();
        for change in changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let lines = LineIndex::new(&text, encoding);
                    let start = lines.offset(&text, range.start);
                    let end = lines.offset(&text, range.end).max(start);
                    text.replace_range(start..end, &change.text);
                }
            }
        }
        Document::new(self.uri.clone(), Arc::from(text), version, encoding)
    }
}

/// The path a URI names: canonical for files that exist, the URI's path
/// otherwise (an unsaved buffer still gets a name for its diagnostics).
pub fn path_of(uri: &Uri) -> PathBuf {
    match uri.to_file_path() {
        Some(path) if uri.scheme().as_str() == "file" => {
            std::fs::canonicalize(&path).unwrap_or_else(|_| path.into_owned())
        }
        _ => PathBuf::from(uri.as_str()),
    }
}

pub fn uri_of(path: &Path) -> Option<Uri> {
    if path.is_absolute() {
        Uri::from_file_path(path)
    } else {
        None
    }
}
