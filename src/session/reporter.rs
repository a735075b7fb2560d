//! Where a session says what it does while it does it: warnings (a lock
//! taken over, a known-bad version), progress (waiting for a lock) and the
//! plan's diagnostics. The session only hands them over: the CLI prints
//! them on stderr, servers log them (`server::reporter`).

use crate::diagnostic::Diagnostic;
use crate::syntax::span::SourceMap;

pub trait Reporter: Send + Sync {
    /// A line for people, without the `deploy: ` prefix.
    fn notice(&self, text: &str);
    /// The diagnostics of a plan being loaded (warnings too).
    fn diagnostics(&self, diagnostics: &[Diagnostic], sources: &SourceMap);
}
