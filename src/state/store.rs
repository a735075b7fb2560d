//! The store's semantics, written once over [`SqlConnection`] for both
//! backends. Every change runs in a transaction.

use std::time::Duration;

use super::claims::Claim;
use super::commits::{CommitRecord, WatcherRecord};
use super::error::{StateError, StateResult};
use super::hosts::{HostRecord, HostVersion};
use super::lease::{liveness, Liveness};
use super::records::*;
use super::sql::{transaction, Row, SqlConnection, SqlValue};
use super::StateStore;

pub struct SqlStore<C: SqlConnection> {
    connection: C,
}

impl<C: SqlConnection> SqlStore<C> {
    pub fn new(connection: C) -> SqlStore<C> {
        SqlStore { connection }
    }

    fn corrupt(&self, message: impl Into<String>) -> StateError {
        StateError::Corrupt { location: self.connection.location().to_string(), message: message.into() }
    }
}

const DEPLOYMENT_COLUMNS: &str = "run_id, kind, pipeline, environments, version, previous_version, params, \
     plan_file, plan_text, plan_hash, started_by, machine, pid, pid_start, started_at, heartbeat_at, ended_at, \
     status, exit_code, parts, undoes, undone_by, plan_canonical, plan_imports, modules";

const LEASE_COLUMNS: &str =
    "scope, pipeline, environment, run_id, owner, machine, pid, pid_start, message, acquired_at, heartbeat_at";

const NODE_RUN_COLUMNS: &str =
    "run_id, node, host, kind, batch, attempt, status, started_at, ended_at, duration_ms, exit_code, error";

/// Environments are stored as one line of names joined by commas.
fn join_environments(environments: &[String]) -> String {
    environments.join(",")
}

fn split_environments(text: &str) -> Vec<String> {
    text.split(',').filter(|name| !name.is_empty()).map(str::to_string).collect()
}

impl<C: SqlConnection> SqlStore<C> {
    fn deployment_from(&self, row: &Row) -> StateResult<Deployment> {
        let kind = row.text(1)?;
        let status = row.text(17)?;
        let params: Vec<(String, String)> = serde_json::from_str(&row.text(6)?)
            .map_err(|error| self.corrupt(format!("the params of a deployment are not JSON: {error}")))?;
        Ok(Deployment {
            run_id: row.text(0)?,
            kind: DeploymentKind::parse(&kind)
                .ok_or_else(|| self.corrupt(format!("unknown deployment kind `{kind}`")))?,
            pipeline: row.text(2)?,
            environments: split_environments(&row.text(3)?),
            version: row.text(4)?,
            previous_version: row.text(5)?,
            params,
            plan_file: row.text(7)?,
            plan_text: row.text(8)?,
            plan_hash: row.text(9)?,
            started_by: row.text(10)?,
            machine: row.text(11)?,
            pid: row.int(12)?,
            pid_start: row.text(13)?,
            started_at: row.int(14)?,
            heartbeat_at: row.int(15)?,
            ended_at: row.opt_int(16)?,
            status: DeploymentStatus::parse(&status)
                .ok_or_else(|| self.corrupt(format!("unknown deployment status `{status}`")))?,
            exit_code: row.opt_int(18)?,
            parts: row.int(19)?,
            undoes: row.opt_text(20)?,
            undone_by: row.opt_text(21)?,
            plan_canonical: row.text(22)?,
            plan_imports: row.text(23)?,
            modules: self.modules_from(&row.text(24)?)?,
        })
    }

    /// The `modules` column: JSON, `''` in rows written before schema 6.
    fn modules_from(&self, text: &str) -> StateResult<Vec<RunModule>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(text)
            .map_err(|error| self.corrupt(format!("the modules of a deployment are not JSON: {error}")))
    }

    fn lease_from(row: &Row) -> StateResult<Lease> {
        Ok(Lease {
            scope: row.text(0)?,
            pipeline: row.text(1)?,
            environment: row.text(2)?,
            run_id: row.text(3)?,
            owner: row.text(4)?,
            machine: row.text(5)?,
            pid: row.int(6)?,
            pid_start: row.text(7)?,
            message: row.text(8)?,
            acquired_at: row.int(9)?,
            heartbeat_at: row.int(10)?,
        })
    }

    fn node_run_from(row: &Row) -> StateResult<NodeRun> {
        Ok(NodeRun {
            run_id: row.text(0)?,
            node: row.text(1)?,
            host: row.text(2)?,
            kind: row.text(3)?,
            batch: row.opt_int(4)?,
            attempt: row.opt_int(5)?,
            status: row.text(6)?,
            started_at: row.opt_int(7)?,
            ended_at: row.opt_int(8)?,
            duration_ms: row.opt_int(9)?,
            exit_code: row.opt_int(10)?,
            error: row.opt_text(11)?,
        })
    }
}

fn insert_deployment_sql() -> String {
    let placeholders: Vec<String> = (1..=25).map(|n| format!("${n}")).collect();
    format!("INSERT INTO deployments ({DEPLOYMENT_COLUMNS}) VALUES ({})", placeholders.join(", "))
}

/// The values of [`insert_deployment_sql`] for `d`.
fn deployment_values(d: &Deployment) -> StateResult<Vec<SqlValue>> {
    let params = serde_json::to_string(&d.params).map_err(StateError::query)?;
    let modules = if d.modules.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&d.modules).map_err(StateError::query)?
    };
    Ok(vec![
        (&d.run_id).into(),
        d.kind.as_str().into(),
        (&d.pipeline).into(),
        join_environments(&d.environments).into(),
        (&d.version).into(),
        (&d.previous_version).into(),
        params.into(),
        (&d.plan_file).into(),
        (&d.plan_text).into(),
        (&d.plan_hash).into(),
        (&d.started_by).into(),
        (&d.machine).into(),
        d.pid.into(),
        (&d.pid_start).into(),
        d.started_at.into(),
        d.heartbeat_at.into(),
        d.ended_at.into(),
        d.status.as_str().into(),
        d.exit_code.into(),
        d.parts.into(),
        d.undoes.clone().into(),
        d.undone_by.clone().into(),
        (&d.plan_canonical).into(),
        (&d.plan_imports).into(),
        modules.into(),
    ])
}

fn apply_change(connection: &mut dyn SqlConnection, run_id: &str, change: &NodeRunChange) -> StateResult<()> {
    match change {
        NodeRunChange::Started { node, host, kind, batch, attempt, at } => {
            connection.execute(
                "INSERT INTO node_runs (run_id, node, host, kind, batch, attempt, status, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'running', $7) \
                 ON CONFLICT (run_id, node, host) DO UPDATE SET \
                 attempt = excluded.attempt, status = 'running', ended_at = NULL, duration_ms = NULL, \
                 exit_code = NULL, error = NULL, batch = COALESCE(excluded.batch, node_runs.batch), \
                 started_at = COALESCE(node_runs.started_at, excluded.started_at)",
                &[
                    run_id.into(),
                    node.into(),
                    host.into(),
                    kind.into(),
                    (*batch).into(),
                    (*attempt).into(),
                    (*at).into(),
                ],
            )?;
        }
        NodeRunChange::Finished(run) => {
            connection.execute(
                "INSERT INTO node_runs (run_id, node, host, kind, batch, attempt, status, started_at, ended_at, \
                 duration_ms, exit_code, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (run_id, node, host) DO UPDATE SET \
                 attempt = COALESCE(excluded.attempt, node_runs.attempt), status = excluded.status, \
                 ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, \
                 exit_code = excluded.exit_code, error = excluded.error",
                &[
                    run_id.into(),
                    (&run.node).into(),
                    (&run.host).into(),
                    (&run.kind).into(),
                    run.batch.into(),
                    run.attempt.into(),
                    (&run.status).into(),
                    run.started_at.into(),
                    run.ended_at.into(),
                    run.duration_ms.into(),
                    run.exit_code.into(),
                    run.error.clone().into(),
                ],
            )?;
        }
        NodeRunChange::Skipped { node, kind, at } => {
            connection.execute(
                "INSERT INTO node_runs (run_id, node, host, kind, status, started_at, ended_at, duration_ms) \
                 VALUES ($1, $2, '', $3, 'skipped', $4, $4, 0) ON CONFLICT (run_id, node, host) DO NOTHING",
                &[run_id.into(), node.into(), kind.into(), (*at).into()],
            )?;
        }
    }
    Ok(())
}

/// Rows per multi-row journal INSERT (4 parameters each).
const JOURNAL_CHUNK: usize = 128;

impl<C: SqlConnection> StateStore for SqlStore<C> {
    fn backend(&self) -> &'static str {
        self.connection.backend()
    }

    fn location(&self) -> String {
        self.connection.location().to_string()
    }

    fn insert_deployment(&mut self, d: &Deployment) -> StateResult<()> {
        let sql = insert_deployment_sql();
        let values = deployment_values(d)?;
        transaction(&mut self.connection, |connection| connection.execute(&sql, &values).map(|_| ()))
    }

    fn deployment(&mut self, run_id: &str) -> StateResult<Option<Deployment>> {
        let rows = self
            .connection
            .query(&format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE run_id = $1"), &[run_id.into()])?;
        rows.first().map(|row| self.deployment_from(row)).transpose()
    }

    fn deployments(&mut self, query: &DeploymentQuery) -> StateResult<Vec<Deployment>> {
        // The newest rows of every pipeline come through the index on
        // (pipeline, started_at): a large history is not scanned (its rows
        // hold whole plans) to show its newest rows.
        if let (None, Some(limit)) = (&query.pipeline, query.limit) {
            let pipelines = self.connection.query("SELECT DISTINCT pipeline FROM deployments", &[])?;
            let mut merged = Vec::new();
            for row in &pipelines {
                let one = DeploymentQuery {
                    pipeline: Some(row.text(0)?),
                    limit: Some(limit.saturating_add(query.offset)),
                    offset: 0,
                    ..query.clone()
                };
                merged.extend(self.deployments(&one)?);
            }
            merged.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| b.run_id.cmp(&a.run_id)));
            return Ok(merged.into_iter().skip(query.offset).take(limit).collect());
        }
        // The filters and the limit go to the database, so a large history
        // is not read to show its newest rows; `targets` checks the
        // environment exactly (the pattern only narrows the rows read).
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        if let Some(pipeline) = &query.pipeline {
            params.push(pipeline.into());
            conditions.push(format!("pipeline = ${}", params.len()));
        }
        if let Some(kind) = query.kind {
            params.push(kind.as_str().into());
            conditions.push(format!("kind = ${}", params.len()));
        }
        if let Some(status) = query.status {
            params.push(status.as_str().into());
            conditions.push(format!("status = ${}", params.len()));
        }
        if let Some(version) = &query.version {
            params.push(version.into());
            conditions.push(format!("version = ${}", params.len()));
        }
        if let Some(commit) = &query.commit {
            // Hex digits only (commit_prefix): nothing in it is a LIKE pattern.
            let prefix: String = commit.chars().filter(char::is_ascii_hexdigit).collect();
            params.push(format!("{}%", prefix.to_ascii_lowercase()).into());
            conditions.push(format!(
                "run_id IN (SELECT run_id FROM commits WHERE run_id IS NOT NULL AND commit_hash LIKE ${})",
                params.len()
            ));
        }
        let exact_environment = query.environment.as_deref().filter(|env| !env.contains(['%', '_', ',', '\\']));
        if let Some(environment) = exact_environment {
            params.push(format!("%,{environment},%").into());
            conditions.push(format!("(',' || environments || ',') LIKE ${}", params.len()));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let limit = match query.limit {
            Some(limit) if query.environment.is_none() || exact_environment.is_some() => {
                params.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
                params.push(i64::try_from(query.offset).unwrap_or(i64::MAX).into());
                format!(" LIMIT ${} OFFSET ${}", params.len() - 1, params.len())
            }
            _ => String::new(),
        };
        // Rows the database did not skip (no LIMIT there) are skipped here.
        let mut to_skip = if limit.is_empty() { query.offset } else { 0 };
        let rows = self.connection.query(
            &format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments{filter} ORDER BY started_at DESC, run_id DESC{limit}"
            ),
            &params,
        )?;
        let mut out = Vec::new();
        for row in &rows {
            let deployment = self.deployment_from(row)?;
            if query.kind.is_some_and(|kind| kind != deployment.kind) {
                continue;
            }
            if query.environment.as_deref().is_some_and(|env| !deployment.targets(env)) {
                continue;
            }
            if to_skip > 0 {
                to_skip -= 1;
                continue;
            }
            out.push(deployment);
            if query.limit.is_some_and(|limit| out.len() >= limit) {
                break;
            }
        }
        Ok(out)
    }

    fn unfinished_deployments(&mut self) -> StateResult<Vec<Deployment>> {
        // `status` comes after the plan in each row: SQLite would read every
        // row's overflow pages to compare it. The byte length of `paused`
        // and `running` (6, 7) is in the row's header, which SQLite reads
        // without the content, so only the few rows of that length are read.
        let rows = self.connection.query(
            &format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments \
                 WHERE octet_length(status) IN (6, 7) AND status IN ('running', 'paused') \
                 ORDER BY started_at DESC, run_id DESC"
            ),
            &[],
        )?;
        rows.iter().map(|row| self.deployment_from(row)).collect()
    }

    fn set_status(&mut self, run_id: &str, status: DeploymentStatus) -> StateResult<()> {
        transaction(&mut self.connection, |connection| {
            connection
                .execute(
                    "UPDATE deployments SET status = $1 WHERE run_id = $2",
                    &[status.as_str().into(), run_id.into()],
                )
                .map(|_| ())
        })
    }

    fn resume_deployment(&mut self, seen: &Deployment, holder: &Holder, now: i64) -> StateResult<Claim> {
        super::claims::resume_deployment(&mut self.connection, seen, holder, now)
    }

    fn start_rollback(&mut self, rollback: &Deployment, me: &Holder, ttl_ms: i64) -> StateResult<Claim> {
        let values = deployment_values(rollback)?;
        let ttl = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
        super::claims::start_rollback(&mut self.connection, rollback, &insert_deployment_sql(), &values, me, ttl)
    }

    fn finish_deployment(&mut self, finish: &Finish) -> StateResult<()> {
        transaction(&mut self.connection, |connection| {
            connection.execute(
                "UPDATE deployments SET status = $1, exit_code = $2, ended_at = $3, heartbeat_at = $3 \
                 WHERE run_id = $4",
                &[
                    finish.status.as_str().into(),
                    finish.exit_code.into(),
                    finish.ended_at.into(),
                    (&finish.run_id).into(),
                ],
            )?;
            if let Some(promotion) = &finish.promote {
                for environment in &promotion.environments {
                    connection.execute(
                        "INSERT INTO environment_versions (pipeline, environment, current_version, current_run, \
                         previous_version, updated_at) VALUES ($1, $2, $3, $4, '', $5) \
                         ON CONFLICT (pipeline, environment) DO UPDATE SET \
                         previous_version = CASE WHEN environment_versions.current_version = excluded.current_version \
                         THEN environment_versions.previous_version ELSE environment_versions.current_version END, \
                         current_version = excluded.current_version, current_run = excluded.current_run, \
                         updated_at = excluded.updated_at",
                        &[
                            (&promotion.pipeline).into(),
                            environment.into(),
                            (&promotion.version).into(),
                            (&finish.run_id).into(),
                            finish.ended_at.into(),
                        ],
                    )?;
                }
            }
            if let Some(hosts) = &finish.hosts {
                super::host_store::write_hosts(connection, hosts)?;
            }
            Ok(())
        })
    }

    fn record_rollback(&mut self, rollback: &RollbackRecord) -> StateResult<()> {
        transaction(&mut self.connection, |connection| {
            if rollback.whole {
                connection.execute(
                    "UPDATE deployments SET undone_by = $1 WHERE run_id = $2",
                    &[(&rollback.rollback_run).into(), (&rollback.undone_run).into()],
                )?;
            }
            for environment in &rollback.environments {
                if let Some(version) = &environment.bad_version {
                    connection.execute(
                        "INSERT INTO bad_versions (pipeline, environment, version, run_id, marked_at, reason) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pipeline, environment, version) DO UPDATE SET \
                         run_id = excluded.run_id, marked_at = excluded.marked_at, reason = excluded.reason",
                        &[
                            (&rollback.pipeline).into(),
                            (&environment.environment).into(),
                            version.into(),
                            (&rollback.undone_run).into(),
                            rollback.at.into(),
                            format!("undone by deploy rollback (run {})", rollback.rollback_run).into(),
                        ],
                    )?;
                }
                if let Some((current, current_run, previous)) = &environment.current {
                    connection.execute(
                        "INSERT INTO environment_versions (pipeline, environment, current_version, current_run, \
                         previous_version, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (pipeline, environment) DO UPDATE SET current_version = excluded.current_version, \
                         current_run = excluded.current_run, previous_version = excluded.previous_version, \
                         updated_at = excluded.updated_at",
                        &[
                            (&rollback.pipeline).into(),
                            (&environment.environment).into(),
                            current.into(),
                            current_run.into(),
                            previous.into(),
                            rollback.at.into(),
                        ],
                    )?;
                }
            }
            Ok(())
        })
    }

    fn environment_versions(&mut self, pipeline: Option<&str>) -> StateResult<Vec<EnvironmentVersion>> {
        let sql = "SELECT pipeline, environment, current_version, current_run, previous_version, updated_at, \
                   mixed FROM environment_versions";
        let rows = match pipeline {
            Some(pipeline) => {
                self.connection.query(&format!("{sql} WHERE pipeline = $1 ORDER BY environment"), &[pipeline.into()])?
            }
            None => self.connection.query(&format!("{sql} ORDER BY pipeline, environment"), &[])?,
        };
        rows.iter()
            .map(|row| {
                Ok(EnvironmentVersion {
                    pipeline: row.text(0)?,
                    environment: row.text(1)?,
                    current_version: row.text(2)?,
                    current_run: row.text(3)?,
                    previous_version: row.text(4)?,
                    updated_at: row.int(5)?,
                    mixed: row.int(6)? != 0,
                })
            })
            .collect()
    }

    fn bad_versions(&mut self, pipeline: &str) -> StateResult<Vec<BadVersion>> {
        let rows = self.connection.query(
            "SELECT pipeline, environment, version, run_id, marked_at, reason FROM bad_versions \
             WHERE pipeline = $1 ORDER BY marked_at DESC",
            &[pipeline.into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(BadVersion {
                    pipeline: row.text(0)?,
                    environment: row.text(1)?,
                    version: row.text(2)?,
                    run_id: row.text(3)?,
                    marked_at: row.int(4)?,
                    reason: row.text(5)?,
                })
            })
            .collect()
    }

    fn record_hosts(&mut self, record: &HostRecord) -> StateResult<()> {
        super::host_store::record_hosts(&mut self.connection, record)
    }

    fn host_versions(&mut self, pipeline: Option<&str>) -> StateResult<Vec<HostVersion>> {
        super::host_store::host_versions(&mut self.connection, pipeline)
    }

    fn record_checks(&mut self, checks: &[super::HostCheckRecord]) -> StateResult<()> {
        super::host_checks::record_checks(&mut self.connection, checks)
    }

    fn host_checks(&mut self, pipeline: Option<&str>) -> StateResult<Vec<super::HostCheckRecord>> {
        super::host_checks::host_checks(&mut self.connection, pipeline)
    }

    fn host_changes_of_runs(&mut self, run_ids: &[String]) -> StateResult<Vec<HostVersion>> {
        super::host_store::host_changes_of_runs(&mut self.connection, run_ids)
    }

    fn host_history(&mut self, pipeline: &str) -> StateResult<Vec<HostVersion>> {
        super::host_store::host_history(&mut self.connection, pipeline)
    }

    fn next_seq(&mut self, run_id: &str) -> StateResult<u64> {
        let rows = self.connection.query("SELECT MAX(seq) FROM journal WHERE run_id = $1", &[run_id.into()])?;
        let last = rows.first().map(|row| row.opt_int(0)).transpose()?.flatten();
        Ok(last.map_or(0, |last| u64::try_from(last).unwrap_or(0) + 1))
    }

    fn append_journal(&mut self, run_id: &str, events: &[JournalEntry], changes: &[NodeRunChange]) -> StateResult<()> {
        if events.is_empty() && changes.is_empty() {
            return Ok(());
        }
        transaction(&mut self.connection, |connection| {
            for chunk in events.chunks(JOURNAL_CHUNK) {
                let mut sql = String::from("INSERT INTO journal (run_id, seq, type, event) VALUES ");
                let mut values: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 4);
                for (index, entry) in chunk.iter().enumerate() {
                    if index > 0 {
                        sql.push_str(", ");
                    }
                    let base = index * 4;
                    sql.push_str(&format!("(${}, ${}, ${}, ${})", base + 1, base + 2, base + 3, base + 4));
                    values.push(run_id.into());
                    values.push(i64::try_from(entry.seq).unwrap_or(i64::MAX).into());
                    values.push((&entry.kind).into());
                    values.push((&entry.event).into());
                }
                connection.execute(&sql, &values)?;
            }
            for change in changes {
                apply_change(connection, run_id, change)?;
            }
            Ok(())
        })
    }

    fn journal(&mut self, run_id: &str) -> StateResult<Vec<JournalEntry>> {
        let rows = self
            .connection
            .query("SELECT seq, type, event FROM journal WHERE run_id = $1 ORDER BY seq", &[run_id.into()])?;
        rows.iter()
            .map(|row| {
                Ok(JournalEntry {
                    seq: u64::try_from(row.int(0)?).unwrap_or(0),
                    kind: row.text(1)?,
                    event: row.text(2)?,
                })
            })
            .collect()
    }

    fn journal_of_type(&mut self, run_id: &str, kind: &str) -> StateResult<Vec<JournalEntry>> {
        let rows = self.connection.query(
            "SELECT seq, type, event FROM journal WHERE run_id = $1 AND type = $2 ORDER BY seq",
            &[run_id.into(), kind.into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(JournalEntry {
                    seq: u64::try_from(row.int(0)?).unwrap_or(0),
                    kind: row.text(1)?,
                    event: row.text(2)?,
                })
            })
            .collect()
    }

    fn node_runs(&mut self, run_id: &str) -> StateResult<Vec<NodeRun>> {
        let rows = self.connection.query(
            &format!("SELECT {NODE_RUN_COLUMNS} FROM node_runs WHERE run_id = $1 ORDER BY started_at, node, host"),
            &[run_id.into()],
        )?;
        rows.iter().map(Self::node_run_from).collect()
    }

    fn acquire_leases(&mut self, request: &LeaseRequest) -> StateResult<LeaseOutcome> {
        let ttl = Duration::from_millis(u64::try_from(request.ttl_ms).unwrap_or(0));
        transaction(&mut self.connection, |connection| {
            // Every acquisition for this pipeline queues here (PostgreSQL);
            // SQLite's write transaction is exclusive already.
            connection.lock_key(&format!("deploy-lease:{}", request.pipeline))?;
            let rows = connection.query(
                &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE pipeline = $1 ORDER BY scope"),
                &[(&request.pipeline).into()],
            )?;
            let existing: Vec<Lease> = rows.iter().map(Self::lease_from).collect::<StateResult<_>>()?;
            let wanted: Vec<String> =
                if request.environments.is_empty() { vec![String::new()] } else { request.environments.clone() };
            let mut taken_over = Vec::new();
            for lease in &existing {
                let conflicts = lease.environment.is_empty()
                    || wanted.iter().any(|environment| environment.is_empty() || environment == &lease.environment);
                // No lease is re-entrant: one of the same run held by this very
                // process is another request's (a second resume over the API),
                // and one held by another process is judged like any other.
                if !conflicts {
                    continue;
                }
                match liveness(
                    &lease.machine,
                    lease.pid,
                    &lease.pid_start,
                    lease.heartbeat_at,
                    &request.holder,
                    request.now,
                    ttl,
                ) {
                    Liveness::Alive => return Ok(LeaseOutcome::Held(lease.clone())),
                    Liveness::Dead(why) => taken_over.push((lease.clone(), why)),
                }
            }
            for (lease, _) in &taken_over {
                connection.execute("DELETE FROM leases WHERE scope = $1", &[(&lease.scope).into()])?;
                // Its run never finished: it crashed.
                connection.execute(
                    "UPDATE deployments SET status = 'crashed' WHERE run_id = $1 AND status = 'running'",
                    &[(&lease.run_id).into()],
                )?;
            }
            for environment in &wanted {
                let scope = scope_key(&request.pipeline, environment);
                let holder = &request.holder;
                connection.execute(
                    &format!(
                        "INSERT INTO leases ({LEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                         ON CONFLICT (scope) DO UPDATE SET run_id = excluded.run_id, owner = excluded.owner, \
                         machine = excluded.machine, pid = excluded.pid, pid_start = excluded.pid_start, \
                         message = excluded.message, acquired_at = excluded.acquired_at, \
                         heartbeat_at = excluded.heartbeat_at"
                    ),
                    &[
                        scope.into(),
                        (&request.pipeline).into(),
                        environment.into(),
                        (&holder.run_id).into(),
                        (&holder.owner).into(),
                        (&holder.machine).into(),
                        holder.pid.into(),
                        (&holder.pid_start).into(),
                        (&request.message).into(),
                        request.now.into(),
                    ],
                )?;
            }
            Ok(LeaseOutcome::Acquired { taken_over })
        })
    }

    fn heartbeat(&mut self, run_id: &str, now: i64) -> StateResult<usize> {
        transaction(&mut self.connection, |connection| {
            let held = connection
                .execute("UPDATE leases SET heartbeat_at = $1 WHERE run_id = $2", &[now.into(), run_id.into()])?;
            connection.execute(
                "UPDATE deployments SET heartbeat_at = $1 WHERE run_id = $2 AND status = 'running'",
                &[now.into(), run_id.into()],
            )?;
            Ok(usize::try_from(held).unwrap_or(0))
        })
    }

    fn release_leases(&mut self, run_id: &str) -> StateResult<()> {
        transaction(&mut self.connection, |connection| {
            connection.execute("DELETE FROM leases WHERE run_id = $1", &[run_id.into()]).map(|_| ())
        })
    }

    fn force_release(&mut self, pipeline: &str, environment: Option<&str>) -> StateResult<Vec<Lease>> {
        transaction(&mut self.connection, |connection| {
            connection.lock_key(&format!("deploy-lease:{pipeline}"))?;
            let rows = connection.query(
                &format!("SELECT {LEASE_COLUMNS} FROM leases WHERE pipeline = $1 ORDER BY scope"),
                &[pipeline.into()],
            )?;
            let mut dropped = Vec::new();
            for row in &rows {
                let lease = Self::lease_from(row)?;
                if environment.is_some_and(|environment| environment != lease.environment) {
                    continue;
                }
                connection.execute("DELETE FROM leases WHERE scope = $1", &[(&lease.scope).into()])?;
                dropped.push(lease);
            }
            Ok(dropped)
        })
    }

    fn leases(&mut self) -> StateResult<Vec<Lease>> {
        let rows = self.connection.query(&format!("SELECT {LEASE_COLUMNS} FROM leases ORDER BY scope"), &[])?;
        rows.iter().map(Self::lease_from).collect()
    }

    fn add_approval(&mut self, run_id: &str, gate: &str, approver: &str, now: i64) -> StateResult<()> {
        transaction(&mut self.connection, |connection| {
            connection
                .execute(
                    "INSERT INTO approvals (run_id, gate, approver, approved_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (run_id, gate, approver) DO NOTHING",
                    &[run_id.into(), gate.into(), approver.into(), now.into()],
                )
                .map(|_| ())
        })
    }

    fn approvals(&mut self, run_id: &str) -> StateResult<Vec<Approval>> {
        let rows = self.connection.query(
            "SELECT run_id, gate, approver, approved_at FROM approvals WHERE run_id = $1 ORDER BY approved_at",
            &[run_id.into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(Approval {
                    run_id: row.text(0)?,
                    gate: row.text(1)?,
                    approver: row.text(2)?,
                    approved_at: row.int(3)?,
                })
            })
            .collect()
    }

    fn record_commit(&mut self, commit: &CommitRecord) -> StateResult<()> {
        super::commit_store::record_commit(&mut self.connection, commit)
    }

    fn commits(&mut self, pipeline: Option<&str>, limit: usize) -> StateResult<Vec<CommitRecord>> {
        super::commit_store::commits(&mut self.connection, pipeline, limit)
    }

    fn commit(&mut self, pipeline: &str, commit: &str) -> StateResult<Option<CommitRecord>> {
        super::commit_store::commit(&mut self.connection, pipeline, commit)
    }

    fn commits_of_runs(&mut self, run_ids: &[String]) -> StateResult<Vec<CommitRecord>> {
        super::commit_store::commits_of_runs(&mut self.connection, run_ids)
    }

    fn record_watcher(&mut self, watcher: &WatcherRecord) -> StateResult<()> {
        super::commit_store::record_watcher(&mut self.connection, watcher)
    }

    fn watchers(&mut self) -> StateResult<Vec<WatcherRecord>> {
        super::commit_store::watchers(&mut self.connection)
    }

    fn remove_watcher(&mut self, pipeline: &str, machine: &str, pid: i64) -> StateResult<()> {
        super::commit_store::remove_watcher(&mut self.connection, pipeline, machine, pid)
    }
}
