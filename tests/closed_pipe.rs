//! `deploy history | head`: a reader that goes away ends every command
//! quietly — no panic, no "Broken pipe" on stderr — and a run whose stdout
//! is closed still runs to its end and is recorded.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use common::Test;

const PLAN: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1", "web-2"] }
stage build { target = production  run "echo built ${version} on ${host}"  rollback { run "echo unbuilt" } }
stage ship { needs = [build]  target = production  run "echo shipped ${version}"  rollback { run "echo unshipped" } }
param version: string = "1.0"
"#;

/// Runs `args` with stdout a pipe whose reader is closed at once.
fn with_closed_stdout(test: &Test, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = test
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("wait {args:?}: {e}"));
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let test = Test::new().plan(PLAN);
    for version in ["1.0", "1.1", "1.2"] {
        let ran = test.run_with(&["run", "release.deploy", "--set", &format!("version={version}")]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
    }
    let commands: &[&[&str]] = &[
        &["history"],
        &["history", "--json"],
        &["status"],
        &["status", "--json"],
        &["logs"],
        &["logs", "--json"],
        &["lock", "status"],
        &["check", "release.deploy"],
        &["graph", "release.deploy"],
        &["plan", "release.deploy"],
        &["explain", "E0102"],
        &["explain"],
        &["modules", "release.deploy"],
        &["completions", "bash"],
        &["fmt", "--check", "release.deploy"],
        &["--help"],
    ];
    for args in commands {
        let (status, stderr) = with_closed_stdout(&test, args);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        let quiet = status.signal() == Some(libc::SIGPIPE) || matches!(status.code(), Some(0 | 3));
        assert!(quiet, "{args:?}: {status:?} {stderr}");
    }
}

#[test]
fn a_run_whose_reader_goes_away_still_runs_to_its_end() {
    let test = Test::new().plan(PLAN);
    for args in [&["run", "release.deploy", "--json"][..], &["run", "release.deploy"][..]] {
        let (status, stderr) = with_closed_stdout(&test, args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let history = test.run_with(&["history", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&history.stdout).unwrap_or_default();
    let succeeded = rows.as_array().into_iter().flatten().filter(|row| row["status"] == "succeeded").count();
    assert_eq!(succeeded, 2, "{}", history.stdout);
}
