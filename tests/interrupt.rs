//! Ctrl-C through the real binary: how long `deploy run` takes from the
//! signal to its exit, the rollback included (docs/performance.md).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{binary, Test};
use serde_json::Value;

/// Kills the run if the test fails before it exited.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The default kill grace (no `DEPLOY_KILL_GRACE_MS`): what a person gets.
#[test]
fn sigint_during_a_long_step_ends_the_run_quickly() {
    let test = Test::new().plan(
        r#"
pipeline "int" {}
stage a { run "echo a"  rollback { run "echo undo a" } }
stage b { needs = [a]  run "echo started-b; sleep 60"  rollback { run "echo undo b" } }
"#,
    );
    let mut child = Command::new(binary())
        .args(["run", "release.deploy", "--json"])
        .current_dir(test.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let pid = child.id() as i32;
    let mut running = Running(child);
    // Lines as they come, so the wait for `started-b` is bounded.
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|line: &String| line.contains("started-b")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("stage b did not start: {}", seen.join("\n")),
        }
    }
    // SAFETY: sends SIGINT to the child this test spawned.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let signalled = Instant::now();
    let code = loop {
        if let Some(status) = running.0.try_wait().unwrap_or(None) {
            break status.code();
        }
        assert!(signalled.elapsed() < Duration::from_secs(30), "deploy did not exit after SIGINT");
        std::thread::sleep(Duration::from_millis(5));
    };
    let to_exit = signalled.elapsed();
    seen.extend(received.iter());
    let events: Vec<Value> = seen.iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let undo_ms = events
        .iter()
        .find(|event| event["type"] == "rollback_finished")
        .and_then(|event| event["duration_ms"].as_u64())
        .unwrap_or_else(|| panic!("no rollback_finished: {}", seen.join("\n")));
    println!("SIGINT to exit: {} ms, of which the undo took {undo_ms} ms", to_exit.as_millis());
    assert_eq!(code, Some(130), "{}", seen.join("\n"));
    assert!(seen.iter().any(|line| line.contains("undo b")), "{}", seen.join("\n"));
    assert!(seen.iter().any(|line| line.contains("undo a")), "{}", seen.join("\n"));
    // The goal is 0.5 s plus the undo; the bound leaves room for a loaded machine.
    let bound = Duration::from_millis(1000 + undo_ms);
    assert!(to_exit < bound, "SIGINT to exit took {to_exit:?} (undo {undo_ms} ms):\n{}", seen.join("\n"));
}

/// Ctrl-C while a gate waits (a soak `wait`, a `window`) stops the waiting,
/// not the release: nothing that finished is undone, the run exits 130
/// with a `deploy resume` hint, and the resume finishes it (docs/runtime.md).
#[test]
fn sigint_while_a_gate_waits_keeps_what_finished_and_resumes() {
    let test = Test::new().plan(
        r#"
pipeline "soak" { on_failure = rollback }
param soak: duration = 1h
stage a { run "echo a >> ran-a"  rollback { run "echo undo >> undone-a" } }
gate bake { needs = [a]  wait = soak }
stage b { needs = [bake]  run "echo b >> ran-b"  rollback { run "echo undo >> undone-b" } }
"#,
    );
    let mut child = Command::new(binary())
        .args(["run", "release.deploy", "--json", "--set", "soak=3s"])
        .current_dir(test.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let pid = child.id() as i32;
    let mut running = Running(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|line| line.contains("\"node_started\"") && line.contains("\"bake\"")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("bake did not start: {}", seen.join("\n")),
        }
    }
    // SAFETY: sends SIGINT to the child this test spawned.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap_or(None) {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(2), "deploy did not stop waiting at once");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    if let Some(mut pipe) = running.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    seen.extend(received.iter());
    let read = |file: &str| std::fs::read_to_string(test.path().join(file)).unwrap_or_default();
    assert_eq!(read("ran-a"), "a\n");
    assert_eq!(read("undone-a"), "", "a finished stage is not undone by a Ctrl-C during a wait");
    assert!(seen.iter().all(|line| !line.contains("\"rollback_started\"")), "{}", seen.join("\n"));
    let said = format!("{}{stderr}", seen.join("\n"));
    assert!(said.contains("nothing was undone") && said.contains("deploy resume"), "the hint: {said}");
    // `deploy resume` finds the interrupted run by itself.
    let resumed = test.run_with(&["resume", "--json"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert_eq!(read("ran-a"), "a\n", "a ran once");
    assert_eq!(read("ran-b"), "b\n");
}
