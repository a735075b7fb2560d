//! The state store: what deploy did, durably. Deployments, the node runs of
//! each, the event journal, per-environment versions, known-bad versions,
//! leases and approvals — behind one [`StateStore`] trait with two backends
//! (SQLite embedded, PostgreSQL shared) that share one versioned schema
//! ([`schema`]) and one implementation of the semantics ([`store`]).
//!
//! Every method runs in a transaction; every time is milliseconds since the
//! Unix epoch (UTC). docs/state.md describes the schema, locks and what a
//! crash leaves behind.

pub(crate) mod claims;
pub(crate) mod commit_store;
pub(crate) mod commits;
pub(crate) mod error;
pub(crate) mod heartbeat;
pub(crate) mod history;
pub(crate) mod host_checks;
pub(crate) mod host_outcome;
pub(crate) mod host_store;
pub(crate) mod hosts;
pub mod journal;
pub(crate) mod lease;
pub(crate) mod location;
pub(crate) mod postgres;
pub(crate) mod records;
pub(crate) mod schema;
pub(crate) mod sql;
pub(crate) mod sqlite;
pub(crate) mod store;

pub use claims::Claim;
pub use commits::{CommitRecord, CommitStatus, WatcherRecord};
pub use error::{StateError, StateResult};
pub use host_checks::HostCheckRecord;
pub use hosts::{HostChange, HostRecord, HostState, HostVersion};
pub use location::StateLocation;
pub use records::*;

/// Everything the commands ask of a store. Implemented once, over SQL, by
/// [`store::SqlStore`] for both backends.
pub trait StateStore: Send {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// A path, or a URL without its password.
    fn location(&self) -> String;

    // Deployments.
    fn insert_deployment(&mut self, deployment: &Deployment) -> StateResult<()>;
    fn deployment(&mut self, run_id: &str) -> StateResult<Option<Deployment>>;
    /// Newest first.
    fn deployments(&mut self, query: &DeploymentQuery) -> StateResult<Vec<Deployment>>;
    /// The deployments recorded as running or paused (a running one whose
    /// process is gone has crashed), newest first.
    fn unfinished_deployments(&mut self) -> StateResult<Vec<Deployment>> {
        let all = self.deployments(&DeploymentQuery::default())?;
        Ok(all
            .into_iter()
            .filter(|deployment| matches!(deployment.status, DeploymentStatus::Running | DeploymentStatus::Paused))
            .collect())
    }
    fn set_status(&mut self, run_id: &str, status: DeploymentStatus) -> StateResult<()>;
    /// A paused or crashed run continues in a new process: running again,
    /// unless it changed since it was read as `seen` (another resume or a
    /// rollback came first: [`Claim::Lost`] names it).
    fn resume_deployment(&mut self, seen: &Deployment, holder: &Holder, now: i64) -> StateResult<Claim>;
    /// Inserts the row of a rollback unless the run it undoes was undone
    /// since or another live rollback of it is going on ([`Claim::Lost`]).
    fn start_rollback(&mut self, rollback: &Deployment, me: &Holder, ttl_ms: i64) -> StateResult<Claim>;
    /// The run ended; a successful `run` also becomes the current version of
    /// its environments (the old current one becomes the previous one).
    fn finish_deployment(&mut self, finish: &Finish) -> StateResult<()>;
    /// A `deploy rollback` succeeded: versions move back, the undone version
    /// is marked bad, the undone deployment remembers who undid it.
    fn record_rollback(&mut self, rollback: &RollbackRecord) -> StateResult<()>;

    // Versions.
    fn environment_versions(&mut self, pipeline: Option<&str>) -> StateResult<Vec<EnvironmentVersion>>;
    fn bad_versions(&mut self, pipeline: &str) -> StateResult<Vec<BadVersion>>;

    // Hosts.
    /// Writes what a run did to hosts, in one transaction, and sums up
    /// their environments again (version of most hosts, mixed or not).
    fn record_hosts(&mut self, record: &HostRecord) -> StateResult<()>;
    /// Every host's current record (of `pipeline`).
    fn host_versions(&mut self, pipeline: Option<&str>) -> StateResult<Vec<HostVersion>>;
    /// Replaces each host's last `deploy verify` with these.
    fn record_checks(&mut self, checks: &[HostCheckRecord]) -> StateResult<()>;
    /// The last `deploy verify` of every host (of `pipeline`).
    fn host_checks(&mut self, pipeline: Option<&str>) -> StateResult<Vec<HostCheckRecord>>;
    /// The host changes the runs `run_ids` made.
    fn host_changes_of_runs(&mut self, run_ids: &[String]) -> StateResult<Vec<HostVersion>>;
    /// Every change of the hosts of `pipeline`, newest first.
    fn host_history(&mut self, pipeline: &str) -> StateResult<Vec<HostVersion>>;

    // Journal and node runs.
    /// The seq the next event of `run_id` gets in the journal.
    fn next_seq(&mut self, run_id: &str) -> StateResult<u64>;
    /// Appends events (already numbered for the journal) and the node-run
    /// changes they imply, in one transaction.
    fn append_journal(&mut self, run_id: &str, events: &[JournalEntry], changes: &[NodeRunChange]) -> StateResult<()>;
    fn journal(&mut self, run_id: &str) -> StateResult<Vec<JournalEntry>>;
    /// The journal entries of `run_id` of one event type (`rollback_step`).
    fn journal_of_type(&mut self, run_id: &str, kind: &str) -> StateResult<Vec<JournalEntry>>;
    fn node_runs(&mut self, run_id: &str) -> StateResult<Vec<NodeRun>>;

    // Leases.
    /// Takes every scope of the request, or none of them.
    fn acquire_leases(&mut self, request: &LeaseRequest) -> StateResult<LeaseOutcome>;
    /// Refreshes the leases and the deployment of `run_id`; returns how many
    /// leases it still holds.
    fn heartbeat(&mut self, run_id: &str, now: i64) -> StateResult<usize>;
    fn release_leases(&mut self, run_id: &str) -> StateResult<()>;
    /// Drops the lease of `scope` (or of every scope of `pipeline`); returns what was dropped.
    fn force_release(&mut self, pipeline: &str, environment: Option<&str>) -> StateResult<Vec<Lease>>;
    fn leases(&mut self) -> StateResult<Vec<Lease>>;

    // Approvals given with `deploy approve`.
    fn add_approval(&mut self, run_id: &str, gate: &str, approver: &str, now: i64) -> StateResult<()>;
    fn approvals(&mut self, run_id: &str) -> StateResult<Vec<Approval>>;

    // What `deploy watch` saw and does.
    /// Inserts the commit, or updates what became of it.
    fn record_commit(&mut self, commit: &CommitRecord) -> StateResult<()>;
    /// The commits of `pipeline`, newest seen first.
    fn commits(&mut self, pipeline: Option<&str>, limit: usize) -> StateResult<Vec<CommitRecord>>;
    fn commit(&mut self, pipeline: &str, commit: &str) -> StateResult<Option<CommitRecord>>;
    /// The commits the runs `run_ids` deployed (or tried to).
    fn commits_of_runs(&mut self, run_ids: &[String]) -> StateResult<Vec<CommitRecord>>;
    fn record_watcher(&mut self, watcher: &WatcherRecord) -> StateResult<()>;
    fn watchers(&mut self) -> StateResult<Vec<WatcherRecord>>;
    /// Drops the row of `pipeline` if this process (`machine`, `pid`) wrote it.
    fn remove_watcher(&mut self, pipeline: &str, machine: &str, pid: i64) -> StateResult<()>;
}

/// Opens the store at `location`; `create` makes a missing SQLite file.
/// `Ok(None)`: no SQLite file yet and `create` is false.
pub fn open(location: &StateLocation, create: bool) -> StateResult<Option<Box<dyn StateStore>>> {
    match location {
        StateLocation::Sqlite(path) => Ok(sqlite::SqliteConnection::open(path, create)?
            .map(|connection| Box::new(store::SqlStore::new(connection)) as Box<dyn StateStore>)),
        StateLocation::Postgres(url) => {
            Ok(Some(Box::new(store::SqlStore::new(postgres::PostgresConnection::open(url)?))))
        }
    }
}

/// Opens the store at `location` to read it (`deploy status`, `history`,
/// `logs`). A SQLite file is opened read-only and nothing is created, so a
/// write-protected store can be read. A store of an older schema is never
/// upgraded here (the deploy that wrote it can still open it): it is read
/// as it is, with what later schemas add read as empty tables and default
/// columns ([`schema::shadow_newer`]); what still cannot be answered says
/// that it must be opened writable once ([`StateError::Outdated`]).
/// PostgreSQL likewise (`pg_temp`). `Ok(None)`: no SQLite file.
pub fn open_read_only(location: &StateLocation) -> StateResult<Option<Box<dyn StateStore>>> {
    let path = match location {
        StateLocation::Sqlite(path) => path,
        StateLocation::Postgres(url) => return postgres_reader(url).map(Some),
    };
    let Some((connection, version)) = sqlite::SqliteConnection::open_reader(path)? else { return Ok(None) };
    if version >= schema::SCHEMA_VERSION {
        return Ok(Some(Box::new(store::SqlStore::new(connection))));
    }
    // An older store is read as it is, never migrated here (the deploy that
    // wrote it can still open it): what later schemas add reads as empty
    // tables and default columns, on this connection only.
    let mut connection = connection;
    if sql::SqlConnection::batch(&mut connection, &schema::shadow_newer(version, "main")).is_err() {
        let Some((plain, _)) = sqlite::SqliteConnection::open_reader(path)? else { return Ok(None) };
        connection = plain;
    }
    Ok(Some(Box::new(store::SqlStore::new(schema::OutdatedReader::new(connection, version)))))
}

/// A PostgreSQL store to read: a current one as it is; an older one (or
/// an empty database) is not migrated, what later schemas add is shadowed
/// in this session's `pg_temp`, as for SQLite.
fn postgres_reader(url: &str) -> StateResult<Box<dyn StateStore>> {
    let (mut connection, version, schema_name) = postgres::PostgresConnection::open_reader(url)?;
    if version >= schema::SCHEMA_VERSION {
        return Ok(Box::new(store::SqlStore::new(connection)));
    }
    let main = format!("\"{}\"", schema_name.replace('"', "\"\""));
    sql::SqlConnection::batch(&mut connection, &schema::shadow_newer(version, &main))?;
    Ok(Box::new(store::SqlStore::new(schema::OutdatedReader::new(connection, version))))
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A time for people: `2024-05-01 12:00:03 UTC`.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}
