//! How a strategy splits an environment's hosts into batches, in order.

use std::ops::Range;

use crate::check::model::Strategy;

/// One batch of a rollout: the hosts that move together.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Batch {
    pub hosts: Vec<String>,
    /// What the batch is: "all hosts", "batch 2 of 3", "canary 50%".
    pub label: String,
}

/// The batches of a rollout over `hosts` (in host order).
pub fn batches(strategy: &Strategy, hosts: &[String]) -> Vec<Batch> {
    match strategy {
        Strategy::AllAtOnce | Strategy::BlueGreen { .. } => {
            vec![Batch { hosts: hosts.to_vec(), label: "all hosts".into() }]
        }
        Strategy::Rolling { batch, .. } => {
            let size = batch.of(hosts.len()).max(1);
            let count = hosts.len().div_ceil(size);
            hosts
                .chunks(size)
                .enumerate()
                .map(|(index, chunk)| Batch { hosts: chunk.to_vec(), label: format!("batch {} of {count}", index + 1) })
                .collect()
        }
        Strategy::Canary { steps, traffic: Some(_), .. } => steps
            .iter()
            .map(|step| Batch { hosts: hosts.to_vec(), label: format!("{} of requests", percent_text(*step)) })
            .collect(),
        Strategy::Canary { steps, .. } => {
            let mut done = 0;
            let mut out = Vec::new();
            for step in steps {
                let upto = crate::check::model::Amount::Percent(*step).of(hosts.len()).max(done);
                if upto > done || out.is_empty() {
                    out.push(Batch { hosts: hosts[done..upto].to_vec(), label: format!("canary {step}%") });
                }
                done = upto;
            }
            if done < hosts.len() {
                out.push(Batch { hosts: hosts[done..].to_vec(), label: "canary 100%".into() });
            }
            out
        }
    }
}

/// The batches of hosts a strategy runs, as index ranges into the hosts,
/// split exactly as `deploy plan` shows them ([`batches`]).
/// `all_at_once`: one batch (the hosts still share `--max-parallel`);
/// `rolling`: batches of `batch` hosts, one after the other.
pub fn batch_ranges(strategy: &Strategy, hosts: &[String]) -> Vec<Range<usize>> {
    if hosts.is_empty() {
        return Vec::new();
    }
    let mut start = 0;
    let mut ranges = Vec::new();
    for batch in crate::graph::batches::batches(strategy, hosts) {
        let end = (start + batch.hosts.len()).min(hosts.len());
        if end > start {
            ranges.push(start..end);
        }
        start = end;
    }
    ranges
}

/// `5%`, `12.5%`.
pub fn percent_text(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}%")
    } else {
        format!("{value}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::Amount;

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("web-{i}")).collect()
    }

    #[test]
    fn canary_brings_the_share_up_to_each_step() {
        let strategy = Strategy::Canary {
            steps: vec![10.0, 50.0, 100.0],
            pause: Default::default(),
            analysis: None,
            traffic: None,
        };
        let sizes: Vec<usize> = batches(&strategy, &hosts(4)).iter().map(|b| b.hosts.len()).collect();
        assert_eq!(sizes, vec![1, 1, 2]);
        let sizes: Vec<usize> = batches(&strategy, &hosts(10)).iter().map(|b| b.hosts.len()).collect();
        assert_eq!(sizes, vec![1, 4, 5]);
    }

    #[test]
    fn rolling_chunks_in_host_order() {
        let strategy = Strategy::Rolling { batch: Amount::Percent(25.0), max_failures: Amount::Count(0) };
        let all = batches(&strategy, &hosts(5));
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].hosts, vec!["web-1", "web-2"]);
        assert_eq!(all[2].hosts, vec!["web-5"]);
    }

    #[test]
    fn batches_follow_the_strategy() {
        let hosts: Vec<String> = (1..=4).map(|i| format!("h{i}")).collect();
        assert_eq!(batch_ranges(&Strategy::AllAtOnce, &hosts), vec![0..4]);
        let rolling = Strategy::Rolling { batch: Amount::Percent(25.0), max_failures: Amount::Count(0) };
        assert_eq!(batch_ranges(&rolling, &hosts), vec![0..1, 1..2, 2..3, 3..4]);
        let rolling = Strategy::Rolling { batch: Amount::Count(3), max_failures: Amount::Count(0) };
        assert_eq!(batch_ranges(&rolling, &hosts), vec![0..3, 3..4]);
        assert!(batch_ranges(&Strategy::AllAtOnce, &[]).is_empty());
    }
}
