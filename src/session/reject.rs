//! Rejecting a gate of a paused run: the run resumes and the gate's
//! approval is answered "no" on the rejecter's behalf, which is the gate's
//! `fail` outcome — its `on_fail` policy (a rollback by default) decides
//! what happens next, exactly as a "no" at the terminal prompt.

use crate::engine::approval::{ApprovalPrompt, PromptAnswer};

/// Answers "no" for one gate; any other approval the run asks for stays
/// unanswered (the run pauses there).
pub struct Rejection {
    pub gate: String,
}

impl ApprovalPrompt for Rejection {
    fn ask(&self, name: &str, _question: &str, _approver: &str) -> PromptAnswer {
        if name == self.gate {
            PromptAnswer::No
        } else {
            PromptAnswer::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rejected_gate_is_answered() {
        let rejection = Rejection { gate: "go".into() };
        assert_eq!(rejection.ask("go", "Ship?", "alice"), PromptAnswer::No);
        assert_eq!(rejection.ask("later", "Ship?", "alice"), PromptAnswer::Unavailable);
    }
}
