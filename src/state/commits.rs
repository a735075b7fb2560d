//! What `deploy watch` records: each commit it saw on the branch and what
//! became of it (deployed by a run, bad, superseded by a newer one), and
//! what each watcher is doing now — so `deploy history` and `deploy status`
//! can say it from another process.

use serde::Serialize;

/// What became of a commit the watcher saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitStatus {
    /// Waiting for its turn (a run is going on, or one is paused).
    Queued,
    /// Its run is running or paused.
    Deploying,
    /// Its run succeeded.
    Deployed,
    /// Its run failed (rolled back, aborted, rollback failed, the plan did
    /// not check): never retried automatically.
    Bad,
    /// A newer commit arrived before its turn; it was skipped.
    Superseded,
}

impl CommitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitStatus::Queued => "queued",
            CommitStatus::Deploying => "deploying",
            CommitStatus::Deployed => "deployed",
            CommitStatus::Bad => "bad",
            CommitStatus::Superseded => "superseded",
        }
    }

    pub fn parse(text: &str) -> Option<CommitStatus> {
        [
            CommitStatus::Queued,
            CommitStatus::Deploying,
            CommitStatus::Deployed,
            CommitStatus::Bad,
            CommitStatus::Superseded,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One commit of the watched branch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommitRecord {
    pub pipeline: String,
    /// The full hash.
    pub commit: String,
    pub branch: String,
    pub author: String,
    pub subject: String,
    /// The commit's own time (ms since the epoch).
    pub committed_at: i64,
    /// When the watcher first saw it.
    pub seen_at: i64,
    pub status: CommitStatus,
    /// The run that deployed it (or tried to).
    pub run_id: Option<String>,
    /// The newer commit deployed instead.
    pub superseded_by: Option<String>,
    /// Why it is bad.
    pub reason: Option<String>,
}

/// What a watcher does now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WatcherRecord {
    pub pipeline: String,
    pub repo: String,
    pub branch: String,
    pub owner: String,
    pub machine: String,
    pub pid: i64,
    /// `idle`, `fetching`, `running`, `waiting`, `backing_off`, `stopped`.
    pub state: String,
    /// What it waits for, for people (`run X is paused at gate go_live`).
    pub detail: String,
    /// The newest commit of the branch it knows.
    pub head: Option<String>,
    pub last_fetch_at: Option<i64>,
    pub last_error: Option<String>,
    pub updated_at: i64,
}
