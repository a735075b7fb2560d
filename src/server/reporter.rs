//! Where a server's sessions say what they do: its log on stderr.

use crate::diagnostic::Diagnostic;
use crate::session::Reporter;
use crate::syntax::span::SourceMap;

/// Notices and diagnostics on stderr, plain (for servers' logs).
pub struct StderrReporter;

impl Reporter for StderrReporter {
    fn notice(&self, text: &str) {
        eprintln!("deploy: {text}");
    }

    fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &SourceMap) {
        if diagnostics.is_empty() {
            return;
        }
        let text = crate::diagnostic::render_terminal(diagnostics, sources, crate::diagnostic::RenderStyle::Plain);
        eprint!("{text}");
    }
}
