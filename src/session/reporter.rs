//! Where a session says what it does while it does it: warnings (a lock
//! taken over, a known-bad version), progress (waiting for a lock) and the
//! plan's diagnostics. The CLI prints them on stderr; servers log them.

use crate::diagnostic::Diagnostic;
use crate::syntax::span::SourceMap;

pub trait Reporter: Send + Sync {
    /// A line for people, without the `deploy: ` prefix.
    fn notice(&self, text: &str);
    /// The diagnostics of a plan being loaded (warnings too).
    fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &SourceMap);
}

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
