//! What every run does around the engine once its lease is held: the
//! heartbeat, the journal as the first event consumer (each on a connection
//! of its own), and recording how it ended.

use tokio::sync::mpsc::UnboundedReceiver;

use super::error::{SessionError, SessionErrorKind, SessionResult};
use super::lease::LeaseGuard;
use super::reporter::Reporter;
use super::runtime::{block_on, Interrupts};
use crate::engine::{EventSink, RunReport};
use crate::graph::ExecutionGraph;
use crate::record::event::RunStatus;
use crate::record::warning::Warnings;
use crate::state::heartbeat::Heartbeat;
use crate::state::journal::{JournalHealth, JournalSink, NodeIndex};
use crate::state::lease::{heartbeat_interval, ttl};
use crate::state::{DeploymentStatus, Finish, StateLocation, StateStore};

/// How a run ended, and what could not be recorded about it.
pub struct RunEnd {
    pub run_id: String,
    pub report: RunReport,
    /// Bookkeeping that failed after the engine finished (the end not
    /// recorded, the lock not released, journal entries lost).
    pub problems: Vec<SessionError>,
    /// Why the run did not succeed (a pause is no failure), with where.
    pub failure: Option<SessionError>,
}

/// Where a run's events go and who may interrupt it.
pub struct Drive<'a> {
    pub location: &'a StateLocation,
    pub graph: &'a ExecutionGraph,
    /// The journal seq of the run's first event in this process.
    pub base_seq: u64,
    /// The consumers after the journal: a terminal view, JSON, a server's stream.
    pub views: Vec<Box<dyn EventSink>>,
    pub interrupts: Interrupts,
    pub reporter: &'a dyn Reporter,
}

/// When the runtime could not even start.
pub fn interrupted_report() -> RunReport {
    RunReport { status: RunStatus::Interrupted, summary: Default::default(), duration_ms: 0 }
}

fn open(location: &StateLocation) -> SessionResult<Box<dyn StateStore>> {
    crate::state::open(location, true)?.ok_or_else(|| {
        SessionError::new(SessionErrorKind::State, format!("no deploy state at {}", location.describe()))
    })
}

impl Drive<'_> {
    /// Runs `engine` with the heartbeat going and the journal first among
    /// the sinks; `engine` puts the [`Warnings`] it is given into its parts,
    /// so the heartbeat's, the journal's and the signal listener's warnings
    /// are events of the run. A run whose bookkeeping could not start is
    /// marked crashed.
    pub fn run<F, Fut>(self, guard: &mut LeaseGuard, engine: F) -> SessionResult<(RunReport, JournalHealth)>
    where
        F: FnOnce(Vec<Box<dyn EventSink>>, UnboundedReceiver<()>, Warnings) -> Fut,
        Fut: std::future::Future<Output = RunReport>,
    {
        let run_id = guard.run_id().to_string();
        let stores = open(self.location).and_then(|heartbeat| Ok((heartbeat, open(self.location)?)));
        let (heartbeat_store, journal_store) = match stores {
            Ok(stores) => stores,
            Err(error) => {
                let _ = guard.store().set_status(&run_id, DeploymentStatus::Crashed);
                return Err(error);
            }
        };
        let warnings = Warnings::default();
        let heartbeat = Heartbeat::start(heartbeat_store, &run_id, heartbeat_interval(ttl()), warnings.clone());
        let health = JournalHealth::warning_through(warnings.clone());
        let journal =
            JournalSink::start(journal_store, &run_id, self.base_seq, NodeIndex::of(self.graph), health.clone());
        let mut sinks: Vec<Box<dyn EventSink>> = vec![Box::new(journal)];
        sinks.extend(self.views);
        let engine_warnings = warnings.clone();
        let report = match block_on(self.graph, self.interrupts, &warnings, move |interrupts| {
            engine(sinks, interrupts, engine_warnings)
        }) {
            Ok(report) => report,
            Err(error) => {
                self.reporter.notice(&format!("error: {error}"));
                interrupted_report()
            }
        };
        heartbeat.stop();
        // What no event could carry any more (the bus had closed) is still said.
        for warning in warnings.take() {
            self.reporter.notice(&format!("warning: {}", warning.message));
        }
        Ok((report, health))
    }
}

/// Records the end of a run (the lease stays held: see [`release`]).
pub fn record_end(guard: &mut LeaseGuard, finish: &Finish, health: &JournalHealth) -> Vec<SessionError> {
    record_end_with(guard, finish, health, Vec::new())
}

/// [`record_end`] after `problems` found before.
pub fn record_end_with(
    guard: &mut LeaseGuard,
    finish: &Finish,
    health: &JournalHealth,
    mut problems: Vec<SessionError>,
) -> Vec<SessionError> {
    if let Err(error) = guard.store().finish_deployment(finish) {
        problems.push(
            SessionError::new(
                SessionErrorKind::State,
                format!("the end of run {} could not be recorded", finish.run_id),
            )
            .with_code("end_not_recorded")
            .caused_by(error),
        );
    }
    if let Some(error) = health.error() {
        problems.push(
            SessionError::new(
                SessionErrorKind::State,
                format!("part of the journal of run {} was not written", finish.run_id),
            )
            .with_code("journal_not_written")
            .caused_by(error),
        );
    }
    problems
}

/// Releases the lease, adding a failure to `problems`.
pub fn release(guard: LeaseGuard, problems: &mut Vec<SessionError>) {
    if let Err(error) = guard.release() {
        problems.push(error);
    }
}

/// The row's end for a report.
pub fn finish_of(run_id: &str, report: &RunReport, promote: Option<crate::state::Promotion>) -> Finish {
    Finish {
        run_id: run_id.to_string(),
        status: DeploymentStatus::from_run(report.status),
        exit_code: i64::from(report.status.exit_code().code()),
        ended_at: crate::state::now_ms(),
        promote,
        hosts: None,
    }
}

/// The end of a run of `deploy run` or `deploy resume`: how it ended, and
/// what it did to each host it touched (read from its node runs and
/// journal, written with the end in one transaction). Hosts that could not
/// be worked out are a problem, not a lost end.
pub fn run_finish(
    guard: &mut LeaseGuard,
    report: &RunReport,
    pipeline: &str,
    version: &str,
    topology: &crate::state::host_outcome::Topology,
    problems: &mut Vec<SessionError>,
) -> Finish {
    let run_id = guard.run_id().to_string();
    let mut finish = finish_of(&run_id, report, None);
    match super::host_record::run_hosts(guard.store(), pipeline, &run_id, version, topology) {
        Ok(hosts) => {
            finish.promote = hosts.promote.filter(|_| report.status == RunStatus::Succeeded);
            finish.hosts = Some(hosts.record);
        }
        Err(error) => problems.push(
            SessionError::new(SessionErrorKind::State, format!("the hosts of run {run_id} could not be recorded"))
                .with_code("hosts_not_recorded")
                .caused_by(error),
        ),
    }
    finish
}
