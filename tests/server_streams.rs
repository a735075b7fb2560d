//! Event streams of `deploy serve`: at most `--max-streams` at once (429
//! with a JSON error beyond, a slot freed when a client leaves), and each a
//! task of the async runtime, not a thread: fifty open streams do not add
//! fifty threads.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::background::{get, wait_until, Background};
use common::Test;

const LONG: Duration = Duration::from_secs(60);

const PLAN: &str = r#"
pipeline "shop" {}
stage hold { run "echo started; sleep 30"  rollback { run "echo undone" } }
"#;

/// Opens the run's event stream; the socket and the head of the answer.
fn open_stream(address: &str, run_id: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("{address}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("write: {e}"));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    (stream, String::from_utf8_lossy(&head).into_owned())
}

fn threads(pid: i32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|line| line.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// A `deploy run` whose step runs for 30 s, and its run id.
fn running(test: &Test) -> (Background, String) {
    let runner = Background::start(test.path(), &["run", "release.deploy", "--json"], &[]);
    wait_until(LONG, "the step to start", || runner.out().contains("started"));
    let first = runner.out().lines().next().unwrap_or_default().to_string();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap_or_default();
    (runner, event["run_id"].as_str().unwrap_or_default().to_string())
}

#[test]
fn beyond_max_streams_a_stream_gets_429_until_one_closes() {
    let test = Test::new().plan(PLAN);
    let (_runner, run_id) = running(&test);
    let server = Background::start(
        test.path(),
        &["serve", "release.deploy", "--listen", "127.0.0.1:0", "--max-streams", "3"],
        &[],
    );
    let address = server.address();
    let mut open: Vec<TcpStream> = Vec::new();
    for _ in 0..3 {
        let (stream, head) = open_stream(&address, &run_id);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        open.push(stream);
    }
    let refused = get(&format!("http://{address}/api/runs/{run_id}/events"));
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "too_many_streams");
    // Other requests are served as ever.
    assert_eq!(get(&format!("http://{address}/api/status")).status, 200);
    drop(open.pop());
    wait_until(LONG, "a slot to be free again", || {
        let (stream, head) = open_stream(&address, &run_id);
        let accepted = head.starts_with("HTTP/1.1 200");
        if accepted {
            open.push(stream);
        }
        accepted
    });
    let bad = test.run_with(&["serve", "release.deploy", "--max-streams", "0"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
}

#[test]
fn fifty_streams_are_tasks_not_threads() {
    let test = Test::new().plan(PLAN);
    let (_runner, run_id) = running(&test);
    let server = Background::start(test.path(), &["serve", "release.deploy", "--listen", "127.0.0.1:0"], &[]);
    let address = server.address();
    // Warm up the runtime and the blocking pool with one stream.
    let (first, head) = open_stream(&address, &run_id);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    std::thread::sleep(Duration::from_millis(500));
    let before = threads(server.pid());
    let mut open = vec![first];
    for _ in 0..50 {
        let (stream, head) = open_stream(&address, &run_id);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        open.push(stream);
    }
    std::thread::sleep(Duration::from_millis(1000));
    let after = threads(server.pid());
    assert!(before > 0 && after < before + 20, "{before} threads before 50 more streams, {after} after");
}
