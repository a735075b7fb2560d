//! The one conversion from the checker's diagnostics to the protocol's:
//! the same codes, messages and spans `deploy check` prints, per file
//! (imported modules included); secondary labels become related information.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri,
};

use super::documents::uri_of;
use super::line_index::{Encoding, LineIndex};
use crate::check::CheckedPlan;
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::syntax::span::{FileId, SourceMap};

/// Diagnostics of one check, by the file they point into. The checked
/// document itself is always present (possibly with none).
pub fn convert(checked: &CheckedPlan, root: &Uri, encoding: Encoding) -> HashMap<Uri, Vec<lsp::Diagnostic>> {
    let mut files = Files { sources: &checked.sources, root, encoding, lines: HashMap::new() };
    let mut by_file: HashMap<Uri, Vec<lsp::Diagnostic>> = HashMap::new();
    by_file.insert(root.clone(), Vec::new());
    for diagnostic in checked.diagnostics.clone().into_sorted() {
        if let Some((uri, converted)) = files.diagnostic(&diagnostic) {
            by_file.entry(uri).or_default().push(converted);
        }
    }
    by_file
}

struct Files<'a> {
    sources: &'a SourceMap,
    root: &'a Uri,
    encoding: Encoding,
    lines: HashMap<FileId, LineIndex>,
}

impl Files<'_> {
    fn uri(&self, file: FileId) -> Option<Uri> {
        if file == FileId(0) {
            return Some(self.root.clone());
        }
        uri_of(Path::new(&self.sources.get(file)?.path))
    }

    fn location(&mut self, label: &Label) -> Option<Location> {
        let uri = self.uri(label.file)?;
        let source = self.sources.get(label.file)?;
        let encoding = self.encoding;
        let lines = self.lines.entry(label.file).or_insert_with(|| LineIndex::new(&source.text, encoding));
        Some(Location::new(uri, lines.range(&source.text, label.span)))
    }

    fn diagnostic(&mut self, diagnostic: &Diagnostic) -> Option<(Uri, lsp::Diagnostic)> {
        // Problems outside any file (an unreadable plan) go on the document's first line.
        let location = match &diagnostic.primary {
            Some(label) => self.location(label)?,
            None => Location::new(self.root.clone(), lsp::Range::default()),
        };
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<DiagnosticRelatedInformation> = diagnostic
            .secondary
            .iter()
            .filter_map(|label| {
                Some(DiagnosticRelatedInformation { location: self.location(label)?, message: label.message.clone() })
            })
            .collect();
        let converted = lsp::Diagnostic {
            range: location.range,
            severity: Some(match diagnostic.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(diagnostic.code.as_str().to_string())),
            source: Some("deploy".to_string()),
            message,
            related_information: if related.is_empty() { None } else { Some(related) },
            ..lsp::Diagnostic::default()
        };
        Some((location.uri, converted))
    }
}

/// What has been published: for each file, the diagnostics each checked
/// document put there. A file shows the union, so a module open in the
/// editor and also imported by an open plan shows each problem once.
#[derive(Default)]
pub struct Publications {
    by_file: HashMap<Uri, HashMap<Uri, Vec<lsp::Diagnostic>>>,
    files_of: HashMap<Uri, BTreeSet<Uri>>,
}

impl Publications {
    /// Records the result of checking `root`; returns each file whose
    /// diagnostics changed, with what it should show now.
    pub fn update(
        &mut self,
        root: &Uri,
        fresh: HashMap<Uri, Vec<lsp::Diagnostic>>,
    ) -> Vec<(Uri, Vec<lsp::Diagnostic>)> {
        let old = self.files_of.remove(root).unwrap_or_default();
        let new: BTreeSet<Uri> = fresh.keys().cloned().collect();
        for file in &old {
            if let Some(roots) = self.by_file.get_mut(file) {
                roots.remove(root);
            }
        }
        for (file, diagnostics) in fresh {
            self.by_file.entry(file).or_default().insert(root.clone(), diagnostics);
        }
        let touched: BTreeSet<Uri> = old.union(&new).cloned().collect();
        self.files_of.insert(root.clone(), new);
        touched.into_iter().map(|file| (file.clone(), self.shown(&file))).collect()
    }

    /// Forgets `root` (closed): the files it published to, updated.
    pub fn remove(&mut self, root: &Uri) -> Vec<(Uri, Vec<lsp::Diagnostic>)> {
        let updates = self.update(root, HashMap::new());
        self.files_of.remove(root);
        updates
    }

    fn shown(&self, file: &Uri) -> Vec<lsp::Diagnostic> {
        let mut shown: Vec<lsp::Diagnostic> = Vec::new();
        let Some(roots) = self.by_file.get(file) else { return shown };
        let mut roots: Vec<(&Uri, &Vec<lsp::Diagnostic>)> = roots.iter().collect();
        roots.sort_by(|a, b| a.0.cmp(b.0));
        for (_, diagnostics) in roots {
            for diagnostic in diagnostics {
                if !shown.contains(diagnostic) {
                    shown.push(diagnostic.clone());
                }
            }
        }
        shown
    }
}
