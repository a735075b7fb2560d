//! `deploy completions bash|zsh|fish`

use super::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs) -> ExitCode {
    let mut command = super::command();
    clap_complete::generate(args.shell, &mut command, "deploy", &mut std::io::stdout());
    ExitCode::Success
}
