//! The last `deploy verify` of each host: what its probe found against the
//! store's record (in sync, drift, unreachable), kept so that `deploy
//! status`, the API and the dashboard show it beside the host's record.

use serde::Serialize;

use super::error::StateResult;
use super::sql::{transaction, Row, SqlConnection};

/// One host's last verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostCheckRecord {
    pub pipeline: String,
    pub environment: String,
    pub host: String,
    /// `in_sync`, `drift` or `unreachable`.
    pub status: String,
    /// What the store recorded for the host then.
    pub recorded: String,
    /// What the probe printed (`None`: it did not answer).
    pub found: Option<String>,
    pub error: Option<String>,
    pub checked_at: i64,
}

const COLUMNS: &str = "pipeline, environment, host, status, recorded, found, error, checked_at";

fn from_row(row: &Row) -> StateResult<HostCheckRecord> {
    Ok(HostCheckRecord {
        pipeline: row.text(0)?,
        environment: row.text(1)?,
        host: row.text(2)?,
        status: row.text(3)?,
        recorded: row.text(4)?,
        found: row.opt_text(5)?,
        error: row.opt_text(6)?,
        checked_at: row.int(7)?,
    })
}

/// Replaces each host's last check with these, in one transaction.
pub fn record_checks(connection: &mut dyn SqlConnection, checks: &[HostCheckRecord]) -> StateResult<()> {
    transaction(connection, |connection| {
        for check in checks {
            connection.execute(
                &format!(
                    "INSERT INTO host_checks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (pipeline, environment, host) DO UPDATE SET status = excluded.status, \
                     recorded = excluded.recorded, found = excluded.found, error = excluded.error, \
                     checked_at = excluded.checked_at"
                ),
                &[
                    (&check.pipeline).into(),
                    (&check.environment).into(),
                    (&check.host).into(),
                    (&check.status).into(),
                    (&check.recorded).into(),
                    check.found.as_deref().into(),
                    check.error.as_deref().into(),
                    check.checked_at.into(),
                ],
            )?;
        }
        Ok(())
    })
}

/// The last check of every host (of `pipeline`), by environment and host.
pub fn host_checks(connection: &mut dyn SqlConnection, pipeline: Option<&str>) -> StateResult<Vec<HostCheckRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM host_checks");
    let rows = match pipeline {
        Some(pipeline) => {
            connection.query(&format!("{sql} WHERE pipeline = $1 ORDER BY environment, host"), &[pipeline.into()])?
        }
        None => connection.query(&format!("{sql} ORDER BY pipeline, environment, host"), &[])?,
    };
    rows.iter().map(from_row).collect()
}
