//! Who answers an approval: the [`ApprovalPrompt`] the run is given (the
//! terminal, or the simulator's answers), and a person's [`PromptAnswer`].

use std::io::{BufRead, Write};

/// A person's answer at the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptAnswer {
    Yes,
    No,
    /// The terminal went away (end of input): nobody answered.
    Unavailable,
}

/// Asks a person; blocking (called on the blocking pool).
pub trait ApprovalPrompt: Send + Sync {
    /// `name`: the gate or protected stage asking (what `--approve NAME` names).
    fn ask(&self, name: &str, question: &str, approver: &str) -> PromptAnswer;
}

/// Asks on the terminal: the question on stderr, the answer from stdin.
pub struct TerminalPrompt;

impl ApprovalPrompt for TerminalPrompt {
    fn ask(&self, _name: &str, question: &str, approver: &str) -> PromptAnswer {
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "\n? {question} (approving as {approver}) [y/N] ");
        let _ = stderr.flush();
        let mut answer = String::new();
        match std::io::stdin().lock().read_line(&mut answer) {
            Ok(0) | Err(_) => PromptAnswer::Unavailable,
            Ok(_) => match answer.trim().to_lowercase().as_str() {
                "y" | "yes" => PromptAnswer::Yes,
                _ => PromptAnswer::No,
            },
        }
    }
}
