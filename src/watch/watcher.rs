//! The watcher's loop: fetch the branch (every `every`, or at once when a
//! webhook or a signal wakes it), note the new commits, and deploy the
//! newest one when nothing holds the queue; older new commits are recorded
//! as superseded. A commit is deployed at most once automatically: its
//! status (deployed, bad, superseded) is kept in the state.

use crate::session::error::{SessionError, SessionResult};
use std::sync::Arc;
use std::time::Duration;

use super::config::WatchConfig;
use super::control::WatchControl;
use super::git::Git;
use super::hold::{hold, Hold};
use crate::session::Reporter;
use crate::state::{now_ms, CommitRecord, CommitStatus, Holder, StateStore, WatcherRecord};

/// The longest wait between two fetches after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How many new commits one fetch looks at.
const MAX_NEW_COMMITS: usize = 200;

pub struct Watcher {
    pub(super) config: WatchConfig,
    pub(super) git: Git,
    pub(super) store: Box<dyn StateStore>,
    pub(super) control: Arc<WatchControl>,
    pub(super) reporter: Arc<dyn Reporter>,
    /// The pipeline's name, from the plan (the local FILE, else the first commit's).
    pub(super) pipeline: String,
    pub(super) json: bool,
    pub(super) record: WatcherRecord,
    failures: u32,
    /// The commits this process started a run for.
    pub(super) tried: Vec<String>,
    /// `--every` was given: the plan's `watch { every }` does not change it.
    pub every_fixed: bool,
    /// The pipeline's name came from a plan (else from FILE's name, until
    /// the plan at the first head is read).
    pub pipeline_known: bool,
    /// A row named after FILE was written (a fetch failed before the plan
    /// was read): it goes when the pipeline's name is known.
    pub(super) stem_recorded: bool,
    /// The start line was printed (it waits for the plan's `every`).
    announced: bool,
}

impl Watcher {
    pub fn new(
        config: WatchConfig,
        store: Box<dyn StateStore>,
        control: Arc<WatchControl>,
        reporter: Arc<dyn Reporter>,
        pipeline: String,
        json: bool,
    ) -> SessionResult<Watcher> {
        let git = Git::open(&config.work_dir.join("repo.git"), &config.repo)?;
        let me = Holder::current("");
        let record = WatcherRecord {
            pipeline: pipeline.clone(),
            repo: config.repo.clone(),
            branch: config.branch.clone(),
            owner: me.owner,
            machine: me.machine,
            pid: me.pid,
            state: "starting".into(),
            detail: String::new(),
            head: None,
            last_fetch_at: None,
            last_error: None,
            updated_at: now_ms(),
        };
        Ok(Watcher {
            config,
            git,
            store,
            control,
            reporter,
            pipeline,
            json,
            record,
            failures: 0,
            tried: Vec::new(),
            every_fixed: false,
            pipeline_known: false,
            stem_recorded: false,
            announced: false,
        })
    }

    /// Watches until stopped.
    pub fn run(mut self) {
        // Without FILE here, the plan at the first head says how often.
        if self.pipeline_known || self.every_fixed {
            self.announce();
        }
        while !self.control.is_stopping() {
            self.set_state("fetching", "");
            let wait = match self.git.fetch(&self.config.branch) {
                Ok(()) => {
                    self.failures = 0;
                    self.record.last_fetch_at = Some(now_ms());
                    self.record.last_error = None;
                    match self.git.head(&self.config.branch) {
                        Some(head) => self.step(&head),
                        None => self.set_state("idle", "the branch has no commits"),
                    }
                    self.config.every
                }
                Err(error) => self.fetch_failed(error),
            };
            if self.control.is_stopping() {
                break;
            }
            self.control.sleep(wait);
        }
        self.set_state("stopped", "");
    }

    /// The start line: what is watched, how often, which plan.
    pub(super) fn announce(&mut self) {
        if self.announced {
            return;
        }
        self.announced = true;
        self.reporter.notice(&format!(
            "watching {} branch {} every {} (plan {})",
            self.config.repo,
            self.config.branch,
            crate::duration::format_duration(self.config.every),
            self.config.plan_in_repo.display()
        ));
    }

    /// Logs the failure and gives the backoff before the next fetch.
    fn fetch_failed(&mut self, error: SessionError) -> Duration {
        self.announce();
        self.failures += 1;
        let factor = 2u32.saturating_pow(self.failures.min(16));
        let wait = self.config.every.max(Duration::from_secs(1)).saturating_mul(factor).min(MAX_BACKOFF);
        self.reporter.notice(&format!(
            "error: fetching {} from {} failed (attempt {}): {error}; retrying in {}",
            self.config.branch,
            self.config.repo,
            self.failures,
            crate::duration::format_duration(wait)
        ));
        self.record.last_error = Some(error.to_string());
        self.set_state(
            "backing_off",
            &format!("the last fetch failed; next one in {}", crate::duration::format_duration(wait)),
        );
        wait
    }

    /// One look at the branch whose head is `head`.
    fn step(&mut self, head: &str) {
        if let Some(known) = self.record.head.clone() {
            if known != head && !self.git.is_ancestor(&known, head) {
                self.reporter.notice(&format!(
                    "warning: the history of {} was rewritten (a force-push?): {} is no longer on it; \
                     following the new head {}",
                    self.config.branch,
                    short(&known),
                    short(head)
                ));
            }
        }
        self.record.head = Some(head.to_string());
        if !self.pipeline_known {
            self.discover_pipeline(head);
        }
        self.announce();
        if let Err(error) = self.note_new_commits(head) {
            self.reporter.notice(&format!("error: {error}"));
            return;
        }
        loop {
            if self.control.is_stopping() {
                return;
            }
            self.settle_deploying();
            match hold(self.store.as_mut(), &self.pipeline, &Holder::current("")) {
                Ok(Some(Hold::Crashed(run_id))) => {
                    self.set_state("running", &Hold::Crashed(run_id.clone()).describe());
                    self.resume_crashed(&run_id);
                    continue;
                }
                Ok(Some(held)) => return self.set_state("waiting", &held.describe()),
                Ok(None) => {}
                Err(error) => return self.reporter.notice(&format!("error: {error}")),
            }
            if !self.deploy_newest(head) {
                return;
            }
        }
    }

    /// Records the commits after the last one seen, oldest first, as queued.
    fn note_new_commits(&mut self, head: &str) -> SessionResult<()> {
        let seen = self.store.commits(Some(&self.pipeline), 1)?;
        let since = seen.first().map(|commit| commit.commit.clone()).filter(|last| self.git.is_ancestor(last, head));
        // The first start deploys the head; its history before is not queued.
        let new = match &since {
            Some(since) => self.git.first_parents(head, Some(since), MAX_NEW_COMMITS)?,
            None => vec![head.to_string()],
        };
        let now = now_ms();
        for hash in new.iter().rev() {
            if self.store.commit(&self.pipeline, hash)?.is_some() {
                continue;
            }
            let info = self.git.info(hash)?;
            let record = CommitRecord {
                pipeline: self.pipeline.clone(),
                commit: info.hash,
                branch: self.config.branch.clone(),
                author: info.author,
                subject: info.subject,
                committed_at: info.time.saturating_mul(1000),
                seen_at: now,
                status: CommitStatus::Queued,
                run_id: None,
                superseded_by: None,
                reason: None,
            };
            self.reporter.notice(&format!("new commit {} on {}: {}", short(hash), self.config.branch, record.subject));
            self.store.record_commit(&record)?;
        }
        Ok(())
    }

    /// Deploys `head` unless it was deployed, tried or superseded; the
    /// queued commits before it are superseded by it. Whether it ran.
    fn deploy_newest(&mut self, head: &str) -> bool {
        let record = match self.store.commit(&self.pipeline, head) {
            Ok(Some(record)) => record,
            Ok(None) => return false,
            Err(error) => {
                self.reporter.notice(&format!("error: {error}"));
                return false;
            }
        };
        if record.status != CommitStatus::Queued || record.reason.is_some() && self.deployed_once(head) {
            let detail = format!("{} is {}; waiting for a new commit", short(head), record.status.as_str());
            self.set_state("idle", &detail);
            return false;
        }
        self.supersede_queued(head);
        self.deploy(record)
    }

    /// Whether this process already ran `head` (an interrupted run is
    /// deployed again by the next watcher, not by the one that stopped it).
    fn deployed_once(&self, head: &str) -> bool {
        self.control.is_stopping() || self.tried.iter().any(|tried| tried == head)
    }

    fn supersede_queued(&mut self, newest: &str) {
        let Ok(queued) = self.store.commits(Some(&self.pipeline), MAX_NEW_COMMITS) else { return };
        for mut commit in queued.into_iter().filter(|commit| commit.status == CommitStatus::Queued) {
            if commit.commit == newest {
                continue;
            }
            self.reporter.notice(&format!("commit {} is superseded by {}", short(&commit.commit), short(newest)));
            commit.status = CommitStatus::Superseded;
            commit.superseded_by = Some(newest.to_string());
            if let Err(error) = self.store.record_commit(&commit) {
                self.reporter.notice(&format!("error: {error}"));
            }
        }
    }

    /// Says what the watcher does, here and in the state.
    pub(super) fn set_state(&mut self, state: &str, detail: &str) {
        let changed = self.record.state != state || self.record.detail != detail;
        self.record.state = state.to_string();
        self.record.detail = detail.to_string();
        self.record.pipeline = self.pipeline.clone();
        self.record.updated_at = now_ms();
        self.control.set_status(self.record.clone());
        if changed && !detail.is_empty() && state == "waiting" {
            self.reporter.notice(&format!("waiting: {detail}"));
        }
        // Named after FILE until the plan says: recorded only to show an error.
        if !self.pipeline_known {
            if self.record.last_error.is_none() {
                return;
            }
            self.stem_recorded = true;
        }
        if let Err(error) = self.store.record_watcher(&self.record) {
            self.reporter.notice(&format!("warning: cannot record the watcher's state: {error}"));
        }
    }
}

/// The first 7 hex digits.
pub fn short(hash: &str) -> &str {
    hash.get(..7).unwrap_or(hash)
}
