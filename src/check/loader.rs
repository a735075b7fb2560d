//! Loading a plan and the modules it imports.

use std::path::Path;
use std::sync::Arc;

use super::CheckedPlan;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::syntax::span::SourceMap;

pub fn check_file(path: &Path) -> CheckedPlan {
    let mut sources = SourceMap::default();
    let mut diagnostics = Diagnostics::default();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let file = sources.add(path, path.display().to_string(), Arc::from(text.as_str()));
            if let Err(errors) = crate::syntax::parse(file, &text) {
                diagnostics.extend(errors);
            }
        }
        Err(error) => {
            diagnostics.push(Diagnostic::new(Code::UnreadableFile, format!("cannot read {}: {error}", path.display())))
        }
    }
    CheckedPlan { plan: None, diagnostics, sources }
}
