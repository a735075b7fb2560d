//! What a run ended with.

use crate::record::event::{RunStatus, Summary};

/// What a run ended with.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub status: RunStatus,
    pub summary: Summary,
    pub duration_ms: u64,
}
