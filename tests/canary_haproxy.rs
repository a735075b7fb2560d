//! std/haproxy.weights as the router of a canary by share of users, through
//! the binary against a real HAProxy (runtime API, no reload) in front of
//! two versions of a small app, on ephemeral loopback ports. Measured while
//! the run goes: at each step the share of requests the canary answered is
//! within ±3 percentage points of the weight over at least 1,000 requests,
//! and a user who got the canary never gets the stable version again.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::free_port;
use serde_json::Value;

const USERS: usize = 4000;

/// Kills a process started by the test, however the test ends.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app(version: &str, port: u16) -> Kill {
    let script = common::root().join("examples/scripts/canary_app.py");
    let child = Command::new("python3")
        .arg(script)
        .args(["--version", version, "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    Kill(child)
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn version_of(front: u16, user: usize) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", front)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let request = format!("GET / HTTP/1.1\r\nHost: canary\r\nCookie: uid=user-{user}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-version").then(|| value.trim().to_string())
    })
}

#[test]
fn haproxy_router_shares_users_by_weight_and_keeps_them_on_their_side() {
    let has = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool} || test -x /usr/sbin/{tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("haproxy") || !has("python3") {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI must run this test: haproxy and python3");
        eprintln!("SKIPPED: haproxy or python3 is not installed; it runs in CI");
        return;
    }
    let (front, admin, stable, canary) = (free_port(), free_port(), free_port(), free_port());
    let _apps = (app("1.0", stable), app("2.0", canary));
    wait_for(stable);
    wait_for(canary);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config = dir.path().join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "global\n  stats socket ipv4@127.0.0.1:{admin} level admin\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\nfrontend web\n  bind 127.0.0.1:{front}\n  default_backend app\nbackend app\n  balance hash req.cook(uid)\n  hash-type consistent\n  server stable 127.0.0.1:{stable} weight 100\n  server canary 127.0.0.1:{canary} weight 0\n"
        ),
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let haproxy = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&config)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("haproxy: {e}"));
    let _haproxy = Kill(haproxy);
    wait_for(front);
    wait_for(admin);
    let plan = format!(
        r#"import "std/haproxy" as haproxy
param version: string = "1.0"
environment production {{ hosts = ["localhost"] }}
stage router from haproxy.weights {{
  admin  = "127.0.0.1:{admin}"
  stable = "127.0.0.1:{stable}"
  canary = "127.0.0.1:{canary}"
}}
stage web {{
  target = production
  strategy canary {{ steps = [5%, 25%, 50%, 100%]  pause = 4s  traffic = router }}
  run "echo installing ${{version}} beside ${{previous_version}}"
  rollback {{ run "echo removing ${{version}}" }}
}}
"#
    );
    std::fs::write(dir.path().join("canary.deploy"), plan).unwrap_or_else(|e| panic!("write: {e}"));

    let stop = Arc::new(AtomicBool::new(false));
    let answers: Arc<Mutex<Vec<(Instant, usize, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let (stop, answers) = (stop.clone(), answers.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut user = thread;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
                    if let Some(version) = version_of(front, user) {
                        answers.lock().unwrap_or_else(|e| e.into_inner()).push((Instant::now(), user, version));
                    }
                    user = (user + 4) % USERS;
                }
            })
        })
        .collect();
    let mut child = Command::new(common::binary())
        .args(["run", "canary.deploy", "--json", "--previous-version", "1.0", "--set", "version=2.0"])
        .current_dir(dir.path())
        .env("DEPLOY_STATE", dir.path().join("state.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("deploy: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut events: Vec<(Instant, Value)> = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Ok(event) = serde_json::from_str::<Value>(&line) {
            events.push((Instant::now(), event));
        }
    }
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        let _ = thread.join();
    }
    let text: Vec<String> = events.iter().map(|(_, e)| e.to_string()).collect();
    assert!(status.success(), "{}", text.join("\n"));
    let answers = answers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // A step's share holds from its router's read-back to the next rollout_step.
    let marks: Vec<(Instant, &Value)> = events
        .iter()
        .filter(|(_, e)| {
            (e["type"] == "rollout_step" && e["node"] == "web")
                || (e["type"] == "step_output"
                    && e["node"] == "router"
                    && e["line"].as_str().is_some_and(|l| l.contains("read back")))
        })
        .map(|(at, e)| (*at, e))
        .collect();
    let mut measured = 0;
    for (index, (_, mark)) in marks.iter().enumerate() {
        if mark["type"] != "rollout_step" || mark["phase"] != "step" {
            continue;
        }
        let weight = mark["weight"].as_f64().unwrap_or_else(|| panic!("rollout_step without weight: {mark}"));
        let from = marks.get(index + 1).map(|m| m.0).unwrap_or_else(|| panic!("no read-back"));
        let until = marks.get(index + 2).map(|m| m.0).unwrap_or_else(|| events.last().map(|e| e.0).unwrap_or(from));
        let window: Vec<_> = answers.iter().filter(|a| a.0 > from && a.0 < until).collect();
        let on_canary = window.iter().filter(|a| a.2 == "2.0").count();
        assert!(window.len() >= 1000, "{weight}%: only {} requests measured", window.len());
        let share = on_canary as f64 * 100.0 / window.len() as f64;
        eprintln!("{weight}%: {on_canary} of {} requests ({share:.2}%) reached the canary", window.len());
        assert!((share - weight).abs() <= 3.0, "{weight}%: {share:.2}% reached the canary");
        measured += 1;
    }
    assert_eq!(measured, 4, "{}", text.join("\n"));
    let mut seen_canary = vec![false; USERS];
    let first = marks.get(1).map(|m| m.0).unwrap_or_else(Instant::now);
    for (at, user, version) in answers.iter().filter(|a| a.0 > first) {
        if version == "2.0" {
            seen_canary[*user] = true;
        } else {
            assert!(!seen_canary[*user], "user-{user} got the canary, then the stable version at {at:?}");
        }
    }
}
