//! `deploy lsp`: the language server, on stdin/stdout.

use super::ExitCode;

#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// Speak the protocol on stdin/stdout (the only transport; accepted for editors that pass it).
    #[arg(long)]
    stdio: bool,
}

pub fn run(_args: LspArgs) -> ExitCode {
    // No network access on a keystroke: remote modules come from the cache
    // only; one not fetched yet is a diagnostic naming `deploy modules fetch`.
    // Set before the server starts any thread.
    std::env::set_var("DEPLOY_OFFLINE", "1");
    match crate::lsp::serve_stdio() {
        Ok(()) => ExitCode::Success,
        Err(error) => {
            super::failure::say(format!("the language server could not start: {error}"));
            ExitCode::Usage
        }
    }
}
