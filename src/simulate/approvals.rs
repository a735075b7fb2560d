//! Who answers approvals in a simulation: `--yes` and `--approve NAME`
//! approve, as in `deploy run`; `--refuse NAME` is a person answering no
//! at the prompt. Any other approval is not answered, so the run pauses,
//! as a real run without a terminal would.

use std::sync::Arc;

use super::injection::Injections;
use crate::engine::approval::{ApprovalPrompt, PromptAnswer};

pub struct SimulatedPrompt {
    pub injections: Arc<Injections>,
}

impl ApprovalPrompt for SimulatedPrompt {
    fn ask(&self, name: &str, _question: &str, _approver: &str) -> PromptAnswer {
        if self.injections.refuses(name) {
            PromptAnswer::No
        } else {
            PromptAnswer::Unavailable
        }
    }
}
