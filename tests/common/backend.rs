//! The state backends the state tests run against: SQLite (the default
//! file beside the plan) and PostgreSQL (a fresh database per test on the
//! server named by DEPLOY_TEST_POSTGRES). Outside CI a missing
//! DEPLOY_TEST_POSTGRES skips the PostgreSQL variants, saying so; with
//! CI=true it fails them.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use super::Test;

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The URL of a database created for this test.
    Postgres(String),
}

impl Backend {
    /// Points a test's commands at this backend.
    pub fn apply(&self, test: Test) -> Test {
        match self {
            Backend::Sqlite => test,
            Backend::Postgres(url) => test.env("DEPLOY_STATE", url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }
}

/// A fresh PostgreSQL database, or `None` (skipped) outside CI without DEPLOY_TEST_POSTGRES.
pub fn postgres(test_name: &str) -> Option<Backend> {
    let base = match std::env::var("DEPLOY_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1") {
                panic!("{test_name}: CI=true but DEPLOY_TEST_POSTGRES is not set; PostgreSQL tests must run in CI");
            }
            eprintln!(
                "SKIPPED {test_name}: PostgreSQL test not run because DEPLOY_TEST_POSTGRES is not set \
                 (start one with tests/support/postgres.sh)"
            );
            return None;
        }
    };
    Some(Backend::Postgres(fresh_database(&base, test_name)))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Creates a database of its own for one test and returns its URL.
pub fn fresh_database(base: &str, test_name: &str) -> String {
    let name = format!(
        "deploy_{}_{}_{}",
        test_name.chars().filter(|c| c.is_ascii_alphanumeric()).take(30).collect::<String>().to_lowercase(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to DEPLOY_TEST_POSTGRES ({base}): {e}"));
        tokio::spawn(connection);
        drop_left_over_databases(&client).await;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .unwrap_or_else(|e| panic!("drop database: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("create database: {e}"));
    });
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base, String::new()),
    };
    let after_scheme = without_query.find("://").map_or(0, |i| i + 3);
    let prefix = match without_query[after_scheme..].find('/') {
        Some(slash) => &without_query[..after_scheme + slash],
        None => without_query,
    };
    format!("{prefix}/{name}{query}")
}

static SWEPT: std::sync::Once = std::sync::Once::new();

/// Once per test process: drops the databases of test processes that are
/// gone (`deploy_TEST_PID_N` whose PID no longer runs), so a server that
/// outlives many test runs does not fill the disk.
async fn drop_left_over_databases(client: &tokio_postgres::Client) {
    let mut first = false;
    SWEPT.call_once(|| first = true);
    if !first {
        return;
    }
    let Ok(rows) = client.query("SELECT datname FROM pg_database WHERE datname LIKE 'deploy\\_%'", &[]).await else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.rsplit('_').nth(1).and_then(|pid| pid.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if gone && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await;
        }
    }
}

/// Runs SQL on a PostgreSQL backend's database (test setup only).
pub fn postgres_execute(url: &str, sql: &str) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("connect: {e}"));
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// Defines `NAME_sqlite` and `NAME_postgres` tests that call `NAME(&Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::common::backend::Backend::Sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(backend) = $crate::common::backend::postgres(stringify!($name)) {
                        super::$name(&backend);
                    }
                }
            )*
        }
    };
}
