//! How long each simulated step takes: for each stage, one unit (the stage
//! on one host) takes the median of its succeeded units in this pipeline's
//! history when there is one; else its `timeout` as the worst case (less
//! [`TIMEOUT_MARGIN`], so that it does not time out); else [`DEFAULT_UNIT`].
//! The unit's time is shared evenly by its `run` steps (in whole
//! milliseconds); rollback and hook steps take the same time per step.
//! `script` steps take no simulated time.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::check::model::{NodeKind, Plan, Step};
use crate::state::history::{UnitDuration, HISTORY_DEPTH};

/// A unit's time when there is neither history nor a timeout.
pub const DEFAULT_UNIT: Duration = Duration::from_secs(1);

/// How much sooner than its timeout a worst-case unit ends.
pub const TIMEOUT_MARGIN: Duration = Duration::from_millis(10);

/// Where a stage's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum DurationSource {
    /// The median of this many past units.
    History {
        samples: usize,
    },
    /// The stage's `timeout`: the worst case.
    Timeout,
    Default,
}

impl DurationSource {
    pub fn describe(&self) -> String {
        match self {
            DurationSource::History { samples } => format!("median of {samples} past run(s)"),
            DurationSource::Timeout => "its timeout (worst case)".to_string(),
            DurationSource::Default => "the default".to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StageDuration {
    pub stage: String,
    pub unit_ms: u64,
    #[serde(flatten)]
    pub source: DurationSource,
}

#[derive(Clone, Debug, Default)]
pub struct Durations {
    stages: HashMap<String, (Duration, usize)>,
    pub listed: Vec<StageDuration>,
}

impl Durations {
    pub fn new(plan: &Plan, history: &[UnitDuration]) -> Durations {
        let mut durations = Durations::default();
        for node in plan.nodes.iter().filter(|node| node.kind == NodeKind::Stage) {
            let targeted = node.target.is_some();
            let mut samples: Vec<i64> = history
                .iter()
                .filter(|unit| unit.node == node.name && (targeted != unit.host.is_empty()))
                .map(|unit| unit.duration_ms.max(0))
                .take(HISTORY_DEPTH)
                .collect();
            let (unit, source) = if !samples.is_empty() {
                samples.sort_unstable();
                let median = median(&samples);
                (Duration::from_millis(median), DurationSource::History { samples: samples.len() })
            } else if let Some(timeout) = node.timeout.filter(|_| !node.timeout_is_default) {
                // The pipeline's default step timeout says nothing of how long
                // this stage takes: only a timeout the author gave is a worst case.
                (timeout, DurationSource::Timeout)
            } else {
                (DEFAULT_UNIT, DurationSource::Default)
            };
            let runs = run_steps(&node.steps).max(1);
            let simulated = if source == DurationSource::Timeout { unit.saturating_sub(TIMEOUT_MARGIN) } else { unit };
            durations.stages.insert(node.name.clone(), (simulated, runs));
            durations.listed.push(StageDuration {
                stage: node.name.clone(),
                unit_ms: u64::try_from(unit.as_millis()).unwrap_or(u64::MAX),
                source,
            });
        }
        durations
    }

    /// How long one `run` step of `stage` takes.
    pub fn step(&self, stage: &str) -> Duration {
        match self.stages.get(stage) {
            Some((unit, runs)) => {
                let runs = u128::try_from(*runs).unwrap_or(1).max(1);
                Duration::from_millis(u64::try_from(unit.as_millis() / runs).unwrap_or(u64::MAX))
            }
            None => DEFAULT_UNIT,
        }
    }
}

fn run_steps(steps: &[Step]) -> usize {
    steps.iter().filter(|step| matches!(step, Step::Run(_))).count()
}

/// The median of sorted samples (the lower middle for an even count).
fn median(sorted: &[i64]) -> u64 {
    let middle = sorted[(sorted.len() - 1) / 2];
    u64::try_from(middle).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(&[5]), 5);
        assert_eq!(median(&[1, 2, 9]), 2);
        assert_eq!(median(&[1, 2, 8, 9]), 2);
    }
}
