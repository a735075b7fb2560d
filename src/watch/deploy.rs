//! Deploying one commit: its plan checked out into a worktree, `version`
//! and `commit` bound, the run started through [`crate::session`] like
//! `deploy run` does; and what became of it, recorded on the commit.

use std::path::PathBuf;

use super::watcher::{short, Watcher};
use crate::engine::{Approvals, EventSink, RunOptions, DEFAULT_MAX_PARALLEL};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;
use crate::record::event::RunStatus;
use crate::session::{Interrupts, LockWait, ResumeRequest, RunEnd, RunRequest, SessionErrorKind};
use crate::state::{CommitRecord, CommitStatus, DeploymentStatus};

/// Who approves for the watcher: nobody (gates pause and wait).
const APPROVER: &str = "deploy-watch";

impl Watcher {
    fn worktree(&self, hash: &str) -> PathBuf {
        self.config.work_dir.join("worktrees").join(short(hash))
    }

    fn views(&self) -> Vec<Box<dyn EventSink>> {
        if self.json {
            vec![Box::new(crate::engine::view::JsonView::new(std::io::stdout()))]
        } else {
            vec![Box::new(crate::engine::view::PlainView::new(std::io::stdout()))]
        }
    }

    fn save(&mut self, record: &CommitRecord) {
        if let Err(error) = self.store.record_commit(record) {
            self.reporter.notice(&format!("error: cannot record commit {}: {error}", short(&record.commit)));
        }
    }

    fn mark_bad(&mut self, mut record: CommitRecord, reason: String) {
        self.reporter.notice(&format!("commit {} is bad: {reason}; it will not be retried", short(&record.commit)));
        record.status = CommitStatus::Bad;
        record.reason = Some(reason);
        self.save(&record);
    }

    /// Runs the plan as it is at `record.commit`; whether a run went on
    /// (then the queue is looked at again).
    pub(super) fn deploy(&mut self, mut record: CommitRecord) -> bool {
        let hash = record.commit.clone();
        self.tried.push(hash.clone());
        let worktree = self.worktree(&hash);
        if let Err(error) = self.git.add_worktree(&worktree, &hash) {
            self.reporter.notice(&format!("error: cannot check out {}: {error}", short(&hash)));
            return false;
        }
        let plan = worktree.join(&self.config.plan_in_repo);
        let reporter = self.reporter.clone();
        let Ok(graph) = crate::session::load::load_graph(&plan, &self.config.sets, reporter.as_ref()) else {
            self.git.remove_worktree(&worktree);
            self.mark_bad(record, format!("the plan {} does not check", self.config.plan_in_repo.display()));
            return true;
        };
        let sets = sets_with_commit(&graph, &self.config.sets, &hash);
        let Ok(mut inputs) = crate::session::load::load_inputs(&graph, &sets, reporter.as_ref()) else {
            self.git.remove_worktree(&worktree);
            self.mark_bad(record, "the plan's params or secrets cannot be resolved".into());
            return true;
        };
        if let Some(every) = graph.plan.pipeline.watch.as_ref().and_then(|watch| watch.every) {
            if !self.every_fixed {
                self.config.every = every;
            }
        }
        bind_commit(&graph, &mut inputs, &hash);
        self.pipeline = graph.plan.pipeline.name.clone();
        record.pipeline = self.pipeline.clone();
        let options = run_options(&graph);
        record.status = CommitStatus::Deploying;
        record.run_id = Some(options.run_id.clone());
        self.save(&record);
        self.set_state(
            "running",
            &format!("deploying {} ({}) as run {}", short(&hash), record.subject, options.run_id),
        );
        let (interrupt, interrupts) = Interrupts::channel();
        self.control.set_run(Some(interrupt));
        let request = RunRequest {
            location: self.config.state.clone(),
            graph,
            inputs,
            options,
            lock: LockWait { timeout: std::time::Duration::ZERO, message: format!("deploy watch: {}", short(&hash)) },
            views: self.views(),
            interrupts,
        };
        let ended = crate::session::start::start(request, reporter.as_ref());
        self.control.set_run(None);
        match ended {
            Ok(end) => {
                self.ended(record, &end);
                true
            }
            Err(error) if error.kind == SessionErrorKind::Locked => {
                // Someone else deploys this pipeline: try again at the next fetch.
                self.reporter.notice(&format!("{}; {} waits for the next fetch", error.message, short(&hash)));
                record.status = CommitStatus::Queued;
                record.run_id = None;
                self.save(&record);
                self.git.remove_worktree(&worktree);
                false
            }
            Err(error) => {
                self.reporter.notice(&format!("error: {}", error.message));
                record.status = CommitStatus::Queued;
                record.run_id = None;
                self.save(&record);
                self.git.remove_worktree(&worktree);
                false
            }
        }
    }

    /// Records how the run of a commit ended.
    fn ended(&mut self, mut record: CommitRecord, end: &RunEnd) {
        for problem in &end.problems {
            self.reporter.notice(&format!("error: {}", problem.message));
        }
        self.settle(&mut record, DeploymentStatus::from_run(end.report.status));
        if end.report.status == RunStatus::Interrupted {
            self.reporter.notice(&format!("run {} of {} was interrupted", end.run_id, short(&record.commit)));
        }
    }

    /// What a run's status means for its commit.
    fn settle(&mut self, record: &mut CommitRecord, status: DeploymentStatus) {
        let worktree = self.worktree(&record.commit);
        match status {
            DeploymentStatus::Succeeded => {
                self.reporter.notice(&format!("deployed {} ({})", short(&record.commit), record.subject));
                record.status = CommitStatus::Deployed;
                self.save(record);
                self.keep_only(&record.commit.clone());
                if let Some(plan) = &self.control.plan {
                    plan.set(worktree.join(&self.config.plan_in_repo));
                }
            }
            DeploymentStatus::RolledBack | DeploymentStatus::Aborted | DeploymentStatus::RollbackFailed => {
                let run = record.run_id.clone().unwrap_or_default();
                self.mark_bad(record.clone(), format!("run {run} {}", status.as_str()));
                self.git.remove_worktree(&worktree);
            }
            DeploymentStatus::Abandoned => {
                record.status = CommitStatus::Superseded;
                record.reason = Some("its paused run was superseded by a newer run".into());
                self.save(record);
                self.git.remove_worktree(&worktree);
            }
            DeploymentStatus::Interrupted => {
                // Stopped by a signal: not the commit's fault; the next start deploys it again.
                record.status = CommitStatus::Queued;
                record.reason = Some("its run was interrupted".into());
                self.save(record);
            }
            DeploymentStatus::Running | DeploymentStatus::Paused | DeploymentStatus::Crashed => {}
        }
    }

    /// The plan at `head` names the pipeline (and its `watch { every }`)
    /// when FILE is not here to read.
    pub(super) fn discover_pipeline(&mut self, head: &str) {
        let worktree = self.worktree(head);
        // A worktree of this commit is left in place: a crashed run of it
        // may be resumed from it right now (by `deploy resume` in another
        // terminal), and replacing it would pull the directory from under
        // that run's steps.
        let checked_out = worktree.join(&self.config.plan_in_repo).is_file();
        if !checked_out && self.git.add_worktree(&worktree, head).is_err() {
            return;
        }
        let checked = crate::check::check_file_with(&worktree.join(&self.config.plan_in_repo), &[]);
        if let Some(plan) = checked.plan {
            if self.stem_recorded && self.pipeline != plan.pipeline.name {
                let me = crate::state::Holder::current("");
                let _ = self.store.remove_watcher(&self.pipeline, &me.machine, me.pid);
            }
            self.pipeline = plan.pipeline.name.clone();
            if let (Some(every), false) = (plan.pipeline.watch.as_ref().and_then(|watch| watch.every), self.every_fixed)
            {
                self.config.every = every;
            }
            self.pipeline_known = true;
        }
    }

    /// Commits whose run went on elsewhere (resumed by the API or `deploy
    /// resume`): records how it ended.
    pub(super) fn settle_deploying(&mut self) {
        let Ok(commits) = self.store.commits(Some(&self.pipeline), 50) else { return };
        let me = crate::state::Holder::current("");
        for mut commit in commits.into_iter().filter(|commit| commit.status == CommitStatus::Deploying) {
            let Some(run_id) = commit.run_id.clone() else { continue };
            let Ok(Some(deployment)) = self.store.deployment(&run_id) else { continue };
            let status = crate::session::liveness::effective_status(&deployment, &me);
            self.settle(&mut commit, status);
        }
    }

    /// A run of the pipeline whose process died: resumed from its journal.
    pub(super) fn resume_crashed(&mut self, run_id: &str) {
        self.reporter.notice(&format!("run {run_id} crashed; resuming it from its journal"));
        let (interrupt, interrupts) = Interrupts::channel();
        self.control.set_run(Some(interrupt));
        let request = ResumeRequest {
            location: self.config.state.clone(),
            run: Some(run_id.to_string()),
            plan: None,
            allow_changed_plan: false,
            approvals: Approvals { approver: APPROVER.into(), interactive: false, ..Approvals::default() },
            max_parallel: None,
            lock: LockWait::default(),
            views: self.views(),
            interrupts,
        };
        let reporter = self.reporter.clone();
        let ended = crate::session::resume::resume(request, reporter.as_ref());
        self.control.set_run(None);
        match ended {
            // Another process (`deploy resume`, the API) resumed it first, or
            // holds the pipeline: the run goes on there, in this worktree.
            Err(error) if matches!(error.code, "already_running" | "already_resumed" | "lock_held") => {
                self.reporter.notice(&format!("{}; run {run_id} goes on there", error.message));
                return;
            }
            // It cannot be resumed (its worktree is gone, its plan changed):
            // it no longer holds the queue.
            Err(error) => {
                self.reporter.notice(&format!("error: {}; run {run_id} is left as abandoned", error.message));
                let _ = self.store.set_status(run_id, DeploymentStatus::Abandoned);
            }
            Ok(_) => {}
        }
        self.settle_deploying();
    }

    /// Removes the worktrees of every commit but `keep` and those whose run
    /// is not finished (a paused or crashed run resumes from its worktree).
    fn keep_only(&mut self, keep: &str) {
        let Ok(entries) = std::fs::read_dir(self.config.work_dir.join("worktrees")) else { return };
        let unfinished: Vec<String> = self
            .store
            .commits(Some(&self.pipeline), 50)
            .unwrap_or_default()
            .into_iter()
            .filter(|commit| commit.status == CommitStatus::Deploying)
            .map(|commit| short(&commit.commit).to_string())
            .collect();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name != short(keep) && !unfinished.contains(&name) {
                self.git.remove_worktree(&entry.path());
            }
        }
    }
}

/// `--set` and, when the plan declares `param version` without a default
/// and no `--set version=` is given, `version=` the commit: a required
/// `version` is what the watcher supplies (it is not a bad plan).
fn sets_with_commit(graph: &ExecutionGraph, sets: &[String], hash: &str) -> Vec<String> {
    let mut sets = sets.to_vec();
    let required = graph.plan.params.iter().any(|param| param.name == "version" && param.default.is_none());
    let given = sets.iter().any(|set| set.split_once('=').is_some_and(|(name, _)| name.trim() == "version"));
    if required && !given {
        sets.push(format!("version={}", short(hash)));
    }
    sets
}

/// The commit's values: `commit`, and `version` unless the plan's `version`
/// param has a default of its own (then it keeps it).
fn bind_commit(graph: &ExecutionGraph, inputs: &mut ResolvedInputs, hash: &str) {
    let declared = graph.plan.params.iter().find(|param| param.name == "version");
    if declared.map_or(true, |param| param.default.is_none()) || inputs.param("version").is_none() {
        inputs.bind("version", short(hash));
    }
    inputs.bind("commit", hash);
}

/// How `deploy watch` runs a commit: unattended, within the plan's `max_parallel`.
fn run_options(graph: &ExecutionGraph) -> RunOptions {
    RunOptions {
        max_parallel: graph.plan.pipeline.max_parallel.unwrap_or(DEFAULT_MAX_PARALLEL).max(1),
        approvals: Approvals { approver: APPROVER.into(), interactive: false, ..Approvals::default() },
        kill_grace: crate::session::kill_grace(),
        ..RunOptions::default()
    }
}
