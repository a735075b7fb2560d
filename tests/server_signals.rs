//! Stopping `deploy serve` and `deploy watch` with a signal while a run
//! they started is going on and a real Server-Sent Events client follows
//! it: SIGTERM, SIGINT and SIGHUP each interrupt the run at once (its
//! rollback runs, it is recorded, nothing is left running, the lock is
//! released), the stream ends, and the process exits 130 — well before the
//! run's 60-second step would have ended.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::background::{history, post, wait_until, Background, Repo};
use common::Test;

const LONG: Duration = Duration::from_secs(60);

const PLAN: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1"] }
gate go { approve "Ship?" by ["alice"] }
stage ship {
  needs = [go]  target = production
  run "echo $$ > ship.pid; echo started; sleep 60"
  rollback { run "echo undone >> undone.log" }
}
"#;

const TOKENS: &str = "alice-token-0123456789 alice\n";

/// Follows `path` on `address` as an SSE client until the server ends the
/// stream; the thread returns what it read.
fn follow(address: &str, path: &str) -> std::thread::JoinHandle<String> {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("{address}: {e}"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("write: {e}"));
    let _ = stream.set_read_timeout(Some(LONG * 2));
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

fn step_gone(pid_file: &Path) -> bool {
    let pid = std::fs::read_to_string(pid_file).unwrap_or_default();
    let pid = pid.trim();
    !pid.is_empty()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
            .unwrap_or(true)
}

#[test]
fn every_stop_signal_interrupts_the_runs_deploy_serve_started_even_with_a_stream_open() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP"), (libc::SIGINT, "SIGINT")] {
        let test = Test::new().plan(PLAN).file("tokens", TOKENS);
        let ran = test.run_with(&["run", "release.deploy", "--json"]);
        assert_eq!(ran.code, 3, "{}", ran.stderr);
        let run_id =
            ran.events().first().and_then(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default();
        let mut server = Background::start(
            test.path(),
            &["serve", "release.deploy", "--listen", "127.0.0.1:0", "--token-file", "tokens"],
            &[],
        );
        let address = server.address();
        let approve = post(
            &format!("http://{address}/api/runs/{run_id}/approve"),
            &[("Authorization", "Bearer alice-token-0123456789")],
            r#"{"gate":"go"}"#,
        );
        assert_eq!(approve.status, 202, "{}", approve.body);
        let pid_file = test.path().join("ship.pid");
        wait_until(LONG, "the step to start", || pid_file.exists() && server.out().contains("started"));
        let stream = follow(&address, &format!("/api/runs/{run_id}/events"));
        std::thread::sleep(Duration::from_millis(300));
        let signalled = Instant::now();
        server.signal(signal);
        let code = server.wait(LONG);
        let took = signalled.elapsed();
        assert_eq!(code, Some(130), "{name}: {}", server.logs());
        assert!(took < Duration::from_secs(30), "{name}: the server took {took:?} to stop");
        let read = stream.join().unwrap_or_default();
        assert!(read.contains("text/event-stream") && read.contains("\"node_started\""), "{name}: {read}");
        assert_eq!(std::fs::read_to_string(test.path().join("undone.log")).unwrap_or_default(), "undone\n", "{name}");
        assert!(step_gone(&pid_file), "{name}: the step still runs");
        let state = test.path().join(".deploy/state.db");
        let row = history(test.path(), &state).into_iter().find(|row| row["run_id"] == run_id.as_str());
        let status = row.map(|row| row["status"].clone()).unwrap_or_default();
        assert!(status == "interrupted" || status == "rolled_back", "{name}: {status}");
        let locks = test.run_with(&["lock", "status", "--json", "--state", &state.display().to_string()]);
        assert_eq!(locks.stdout.trim(), "[]", "{name}: {}", locks.stderr);
    }
}

#[test]
fn sighup_stops_deploy_watch_like_sigterm_with_a_stream_open() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let repo = Repo::new(dir.path());
    let runner = dir.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let pid_file = runner.join("build.pid");
    let plan = format!(
        "pipeline \"app\" {{ watch {{ branch = \"main\" }} }}\n\
         stage build {{ run \"echo $$ > {}; echo started; sleep 60\"  rollback {{ run \"echo undone\" }} }}\n",
        pid_file.display()
    );
    repo.commit(&[("release.deploy", &plan)], "slow");
    let origin = repo.origin.display().to_string();
    let mut watcher = Background::start(
        &runner,
        &["watch", "--repo", &origin, "--every", "200ms", "--listen", "127.0.0.1:0", "release.deploy"],
        &[],
    );
    let address = watcher.address();
    wait_until(LONG, "the run to start", || watcher.out().contains("started"));
    let state = runner.join(".deploy/state.db");
    let run_id = history(&runner, &state)
        .into_iter()
        .find(|row| row["kind"] == "run")
        .and_then(|row| row["run_id"].as_str().map(str::to_string))
        .unwrap_or_default();
    let stream = follow(&address, &format!("/api/runs/{run_id}/events"));
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    watcher.signal(libc::SIGHUP);
    assert_eq!(watcher.wait(LONG), Some(130), "{}", watcher.logs());
    assert!(signalled.elapsed() < Duration::from_secs(30));
    assert!(watcher.out().contains("undone"), "{}", watcher.logs());
    let read = stream.join().unwrap_or_default();
    assert!(read.contains("\"node_started\""), "{read}");
    assert!(step_gone(&pid_file), "the step still runs");
    let row = history(&runner, &state).into_iter().find(|row| row["run_id"] == run_id.as_str());
    let status = row.map(|row| row["status"].clone()).unwrap_or_default();
    assert!(status == "interrupted" || status == "rolled_back", "{status}");
}
