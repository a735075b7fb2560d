//! kill -9 of the runner at 50 points of a multi-stage, multi-host run.
//! After every kill: the store opens cleanly, the run shows as crashed (not
//! running), its lock is recognised as stale and taken over, and the run is
//! either resumed to success — every unit the journal says finished ran
//! exactly once — or rolled back — every unit that started was undone.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::backend::Backend;
use common::Test;

const PLAN: &str = r#"
pipeline "crash" {}
param version: string = "v1"
environment prod { hosts = ["h1", "h2", "h3"] }
stage a {
  run "echo a >> ran-a; sleep 0.02"
  rollback { run "echo a >> undone-a" }
}
stage b {
  needs = [a]  target = prod
  run "echo b >> ran-b-$DEPLOY_HOST; sleep 0.02"
  rollback { run "echo b >> undone-b-$DEPLOY_HOST" }
}
stage c {
  needs = [a]  target = prod
  strategy rolling { batch = 1 }
  run "echo c >> ran-c-$DEPLOY_HOST; sleep 0.01"
  rollback { run "echo c >> undone-c-$DEPLOY_HOST" }
}
stage d {
  needs = [b, c]
  run "echo d >> ran-d; sleep 0.01"
  rollback { run "echo d >> undone-d" }
}
"#;

/// A unit's marker name: `a`, `b-h1`.
fn unit_name(node: &str, host: Option<&str>) -> String {
    match host {
        Some(host) => format!("{node}-{host}"),
        None => node.to_string(),
    }
}

fn lines(test: &Test, file: &str) -> usize {
    std::fs::read_to_string(test.path().join(file)).map(|text| text.lines().count()).unwrap_or(0)
}

/// Units of stages (host-level for b and c) from the journal's events.
fn units(events: &[serde_json::Value], kind: &str, status: Option<&str>) -> BTreeSet<String> {
    events
        .iter()
        .filter(|event| event["type"] == kind)
        .filter(|event| status.map_or(true, |status| event["status"] == status))
        .filter_map(|event| {
            let node = event["node"].as_str()?;
            let host = event["host"].as_str();
            let targeted = node == "b" || node == "c";
            (targeted == host.is_some()).then(|| unit_name(node, host))
        })
        .collect()
}

/// `backend(point)`: a fresh store for each point.
fn crash_at_fifty_points(backend: &dyn Fn(usize) -> Backend) {
    for point in 0..50 {
        let test = backend(point).apply(Test::new().plan(PLAN));
        // Points: after the n-th event line (n = 1..25), then 4 ms later for the second 25.
        let events_before_kill = point % 25 + 1;
        let extra = Duration::from_millis(if point < 25 { 0 } else { 4 });
        let mut child = test
            .command(&["run", "release.deploy", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut reader = BufReader::new(stdout);
        let mut seen = 0;
        let mut line = String::new();
        while seen < events_before_kill {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => seen += 1,
            }
        }
        std::thread::sleep(extra);
        let _ = child.kill();
        let _ = child.wait();
        let context = format!("point {point} (after {seen} events)");

        // The store opens cleanly and the run is not "running".
        let status = test.run_with(&["status", "--json"]);
        assert_eq!(status.code, 0, "{context}: {}", status.stderr);
        let status: serde_json::Value =
            serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{context}: {e}"));
        let runs = status["runs"].as_array().cloned().unwrap_or_default();
        assert!(runs.iter().all(|run| run["status"] != "running"), "{context}: {status}");
        // A lock left behind is recognised as stale.
        let locks = status["locks"].as_array().cloned().unwrap_or_default();
        assert!(locks.iter().all(|lock| lock["stale"].is_string()), "{context}: {status}");
        let history = test.run_with(&["history", "--json"]);
        let history: serde_json::Value = serde_json::from_str(&history.stdout).unwrap_or_default();
        let Some(run) = history.as_array().and_then(|rows| rows.first()).cloned() else {
            // Killed before the run was recorded: nothing ran; a lock it
            // may have taken is stale and the next run takes it over.
            assert_eq!(lines(&test, "ran-a"), 0, "{context}");
            let next = test.run_with(&["run", "release.deploy"]);
            assert_eq!(next.code, 0, "{context}: {}", next.stderr);
            continue;
        };
        let run_id = run["run_id"].as_str().unwrap_or("").to_string();
        let finished = run["status"] == "succeeded";
        if !finished {
            assert_eq!(run["status"], "crashed", "{context}: {run}");
            assert!(runs.iter().any(|r| r["run_id"] == run_id.as_str() && r["status"] == "crashed"), "{context}");
        }
        let journal = test.run_with(&["logs", &run_id, "--json"]);
        assert_eq!(journal.code, 0, "{context}: {}", journal.stderr);
        let events = journal.events();
        let done = units(&events, "node_finished", Some("succeeded"));
        let started = units(&events, "node_started", None);
        if finished {
            // Killed after the end: nothing to resume.
            assert_eq!(test.run_with(&["resume"]).code, 1, "{context}");
            continue;
        }
        if point % 2 == 0 {
            let resumed = test.run_with(&["resume", &run_id]);
            assert_eq!(resumed.code, 0, "{context}: {}{}", resumed.stdout, resumed.stderr);
            if !locks.is_empty() {
                assert!(resumed.stderr.contains("took over the lock"), "{context}: {}", resumed.stderr);
            }
            for unit in &done {
                assert_eq!(lines(&test, &format!("ran-{unit}")), 1, "{context}: {unit} finished before the kill");
            }
            for unit in ["a", "b-h1", "b-h2", "b-h3", "c-h1", "c-h2", "c-h3", "d"] {
                assert!(lines(&test, &format!("ran-{unit}")) >= 1, "{context}: {unit} never ran");
            }
            let after = test.run_with(&["history", "--json"]);
            assert!(after.stdout.contains("\"succeeded\""), "{context}: {}", after.stdout);
        } else {
            let rollback = test.run_with(&["rollback", "release.deploy"]);
            if started.is_empty() {
                assert_eq!(rollback.code, 1, "{context}: nothing started: {}", rollback.stderr);
                assert!(rollback.stderr.contains("nothing to roll back"), "{context}: {}", rollback.stderr);
                // The stale lock is taken over by the next run.
                let next = test.run_with(&["run", "release.deploy"]);
                assert_eq!(next.code, 0, "{context}: {}", next.stderr);
                if !locks.is_empty() {
                    assert!(next.stderr.contains("took over the lock"), "{context}: {}", next.stderr);
                }
            } else {
                assert_eq!(rollback.code, 0, "{context}: {}{}", rollback.stdout, rollback.stderr);
                for unit in &started {
                    assert!(
                        lines(&test, &format!("undone-{unit}")) >= 1,
                        "{context}: {unit} started but was not undone"
                    );
                }
                assert_eq!(test.run_with(&["resume", &run_id]).code, 1, "{context}: a rolled back run resumed");
            }
        }
        let status = test.run_with(&["status", "--json"]);
        let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap_or_default();
        assert!(status["locks"].as_array().is_some_and(|locks| locks.is_empty()), "{context}: {status}");
    }
}

#[test]
fn crash_at_fifty_points_sqlite() {
    crash_at_fifty_points(&|_| Backend::Sqlite);
}

#[test]
fn crash_at_fifty_points_postgres() {
    if common::backend::postgres("crash_at_fifty_points").is_some() {
        crash_at_fifty_points(&|point| {
            common::backend::postgres(&format!("crash{point}"))
                .unwrap_or_else(|| panic!("DEPLOY_TEST_POSTGRES vanished"))
        });
    }
}
