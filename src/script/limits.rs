//! Sandbox limits, set in the pipeline block (`limits { ... }`).

use std::time::Duration;

/// Sandbox limits for every Rhai evaluation (`limits { ... }` in the pipeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptLimits {
    pub max_operations: u64,
    pub max_call_depth: usize,
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Wall-clock deadline of one evaluation.
    pub timeout: Duration,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 10_000_000,
            max_call_depth: 64,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 100_000,
            timeout: Duration::from_secs(30),
        }
    }
}
