//! The one versioned schema both backends share, and its migrations.
//!
//! `meta.schema_version` says which migrations ran. Opening a store applies
//! the missing ones, each in its own transaction; a store with a newer
//! version, or a database that holds other tables but no `meta`, is refused
//! and left untouched. Column types are the common subset: `TEXT` and
//! `BIGINT` (milliseconds since the Unix epoch for times).

use super::error::{StateError, StateResult};
use super::sql::{transaction, SqlConnection};

/// The schema this deploy writes.
pub const SCHEMA_VERSION: i64 = 6;

/// Migration `n` (1-based) brings a store from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE deployments (
    run_id           TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    pipeline         TEXT NOT NULL,
    environments     TEXT NOT NULL,
    version          TEXT NOT NULL,
    previous_version TEXT NOT NULL,
    params           TEXT NOT NULL,
    plan_file        TEXT NOT NULL,
    plan_text        TEXT NOT NULL,
    plan_hash        TEXT NOT NULL,
    started_by       TEXT NOT NULL,
    machine          TEXT NOT NULL,
    pid              BIGINT NOT NULL,
    pid_start        TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    heartbeat_at     BIGINT NOT NULL,
    ended_at         BIGINT,
    status           TEXT NOT NULL,
    exit_code        BIGINT,
    parts            BIGINT NOT NULL,
    undoes           TEXT,
    undone_by        TEXT
);
CREATE INDEX deployments_by_pipeline ON deployments (pipeline, started_at);
CREATE TABLE node_runs (
    run_id      TEXT NOT NULL,
    node        TEXT NOT NULL,
    host        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    batch       BIGINT,
    attempt     BIGINT,
    status      TEXT NOT NULL,
    started_at  BIGINT,
    ended_at    BIGINT,
    duration_ms BIGINT,
    exit_code   BIGINT,
    error       TEXT,
    PRIMARY KEY (run_id, node, host)
);
CREATE TABLE journal (
    run_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    type   TEXT NOT NULL,
    event  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE environment_versions (
    pipeline         TEXT NOT NULL,
    environment      TEXT NOT NULL,
    current_version  TEXT NOT NULL,
    current_run      TEXT NOT NULL,
    previous_version TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (pipeline, environment)
);
CREATE TABLE bad_versions (
    pipeline    TEXT NOT NULL,
    environment TEXT NOT NULL,
    version     TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    marked_at   BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (pipeline, environment, version)
);
CREATE TABLE leases (
    scope        TEXT PRIMARY KEY,
    pipeline     TEXT NOT NULL,
    environment  TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    owner        TEXT NOT NULL,
    machine      TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    pid_start    TEXT NOT NULL,
    message      TEXT NOT NULL,
    acquired_at  BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE TABLE approvals (
    run_id      TEXT NOT NULL,
    gate        TEXT NOT NULL,
    approver    TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, gate, approver)
);
"#,
    // 2: the canonical plan and the imported files of each deployment, for
    // `deploy plan`'s semantic diff. Older rows keep '' (a text diff only).
    r#"
ALTER TABLE deployments ADD COLUMN plan_canonical TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN plan_imports TEXT NOT NULL DEFAULT '';
"#,
    // 3: the commits `deploy watch` saw, and the watchers themselves.
    r#"
CREATE TABLE commits (
    pipeline      TEXT NOT NULL,
    commit_hash   TEXT NOT NULL,
    branch        TEXT NOT NULL,
    author        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    committed_at  BIGINT NOT NULL,
    seen_at       BIGINT NOT NULL,
    status        TEXT NOT NULL,
    run_id        TEXT,
    superseded_by TEXT,
    reason        TEXT,
    PRIMARY KEY (pipeline, commit_hash)
);
CREATE INDEX commits_by_run ON commits (run_id);
CREATE TABLE watchers (
    pipeline      TEXT PRIMARY KEY,
    repo          TEXT NOT NULL,
    branch        TEXT NOT NULL,
    owner         TEXT NOT NULL,
    machine       TEXT NOT NULL,
    pid           BIGINT NOT NULL,
    state         TEXT NOT NULL,
    detail        TEXT NOT NULL,
    head          TEXT,
    last_fetch_at BIGINT,
    last_error    TEXT,
    updated_at    BIGINT NOT NULL
);
"#,
    // 4: what each host runs. `host_versions` holds each host's current
    // record, `host_history` every change (one row per run and host), so a
    // rollback can walk back more than one step; an environment records
    // whether its hosts run different versions. Older rows keep `mixed` 0
    // and have no host rows until a run touches their hosts.
    r#"
CREATE TABLE host_versions (
    pipeline         TEXT NOT NULL,
    environment      TEXT NOT NULL,
    host             TEXT NOT NULL,
    version          TEXT NOT NULL,
    previous_version TEXT NOT NULL,
    state            TEXT NOT NULL,
    run_id           TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (pipeline, environment, host)
);
CREATE TABLE host_history (
    pipeline         TEXT NOT NULL,
    environment      TEXT NOT NULL,
    host             TEXT NOT NULL,
    run_id           TEXT NOT NULL,
    version          TEXT NOT NULL,
    previous_version TEXT NOT NULL,
    state            TEXT NOT NULL,
    changed_at       BIGINT NOT NULL,
    PRIMARY KEY (pipeline, environment, host, run_id)
);
CREATE INDEX host_history_by_run ON host_history (run_id);
ALTER TABLE environment_versions ADD COLUMN mixed BIGINT NOT NULL DEFAULT 0;
"#,
    // 5: the last `deploy verify` of each host.
    r#"
CREATE TABLE host_checks (
    pipeline    TEXT NOT NULL,
    environment TEXT NOT NULL,
    host        TEXT NOT NULL,
    status      TEXT NOT NULL,
    recorded    TEXT NOT NULL,
    found       TEXT,
    error       TEXT,
    checked_at  BIGINT NOT NULL,
    PRIMARY KEY (pipeline, environment, host)
);
"#,
    // 6: the remote modules each deployment ran with (JSON `[{name, url,
    // reference, path, commit, tag}]`); older rows keep '' (none known).
    r#"
ALTER TABLE deployments ADD COLUMN modules TEXT NOT NULL DEFAULT '';
"#,
];

/// SQL that makes a store of schema `found` read like the current one on
/// one connection, without changing the file (a reading command never
/// migrates: an older deploy can still open the store): each table a later
/// migration creates is an empty `TEMP` table, and each table a later
/// migration adds columns to is a `TEMP` view of the same name with those
/// columns at their defaults (SQLite looks in `temp` first).
/// `main`: how the store's own schema is named (`main` in SQLite, the
/// current schema in PostgreSQL, whose `pg_temp` is also searched first).
pub fn shadow_newer(found: i64, main: &str) -> String {
    let mut created: Vec<String> = Vec::new();
    let mut added: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut sql = String::new();
    let from = usize::try_from(found.max(0)).unwrap_or(MIGRATIONS.len());
    for migration in MIGRATIONS.iter().skip(from) {
        for statement in migration.split(';').map(str::trim).filter(|statement| !statement.is_empty()) {
            if let Some(rest) = statement.strip_prefix("CREATE TABLE ") {
                created.push(rest.split_whitespace().next().unwrap_or_default().to_string());
                sql.push_str(&format!("CREATE TEMP TABLE {rest};\n"));
            } else if let Some(rest) = statement.strip_prefix("ALTER TABLE ") {
                // `TABLE ADD COLUMN NAME TYPE … DEFAULT VALUE`
                let words: Vec<&str> = rest.split_whitespace().collect();
                let (Some(table), Some(column)) = (words.first(), words.get(3)) else { continue };
                if created.iter().any(|name| name == table) {
                    sql.push_str(&format!("ALTER TABLE {rest};\n"));
                    continue;
                }
                let default = rest.split_once(" DEFAULT ").map_or("NULL", |(_, value)| value.trim());
                // Typed as the column is (PostgreSQL reads a bare 0 as an int4).
                let value = match words.get(4) {
                    Some(kind) => format!("CAST({default} AS {kind})"),
                    None => default.to_string(),
                };
                match added.iter_mut().find(|(name, _)| name == table) {
                    Some((_, columns)) => columns.push((column.to_string(), value)),
                    None => added.push((table.to_string(), vec![(column.to_string(), value)])),
                }
            }
        }
    }
    for (table, columns) in added {
        let extra: String = columns.iter().map(|(column, default)| format!(", {default} AS {column}")).collect();
        sql.push_str(&format!("CREATE TEMP VIEW {table} AS SELECT *{extra} FROM {main}.{table};\n"));
    }
    sql
}

/// Brings the store to [`SCHEMA_VERSION`], or refuses it.
pub fn migrate(connection: &mut dyn SqlConnection, has_tables: bool, has_meta: bool) -> StateResult<()> {
    let location = connection.location().to_string();
    if has_tables && !has_meta {
        return Err(StateError::Corrupt {
            location,
            message: "it holds tables but no `meta` table with a schema version".into(),
        });
    }
    let current = if has_meta { read_version(connection)? } else { 0 };
    if current > SCHEMA_VERSION {
        return Err(StateError::NewerSchema { location, found: current, known: SCHEMA_VERSION });
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    // Two processes may open a new store at once: the second waits for the
    // first one's migration and then finds nothing left to do.
    transaction(connection, |connection| {
        connection.lock_key("deploy-schema")?;
        connection.batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
        let mut version = read_version(connection).unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StateError::NewerSchema { location: location.clone(), found: version, known: SCHEMA_VERSION });
        }
        while version < SCHEMA_VERSION {
            let index = usize::try_from(version).unwrap_or(usize::MAX);
            let Some(migration) = MIGRATIONS.get(index) else { break };
            connection.batch(migration)?;
            version += 1;
        }
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[version.to_string().into()],
        )?;
        Ok(())
    })
}

fn read_version(connection: &mut dyn SqlConnection) -> StateResult<i64> {
    let location = connection.location().to_string();
    let rows = connection.query("SELECT value FROM meta WHERE key = 'schema_version'", &[])?;
    match rows.first() {
        None => Ok(0),
        Some(row) => row
            .text(0)?
            .parse()
            .map_err(|_| StateError::Corrupt { location, message: "the schema version is not a number".into() }),
    }
}

/// The schema version of a store about to be read without changing it:
/// refused as [`migrate`] refuses it (other tables but no `meta`, a newer
/// version), else its version, which may be older than [`SCHEMA_VERSION`].
pub fn readable_version(connection: &mut dyn SqlConnection, has_tables: bool, has_meta: bool) -> StateResult<i64> {
    let location = connection.location().to_string();
    if has_tables && !has_meta {
        return Err(StateError::Corrupt {
            location,
            message: "it holds tables but no `meta` table with a schema version".into(),
        });
    }
    let current = if has_meta { read_version(connection)? } else { 0 };
    if current > SCHEMA_VERSION {
        return Err(StateError::NewerSchema { location, found: current, known: SCHEMA_VERSION });
    }
    Ok(current)
}

/// A store of an older schema, read as it is: what it still answers is
/// answered; a query the old schema cannot answer (a table or column a later
/// migration adds) says that the store must be opened writable once.
pub struct OutdatedReader<C: SqlConnection> {
    inner: C,
    found: i64,
}

impl<C: SqlConnection> OutdatedReader<C> {
    pub fn new(inner: C, found: i64) -> OutdatedReader<C> {
        OutdatedReader { inner, found }
    }

    fn explain(&self, error: StateError) -> StateError {
        match error {
            StateError::Query { .. } => StateError::Outdated {
                location: self.inner.location().to_string(),
                found: self.found,
                known: SCHEMA_VERSION,
            },
            other => other,
        }
    }
}

impl<C: SqlConnection> SqlConnection for OutdatedReader<C> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn location(&self) -> &str {
        self.inner.location()
    }

    fn execute(&mut self, sql: &str, params: &[super::sql::SqlValue]) -> StateResult<u64> {
        self.inner.execute(sql, params).map_err(|error| self.explain(error))
    }

    fn query(&mut self, sql: &str, params: &[super::sql::SqlValue]) -> StateResult<Vec<super::sql::Row>> {
        self.inner.query(sql, params).map_err(|error| self.explain(error))
    }

    fn batch(&mut self, sql: &str) -> StateResult<()> {
        self.inner.batch(sql).map_err(|error| self.explain(error))
    }

    fn begin(&mut self) -> StateResult<()> {
        self.inner.begin()
    }

    fn commit(&mut self) -> StateResult<()> {
        self.inner.commit()
    }

    fn rollback(&mut self) -> StateResult<()> {
        self.inner.rollback()
    }

    fn lock_key(&mut self, key: &str) -> StateResult<()> {
        self.inner.lock_key(key)
    }
}
