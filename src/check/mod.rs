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
mod script_words;
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

use crate::diagnostic::Diagnostics;
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

/// Checks already loaded modules (the language server loads from memory).
pub fn check_loaded(mut loaded: loader::Loaded, path: &Path, sets: &[(String, String)]) -> CheckedPlan {
    let mut diagnostics = Diagnostics::default();
    let mut loader_diagnostics = loaded.diagnostics.clone();
    shell_hint::add_escape_hints(&loaded.sources, &mut loader_diagnostics);
    diagnostics.extend(loader_diagnostics);
    // The plan's stages and gates leave the tree: lowering consumes them.
    let decls = loaded.modules.first_mut().map(loader::take_nodes).unwrap_or_default();
    let (plan, lowered) =
        if loaded.modules.is_empty() { (None, Vec::new()) } else { driver::lower(&loaded, decls, path, sets) };
    diagnostics.extend(lowered);
    diagnostics.extend(pins::check(&loaded, path));
    let plan = if diagnostics.has_errors() { None } else { plan };
    CheckedPlan { plan, diagnostics, sources: loaded.sources }
}
