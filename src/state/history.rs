//! What past runs say about how long a stage takes on one host, read
//! without changing anything: `deploy simulate` times its steps with it.
//! A SQLite store is opened as an immutable file; a PostgreSQL one is only
//! queried (no migration runs).

use super::error::StateResult;
use super::location::StateLocation;
use super::sql::SqlConnection;

/// How long one unit (a stage on one host, all its attempts) took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitDuration {
    pub node: String,
    /// `""` for a stage without target.
    pub host: String,
    pub duration_ms: i64,
}

/// At most this many past units per stage are looked at (newest first).
pub const HISTORY_DEPTH: usize = 50;

/// The durations of the succeeded units of `pipeline`'s past runs, newest
/// first. No store: nothing.
pub fn unit_durations(location: &StateLocation, pipeline: &str) -> StateResult<Vec<UnitDuration>> {
    match location {
        StateLocation::Sqlite(path) => match super::sqlite::SqliteConnection::open_read_only(path)? {
            Some(mut connection) => query(&mut connection, pipeline),
            None => Ok(Vec::new()),
        },
        StateLocation::Postgres(url) => query(&mut super::postgres::PostgresConnection::connect(url)?, pipeline),
    }
}

fn query(connection: &mut dyn SqlConnection, pipeline: &str) -> StateResult<Vec<UnitDuration>> {
    let rows = connection.query(
        "SELECT n.node, n.host, n.duration_ms FROM node_runs n JOIN deployments d ON d.run_id = n.run_id \
         WHERE d.pipeline = $1 AND d.kind = 'run' AND n.kind = 'stage' AND n.status = 'succeeded' \
         AND n.duration_ms IS NOT NULL ORDER BY d.started_at DESC",
        &[pipeline.into()],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(UnitDuration { node: row.text(0)?, host: row.text(1)?, duration_ms: row.opt_int(2)?.unwrap_or(0) });
    }
    Ok(out)
}

/// The current version of each environment of `pipeline`, read without
/// changing anything: (environment, version).
pub fn current_versions(location: &StateLocation, pipeline: &str) -> StateResult<Vec<(String, String)>> {
    let sql = "SELECT environment, current_version FROM environment_versions WHERE pipeline = $1";
    let rows = match location {
        StateLocation::Sqlite(path) => match super::sqlite::SqliteConnection::open_read_only(path)? {
            Some(mut connection) => connection.query(sql, &[pipeline.into()])?,
            None => return Ok(Vec::new()),
        },
        StateLocation::Postgres(url) => {
            super::postgres::PostgresConnection::connect(url)?.query(sql, &[pipeline.into()])?
        }
    };
    rows.iter().map(|row| Ok((row.text(0)?, row.text(1)?))).collect()
}
