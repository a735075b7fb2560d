//! kill -9 of the runner while a step runs: the step's process group is
//! journaled as it starts, `deploy status` shows it as left running (pid,
//! host, step), and `deploy resume` ends the group before the step runs
//! again — never two of it at once.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Test;

const PLAN: &str = r#"
pipeline "survivors" {}
param version: string = "v1"
environment prod { hosts = ["web-1"] }
stage prepare {
  run "echo prepared >> ran-prepare"
}
stage long {
  needs = [prepare]
  target = prod
  run "exec sh ./step.sh > step.log 2>&1"
}
"#;

/// Writes `begin`, `term` (on SIGTERM) and `end` lines with the shell's pid
/// and a nanosecond clock; sleeps 60 s unless `fast` exists. Its output goes
/// to a file: the killed runner's pipe is gone, and a write to it would
/// end the shell by SIGPIPE instead of the SIGTERM the test looks for.
const STEP: &str = r#"now() { date +%s%N; }
echo "begin $$ $(now)" >> events
trap 'echo "term $$ $(now)" >> events; exit 143' TERM
if [ -e fast ]; then d=0.2; else d=60; fi
sleep $d &
wait $!
echo "end $$ $(now)" >> events
"#;

/// Live (non-zombie) processes of process group `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let live = fields.first().is_some_and(|state| *state != "Z" && *state != "X");
            (live && fields.get(2)?.parse::<u32>().ok()? == pgid).then_some(pid)
        })
        .collect()
}

/// Kills what the test started, even when an assertion fails.
struct Cleanup {
    runner: Option<Child>,
    groups: Vec<u32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut runner) = self.runner.take() {
            let _ = runner.kill();
            let _ = runner.wait();
        }
        for group in &self.groups {
            if let Ok(group) = i32::try_from(*group) {
                // SAFETY: killpg only sends a signal to a group this test started.
                unsafe { libc::killpg(group, libc::SIGKILL) };
            }
        }
    }
}

/// (word, pid, nanoseconds) of each line of `events`.
fn step_events(test: &Test) -> Vec<(String, u32, u128)> {
    std::fs::read_to_string(test.path().join("events"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            Some((parts.next()?.to_string(), parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
fn resume_ends_the_step_a_killed_runner_left_running() {
    let test = Test::new().plan(PLAN).file("step.sh", STEP).env("DEPLOY_KILL_GRACE_MS", "3000");
    let runner = test
        .command(&["run", "release.deploy", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy: {e}"));
    let mut cleanup = Cleanup { runner: Some(runner), groups: Vec::new() };
    let started = Instant::now();
    let old = loop {
        if let Some((_, pid, _)) = step_events(&test).into_iter().find(|(word, _, _)| word == "begin") {
            break pid;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the long step never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    cleanup.groups.push(old);
    std::thread::sleep(Duration::from_millis(300));
    if let Some(mut runner) = cleanup.runner.take() {
        let _ = runner.kill();
        let _ = runner.wait();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(!group_members(old).is_empty(), "the step's group {old} should have outlived the runner");

    let status = test.run_with(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains("crashed"), "{}", status.stdout);
    let line = status.stdout.lines().find(|line| line.contains("left running")).unwrap_or_default();
    assert!(line.contains(&format!("pid {old}")), "{}", status.stdout);
    assert!(line.contains("long step 1 on web-1"), "{}", status.stdout);
    let json = test.run_with(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap_or_default();
    let survivor = &json["runs"][0]["survivors"][0];
    assert_eq!(survivor["pgid"], old, "{json}");
    assert_eq!(survivor["host"], "web-1", "{json}");
    assert_eq!(survivor["node"], "long", "{json}");

    std::fs::write(test.path().join("fast"), "").unwrap_or_else(|e| panic!("write fast: {e}"));
    let resumed = test.run_with(&["resume"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(resumed.stderr.contains(&format!("process group {old} of long step 1 on web-1")), "{}", resumed.stderr);
    assert!(resumed.stderr.contains("terminated it"), "{}", resumed.stderr);
    assert!(group_members(old).is_empty(), "the old group {old} still runs after resume");

    // The old step ended (SIGTERM) before the new one began; only the new one finished.
    let events = step_events(&test);
    let words: Vec<&str> = events.iter().map(|(word, _, _)| word.as_str()).collect();
    assert_eq!(words, ["begin", "term", "begin", "end"], "{events:?}");
    assert_eq!(events[1].1, old, "{events:?}");
    assert_ne!(events[2].1, old, "{events:?}");
    assert!(events[1].2 <= events[2].2, "the step ran twice at once: {events:?}");
    let prepared = std::fs::read_to_string(test.path().join("ran-prepare")).unwrap_or_default();
    assert_eq!(prepared.lines().count(), 1, "prepare ran again");

    let after = test.run_with(&["status"]);
    assert!(!after.stdout.contains("left running"), "{}", after.stdout);
    let logs = test.run_with(&["logs", "--json"]);
    assert!(logs.stdout.contains("\"process_reaped\""), "{}", logs.stdout);
}
