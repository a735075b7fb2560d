//! Check: syntax trees → the checked model, with every problem as a
//! diagnostic. Loads imported modules, resolves names, types values, and
//! proves rollback coverage.

mod cycles;
mod driver;
pub mod host_pattern;
mod hosts;
pub(crate) mod inventory;
pub(crate) mod jinja;
mod lints;
pub(crate) mod loader;
mod lowering;
pub mod model;
mod node;
pub mod pins;
mod scope;
mod script_compiler;
pub mod script_words;
pub(crate) mod secret_source;
pub(crate) mod selection;
mod shell_hint;
mod ssh_block;
pub(crate) mod ssh_looking_hosts;
pub(crate) mod ssh_settings;
mod template_lint;
mod values;
pub(crate) mod watch;
pub(crate) mod window;

pub(crate) use node::gates_used_by as node_gates_used_by;
pub use scope::BUILTINS;

pub mod vocabulary;
pub use values::parse_set_value;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::syntax::span::SourceMap;
use model::Plan;

/// What checking a plan file produced: the model when there were no errors,
/// every diagnostic, and the loaded sources the diagnostics point into.
#[derive(Debug)]
pub struct CheckedPlan {
    pub plan: Option<Plan>,
    pub diagnostics: Diagnostics,
    pub sources: SourceMap,
}

/// Loads, parses and checks a plan file and every module it imports.
pub fn check_file(path: &Path) -> CheckedPlan {
    check_file_with(path, &[])
}

/// Like [`check_file`], with `--set` values fixing params for the checks
/// that need their values.
pub fn check_file_with(path: &Path, sets: &[(String, String)]) -> CheckedPlan {
    let loaded = loader::load(path);
    check_loaded(loaded, path, sets)
}

/// Like [`check_file_with`], asking `remote` for the remote imports
/// (`deploy modules diff` checks the plan with a module moved).
pub fn check_file_with_remote(path: &Path, remote: &mut dyn crate::remote::RemoteModules) -> CheckedPlan {
    let loaded = loader::load_with(path, remote);
    check_loaded(loaded, path, &[])
}

/// Checks a plan given as text (the language server and tests); imports
/// resolve relative to `path`.
pub fn check_source(path: &Path, text: String) -> CheckedPlan {
    let origin = loader::ModuleOrigin::File(path.to_path_buf());
    let loaded = loader::load_text(origin, path.display().to_string(), text);
    check_loaded(loaded, path, &[])
}

/// Like [`check_source`], reading imported files from `overlay` (canonical
/// path → text: the editor's unsaved documents) before the disk.
pub fn check_source_with(path: &Path, text: String, overlay: loader::Overlay) -> CheckedPlan {
    let origin = loader::ModuleOrigin::File(path.to_path_buf());
    let loaded = loader::load_text_with(origin, path.display().to_string(), text, overlay);
    check_loaded(loaded, path, &[])
}

/// Lowers the loaded plan. When a stage's or gate's body (parsed only now,
/// see [`crate::syntax::parse_outline`]) does not parse, the plan file is
/// parsed again keeping what parses, like the loader does for a file whose
/// outline does not parse: `Err` with its syntax errors, and the next call
/// (`decls` empty: they are taken from the new tree) lowers the rest.
fn lower_or_reparse(
    loaded: &mut loader::Loaded,
    decls: Vec<crate::syntax::ast::NodeDecl>,
    path: &Path,
    sets: &[(String, String)],
) -> Result<(Option<model::Plan>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let Some(root) = loaded.modules.first_mut() else { return Ok((None, Vec::new())) };
    let decls = if root.lazy_bodies || !decls.is_empty() { decls } else { loader::take_nodes(root) };
    match driver::lower(loaded, decls, path, sets) {
        Ok(lowered) => Ok(lowered),
        Err(node::BodySyntaxError(errors)) => {
            let Some(root) = loaded.modules.first_mut() else { return Err(errors) };
            let Some(text) = loaded.sources.get(root.file).map(|source| source.text.clone()) else {
                return Err(errors);
            };
            let partial = crate::syntax::parse_partial(root.file, &text);
            root.ast = partial.module;
            root.lazy_bodies = false;
            root.broken = partial.broken;
            // (The whole file never parses when a body does not; should it,
            // the body's own errors are still said.)
            Err(if partial.diagnostics.is_empty() { errors } else { partial.diagnostics })
        }
    }
}

/// The checker's diagnostics, less those that point where a file did not
/// parse (what is read there is a guess; its syntax error says what is
/// wrong) and, in such a file, the unused imports (their use may be in what
/// did not parse).
fn outside_broken(loaded: &loader::Loaded, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if loaded.modules.iter().all(|module| module.broken.is_empty()) {
        return diagnostics;
    }
    let broken = |file: crate::syntax::span::FileId| {
        loaded.modules.iter().find(|module| module.file == file).map_or(&[][..], |module| &module.broken[..])
    };
    diagnostics
        .into_iter()
        .filter(|diagnostic| {
            let Some(label) = &diagnostic.primary else { return true };
            let spans = broken(label.file);
            if spans.is_empty() {
                return true;
            }
            diagnostic.code != crate::diagnostic::Code::UnusedImport
                && !spans.iter().any(|span| overlap(*span, label.span))
        })
        .collect()
}

/// Whether two spans share a byte (an empty span counts as the byte at it).
fn overlap(a: crate::syntax::span::Span, b: crate::syntax::span::Span) -> bool {
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

/// Checks already loaded modules (the language server loads from memory).
pub fn check_loaded(mut loaded: loader::Loaded, path: &Path, sets: &[(String, String)]) -> CheckedPlan {
    let mut diagnostics = Diagnostics::default();
    let mut loader_diagnostics = loaded.diagnostics.clone();
    shell_hint::add_escape_hints(&loaded.sources, &mut loader_diagnostics);
    diagnostics.extend(loader_diagnostics);
    // The plan's stages and gates leave the tree: lowering consumes them.
    let decls = loaded.modules.first_mut().map(loader::take_nodes).unwrap_or_default();
    let (plan, lowered) = match lower_or_reparse(&mut loaded, decls, path, sets) {
        Ok(lowered) => lowered,
        Err(mut syntax) => {
            shell_hint::add_escape_hints(&loaded.sources, &mut syntax);
            diagnostics.extend(syntax);
            match lower_or_reparse(&mut loaded, Vec::new(), path, sets) {
                Ok(lowered) => lowered,
                Err(more) => (None, more),
            }
        }
    };
    let lowered = outside_broken(&loaded, lowered);
    diagnostics.extend(lowered);
    diagnostics.extend(pins::check(&loaded, path));
    let plan = if diagnostics.has_errors() { None } else { plan };
    CheckedPlan { plan, diagnostics, sources: loaded.sources }
}
