//! The SQL of [`super::commits`], for both backends.

use super::commits::{CommitRecord, CommitStatus, WatcherRecord};
use super::error::{StateError, StateResult};
use super::sql::{transaction, Row, SqlConnection};

const COMMIT_COLUMNS: &str = "pipeline, commit_hash, branch, author, subject, committed_at, seen_at, status, \
     run_id, superseded_by, reason";

const WATCHER_COLUMNS: &str =
    "pipeline, repo, branch, owner, machine, pid, state, detail, head, last_fetch_at, last_error, updated_at";

fn commit_from(row: &Row, location: &str) -> StateResult<CommitRecord> {
    let status = row.text(7)?;
    Ok(CommitRecord {
        pipeline: row.text(0)?,
        commit: row.text(1)?,
        branch: row.text(2)?,
        author: row.text(3)?,
        subject: row.text(4)?,
        committed_at: row.int(5)?,
        seen_at: row.int(6)?,
        status: CommitStatus::parse(&status).ok_or_else(|| StateError::Corrupt {
            location: location.to_string(),
            message: format!("unknown commit status `{status}`"),
        })?,
        run_id: row.opt_text(8)?,
        superseded_by: row.opt_text(9)?,
        reason: row.opt_text(10)?,
    })
}

pub fn record_commit(connection: &mut dyn SqlConnection, commit: &CommitRecord) -> StateResult<()> {
    transaction(connection, |connection| {
        connection
            .execute(
                &format!(
                    "INSERT INTO commits ({COMMIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (pipeline, commit_hash) DO UPDATE SET status = excluded.status, \
                     run_id = excluded.run_id, superseded_by = excluded.superseded_by, reason = excluded.reason"
                ),
                &[
                    (&commit.pipeline).into(),
                    (&commit.commit).into(),
                    (&commit.branch).into(),
                    (&commit.author).into(),
                    (&commit.subject).into(),
                    commit.committed_at.into(),
                    commit.seen_at.into(),
                    commit.status.as_str().into(),
                    commit.run_id.clone().into(),
                    commit.superseded_by.clone().into(),
                    commit.reason.clone().into(),
                ],
            )
            .map(|_| ())
    })
}

pub fn commits(
    connection: &mut dyn SqlConnection,
    pipeline: Option<&str>,
    limit: usize,
) -> StateResult<Vec<CommitRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match pipeline {
        Some(pipeline) => connection.query(
            &format!(
                "SELECT {COMMIT_COLUMNS} FROM commits WHERE pipeline = $1 \
                 ORDER BY seen_at DESC, committed_at DESC, commit_hash LIMIT $2"
            ),
            &[pipeline.into(), limit.into()],
        )?,
        None => connection.query(
            &format!(
                "SELECT {COMMIT_COLUMNS} FROM commits ORDER BY seen_at DESC, committed_at DESC, commit_hash LIMIT $1"
            ),
            &[limit.into()],
        )?,
    };
    let location = connection.location().to_string();
    rows.iter().map(|row| commit_from(row, &location)).collect()
}

pub fn commit(connection: &mut dyn SqlConnection, pipeline: &str, hash: &str) -> StateResult<Option<CommitRecord>> {
    let rows = connection.query(
        &format!("SELECT {COMMIT_COLUMNS} FROM commits WHERE pipeline = $1 AND commit_hash = $2"),
        &[pipeline.into(), hash.into()],
    )?;
    let location = connection.location().to_string();
    rows.first().map(|row| commit_from(row, &location)).transpose()
}

/// The commits deployed (or tried) by the runs `run_ids`.
pub fn commits_of_runs(connection: &mut dyn SqlConnection, run_ids: &[String]) -> StateResult<Vec<CommitRecord>> {
    let mut found = Vec::new();
    let location = connection.location().to_string();
    for chunk in run_ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let params: Vec<super::sql::SqlValue> = chunk.iter().map(Into::into).collect();
        let rows = connection.query(
            &format!("SELECT {COMMIT_COLUMNS} FROM commits WHERE run_id IN ({})", placeholders.join(", ")),
            &params,
        )?;
        for row in &rows {
            found.push(commit_from(row, &location)?);
        }
    }
    Ok(found)
}

pub fn record_watcher(connection: &mut dyn SqlConnection, watcher: &WatcherRecord) -> StateResult<()> {
    transaction(connection, |connection| {
        connection
            .execute(
                &format!(
                    "INSERT INTO watchers ({WATCHER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (pipeline) DO UPDATE SET repo = excluded.repo, branch = excluded.branch, \
                     owner = excluded.owner, machine = excluded.machine, pid = excluded.pid, state = excluded.state, \
                     detail = excluded.detail, head = excluded.head, last_fetch_at = excluded.last_fetch_at, \
                     last_error = excluded.last_error, updated_at = excluded.updated_at"
                ),
                &[
                    (&watcher.pipeline).into(),
                    (&watcher.repo).into(),
                    (&watcher.branch).into(),
                    (&watcher.owner).into(),
                    (&watcher.machine).into(),
                    watcher.pid.into(),
                    (&watcher.state).into(),
                    (&watcher.detail).into(),
                    watcher.head.clone().into(),
                    watcher.last_fetch_at.into(),
                    watcher.last_error.clone().into(),
                    watcher.updated_at.into(),
                ],
            )
            .map(|_| ())
    })
}

pub fn remove_watcher(connection: &mut dyn SqlConnection, pipeline: &str, machine: &str, pid: i64) -> StateResult<()> {
    transaction(connection, |connection| {
        connection
            .execute(
                "DELETE FROM watchers WHERE pipeline = $1 AND machine = $2 AND pid = $3",
                &[pipeline.into(), machine.into(), pid.into()],
            )
            .map(|_| ())
    })
}

pub fn watchers(connection: &mut dyn SqlConnection) -> StateResult<Vec<WatcherRecord>> {
    let rows = connection.query(&format!("SELECT {WATCHER_COLUMNS} FROM watchers ORDER BY pipeline"), &[])?;
    rows.iter()
        .map(|row| {
            Ok(WatcherRecord {
                pipeline: row.text(0)?,
                repo: row.text(1)?,
                branch: row.text(2)?,
                owner: row.text(3)?,
                machine: row.text(4)?,
                pid: row.int(5)?,
                state: row.text(6)?,
                detail: row.text(7)?,
                head: row.opt_text(8)?,
                last_fetch_at: row.opt_int(9)?,
                last_error: row.opt_text(10)?,
                updated_at: row.int(11)?,
            })
        })
        .collect()
}
