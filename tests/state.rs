//! The state commands through the real binary, against SQLite and
//! PostgreSQL alike: history and versions, pause → approve → resume,
//! rollback, locks, a damaged or newer store, `deploy plan`'s changes,
//! redaction, logs.

mod common;

use common::backend::{postgres_execute, Backend};
use common::{Output, Test};

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", output.stdout, output.stderr))
}

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

fn count_lines(test: &Test, file: &str) -> usize {
    std::fs::read_to_string(test.path().join(file)).map(|text| text.lines().count()).unwrap_or(0)
}

const SHOP: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment staging { hosts = ["stg-1"] }
environment production { hosts = ["web-1", "web-2"] }
stage build { run "echo build >> ran-build"  irreversible = "an artifact" }
stage stg {
  needs = [build]  target = staging
  run "echo $DEPLOY_VERSION >> ran-stg-$DEPLOY_HOST"
  rollback { run "echo restore ${previous_version} on ${host}; echo $DEPLOY_PREVIOUS_VERSION >> undone-stg-$DEPLOY_HOST" }
}
gate go { needs = [stg]  approve "Ship ${version}?" }
stage prod {
  needs = [go]  target = production
  run "echo $DEPLOY_VERSION >> ran-prod-$DEPLOY_HOST"
  rollback { run "echo restore ${previous_version} on ${host}; echo $DEPLOY_PREVIOUS_VERSION >> undone-prod-$DEPLOY_HOST" }
}
"#;

fn shop(backend: &Backend) -> Test {
    backend.apply(Test::new().plan(SHOP))
}

fn deploy(test: &Test, version: &str) -> Output {
    test.run_with(&["run", "release.deploy", "--yes", "--set", &format!("version={version}")])
}

fn records_history_and_versions(backend: &Backend) {
    let test = shop(backend);
    ok(&deploy(&test, "v1"));
    ok(&deploy(&test, "v2"));
    let history = test.run_with(&["history", "--json"]);
    ok(&history);
    let rows = json(&history);
    let rows = rows.as_array().unwrap_or_else(|| panic!("not an array"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["version"], "v2");
    assert_eq!(rows[0]["previous_version"], "v1");
    assert_eq!(rows[0]["status"], "succeeded");
    assert_eq!(rows[1]["version"], "v1");
    assert!(rows[0]["started_by"].as_str().unwrap_or("").contains('@'));
    let status = json(&test.run_with(&["status", "--json"]));
    let environments = status["environments"].as_array().cloned().unwrap_or_default();
    let production = environments.iter().find(|e| e["environment"] == "production").cloned().unwrap_or_default();
    assert_eq!(production["current_version"], "v2");
    assert_eq!(production["previous_version"], "v1");
    assert!(status["locks"].as_array().is_some_and(|locks| locks.is_empty()), "{status}");
    let table = test.run_with(&["history", "--env", "staging", "--limit", "1"]);
    ok(&table);
    assert!(table.stdout.contains("v2") && !table.stdout.contains(" v1 "), "{}", table.stdout);
    // The previous version reaches the steps of the next run.
    let output = test.run_with(&["run", "release.deploy", "--yes", "--set", "version=v3", "--json"]);
    ok(&output);
    let started = output.events().into_iter().find(|e| e["type"] == "run_started").unwrap_or_default();
    assert_eq!(started["previous_version"], "v2");
}

fn pause_approve_resume(backend: &Backend) {
    let test = shop(backend);
    let paused = deploy_paused(&test);
    assert_eq!(paused.code, 3, "{}{}", paused.stdout, paused.stderr);
    let status = json(&test.run_with(&["status", "--json"]));
    let runs = status["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "{status}");
    assert_eq!(runs[0]["status"], "paused");
    // Resuming without an approval pauses again at the same gate.
    let again = test.run_with(&["resume"]);
    assert_eq!(again.code, 3, "{}{}", again.stdout, again.stderr);
    let approve = test.run_with(&["approve", "go", "--as", "alice"]);
    ok(&approve);
    assert!(approve.stdout.contains("approved go"), "{}", approve.stdout);
    let resumed = test.run_with(&["resume", "--json"]);
    ok(&resumed);
    let events = resumed.events();
    let approved = events.iter().find(|e| e["type"] == "approved").cloned().unwrap_or_default();
    assert_eq!(approved["approver"], "alice");
    let skipped: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "node_skipped")
        .map(|e| e["node"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(skipped, vec!["build", "stg"]);
    // What finished before the pause ran once; the rest ran once.
    assert_eq!(count_lines(&test, "ran-build"), 1);
    assert_eq!(count_lines(&test, "ran-stg-stg-1"), 1);
    assert_eq!(count_lines(&test, "ran-prod-web-1"), 1);
    assert_eq!(count_lines(&test, "ran-prod-web-2"), 1);
    let history = json(&test.run_with(&["history", "--json"]));
    assert_eq!(history[0]["status"], "succeeded");
    assert_eq!(history.as_array().map(Vec::len), Some(1));
    // The journal holds both parts, numbered continuously.
    let logs = test.run_with(&["logs", "--json"]);
    ok(&logs);
    let seqs: Vec<u64> = logs.events().iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.len() > 10);
    assert!(seqs.windows(2).all(|pair| pair[1] == pair[0] + 1), "{seqs:?}");
    // The first run, the resume that paused again, the resume that finished.
    assert_eq!(logs.events().iter().filter(|e| e["type"] == "run_started").count(), 3);
    // Nothing left to resume or approve.
    assert_eq!(test.run_with(&["resume"]).code, 1);
    let approve = test.run_with(&["approve", "go"]);
    assert_eq!(approve.code, 1);
    assert!(approve.stderr.contains("no paused run"), "{}", approve.stderr);
}

fn deploy_paused(test: &Test) -> Output {
    test.run_with(&["run", "release.deploy", "--set", "version=v1"])
}

fn approve_checks_the_gate_name(backend: &Backend) {
    let test = shop(backend);
    assert_eq!(deploy_paused(&test).code, 3);
    let wrong = test.run_with(&["approve", "og"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("no gate or stage `og`") && wrong.stderr.contains("did you mean `go`"),
        "{}",
        wrong.stderr
    );
}

fn rollback_undoes_the_last_deployment(backend: &Backend) {
    let test = shop(backend);
    let nothing = test.run_with(&["rollback", "release.deploy"]);
    assert_eq!(nothing.code, 1, "{}{}", nothing.stdout, nothing.stderr);
    assert!(nothing.stderr.contains("nothing to roll back"), "{}", nothing.stderr);
    ok(&deploy(&test, "v1"));
    let first = test.run_with(&["rollback", "release.deploy"]);
    assert_eq!(first.code, 1, "{}{}", first.stdout, first.stderr);
    assert!(first.stderr.contains("no earlier version"), "{}", first.stderr);
    ok(&deploy(&test, "v2"));
    let rollback = test.run_with(&["rollback", "release.deploy"]);
    ok(&rollback);
    assert!(rollback.stdout.contains("restore v1 on web-1"), "{}", rollback.stdout);
    // Every host of both targeted stages, with previous_version bound.
    for host in ["web-1", "web-2"] {
        assert_eq!(
            std::fs::read_to_string(test.path().join(format!("undone-prod-{host}"))).unwrap_or_default(),
            "v1\n"
        );
    }
    assert_eq!(count_lines(&test, "undone-stg-stg-1"), 1);
    let status = json(&test.run_with(&["status", "--json"]));
    let environments = status["environments"].as_array().cloned().unwrap_or_default();
    assert!(environments.iter().all(|e| e["current_version"] == "v1"), "{status}");
    let bad = status["bad_versions"].as_array().cloned().unwrap_or_default();
    assert!(bad.iter().any(|b| b["version"] == "v2" && b["environment"] == "production"), "{status}");
    // Deploying a known-bad version warns; planning it says so.
    let plan = test.run_with(&["plan", "release.deploy", "--set", "version=v2"]);
    ok(&plan);
    assert!(plan.stdout.contains("known bad"), "{}", plan.stdout);
    // Back at the first version: nothing earlier to go to.
    let again = test.run_with(&["rollback", "release.deploy"]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    // Unless named.
    let to = test.run_with(&["rollback", "release.deploy", "--env", "production", "--to", "v0"]);
    ok(&to);
    assert!(to.stdout.contains("restore v0 on web-2"), "{}", to.stdout);
    assert!(!to.stdout.contains("stg-1"), "--env production undoes production only: {}", to.stdout);
    let history = json(&test.run_with(&["history", "--json"]));
    assert_eq!(history[0]["kind"], "rollback");
    assert!(history[0]["undoes"].is_string());
}

fn rollback_undoes_a_paused_run(backend: &Backend) {
    let test = shop(backend);
    ok(&deploy(&test, "v1"));
    assert_eq!(test.run_with(&["run", "release.deploy", "--set", "version=v2"]).code, 3);
    let rollback = test.run_with(&["rollback", "release.deploy", "--json"]);
    ok(&rollback);
    let started = rollback.events().into_iter().find(|e| e["type"] == "rollback_started").unwrap_or_default();
    assert_eq!(started["units"], serde_json::json!(["stg@stg-1", "build"]));
    assert_eq!(std::fs::read_to_string(test.path().join("undone-stg-stg-1")).unwrap_or_default(), "v1\n");
    // It can no longer be resumed.
    let resume = test.run_with(&["resume"]);
    assert_eq!(resume.code, 1);
}

const SLOW: &str = r#"
pipeline "slow" {}
stage wait { run "while [ ! -f release ]; do sleep 0.02; done"  irreversible = "test" }
"#;

/// Waits until the lease of `slow` is taken and its run is recorded.
fn wait_for_lock(test: &Test) {
    for _ in 0..500 {
        let status = test.run_with(&["status", "--json"]);
        let status = if status.code == 0 { json(&status) } else { serde_json::Value::Null };
        let held = status["locks"].as_array().is_some_and(|locks| !locks.is_empty());
        let running = status["runs"].as_array().is_some_and(|runs| !runs.is_empty());
        if held && running {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the first run never took the lock");
}

fn a_second_run_is_refused_or_waits(backend: &Backend) {
    let test = backend.apply(Test::new().plan(SLOW));
    let mut first = test
        .command(&["run", "release.deploy", "--lock-message", "hotfix 42"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    wait_for_lock(&test);
    let second = test.run_with(&["run", "release.deploy"]);
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("is locked by") && second.stderr.contains("hotfix 42"), "{}", second.stderr);
    assert!(second.stderr.contains("since"), "{}", second.stderr);
    let status = test.run_with(&["status"]);
    assert!(status.stdout.contains("running slow"), "{}", status.stdout);
    // With --lock-timeout the second waits for the first.
    let waiting = test
        .command(&["run", "release.deploy", "--lock-timeout", "30s"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::write(test.path().join("release"), "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.wait().ok().and_then(|s| s.code()), Some(0));
    let waited = waiting.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&waited.stderr);
    assert_eq!(waited.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("waiting up to"), "{stderr}");
    let locks = test.run_with(&["lock", "status"]);
    assert_eq!(locks.stdout.trim(), "no locks");
}

fn a_dead_holder_is_taken_over(backend: &Backend) {
    let test = backend.apply(Test::new().plan(SLOW));
    // A holder on another machine: alive until its heartbeat is older than the TTL.
    let mut foreign = test
        .command(&["run", "release.deploy"])
        .env("DEPLOY_MACHINE_ID", "some-other-machine")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    wait_for_lock(&test);
    let _ = foreign.kill();
    let _ = foreign.wait();
    let refused = test.run_with(&["run", "release.deploy"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("is locked by"), "{}", refused.stderr);
    let release = test.run_with(&["lock", "release"]);
    assert_eq!(release.code, 1, "{}", release.stderr);
    assert!(release.stderr.contains("looks alive") && release.stderr.contains("--force"), "{}", release.stderr);
    // Once its heartbeat is older than the TTL, its run shows as crashed and
    // the next run takes the lock over with a warning.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let short_ttl = backend.apply(Test::new()).env("DEPLOY_LEASE_TTL_MS", "300").current_dir(test.path());
    let status = json(&short_ttl.run_with(&["status", "--json"]));
    let runs = status["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.first().map(|r| r["status"].clone()), Some(serde_json::json!("crashed")), "{status}");
    std::fs::write(test.path().join("release"), "").unwrap_or_else(|e| panic!("{e}"));
    let taken = short_ttl.run_with(&["run", "release.deploy"]);
    ok(&taken);
    assert!(taken.stderr.contains("took over the lock") && taken.stderr.contains("no heartbeat"), "{}", taken.stderr);
    // A live holder's lock can be released by force.
    let _ = std::fs::remove_file(test.path().join("release"));
    let mut holder = test
        .command(&["run", "release.deploy"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    wait_for_lock(&test);
    let forced = test.run_with(&["lock", "release", "--force", "slow"]);
    ok(&forced);
    assert!(forced.stdout.contains("released `slow`"), "{}", forced.stdout);
    std::fs::write(test.path().join("release"), "").unwrap_or_else(|e| panic!("{e}"));
    let _ = holder.wait();
    // The release was journaled into the running run while it waited; the
    // run's own later events still reach its journal, after it.
    let logs = test.run_with(&["logs", "--json"]);
    let kinds: Vec<String> =
        logs.events().iter().map(|event| event["type"].as_str().unwrap_or_default().to_string()).collect();
    let action = kinds.iter().position(|kind| kind == "action");
    let finished = kinds.iter().position(|kind| kind == "run_finished");
    assert!(action.is_some() && finished.is_some() && action < finished, "{kinds:?}\n{}", logs.stderr);
    assert!(kinds.contains(&"process_ended".to_string()), "{kinds:?}");
}

fn a_newer_schema_is_refused_untouched(backend: &Backend) {
    let test = shop(backend);
    ok(&deploy(&test, "v1"));
    match backend {
        Backend::Sqlite => {
            let path = test.path().join(".deploy/state.db");
            let connection = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
            connection
                .execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", [])
                .unwrap_or_else(|e| panic!("{e}"));
            drop(connection);
        }
        Backend::Postgres(url) => postgres_execute(url, "UPDATE meta SET value = '99' WHERE key = 'schema_version'"),
    }
    let before = snapshot(backend, &test);
    for args in
        [vec!["run", "release.deploy", "--yes"], vec!["status"], vec!["history"], vec!["plan", "release.deploy"]]
    {
        let output = test.run_with(&args);
        assert_eq!(output.code, 1, "{args:?}: {}{}", output.stdout, output.stderr);
        assert!(output.stderr.contains("schema version 99, newer than this deploy knows"), "{}", output.stderr);
    }
    assert_eq!(before, snapshot(backend, &test));
}

/// The bytes of a SQLite store (after a checkpoint), or nothing for PostgreSQL.
fn snapshot(backend: &Backend, test: &Test) -> Vec<u8> {
    match backend {
        Backend::Sqlite => std::fs::read(test.path().join(".deploy/state.db")).unwrap_or_default(),
        Backend::Postgres(_) => Vec::new(),
    }
}

fn plan_shows_what_changes(backend: &Backend) {
    let test = shop(backend);
    let fresh = test.run_with(&["plan", "release.deploy"]);
    ok(&fresh);
    assert!(!fresh.stdout.contains("Changes since"), "{}", fresh.stdout);
    ok(&deploy(&test, "v1"));
    let same = test.run_with(&["plan", "release.deploy"]);
    assert!(
        same.stdout.contains("version v1 (unchanged)") && same.stdout.contains("plan unchanged"),
        "{}",
        same.stdout
    );
    assert!(same.stdout.contains("(previous: v1)"), "{}", same.stdout);
    let changed = SHOP.replace("run \"echo build >> ran-build\"", "run \"echo build twice >> ran-build\"");
    std::fs::write(test.path().join("release.deploy"), changed).unwrap_or_else(|e| panic!("{e}"));
    let plan = test.run_with(&["plan", "release.deploy", "--set", "version=v2"]);
    ok(&plan);
    assert!(plan.stdout.contains("version v1 → v2"), "{}", plan.stdout);
    assert!(plan.stdout.contains("param version: v1 → v2"), "{}", plan.stdout);
    assert!(plan.stdout.contains("-stage build { run \"echo build >> ran-build\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("+stage build { run \"echo build twice >> ran-build\""), "{}", plan.stdout);
    let as_json = json(&test.run_with(&["plan", "release.deploy", "--format", "json", "--set", "version=v2"]));
    assert_eq!(as_json["changes"]["version_from"], "v1");
    assert_eq!(as_json["changes"]["version_to"], "v2");
}

fn secrets_never_reach_the_state(backend: &Backend) {
    let plan = r#"
pipeline "secretive" {}
param version: string = "v1"
param note: string = "none"
secret token = env("SHOP_TOKEN")
stage a { run "echo token is ${token}"  irreversible = "test" }
"#;
    let test = backend.apply(Test::new().plan(plan)).env("SHOP_TOKEN", "hunter2-very-secret");
    ok(&test.run_with(&["run", "release.deploy", "--set", "note=contains hunter2-very-secret"]));
    let logs = test.run_with(&["logs"]);
    ok(&logs);
    assert!(logs.stdout.contains("token is ***"), "{}", logs.stdout);
    let history = test.run_with(&["history", "--json"]);
    assert!(!history.stdout.contains("hunter2"), "{}", history.stdout);
    if let Backend::Sqlite = backend {
        let dir = test.path().join(".deploy");
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")).flatten() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("hunter2"), "{} holds the secret", entry.path().display());
        }
    }
}

fn logs_replay_a_run(backend: &Backend) {
    let test = shop(backend);
    ok(&deploy(&test, "v1"));
    let live = test.run_with(&["run", "release.deploy", "--yes", "--set", "version=v2"]);
    ok(&live);
    let replay = test.run_with(&["logs"]);
    ok(&replay);
    // The same plain view: the same lines, up to timings.
    let strip = |text: &str| -> Vec<String> {
        text.lines().map(|line| line.split(" in ").next().unwrap_or("").to_string()).filter(|l| !l.is_empty()).collect()
    };
    assert_eq!(strip(&replay.stdout), strip(&live.stdout));
    let history = json(&test.run_with(&["history", "--json"]));
    let first = history[1]["run_id"].as_str().unwrap_or("").to_string();
    let older = test.run_with(&["logs", &first, "--json"]);
    ok(&older);
    let started = older.events().into_iter().find(|e| e["type"] == "run_started").unwrap_or_default();
    assert_eq!(started["version"], "v1");
    let missing = test.run_with(&["logs", "no-such-run"]);
    assert_eq!(missing.code, 1);
}

const CANARY: &str = r#"
pipeline "canary" {}
param version: string = "v1"
environment production { hosts = ["web-1", "web-2"] }
gate healthy { check every 1s within 3s `true` }
stage ship {
  target = production
  strategy canary { steps = [50%, 100%]  pause = 1s  analysis = healthy }
  run "echo $DEPLOY_VERSION >> ran-$DEPLOY_HOST"
  rollback { run "echo $DEPLOY_PREVIOUS_VERSION >> undone-$DEPLOY_HOST" }
}
"#;

/// The events of a `--json` run whose type is one of `types`.
fn events_of(output: &Output, types: &[&str]) -> Vec<serde_json::Value> {
    output.events().into_iter().filter(|e| e["type"].as_str().is_some_and(|t| types.contains(&t))).collect()
}

/// `deploy rollback` runs the rollback path only: no canary pause, no
/// analysis — unless `--with-gates` asks for the gates again.
fn rollback_skips_gates_unless_asked(backend: &Backend) {
    let test = backend.apply(Test::new().plan(CANARY));
    for version in ["v1", "v2"] {
        let run = test.run_with(&["run", "release.deploy", "--yes", "--json", "--set", &format!("version={version}")]);
        ok(&run);
        assert!(!events_of(&run, &["gate_evaluation"]).is_empty(), "the canary analyses while deploying");
    }
    let plain = test.run_with(&["rollback", "release.deploy", "--json"]);
    ok(&plain);
    assert!(events_of(&plain, &["gate_evaluation"]).is_empty(), "no analysis on a plain rollback: {}", plain.stdout);
    for host in ["web-1", "web-2"] {
        assert_eq!(std::fs::read_to_string(test.path().join(format!("undone-{host}"))).unwrap_or_default(), "v1\n");
    }
    ok(&test.run_with(&["run", "release.deploy", "--yes", "--set", "version=v3"]));
    let gated = test.run_with(&["rollback", "release.deploy", "--with-gates", "--json"]);
    ok(&gated);
    let evaluations = events_of(&gated, &["gate_evaluation"]);
    assert!(!evaluations.is_empty(), "--with-gates evaluates the analysis gate again: {}", gated.stdout);
    assert!(evaluations.iter().all(|e| e["node"] == "healthy" && e["outcome"] == "pass"), "{evaluations:?}");
    for host in ["web-1", "web-2"] {
        assert_eq!(count_lines(&test, &format!("undone-{host}")), 2);
    }
}

on_both_backends!(
    rollback_skips_gates_unless_asked,
    records_history_and_versions,
    pause_approve_resume,
    approve_checks_the_gate_name,
    rollback_undoes_the_last_deployment,
    rollback_undoes_a_paused_run,
    a_second_run_is_refused_or_waits,
    a_dead_holder_is_taken_over,
    a_newer_schema_is_refused_untouched,
    plan_shows_what_changes,
    secrets_never_reach_the_state,
    logs_replay_a_run,
);

#[test]
fn a_damaged_state_file_is_refused_untouched() {
    let test = Test::new().plan(SHOP).file(".deploy/state.db", "this is not a database, it is a note\n".repeat(200));
    let before = std::fs::read(test.path().join(".deploy/state.db")).unwrap_or_default();
    for args in [vec!["run", "release.deploy", "--yes"], vec!["status"], vec!["history"], vec!["logs"]] {
        let output = test.run_with(&args);
        assert_eq!(output.code, 1, "{args:?}: {}{}", output.stdout, output.stderr);
        assert!(output.stderr.contains("is damaged or is not a deploy state"), "{}", output.stderr);
    }
    assert_eq!(before, std::fs::read(test.path().join(".deploy/state.db")).unwrap_or_default());
    assert!(!test.path().join(".deploy/state.db-wal").exists());
}

#[test]
fn a_database_of_something_else_is_refused() {
    let test = Test::new().plan(SHOP);
    std::fs::create_dir_all(test.path().join(".deploy")).unwrap_or_else(|e| panic!("{e}"));
    let connection = rusqlite::Connection::open(test.path().join(".deploy/state.db")).unwrap_or_else(|e| panic!("{e}"));
    connection.execute_batch("CREATE TABLE notes (text TEXT)").unwrap_or_else(|e| panic!("{e}"));
    drop(connection);
    let output = test.run_with(&["status"]);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("no `meta` table"), "{}", output.stderr);
}

#[test]
fn status_without_state_says_so() {
    let test = Test::new().plan(SHOP);
    let output = test.run_with(&["status"]);
    ok(&output);
    assert!(output.stdout.contains("nothing has run"), "{}", output.stdout);
    assert!(!test.path().join(".deploy").exists(), "status must not create the state");
}

/// Runs the binary as a user who cannot write the store. Tests run as
/// root here, and file modes do not stop root from writing: as root the
/// command runs as `nobody` (65534, no groups), else as this user.
fn run_without_write_access(test: &Test, args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let mut command = test.command(args);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.uid(65534).gid(65534);
    }
    let output = command.output().unwrap_or_else(|e| panic!("run deploy: {e}"));
    Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// #27: a store this user cannot write is still read by `status`, `history`
/// and `logs` (nothing is created beside it); `run` on it fails with one
/// clear message naming the file; an older store is read as it is and
/// never migrated by a reading command (#26).
#[test]
fn a_read_only_store_can_be_read() {
    let test = Test::new().plan(SHOP);
    ok(&deploy(&test, "v1"));
    let dir = test.path().join(".deploy");
    let db = dir.join("state.db");
    assert_eq!(files_in(&dir), ["state.db"]);
    set_mode(test.path(), 0o755);
    set_mode(&db, 0o444);
    set_mode(&dir, 0o555);

    let status = run_without_write_access(&test, &["status", "--json"]);
    ok(&status);
    let status = json(&status);
    let production = status["environments"]
        .as_array()
        .and_then(|environments| environments.iter().find(|e| e["environment"] == "production").cloned())
        .unwrap_or_default();
    assert_eq!(production["current_version"], "v1", "{status}");
    let history = run_without_write_access(&test, &["history", "--json"]);
    ok(&history);
    assert_eq!(json(&history).as_array().map(Vec::len), Some(1), "{}", history.stdout);
    let logs = run_without_write_access(&test, &["logs"]);
    ok(&logs);
    assert!(logs.stdout.contains("run succeeded"), "{}", logs.stdout);
    assert_eq!(files_in(&dir), ["state.db"], "reading created nothing beside the store");

    let run = run_without_write_access(&test, &["run", "release.deploy", "--yes", "--set", "version=v2"]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(".deploy/state.db is read-only"), "{}", run.stderr);
    assert!(!run.stderr.contains("damaged") && !run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(count_lines(&test, "ran-build"), 1, "nothing ran on a store that cannot record it");

    // An older store (schema 3): read as it is, never upgraded by a reading
    // command — what later schemas add reads as empty (no host rows).
    set_mode(&dir, 0o755);
    set_mode(&db, 0o644);
    let connection = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    connection
        .execute_batch(
            "ALTER TABLE deployments DROP COLUMN modules; DROP TABLE host_checks; DROP TABLE host_versions; DROP TABLE host_history; \
             ALTER TABLE environment_versions DROP COLUMN mixed; \
             UPDATE meta SET value = '3' WHERE key = 'schema_version';",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    drop(connection);
    set_mode(&db, 0o444);
    set_mode(&dir, 0o555);
    let logs = run_without_write_access(&test, &["logs"]);
    ok(&logs);
    let status = run_without_write_access(&test, &["status", "--json"]);
    ok(&status);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap_or_default();
    assert_eq!(json["environments"][0]["current_version"], "v1", "{}", status.stdout);
    assert_eq!(json["environments"][0]["hosts"], serde_json::json!([]), "{}", status.stdout);
    ok(&run_without_write_access(&test, &["history"]));
    // Writable, the reading commands still leave it at schema 3 (the deploy
    // that wrote it can still open it); a command that records migrates it.
    set_mode(&dir, 0o755);
    set_mode(&db, 0o644);
    let version = || -> String {
        let connection = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
        connection
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    for reading in [&["status"][..], &["history"], &["logs"], &["status", "--json"], &["plan", "release.deploy"]] {
        ok(&test.run_with(reading));
        assert_eq!(version(), "3", "`deploy {}` migrated the store", reading.join(" "));
    }
    assert_eq!(files_in(&dir), ["state.db"], "reading created nothing beside the store");
    ok(&deploy(&test, "v2"));
    assert_eq!(version(), "6", "a run migrates it");
    ok(&test.run_with(&["status"]));
}
