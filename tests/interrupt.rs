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
    assert!(to_exit < bound, "SIGINT to exit took {to_exit:?} (undo {undo_ms} ms)");
}
