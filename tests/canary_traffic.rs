//! A canary by share of users, measured: examples/canary_traffic.deploy run
//! through the binary against real nginx, Prometheus and a two-version app
//! on loopback, while this test sends requests as 4,000 distinct users (the
//! `uid` cookie) and records which version answered each one and when.
//!
//! Measured: at each step the share of requests the canary answered is
//! within ±3 percentage points of the weight over at least 1,000 requests;
//! a user who got the canary never gets the stable version again while the
//! weight grows; a healthy canary reaches 100% and the old version is gone;
//! an erroring canary is caught by the Prometheus comparison, its share is
//! 0 within 2 s of the decision and no request reaches it afterwards.
//!
//! The example listens on 18090 and 18091 by default; this test gives it
//! free ports (`--set port=… --set prometheus_port=…`), so an example left
//! running on its defaults does not disturb it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const USERS: usize = 4000;
/// The two ports this run of the example gets: the front (nginx) and Prometheus.
fn ports() -> (u16, u16) {
    static PORTS: std::sync::OnceLock<(u16, u16)> = std::sync::OnceLock::new();
    *PORTS.get_or_init(|| {
        // Both listeners are open at once, so the two ports differ.
        let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let (front, prometheus) = (bind(), bind());
        let port = |l: &std::net::TcpListener| l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        (port(&front), port(&prometheus))
    })
}

fn has_tool(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} || test -x /usr/sbin/{tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn require(tools: &[&str]) -> bool {
    for tool in tools {
        if !has_tool(tool) {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("`{tool}` is not installed, but CI must run this test (.ci/run installs it)");
            }
            eprintln!("SKIPPED: `{tool}` is not installed; it runs in CI");
            return false;
        }
    }
    true
}

/// Stops what the example started (nginx, Prometheus, apps, its load), however the test ends.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let script = common::root().join("examples/scripts/canary.sh");
        let _ = Command::new(script).args(["down", &self.0.display().to_string()]).output();
    }
}

/// One answer: when, which user, which version, which status.
#[derive(Clone, Debug)]
struct Answer {
    at: Instant,
    user: usize,
    version: String,
    status: u16,
}

/// GET / as `uid=user-N`, over a fresh connection; `None` on a connection error.
fn get(user: usize) -> Option<(String, u16)> {
    let mut stream = TcpStream::connect(("127.0.0.1", ports().0)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let request = format!("GET / HTTP/1.1\r\nHost: canary\r\nCookie: uid=user-{user}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix("X-Version: ").or_else(|| line.strip_prefix("x-version: ")))
        .unwrap_or("?")
        .trim()
        .to_string();
    Some((version, status))
}

/// The version `user` gets once nginx has settled: after a reload, an old
/// worker that has not yet seen its signal may still accept a connection
/// and answer from the configuration before (a 502 from the first run's
/// empty upstream), so the answer is asked for again for up to 5 s.
fn settled(user: usize, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got =
            get(user).map_or_else(|| "no answer".to_string(), |(version, status)| format!("{version} ({status})"));
        if got == format!("{expected} (200)") {
            return expected.to_string();
        }
        if Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Four threads asking as every user in turn until `stop` (or a bound).
struct Load {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..4)
            .map(|thread| {
                let (stop, answers) = (stop.clone(), answers.clone());
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let mut user = thread;
                    while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(240) {
                        if let Some((version, status)) = get(user) {
                            let answer = Answer { at: Instant::now(), user, version, status };
                            answers.lock().unwrap_or_else(|e| e.into_inner()).push(answer);
                        }
                        user = (user + 4) % USERS;
                    }
                })
            })
            .collect();
        Load { stop, answers, threads }
    }

    fn finish(mut self) -> Vec<Answer> {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner()).clone();
        answers
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Runs the example with `--json`, timing every event as it arrives.
fn deploy(state: &Path, db: &Path, sets: &[&str]) -> (i32, Vec<(Instant, Value)>, String) {
    let mut args = vec!["run".to_string(), "examples/canary_traffic.deploy".to_string(), "--json".to_string()];
    let (front, prometheus) = ports();
    let ports = [format!("port={front}"), format!("prometheus_port={prometheus}")];
    for set in sets.iter().copied().chain(ports.iter().map(String::as_str)) {
        args.push("--set".to_string());
        args.push(set.to_string());
    }
    let mut child = Command::new(common::binary())
        .args(&args)
        .current_dir(common::root())
        .env("DEPLOY_EXAMPLE_ROOT", state)
        .env("DEPLOY_STATE", db)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("deploy: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut events = Vec::new();
    let mut text = String::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        text.push_str(&line);
        text.push('\n');
        if let Ok(event) = serde_json::from_str::<Value>(&line) {
            events.push((Instant::now(), event));
        }
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    (status.code().unwrap_or(-1), events, format!("{text}\n{stderr}"))
}

fn is(event: &Value, kind: &str) -> bool {
    event["type"] == kind
}

/// The weighted steps of the canary stage, with when they started.
fn steps(events: &[(Instant, Value)]) -> Vec<(Instant, String, f64)> {
    events
        .iter()
        .filter(|(_, e)| is(e, "rollout_step") && e["node"] == "webshop")
        .map(|(at, e)| {
            let weight =
                e["weight"].as_f64().unwrap_or_else(|| panic!("a traffic canary's rollout_step without weight: {e}"));
            (*at, e["phase"].as_str().unwrap_or("").to_string(), weight)
        })
        .collect()
}

/// When the router had read back each weight it set, in order.
fn read_backs(events: &[(Instant, Value)]) -> Vec<Instant> {
    events
        .iter()
        .filter(|(_, e)| {
            is(e, "step_output") && e["node"] == "router" && e["line"].as_str().is_some_and(|l| l.contains("read back"))
        })
        .map(|(at, _)| *at)
        .collect()
}

#[test]
fn example_canary_traffic_shares_users_by_weight_and_rolls_an_erroring_canary_back() {
    if !require(&["nginx", "prometheus", "python3", "curl"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let state = dir.path().join("example");
    let db = dir.path().join("state.db");
    let _down = Down(state.clone());

    // The first run installs the stable version.
    let (code, events, text) = deploy(&state, &db, &["version=1.0.0"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(steps(&events).last().map(|s| s.2), Some(100.0), "{text}");
    assert_eq!(settled(7, "1.0.0"), "1.0.0", "{text}");

    // A healthy canary, step by step, under load.
    let load = Load::start();
    let (code, events, text) = deploy(&state, &db, &["version=1.1.0", "pause=8s"]);
    let answers = load.finish();
    assert_eq!(code, 0, "{text}");
    let steps_seen = steps(&events);
    let weights: Vec<f64> = steps_seen.iter().filter(|s| s.1 == "step").map(|s| s.2).collect();
    assert_eq!(weights, vec![5.0, 25.0, 50.0, 100.0], "{text}");
    let read = read_backs(&events);
    let starts: Vec<Instant> = steps_seen.iter().filter(|s| s.1 == "step").map(|s| s.0).collect();
    let after: Vec<Instant> =
        steps_seen.iter().map(|s| s.0).chain([events.last().map(|e| e.0).unwrap_or_else(Instant::now)]).collect();
    for (index, weight) in weights.iter().enumerate() {
        let from = read
            .iter()
            .copied()
            .find(|at| *at > starts[index])
            .unwrap_or_else(|| panic!("no read-back for {weight}%: {text}"));
        let until = after.iter().copied().find(|at| *at > from).unwrap_or(from);
        let window: Vec<&Answer> = answers.iter().filter(|a| a.at > from && a.at < until).collect();
        let canary = window.iter().filter(|a| a.version == "1.1.0").count();
        assert!(window.len() >= 1000, "{weight}%: only {} requests measured", window.len());
        let share = canary as f64 * 100.0 / window.len() as f64;
        eprintln!("{weight}%: {canary} of {} requests ({share:.2}%) reached the canary", window.len());
        assert!(
            (share - weight).abs() <= 3.0,
            "{weight}%: {share:.2}% of {} requests reached the canary",
            window.len()
        );
    }
    // Sticky while the weight grows: once on the canary, never back on the stable version.
    let mut on_canary = vec![false; USERS];
    let last_step = *starts.last().unwrap_or_else(|| panic!("no steps"));
    for answer in answers.iter().filter(|a| a.at < last_step) {
        if answer.version == "1.1.0" {
            on_canary[answer.user] = true;
        } else if answer.version == "1.0.0" && on_canary[answer.user] {
            let first = read.first().copied().unwrap_or(last_step);
            assert!(answer.at < first, "user-{} got the canary, then the stable version", answer.user);
        }
    }
    let errors: Vec<String> = answers
        .iter()
        .filter(|a| a.status != 200)
        .map(|a| {
            let step = starts.iter().filter(|at| **at <= a.at).count();
            format!("user-{} got {} from {} after step {step} of {}", a.user, a.status, a.version, starts.len())
        })
        .collect();
    assert!(
        errors.is_empty(),
        "a healthy canary answered an error: {errors:?}\n{text}\nnginx's error log:\n{}",
        std::fs::read_to_string(state.join("nginx/logs/error.log")).unwrap_or_default()
    );
    assert_eq!(settled(11, "1.1.0"), "1.1.0", "{text}");
    assert!(!state.join("releases/1.0.0").exists(), "the old version was not retired");
    assert!(!state.join("run/1.0.0.sock").exists(), "the old version's socket is still there");

    // An erroring canary: caught by the comparison, back to 0% at once, removed.
    let load = Load::start();
    let (code, events, text) = deploy(&state, &db, &["version=1.2.0", "broken=true", "pause=6s"]);
    std::thread::sleep(Duration::from_secs(3));
    let answers = load.finish();
    assert_ne!(code, 0, "{text}");
    let decision = events
        .iter()
        .find(|(_, e)| is(e, "gate_outcome") && e["node"] == "compare" && e["outcome"] == "fail")
        .map(|(at, _)| *at)
        .unwrap_or_else(|| panic!("the comparison did not fail: {text}"));
    assert!(steps(&events).iter().any(|s| s.1 == "stable" && s.2 == 0.0), "{text}");
    let reached: Vec<&Answer> = answers.iter().filter(|a| a.version == "1.2.0").collect();
    assert!(!reached.is_empty(), "the broken canary never got a request");
    let last = reached.iter().map(|a| a.at).max().unwrap_or(decision);
    assert!(
        last <= decision + Duration::from_secs(2),
        "a request reached the broken canary {:?} after the decision",
        last.saturating_duration_since(decision)
    );
    let after: Vec<&Answer> = answers.iter().filter(|a| a.at > decision + Duration::from_secs(2)).collect();
    assert!(after.len() > 100 && after.iter().all(|a| a.version == "1.1.0" && a.status == 200));
    assert!(text.contains("rolled back") || text.contains("rolled_back"), "{text}");
    assert!(!state.join("releases/1.2.0").exists(), "the broken version was not removed");
    assert_eq!(settled(13, "1.1.0"), "1.1.0", "{text}");
}
