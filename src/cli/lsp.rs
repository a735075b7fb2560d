//! `deploy lsp`: the language server, on stdin/stdout.

use super::ExitCode;

#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// Speak the protocol on stdin/stdout (the only transport; accepted for editors that pass it).
    #[arg(long)]
    stdio: bool,
}

pub fn run(_args: LspArgs) -> ExitCode {
    match crate::lsp::serve_stdio() {
        Ok(()) => ExitCode::Success,
        Err(error) => {
            super::failure::say(format!("the language server could not start: {error}"));
            ExitCode::Usage
        }
    }
}
