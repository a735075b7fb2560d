//! Printing diagnostics: graphical on a terminal, plain when piped, JSON on request.

use std::io::{IsTerminal, Write};

use crate::diagnostic::{render_json, render_terminal, Diagnostic, RenderStyle};
use crate::syntax::span::SourceMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnosticFormat {
    /// Rendered for people (colour on a terminal unless NO_COLOR).
    #[default]
    Human,
    /// Machine-readable, shaped like `terraform validate -json`.
    Json,
}

/// Prints diagnostics for people on stderr.
pub fn print_diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap) {
    if diagnostics.is_empty() {
        return;
    }
    let style = RenderStyle::detect(std::io::stderr().is_terminal());
    let text = render_terminal(diagnostics, sources, style);
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Prints the JSON report on stdout.
pub fn print_json_report(diagnostics: &[Diagnostic], sources: &SourceMap) {
    let report = render_json(diagnostics, sources);
    match serde_json::to_string_pretty(&report) {
        Ok(text) => println!("{text}"),
        Err(error) => super::failure::say(format!("cannot serialise diagnostics: {error}")),
    }
}

/// Prints a value as pretty JSON on stdout: `Success`, or `Usage` with the
/// error on stderr when it cannot be serialised.
pub fn print_json(value: &impl serde::Serialize) -> super::ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            super::ExitCode::Success
        }
        Err(error) => {
            super::failure::say(format!("{error}"));
            super::ExitCode::Usage
        }
    }
}

/// Writes text to stdout; a closed pipe (`| head`) ends the output quietly
/// instead of panicking.
pub fn print_text(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}
