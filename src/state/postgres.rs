//! The shared backend: a PostgreSQL server, `--state postgres://...` or
//! `DEPLOY_STATE`. The same schema and semantics as SQLite; leases are rows
//! changed in a transaction that first takes an advisory lock on the scope,
//! so two machines can never both hold one.
//!
//! The store's API is synchronous (it is used from the CLI thread, the
//! journal's consumer thread and the heartbeat thread, never from inside the
//! engine's runtime): each connection drives tokio-postgres on its own
//! current-thread runtime.

use std::collections::HashMap;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::error::{StateError, StateResult};
use super::schema;
use super::sql::{Row, SqlConnection, SqlValue};

pub struct PostgresConnection {
    runtime: tokio::runtime::Runtime,
    client: Client,
    location: String,
    statements: HashMap<String, Statement>,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `postgres://user@host:port/db` — the URL without its password.
pub fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().map(|user| format!("{user}@")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{host}:{port}/{db}")
}

impl PostgresConnection {
    pub fn open(url: &str) -> StateResult<PostgresConnection> {
        let mut store = PostgresConnection::connect(url)?;
        let tables: Vec<String> = store
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                &[],
            )?
            .iter()
            .filter_map(|row| row.text(0).ok())
            .collect();
        let has_meta = tables.iter().any(|name| name == "meta");
        schema::migrate(&mut store, !tables.is_empty(), has_meta)?;
        Ok(store)
    }

    /// Connects to read: no migration runs. The store's schema version (0
    /// for an empty database) and the name of the schema its tables are in.
    pub fn open_reader(url: &str) -> StateResult<(PostgresConnection, i64, String)> {
        let mut store = PostgresConnection::connect(url)?;
        let schema_name = store
            .query("SELECT current_schema()::text", &[])?
            .first()
            .and_then(|row| row.text(0).ok())
            .unwrap_or_else(|| "public".to_string());
        let tables: Vec<String> = store
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                &[],
            )?
            .iter()
            .filter_map(|row| row.text(0).ok())
            .collect();
        let has_meta = tables.iter().any(|name| name == "meta");
        let version = schema::readable_version(&mut store, !tables.is_empty(), has_meta)?;
        Ok((store, version, schema_name))
    }

    /// Connects without touching the schema (for read-only use).
    pub fn connect(url: &str) -> StateResult<PostgresConnection> {
        let config: Config = url.parse().map_err(|error| StateError::Open {
            location: "(the PostgreSQL URL)".into(),
            message: format!("not a valid connection URL: {error}"),
        })?;
        let location = describe(&config);
        let open_error = |message: String| StateError::Open { location: location.clone(), message };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| open_error(format!("cannot start a runtime: {error}")))?;
        let connected = runtime.block_on(async {
            let mut config = config.clone();
            config.connect_timeout(CONNECT_TIMEOUT);
            tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls)).await
        });
        let (client, connection) = match connected {
            Ok(Ok(pair)) => pair,
            Ok(Err(error)) => return Err(open_error(error_text(&error))),
            Err(_) => return Err(open_error("timed out connecting".into())),
        };
        runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(PostgresConnection { runtime, client, location, statements: HashMap::new() })
    }

    fn map_error(&self, error: tokio_postgres::Error) -> StateError {
        if error.is_closed() {
            return StateError::Open { location: self.location.clone(), message: error_text(&error) };
        }
        StateError::query(format!("{}: {}", self.location, error_text(&error)))
    }

    fn statement(&mut self, sql: &str) -> StateResult<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = self.runtime.block_on(self.client.prepare(sql));
        let statement = prepared.map_err(|error| self.map_error(error))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

/// The server's message when there is one (tokio-postgres's Display says only "db error").
fn error_text(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

fn boxed(params: &[SqlValue]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|param| -> Box<dyn ToSql + Sync + Send> {
            match param {
                SqlValue::Int(number) => Box::new(*number),
                SqlValue::Text(text) => Box::new(text.clone()),
            }
        })
        .collect()
}

fn column(row: &tokio_postgres::Row, index: usize) -> Result<SqlValue, tokio_postgres::Error> {
    let ty = row.columns()[index].type_().clone();
    Ok(if ty == Type::INT8 {
        SqlValue::Int(row.try_get::<_, Option<i64>>(index)?)
    } else if ty == Type::INT4 {
        SqlValue::Int(row.try_get::<_, Option<i32>>(index)?.map(i64::from))
    } else if ty == Type::INT2 {
        SqlValue::Int(row.try_get::<_, Option<i16>>(index)?.map(i64::from))
    } else if ty == Type::BOOL {
        SqlValue::Int(row.try_get::<_, Option<bool>>(index)?.map(i64::from))
    } else {
        SqlValue::Text(row.try_get::<_, Option<String>>(index)?)
    })
}

impl SqlConnection for PostgresConnection {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn location(&self) -> &str {
        &self.location
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StateResult<u64> {
        let statement = self.statement(sql)?;
        let values = boxed(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect();
        let result = self.runtime.block_on(self.client.execute(&statement, &refs));
        result.map_err(|error| self.map_error(error))
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> StateResult<Vec<Row>> {
        let statement = self.statement(sql)?;
        let values = boxed(params);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect();
        let result = self.runtime.block_on(self.client.query(&statement, &refs));
        let rows = result.map_err(|error| self.map_error(error))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for index in 0..row.len() {
                values.push(column(row, index).map_err(|error| self.map_error(error))?);
            }
            out.push(Row { values });
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> StateResult<()> {
        let result = self.runtime.block_on(self.client.batch_execute(sql));
        result.map_err(|error| self.map_error(error))
    }

    fn begin(&mut self) -> StateResult<()> {
        self.batch("BEGIN")
    }

    fn commit(&mut self) -> StateResult<()> {
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> StateResult<()> {
        self.batch("ROLLBACK")
    }

    fn lock_key(&mut self, key: &str) -> StateResult<()> {
        let digest = Sha256::digest(key.as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        let id = i64::from_be_bytes(bytes);
        self.query("SELECT pg_advisory_xact_lock($1)::text", &[id.into()]).map(|_| ())
    }
}
