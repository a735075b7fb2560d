//! Two runs of the same pipeline from two processes (as if on two
//! machines) against one PostgreSQL: exactly one holds the lock, every time,
//! over 100 tries. The winner's stage waits until the loser has exited, so a
//! second holder could not slip in after the first finished.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Test;

const PLAN: &str = r#"
pipeline "race" {}
stage hold { run "while [ ! -f release ]; do sleep 0.01; done"  irreversible = "test" }
"#;

fn spawn(test: &Test, machine: &str) -> Child {
    test.command(&["run", "release.deploy"])
        .env("DEPLOY_MACHINE_ID", machine)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"))
}

/// Waits for one of the children to exit; returns its index.
fn first_exit(children: &mut [Child; 2], within: Duration) -> Option<usize> {
    let started = Instant::now();
    while started.elapsed() < within {
        for (index, child) in children.iter_mut().enumerate() {
            if let Ok(Some(_)) = child.try_wait() {
                return Some(index);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn exactly_one_of_two_concurrent_runs_holds_the_lock() {
    let Some(backend) = common::backend::postgres("exactly_one_of_two_concurrent_runs_holds_the_lock") else {
        return;
    };
    let test = backend.apply(Test::new().plan(PLAN));
    for attempt in 0..100 {
        let _ = std::fs::remove_file(test.path().join("release"));
        let mut children = [spawn(&test, "machine-a"), spawn(&test, "machine-b")];
        let loser = first_exit(&mut children, Duration::from_secs(20));
        std::fs::write(test.path().join("release"), "").unwrap_or_else(|e| panic!("{e}"));
        let outputs: Vec<_> =
            children.into_iter().map(|child| child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))).collect();
        let codes: Vec<Option<i32>> = outputs.iter().map(|output| output.status.code()).collect();
        let Some(loser) = loser else {
            panic!("attempt {attempt}: neither run gave up: both held the lock ({codes:?})");
        };
        let winner = 1 - loser;
        let loser_stderr = String::from_utf8_lossy(&outputs[loser].stderr);
        assert_eq!(codes[loser], Some(1), "attempt {attempt}: {loser_stderr}");
        assert!(loser_stderr.contains("is locked by"), "attempt {attempt}: {loser_stderr}");
        assert_eq!(codes[winner], Some(0), "attempt {attempt}: {}", String::from_utf8_lossy(&outputs[winner].stderr));
    }
}
