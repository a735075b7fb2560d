//! `deploy resume` continues a run with what it was started with: every
//! `--set` (the values also decide the plan's constants: waits, windows,
//! durations) and its `--env` / `--limit`, on SQLite and PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use common::backend::Backend;
use common::{Output, Test};

/// Runs `deploy ARGS`, killed after `limit` (a resume that forgot
/// `--set soak=1s` would wait the default hour).
fn run_within(test: &Test, args: &[&str], limit: Duration) -> Output {
    let mut child = test
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy: {e}"));
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let output = child.wait_with_output().ok();
                let stdout = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
                panic!("deploy {args:?} still running after {limit:?}:\n{stdout}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("wait: {e}"),
        }
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("output: {e}"));
    Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

const SOAK: &str = r#"
pipeline "shop" {}
param soak: duration = 1h
param label: string = "default"
environment production { hosts = ["web-1", "web-2"] }
stage build { run "echo ${label} >> ran-build"  rollback { run "true" } }
gate go { needs = [build]  approve "Ship?" }
gate bake { needs = [go]  wait = soak }
stage ship {
  needs = [bake]  target = production
  run "echo ${label} >> ran-ship-${host}"
  rollback { run "true" }
}
"#;

fn resume_keeps_sets_and_limit(backend: &Backend) {
    let test = backend.apply(Test::new().plan(SOAK));
    let args = ["run", "release.deploy", "--set", "soak=1s", "--set", "label=given", "--limit", "web-2"];
    let paused = run_within(&test, &args, Duration::from_secs(60));
    assert_eq!(paused.code, 3, "{}{}", paused.stdout, paused.stderr);
    let approved = test.run_with(&["approve", "go"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let resumed = run_within(&test, &["resume", "--json"], Duration::from_secs(60));
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    let read = |file: &str| std::fs::read_to_string(test.path().join(file)).unwrap_or_default();
    assert_eq!(read("ran-build"), "given\n", "the step saw the run's --set");
    assert_eq!(read("ran-ship-web-2"), "given\n", "the resumed part saw the run's --set too");
    assert!(!test.path().join("ran-ship-web-1").exists(), "--limit web-2 holds after the resume");
    let waited = resumed
        .events()
        .into_iter()
        .find(|event| event["type"] == "node_finished" && event["node"] == "bake")
        .and_then(|event| event["duration_ms"].as_u64());
    assert!(waited.is_some_and(|ms| ms < 30_000), "bake waited the run's 1s, not the default hour: {waited:?}");
}

#[test]
fn resume_keeps_sets_and_limit_sqlite() {
    resume_keeps_sets_and_limit(&Backend::Sqlite);
}

#[test]
fn resume_keeps_sets_and_limit_postgres() {
    if let Some(backend) = common::backend::postgres("resume_keeps_sets_and_limit") {
        resume_keeps_sets_and_limit(&backend);
    }
}
