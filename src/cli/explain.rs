//! `deploy explain CODE`

use super::ExitCode;
use crate::diagnostic::{Code, ALL_CODES};

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A diagnostic code such as E0102 or W0001; without one, lists every code.
    code: Option<String>,
}

pub fn run(args: ExplainArgs) -> ExitCode {
    let Some(text) = args.code else {
        for code in ALL_CODES {
            println!("{}  {}", code.as_str(), code.title());
        }
        return ExitCode::Success;
    };
    match Code::parse(&text) {
        Some(code) => {
            println!("{}: {}\n\n{}", code.as_str(), code.title(), code.explanation());
            ExitCode::Success
        }
        None => {
            super::failure::say(format!("`{text}` is not a diagnostic code; `deploy explain` lists them all"));
            ExitCode::Usage
        }
    }
}
