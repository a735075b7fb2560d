//! Exit codes, relied on by users' CI (docs/cli.md): the run statuses map onto them
//! (`engine::run_status`) and the CLI returns them.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    /// The plan has errors, or the command line is wrong.
    Usage,
    /// The deployment failed and was rolled back (or aborted).
    Failed,
    /// The run is paused, waiting for an approval or a decision.
    Paused,
    /// The rollback itself failed: manual attention needed.
    RollbackFailed,
    /// `deploy fmt --check`: a file is not formatted.
    WouldReformat,
    /// Interrupted by a signal.
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Usage => 1,
            ExitCode::Failed => 2,
            ExitCode::Paused => 3,
            ExitCode::RollbackFailed => 4,
            ExitCode::WouldReformat => 3,
            ExitCode::Interrupted => 130,
        }
    }
}
