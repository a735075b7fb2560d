//! What each host runs, as data: its current record, every change of it,
//! and what one run changes. The SQL is in [`super::host_store`]; how a
//! run's journal becomes these changes is [`super::host_outcome`].

use serde::Serialize;

/// What a run left a host in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Every stage the run started on it succeeded.
    Ok,
    /// A failure its stage tolerated (`max_failures`): the run went on,
    /// this host did not make it; the version may be broken there.
    Failed,
    /// `deploy rollback` took it back to the version it records.
    Undone,
    /// A run crashed, was interrupted, failed on it without undoing it, or
    /// its rollback failed there: nothing proved either outcome.
    Unknown,
}

impl HostState {
    pub const ALL: [HostState; 4] = [HostState::Ok, HostState::Failed, HostState::Undone, HostState::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Ok => "ok",
            HostState::Failed => "failed",
            HostState::Undone => "undone",
            HostState::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<HostState> {
        HostState::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// A host's current record (`host_versions`), or one change of it (`host_history`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostVersion {
    pub pipeline: String,
    pub environment: String,
    pub host: String,
    pub version: String,
    /// What it ran before `version` (`""`: nothing recorded).
    pub previous_version: String,
    pub state: HostState,
    /// The run (or rollback) that made this record.
    pub run_id: String,
    pub updated_at: i64,
}

/// What one run did to one host.
#[derive(Clone, Debug, PartialEq)]
pub struct HostChange {
    pub environment: String,
    pub host: String,
    pub version: String,
    pub state: HostState,
    /// The version before; `None`: the store works it out (the host's
    /// version before this run).
    pub previous_version: Option<String>,
}

/// Every host change of one run, written in one transaction; the
/// environments the changes are in are summed up again afterwards.
#[derive(Clone, Debug, Default)]
pub struct HostRecord {
    pub pipeline: String,
    pub run_id: String,
    pub at: i64,
    pub changes: Vec<HostChange>,
    /// Each changed environment's hosts in the plan: a host of the plan
    /// without a record runs nothing deploy knows of, so a first `--limit`
    /// run makes its environment mixed. (An environment recorded before
    /// hosts were has its hosts recorded on its version first.)
    pub plan_hosts: Vec<(String, Vec<String>)>,
}

/// An environment summed up from its hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSum {
    /// The version of most hosts (ties: the one changed last).
    pub version: String,
    /// The run that last put a host on `version`.
    pub run_id: String,
    /// The hosts do not all run `version`.
    pub mixed: bool,
}

/// Sums up hosts `(version, run, updated_at)`; `None` when none has a version.
pub fn sum_hosts(hosts: &[(String, String, i64)]) -> Option<HostSum> {
    let mut counts: Vec<(&str, usize, i64, &str)> = Vec::new();
    for (version, run, at) in hosts {
        if version.is_empty() {
            continue;
        }
        match counts.iter_mut().find(|(seen, ..)| seen == version) {
            Some(entry) => {
                entry.1 += 1;
                if *at > entry.2 {
                    entry.2 = *at;
                    entry.3 = run;
                }
            }
            None => counts.push((version, 1, *at, run)),
        }
    }
    let best = counts.iter().max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)))?;
    let mixed = hosts.iter().any(|(version, ..)| version != best.0);
    Some(HostSum { version: best.0.to_string(), run_id: best.3.to_string(), mixed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(version: &str, run: &str, at: i64) -> (String, String, i64) {
        (version.to_string(), run.to_string(), at)
    }

    #[test]
    fn the_version_of_most_hosts_wins_and_a_difference_is_mixed() {
        let sum = sum_hosts(&[host("v1", "r1", 1), host("v1", "r1", 1), host("v2", "r2", 5)]);
        assert_eq!(sum, Some(HostSum { version: "v1".into(), run_id: "r1".into(), mixed: true }));
        let same = sum_hosts(&[host("v2", "r2", 5), host("v2", "r3", 9)]);
        assert_eq!(same, Some(HostSum { version: "v2".into(), run_id: "r3".into(), mixed: false }));
        // A host with nothing on it makes the environment mixed, but has no version to win.
        let partial = sum_hosts(&[host("", "", 0), host("", "", 0), host("v1", "r1", 3)]);
        assert_eq!(partial, Some(HostSum { version: "v1".into(), run_id: "r1".into(), mixed: true }));
        assert_eq!(sum_hosts(&[host("", "", 0)]), None);
        // A tie goes to the version changed last.
        let tie = sum_hosts(&[host("v1", "r1", 1), host("v2", "r2", 2)]);
        assert_eq!(tie.map(|sum| sum.version), Some("v2".to_string()));
    }
}
