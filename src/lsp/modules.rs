//! Imported modules, for going to a template's definition and completing
//! its arguments: resolved like the checker resolves them, read from the
//! editor's open documents before the disk.

use std::path::Path;
use std::sync::Arc;

use tower_lsp_server::ls_types::Uri;

use super::documents::{uri_of, Analysis};
use super::index::{Definition, SymbolKind};
use super::line_index::{Encoding, LineIndex};
use crate::check::loader::{resolve, ModuleOrigin, Overlay};

pub struct ModuleFile {
    /// `None` for stdlib modules, which live inside the binary (see [`ModuleFile::location`]).
    pub uri: Option<Uri>,
    /// An embedded module (`std/NAME`).
    pub stdlib: bool,
    pub name: String,
    pub text: Arc<str>,
    pub lines: LineIndex,
    pub analysis: Analysis,
}

impl ModuleFile {
    /// Where an editor can open this module: its file, or for a stdlib
    /// module its read-only copy under the cache directory.
    pub fn location(&self) -> Option<Uri> {
        match &self.uri {
            Some(uri) => Some(uri.clone()),
            None if self.stdlib => uri_of(&crate::stdlib::copy::read_only_copy(&self.name)?),
            None => None,
        }
    }

    /// A template of this module by name.
    pub fn template(&self, name: &str) -> Option<(usize, &Definition)> {
        let analysis = &self.analysis;
        let index = analysis.index.find(name, &[SymbolKind::Template], None)?;
        Some((index, analysis.index.definitions.get(index)?))
    }

    /// The parameters of template number `template`.
    pub fn template_params(&self, template: usize) -> Vec<&Definition> {
        let analysis = &self.analysis;
        analysis
            .index
            .definitions
            .iter()
            .filter(|d| d.kind == SymbolKind::TemplateParam && d.parent == Some(template))
            .collect()
    }
}

/// The module `import_path` names, imported from the file at `from`.
pub fn load_module(from: &Path, import_path: &str, overlay: &Overlay, encoding: Encoding) -> Option<ModuleFile> {
    let origin = if crate::remote::RemoteImport::is_remote(import_path) {
        remote_module(from, import_path)?
    } else {
        resolve(&ModuleOrigin::File(from.to_path_buf()), import_path).ok()?
    };
    if let (ModuleOrigin::File(path), true) = (&origin, crate::remote::RemoteImport::is_remote(import_path)) {
        // The cached, read-only file at the commit the lock names.
        let text: Arc<str> = Arc::from(crate::check::loader::read_file(path).ok()?);
        let lines = LineIndex::new(&text, encoding);
        let analysis = Analysis::of(&text, &crate::syntax::lexer::Tokens::of(&text));
        let name = import_path.to_string();
        return Some(ModuleFile { uri: uri_of(path), stdlib: false, name, text, lines, analysis });
    }
    // Never show a file outside the repository (`deploy check` says E0146).
    if let ModuleOrigin::File(path) = &origin {
        if !crate::check::loader::ImportRoots::for_plan(from).contains(path) {
            return None;
        }
    }
    let stdlib = matches!(origin, ModuleOrigin::Stdlib(_));
    let (uri, name, text): (Option<Uri>, String, Arc<str>) = match origin {
        ModuleOrigin::Stdlib(name) => {
            let text = crate::stdlib::module(&name)?;
            (None, name, Arc::from(text))
        }
        ModuleOrigin::File(path) => {
            let text = match overlay.get(&path) {
                Some(text) => text.clone(),
                None => Arc::from(crate::check::loader::read_file(&path).ok()?),
            };
            (uri_of(&path), path.display().to_string(), text)
        }
    };
    let lines = LineIndex::new(&text, encoding);
    let analysis = Analysis::of(&text, &crate::syntax::lexer::Tokens::of(&text));
    Some(ModuleFile { uri, stdlib, name, text, lines, analysis })
}

/// A remote import of the file at `from`: its file in the module cache, at
/// the commit of the `deploy.lock` beside `from` (the editor never fetches:
/// a module not in the cache is not found, and the diagnostic offers the fetch).
fn remote_module(from: &Path, import_path: &str) -> Option<ModuleOrigin> {
    use crate::remote::RemoteModules;
    let import = crate::remote::RemoteImport::parse(import_path).ok()?;
    let file = crate::remote::FromLock::beside(from).module(&import).ok()?;
    Some(ModuleOrigin::File(file.path))
}
