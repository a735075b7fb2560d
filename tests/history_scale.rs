//! #27: the history of 5,000 deployments through the real server. One real
//! run is copied in SQLite until the store holds 5,000 (every copy keeps its
//! plan, as real rows do), a tenth of them marked rolled back and one in 50
//! deployed from a watched commit; then `deploy serve` answers the first
//! page, a deep page, the outcome and commit filters and the API's paging.
//! The time of each first answer is printed (docs/performance.md records
//! them); nothing here asserts a time.

mod common;

use std::time::Instant;

use common::background::{get, Background};
use common::Test;

const PLAN: &str = r#"
pipeline "shop" {}
param version: string = "1"
environment production { hosts = ["web-1", "web-2"] }
stage build { run "echo built ${version}" }
stage ship { needs = [build]  target = production  run "echo ${version}"  rollback { run "true" } }
"#;

const COUNT: usize = 5000;

#[test]
fn five_thousand_deployments_page_and_filter_through_the_server() {
    let test = Test::new().plan(PLAN);
    let ran = test.run_with(&["run", "release.deploy"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let built = Instant::now();
    let db = test.path().join(".deploy/state.db");
    let connection = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let mut columns = Vec::new();
    {
        let mut info = connection.prepare("PRAGMA table_info(deployments)").unwrap_or_else(|e| panic!("{e}"));
        let names = info.query_map([], |row| row.get::<_, String>(1)).unwrap_or_else(|e| panic!("{e}"));
        for name in names {
            columns.push(name.unwrap_or_else(|e| panic!("{e}")));
        }
    }
    let select: Vec<String> = columns
        .iter()
        .map(|column| match column.as_str() {
            "run_id" => "printf('hist-%05d', n.i)".to_string(),
            "version" => "'v' || n.i".to_string(),
            "status" => "CASE WHEN n.i % 10 = 3 THEN 'rolled_back' ELSE status END".to_string(),
            "started_at" | "heartbeat_at" | "ended_at" => format!("{column} - n.i * 60000"),
            other => other.to_string(),
        })
        .collect();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
         INSERT INTO deployments ({}) SELECT {} FROM deployments, n \
         WHERE deployments.run_id = (SELECT run_id FROM deployments LIMIT 1); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
         INSERT INTO commits (pipeline, commit_hash, branch, author, subject, committed_at, seen_at, status, run_id) \
         SELECT 'shop', printf('c0ffee%034d', n.i), 'main', 'Ada <ada@example.com>', 'change ' || n.i, n.i, n.i, \
         'deployed', printf('hist-%05d', n.i) FROM n WHERE n.i % 50 = 0;",
        COUNT - 1,
        columns.join(", "),
        select.join(", "),
        COUNT - 1
    );
    connection.execute_batch(&sql).unwrap_or_else(|e| panic!("{e}"));
    let count: i64 = connection
        .query_row("SELECT count(*) FROM deployments", [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count, COUNT as i64);
    drop(connection);
    let size = std::fs::metadata(&db).map(|meta| meta.len()).unwrap_or(0);
    println!("store: {count} deployments, {:.1} MB, built in {:?}", size as f64 / 1e6, built.elapsed());

    let server = Background::start(test.path(), &["serve", "release.deploy", "--listen", "127.0.0.1:0"], &[]);
    let base = format!("http://{}", server.address());
    let timed = |what: &str, path: &str| {
        let started = Instant::now();
        let answer = get(&format!("{base}{path}"));
        let took = started.elapsed();
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        println!("{what:<44} {path:<48} {:>8.1} ms {:>8} bytes", took.as_secs_f64() * 1000.0, answer.body.len());
        answer
    };
    let first = timed("first render: newest 100", "/history");
    assert_eq!(first.body.matches("data-run-row").count(), 100);
    assert!(first.body.contains("rel=\"next\""));
    let deep = timed("page 40 of 100 rows (rows 3901-4000)", "/history?page=40");
    assert_eq!(deep.body.matches("data-run-row").count(), 100);
    let last = timed("the last page", "/history?page=50");
    assert_eq!(last.body.matches("data-run-row").count(), 100);
    // Past the last row: an empty page, not an error.
    let past = timed("past the last page", "/history?page=51");
    assert_eq!(past.body.matches("data-run-row").count(), 0);
    let thousand = timed("1,000 rows on one page", "/history?limit=1000");
    assert_eq!(thousand.body.matches("data-run-row").count(), 1000);
    let rolled_back = timed("filter: outcome rolled back", "/history?status=rolled_back");
    assert_eq!(rolled_back.body.matches("data-run-row").count(), 100);
    let env = timed("filter: environment production", "/history?env=production");
    assert_eq!(env.body.matches("data-run-row").count(), 100);
    let commit = timed("filter: one commit", "/history?commit=c0ffee0000000000000000000000000000002500");
    assert_eq!(commit.body.matches("data-run-row").count(), 1, "{}", commit.body);
    let api = timed("API: 1,000 rows from offset 4,000", "/api/runs?limit=1000&offset=4000");
    assert_eq!(api.json().as_array().map(Vec::len), Some(1000));
    let api_commit = timed("API: the runs of watched commits c0ffee…", "/api/runs?commit=c0ffee&limit=1000");
    assert_eq!(api_commit.json().as_array().map(Vec::len), Some(COUNT / 50 - 1 + usize::from(COUNT % 50 != 0)));
}
