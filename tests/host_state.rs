//! What the state records per host, through the real binary, on SQLite and
//! PostgreSQL: a run changes only the hosts it touched (`--env`, `--limit`,
//! `when`), an environment whose hosts differ is mixed, a tolerated
//! failure leaves its host `failed` with a warning, a crashed or
//! interrupted run leaves the hosts it was on `unknown`, and a store of the
//! schema before hosts were recorded migrates and reads without loss.

mod common;

use std::time::{Duration, Instant};

use common::backend::{postgres_execute, Backend};
use common::{Output, Test};
use serde_json::Value;

fn json(output: &Output) -> Value {
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", output.stdout, output.stderr))
}

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

fn read(test: &Test, file: &str) -> String {
    std::fs::read_to_string(test.path().join(file)).unwrap_or_default()
}

const TWO_ENVIRONMENTS: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment staging { hosts = ["stg-1"] }
environment production { hosts = ["h1", "h2", "h3"] }
stage build { run "echo build"  irreversible = "an artifact" }
stage stg {
  needs = [build]  target = staging
  run "echo $DEPLOY_VERSION > on-$DEPLOY_HOST"
  rollback { run "echo $DEPLOY_PREVIOUS_VERSION > on-$DEPLOY_HOST" }
}
stage prod {
  needs = [stg]  target = production
  when = `version != "skip"`
  run "echo $DEPLOY_VERSION > on-$DEPLOY_HOST"
  rollback { run "echo $DEPLOY_PREVIOUS_VERSION > on-$DEPLOY_HOST" }
}
"#;

fn deploy(test: &Test, version: &str, extra: &[&str]) -> Output {
    let set = format!("version={version}");
    let mut args = vec!["run", "release.deploy", "--set", &set];
    args.extend_from_slice(extra);
    test.run_with(&args)
}

fn status(test: &Test) -> Value {
    let output = test.run_with(&["status", "--json"]);
    ok(&output);
    json(&output)
}

fn environment(status: &Value, name: &str) -> Value {
    status["environments"]
        .as_array()
        .and_then(|list| list.iter().find(|env| env["environment"] == name).cloned())
        .unwrap_or_else(|| panic!("no environment {name} in {status}"))
}

fn host(environment: &Value, name: &str) -> Value {
    environment["hosts"]
        .as_array()
        .and_then(|list| list.iter().find(|host| host["host"] == name).cloned())
        .unwrap_or_else(|| panic!("no host {name} in {environment}"))
}

/// `(version, previous_version, state)` of a host.
fn on(environment: &Value, name: &str) -> (String, String, String) {
    let host = host(environment, name);
    let text = |key: &str| host[key].as_str().unwrap_or_else(|| panic!("{key} of {host}")).to_string();
    (text("version"), text("previous_version"), text("state"))
}

fn triple(version: &str, previous: &str, state: &str) -> (String, String, String) {
    (version.to_string(), previous.to_string(), state.to_string())
}

fn only_the_selected_environment_changes(backend: &Backend) {
    let test = backend.apply(Test::new().plan(TWO_ENVIRONMENTS));
    ok(&deploy(&test, "v1", &[]));
    ok(&deploy(&test, "v2", &["--env", "production"]));
    assert_eq!(read(&test, "on-stg-1"), "v1\n");
    let status = status(&test);
    let staging = environment(&status, "staging");
    assert_eq!(staging["current_version"], "v1", "staging was skipped: {status}");
    assert_eq!(on(&staging, "stg-1"), triple("v1", "", "ok"));
    let production = environment(&status, "production");
    assert_eq!(production["current_version"], "v2");
    assert_eq!(production["previous_version"], "v1");
    assert_eq!(production["mixed"], false);
    for name in ["h1", "h2", "h3"] {
        assert_eq!(on(&production, name), triple("v2", "v1", "ok"), "{production}");
    }
    // The run is about production only, in history too.
    let history = json(&test.run_with(&["history", "--json"]));
    assert_eq!(history[0]["environments"], serde_json::json!(["production"]), "{history}");
    let hosts: Vec<&str> = history[0]["hosts"]
        .as_array()
        .map(|hosts| hosts.iter().filter_map(|host| host["host"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(hosts, vec!["h1", "h2", "h3"], "{history}");
    // A stage skipped by `when` changes none of its hosts.
    ok(&deploy(&test, "skip", &[]));
    let status = self::status(&test);
    let production = environment(&status, "production");
    assert_eq!(production["current_version"], "v2", "{status}");
    assert_eq!(on(&production, "h1"), triple("v2", "v1", "ok"));
    assert_eq!(on(&environment(&status, "staging"), "stg-1"), triple("skip", "v1", "ok"));
}

fn a_limited_run_changes_its_hosts_only(backend: &Backend) {
    let test = backend.apply(Test::new().plan(TWO_ENVIRONMENTS));
    ok(&deploy(&test, "v1", &[]));
    ok(&deploy(&test, "v2", &["--limit", "h3"]));
    assert_eq!((read(&test, "on-h1"), read(&test, "on-h3")), ("v1\n".to_string(), "v2\n".to_string()));
    let status = status(&test);
    let production = environment(&status, "production");
    assert_eq!(production["mixed"], true, "{production}");
    assert_eq!(production["current_version"], "v1", "the version of most hosts: {production}");
    assert_eq!(on(&production, "h1"), triple("v1", "", "ok"));
    assert_eq!(on(&production, "h2"), triple("v1", "", "ok"));
    assert_eq!(on(&production, "h3"), triple("v2", "v1", "ok"));
    assert_eq!(environment(&status, "staging")["current_version"], "v1", "{status}");
    let text = test.run_with(&["status"]);
    ok(&text);
    assert!(text.stdout.contains("shop production: v1") && text.stdout.contains("mixed"), "{}", text.stdout);
    assert!(text.stdout.contains("    h3: v2 ok, previous v1 (run "), "{}", text.stdout);
    // Rolling the mixed environment back undoes the limited run, on its host only.
    let rollback = test.run_with(&["rollback", "release.deploy", "--env", "production"]);
    ok(&rollback);
    assert_eq!(read(&test, "on-h3"), "v1\n");
    let production = environment(&self::status(&test), "production");
    assert_eq!(production["mixed"], false, "{production}");
    assert_eq!(production["current_version"], "v1");
    assert_eq!(on(&production, "h3"), triple("v1", "", "undone"));
    assert_eq!(on(&production, "h1"), triple("v1", "", "ok"));
}

fn a_first_limited_run_leaves_its_environment_mixed(backend: &Backend) {
    let test = backend.apply(Test::new().plan(TWO_ENVIRONMENTS));
    ok(&deploy(&test, "v1", &["--limit", "h3"]));
    let status = status(&test);
    let production = environment(&status, "production");
    assert_eq!(production["mixed"], true, "h1 and h2 run nothing yet: {status}");
    assert_eq!(production["current_version"], "v1");
    assert_eq!(production["hosts"].as_array().map(Vec::len), Some(1), "{production}");
    // The next full run: h1 ran nothing before it, h3 ran v1.
    ok(&deploy(&test, "v2", &[]));
    let production = environment(&self::status(&test), "production");
    assert_eq!(on(&production, "h1"), triple("v2", "", "ok"));
    assert_eq!(on(&production, "h3"), triple("v2", "v1", "ok"));
    assert_eq!(production["mixed"], false);
}

const ROLLING: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment production { hosts = ["web-1", "web-2", "web-3"] }
stage web {
  target = production
  strategy rolling { batch = 1  max_failures = 1 }
  run "test $DEPLOY_HOST != web-3 || test $DEPLOY_VERSION = v1"
  run "echo $DEPLOY_VERSION > on-$DEPLOY_HOST"
  rollback { run "echo $DEPLOY_PREVIOUS_VERSION > on-$DEPLOY_HOST" }
}
"#;

fn a_tolerated_failure_leaves_its_host_failed(backend: &Backend) {
    let test = backend.apply(Test::new().plan(ROLLING));
    ok(&deploy(&test, "v1", &[]));
    let run = deploy(&test, "v2", &[]);
    ok(&run);
    let warning = "web-3 failed (tolerated): v2 may be broken there";
    assert!(run.stdout.contains(&format!("warning: {warning}")), "in the run's summary: {}", run.stdout);
    let status = status(&test);
    let production = environment(&status, "production");
    assert_eq!(on(&production, "web-1"), triple("v2", "v1", "ok"));
    assert_eq!(on(&production, "web-3"), triple("v2", "v1", "failed"));
    assert_eq!(production["mixed"], false, "every host was given v2: {production}");
    assert_eq!(status["warnings"], serde_json::json!([warning]), "{status}");
    let text = test.run_with(&["status"]);
    assert!(text.stdout.contains(&format!("warnings:\n  {warning}\n")), "{}", text.stdout);
    // The run's JSON summary says it too.
    let json_run = test.run_with(&["run", "release.deploy", "--set", "version=v3", "--json"]);
    ok(&json_run);
    let finished = json_run.events().into_iter().find(|e| e["type"] == "run_finished").unwrap_or_default();
    assert_eq!(
        finished["summary"]["warnings"],
        serde_json::json!(["web-3 failed (tolerated): v3 may be broken there"]),
        "{finished}"
    );
}

fn status_json_has_exactly_the_host_fields(backend: &Backend) {
    let test = backend.apply(Test::new().plan(TWO_ENVIRONMENTS));
    ok(&deploy(&test, "v1", &[]));
    let status = status(&test);
    let production = environment(&status, "production");
    let mut keys: Vec<&str> =
        production.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "current_run",
            "current_version",
            "environment",
            "hosts",
            "mixed",
            "pipeline",
            "previous_version",
            "updated_at"
        ]
    );
    let run_id = production["current_run"].as_str().unwrap_or("").to_string();
    assert_eq!(
        host(&production, "h2"),
        serde_json::json!({"host": "h2", "version": "v1", "previous_version": "", "state": "ok", "run": run_id})
    );
}

const SLOW_HOST: &str = r#"
pipeline "shop" { on_failure = abort }
param version: string = "v1"
environment production { hosts = ["h1", "h2"] }
stage web {
  target = production
  run "if [ $DEPLOY_HOST = h2 ] && [ $DEPLOY_VERSION = v2 ]; then touch started-h2; while [ ! -f release ]; do sleep 0.05; done; fi"
  run "echo $DEPLOY_VERSION > on-$DEPLOY_HOST"
  rollback { run "echo $DEPLOY_PREVIOUS_VERSION > on-$DEPLOY_HOST" }
}
"#;

/// Starts `run` of v2.
fn start_v2(test: &Test) -> std::process::Command {
    let mut command = test.command(&["run", "release.deploy", "--set", "version=v2"]);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    command
}

/// Waits until h1 finished (its end is committed to the journal) and h2 is in its step.
fn wait_until_stuck_on_h2(test: &Test, child: &mut std::process::Child) {
    let started = Instant::now();
    loop {
        let stuck = test.path().join("started-h2").exists();
        let logs = test.run_with(&["logs", "--json"]);
        let events = logs.events();
        let of_v2 = events.iter().any(|e| e["type"] == "run_started" && e["version"] == "v2");
        let h1_done =
            events.iter().any(|e| e["type"] == "node_finished" && e["host"] == "h1" && e["status"] == "succeeded");
        if stuck && of_v2 && h1_done {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run never reached h2: {}", logs.stderr);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn a_crashed_run_leaves_its_host_in_flight_unknown(backend: &Backend) {
    let test = backend.apply(Test::new().plan(SLOW_HOST)).env("DEPLOY_KILL_GRACE_MS", "200");
    ok(&deploy(&test, "v1", &[]));
    let mut child = start_v2(&test).spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    wait_until_stuck_on_h2(&test, &mut child);
    let crashed_run = json(&test.run_with(&["history", "--json"]))[0]["run_id"].as_str().unwrap_or("").to_string();
    let _ = child.kill();
    let _ = child.wait();
    // Found crashed: status shows what it left before anything is written.
    let status = status(&test);
    assert_eq!(status["runs"][0]["status"], "crashed", "{status}");
    let production = environment(&status, "production");
    assert_eq!(on(&production, "h1"), triple("v2", "v1", "ok"), "{production}");
    assert_eq!(on(&production, "h2"), triple("v2", "v1", "unknown"), "{production}");
    assert_eq!(host(&production, "h2")["run"], crashed_run.as_str());
    // The next run takes its lease over and records it: a run on h1 only keeps h2 unknown.
    std::fs::write(test.path().join("release"), "").unwrap_or_else(|e| panic!("{e}"));
    let next = deploy(&test, "v3", &["--limit", "h1"]);
    ok(&next);
    assert!(next.stderr.contains("took over the lock"), "{}", next.stderr);
    let production = environment(&self::status(&test), "production");
    assert_eq!(on(&production, "h1"), triple("v3", "v2", "ok"));
    assert_eq!(on(&production, "h2"), triple("v2", "v1", "unknown"));
    assert_eq!(production["mixed"], true);
    let history = json(&test.run_with(&["history", "--json"]));
    let crashed = history
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["run_id"] == crashed_run.as_str()).cloned())
        .unwrap_or_default();
    let states: Vec<(String, String)> = crashed["hosts"]
        .as_array()
        .map(|hosts| {
            hosts
                .iter()
                .map(|h| (h["host"].as_str().unwrap_or("").into(), h["state"].as_str().unwrap_or("").into()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(states, vec![("h1".into(), "ok".into()), ("h2".into(), "unknown".into())], "{crashed}");
}

fn an_interrupted_run_leaves_its_host_in_flight_unknown(backend: &Backend) {
    let test = backend.apply(Test::new().plan(SLOW_HOST)).env("DEPLOY_KILL_GRACE_MS", "200");
    ok(&deploy(&test, "v1", &[]));
    let mut child = start_v2(&test).spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    wait_until_stuck_on_h2(&test, &mut child);
    // SAFETY: sends SIGINT to the child this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let code = child.wait().ok().and_then(|status| status.code());
    assert_eq!(code, Some(130));
    let production = environment(&status(&test), "production");
    assert_eq!(on(&production, "h1"), triple("v2", "v1", "ok"), "{production}");
    assert_eq!(on(&production, "h2"), triple("v2", "v1", "unknown"), "{production}");
    assert_eq!(production["mixed"], false);
}

/// Turns the store back into one of schema 3 (before hosts were recorded).
fn downgrade_to_schema_3(backend: &Backend, test: &Test) {
    let sql = "ALTER TABLE deployments DROP COLUMN modules; DROP TABLE host_checks; DROP TABLE host_versions; DROP TABLE host_history; \
               ALTER TABLE environment_versions DROP COLUMN mixed; \
               UPDATE meta SET value = '3' WHERE key = 'schema_version';";
    match backend {
        Backend::Sqlite => {
            let connection =
                rusqlite::Connection::open(test.path().join(".deploy/state.db")).unwrap_or_else(|e| panic!("{e}"));
            connection.execute_batch(sql).unwrap_or_else(|e| panic!("{e}"));
        }
        Backend::Postgres(url) => postgres_execute(url, sql),
    }
}

/// `meta.schema_version` of the test's store.
fn schema_version(backend: &Backend, test: &Test) -> String {
    let sql = "SELECT value FROM meta WHERE key = 'schema_version'";
    match backend {
        Backend::Sqlite => rusqlite::Connection::open(test.path().join(".deploy/state.db"))
            .and_then(|connection| connection.query_row(sql, [], |row| row.get(0)))
            .unwrap_or_else(|e| panic!("{e}")),
        Backend::Postgres(url) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"));
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{e}"));
                tokio::spawn(connection);
                let row = client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                row.get::<_, String>(0)
            })
        }
    }
}

fn a_store_from_before_hosts_migrates(backend: &Backend) {
    let test = backend.apply(Test::new().plan(TWO_ENVIRONMENTS));
    ok(&deploy(&test, "v1", &[]));
    ok(&deploy(&test, "v2", &[]));
    downgrade_to_schema_3(backend, &test);
    let status = status(&test);
    let production = environment(&status, "production");
    assert_eq!(production["current_version"], "v2", "{status}");
    assert_eq!(production["previous_version"], "v1");
    assert_eq!(production["mixed"], false);
    assert_eq!(production["hosts"], serde_json::json!([]));
    let history = json(&test.run_with(&["history", "--json"]));
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");
    ok(&test.run_with(&["logs"]));
    ok(&test.run_with(&["plan", "release.deploy"]));
    // Reading left it as it was: the deploy that wrote it can still open it.
    assert_eq!(schema_version(backend, &test), "3", "a reading command migrated the store");
    // A host without a record runs what its environment ran.
    ok(&deploy(&test, "v3", &["--limit", "h3"]));
    let production = environment(&self::status(&test), "production");
    assert_eq!(on(&production, "h3"), triple("v3", "v2", "ok"));
    assert_eq!(production["current_version"], "v2", "{production}");
    assert_eq!(production["mixed"], true);
}

on_both_backends!(
    only_the_selected_environment_changes,
    a_limited_run_changes_its_hosts_only,
    a_first_limited_run_leaves_its_environment_mixed,
    a_tolerated_failure_leaves_its_host_failed,
    status_json_has_exactly_the_host_fields,
    a_crashed_run_leaves_its_host_in_flight_unknown,
    an_interrupted_run_leaves_its_host_in_flight_unknown,
    a_store_from_before_hosts_migrates,
);
