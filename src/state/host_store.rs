//! The SQL of [`super::hosts`], for both backends: a run's host changes in
//! one transaction, with each changed environment summed up again.

use std::collections::HashSet;

use super::error::{StateError, StateResult};
use super::hosts::{sum_hosts, HostChange, HostRecord, HostState, HostVersion};
use super::sql::{transaction, Row, SqlConnection, SqlValue};

const HOST_COLUMNS: &str = "pipeline, environment, host, version, previous_version, state, run_id, updated_at";
const HISTORY_COLUMNS: &str = "pipeline, environment, host, version, previous_version, state, run_id, changed_at";

fn host_from(row: &Row, location: &str) -> StateResult<HostVersion> {
    let state = row.text(5)?;
    Ok(HostVersion {
        pipeline: row.text(0)?,
        environment: row.text(1)?,
        host: row.text(2)?,
        version: row.text(3)?,
        previous_version: row.text(4)?,
        state: HostState::parse(&state).ok_or_else(|| StateError::Corrupt {
            location: location.to_string(),
            message: format!("unknown host state `{state}`"),
        })?,
        run_id: row.text(6)?,
        updated_at: row.int(7)?,
    })
}

/// Writes every change of `record` and sums up the environments it changed.
pub fn record_hosts(connection: &mut dyn SqlConnection, record: &HostRecord) -> StateResult<()> {
    if record.changes.is_empty() {
        return Ok(());
    }
    transaction(connection, |connection| write_hosts(connection, record))
}

/// [`record_hosts`] inside a transaction the caller holds.
pub fn write_hosts(connection: &mut dyn SqlConnection, record: &HostRecord) -> StateResult<()> {
    let mut environments: Vec<&str> = Vec::new();
    for change in &record.changes {
        if !environments.contains(&change.environment.as_str()) {
            environments.push(&change.environment);
        }
    }
    for environment in &environments {
        adopt_environment(connection, record, environment)?;
    }
    for change in &record.changes {
        write_change(connection, record, change)?;
    }
    for environment in environments {
        sum_environment(connection, record, environment)?;
    }
    Ok(())
}

/// A store from before hosts were recorded: the first time a run changes a
/// host of an environment that has a version but no host records, every
/// host of the plan's environment is first recorded on that version (by the
/// run that deployed it), so the hosts the run does not touch keep what the
/// environment ran, and a rollback finds where each came from.
fn adopt_environment(connection: &mut dyn SqlConnection, record: &HostRecord, environment: &str) -> StateResult<()> {
    let rows = connection.query(
        "SELECT current_version, current_run, previous_version, updated_at FROM environment_versions \
         WHERE pipeline = $1 AND environment = $2",
        &[(&record.pipeline).into(), environment.into()],
    )?;
    let Some(row) = rows.first() else { return Ok(()) };
    let recorded = connection.query(
        "SELECT host FROM host_versions WHERE pipeline = $1 AND environment = $2",
        &[(&record.pipeline).into(), environment.into()],
    )?;
    if !recorded.is_empty() {
        return Ok(());
    }
    let (version, run, previous, at) = (row.text(0)?, row.text(1)?, row.text(2)?, row.int(3)?);
    for (_, hosts) in record.plan_hosts.iter().filter(|(name, _)| name == environment) {
        for host in hosts {
            let values: Vec<SqlValue> = vec![
                (&record.pipeline).into(),
                environment.into(),
                host.into(),
                (&version).into(),
                (&previous).into(),
                HostState::Ok.as_str().into(),
                (&run).into(),
                at.into(),
            ];
            upsert(connection, &values)?;
        }
    }
    Ok(())
}

/// One host's change: its record, and a row of its history.
fn write_change(connection: &mut dyn SqlConnection, record: &HostRecord, change: &HostChange) -> StateResult<()> {
    let key: [SqlValue; 3] = [(&record.pipeline).into(), (&change.environment).into(), (&change.host).into()];
    let existing = connection.query(
        "SELECT version, previous_version, run_id FROM host_versions \
         WHERE pipeline = $1 AND environment = $2 AND host = $3",
        &key,
    )?;
    let previous = match (&change.previous_version, existing.first()) {
        (Some(previous), _) => previous.clone(),
        // The same run again (a resume after a pause): what it replaced stays.
        (None, Some(row)) if row.text(2)? == record.run_id || row.text(0)? == change.version => row.text(1)?,
        (None, Some(row)) => row.text(0)?,
        // No record yet: nothing ran there before.
        (None, None) => String::new(),
    };
    let values: Vec<SqlValue> = vec![
        (&record.pipeline).into(),
        (&change.environment).into(),
        (&change.host).into(),
        (&change.version).into(),
        previous.into(),
        change.state.as_str().into(),
        (&record.run_id).into(),
        record.at.into(),
    ];
    upsert(connection, &values)
}

/// Writes a host's record and the history row of its run (`values` in
/// [`HOST_COLUMNS`] order).
fn upsert(connection: &mut dyn SqlConnection, values: &[SqlValue]) -> StateResult<()> {
    connection.execute(
        &format!(
            "INSERT INTO host_versions ({HOST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (pipeline, environment, host) DO UPDATE SET version = excluded.version, \
             previous_version = excluded.previous_version, state = excluded.state, \
             run_id = excluded.run_id, updated_at = excluded.updated_at"
        ),
        values,
    )?;
    connection.execute(
        &format!(
            "INSERT INTO host_history ({HISTORY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (pipeline, environment, host, run_id) DO UPDATE SET version = excluded.version, \
             previous_version = excluded.previous_version, state = excluded.state, \
             changed_at = excluded.changed_at"
        ),
        values,
    )?;
    Ok(())
}

/// `(current_version, current_run, previous_version)` of an environment.
fn environment_version(
    connection: &mut dyn SqlConnection,
    pipeline: &str,
    environment: &str,
) -> StateResult<Option<(String, String, String)>> {
    let rows = connection.query(
        "SELECT current_version, current_run, previous_version FROM environment_versions \
         WHERE pipeline = $1 AND environment = $2",
        &[pipeline.into(), environment.into()],
    )?;
    rows.first().map(|row| Ok((row.text(0)?, row.text(1)?, row.text(2)?))).transpose()
}

/// The environment's version becomes the one of most of its hosts; it is
/// mixed when they differ (a host of the plan without a record runs nothing).
fn sum_environment(connection: &mut dyn SqlConnection, record: &HostRecord, environment: &str) -> StateResult<()> {
    let before = environment_version(connection, &record.pipeline, environment)?;
    let rows = connection.query(
        "SELECT host, version, run_id, updated_at FROM host_versions WHERE pipeline = $1 AND environment = $2",
        &[(&record.pipeline).into(), environment.into()],
    )?;
    let mut recorded: HashSet<String> = HashSet::new();
    let mut hosts: Vec<(String, String, i64)> = Vec::new();
    for row in &rows {
        recorded.insert(row.text(0)?);
        hosts.push((row.text(1)?, row.text(2)?, row.int(3)?));
    }
    // A host of the plan without a record runs nothing deploy knows of.
    for (_, plan_hosts) in record.plan_hosts.iter().filter(|(name, _)| name == environment) {
        for _ in plan_hosts.iter().filter(|host| !recorded.contains(*host)) {
            hosts.push((String::new(), String::new(), 0));
        }
    }
    let Some(sum) = sum_hosts(&hosts) else { return Ok(()) };
    let previous = match &before {
        Some((current, _, _)) if *current != sum.version => current.clone(),
        Some((_, _, previous)) => previous.clone(),
        None => String::new(),
    };
    connection.execute(
        "INSERT INTO environment_versions (pipeline, environment, current_version, current_run, \
         previous_version, updated_at, mixed) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (pipeline, environment) DO UPDATE SET current_version = excluded.current_version, \
         current_run = excluded.current_run, previous_version = excluded.previous_version, \
         updated_at = excluded.updated_at, mixed = excluded.mixed",
        &[
            (&record.pipeline).into(),
            environment.into(),
            sum.version.into(),
            sum.run_id.into(),
            previous.into(),
            record.at.into(),
            i64::from(sum.mixed).into(),
        ],
    )?;
    Ok(())
}

/// The current record of every host (of `pipeline`), by pipeline, environment and host.
pub fn host_versions(connection: &mut dyn SqlConnection, pipeline: Option<&str>) -> StateResult<Vec<HostVersion>> {
    let location = connection.location().to_string();
    let sql = format!("SELECT {HOST_COLUMNS} FROM host_versions");
    let rows = match pipeline {
        Some(pipeline) => {
            connection.query(&format!("{sql} WHERE pipeline = $1 ORDER BY environment, host"), &[pipeline.into()])?
        }
        None => connection.query(&format!("{sql} ORDER BY pipeline, environment, host"), &[])?,
    };
    rows.iter().map(|row| host_from(row, &location)).collect()
}

/// Every change the runs `run_ids` made to hosts, by run, environment and host.
pub fn host_changes_of_runs(connection: &mut dyn SqlConnection, run_ids: &[String]) -> StateResult<Vec<HostVersion>> {
    let location = connection.location().to_string();
    let mut out = Vec::new();
    for run_id in run_ids {
        let rows = connection.query(
            &format!("SELECT {HISTORY_COLUMNS} FROM host_history WHERE run_id = $1 ORDER BY environment, host"),
            &[run_id.into()],
        )?;
        for row in &rows {
            out.push(host_from(row, &location)?);
        }
    }
    Ok(out)
}

/// Every change of the hosts of `pipeline`, newest first.
pub fn host_history(connection: &mut dyn SqlConnection, pipeline: &str) -> StateResult<Vec<HostVersion>> {
    let location = connection.location().to_string();
    let rows = connection.query(
        &format!(
            "SELECT {HISTORY_COLUMNS} FROM host_history WHERE pipeline = $1 ORDER BY changed_at DESC, run_id DESC"
        ),
        &[pipeline.into()],
    )?;
    rows.iter().map(|row| host_from(row, &location)).collect()
}
