//! How a run's status becomes the process's exit code (docs/cli.md).

use super::event::RunStatus;
use crate::exit_code::ExitCode;

impl RunStatus {
    /// 0 success; 2 failed and rolled back, or aborted; 3 paused; 4 the
    /// rollback failed (whatever started it, a signal included: manual
    /// attention is needed); 130 interrupted.
    pub fn exit_code(self) -> ExitCode {
        match self {
            RunStatus::Succeeded => ExitCode::Success,
            RunStatus::RolledBack | RunStatus::Aborted => ExitCode::Failed,
            RunStatus::Paused => ExitCode::Paused,
            RunStatus::RollbackFailed => ExitCode::RollbackFailed,
            RunStatus::Interrupted => ExitCode::Interrupted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_code() {
        let codes: Vec<i32> = [
            RunStatus::Succeeded,
            RunStatus::RolledBack,
            RunStatus::Aborted,
            RunStatus::Paused,
            RunStatus::RollbackFailed,
            RunStatus::Interrupted,
        ]
        .iter()
        .map(|status| status.exit_code().code())
        .collect();
        assert_eq!(codes, vec![0, 2, 2, 3, 4, 130]);
    }
}
