//! A traffic canary that reached 100% and is undone because a later stage
//! fails: the rollback installs the retired previous version again, has the
//! router (real nginx, std/nginx.split) send every request back to it, and
//! only then removes the new version. Afterwards every user reaches the old
//! version. The plan is examples/canary_traffic.deploy on ports of its own,
//! without the Prometheus analysis, plus a failing stage after the canary.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::server::free_port;
use common::Test;

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

/// Stops nginx, Prometheus, the apps and the load, however the test ends.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let script = common::root().join("examples/scripts/canary.sh");
        let _ = Command::new(script).args(["down", &self.0]).output();
    }
}

/// The example's plan with its own ports, no analysis, and `smoke` after the canary.
fn plan(front: u16, prometheus: u16) -> String {
    let example = std::fs::read_to_string(common::root().join("examples/canary_traffic.deploy"))
        .unwrap_or_else(|e| panic!("read the example: {e}"));
    let mut plan = example
        .replace("18090", &front.to_string())
        .replace("18091", &prometheus.to_string())
        .replace("    analysis      = compare\n", "");
    let gate = plan.find("gate compare from").unwrap_or_else(|| panic!("the example changed: update this test"));
    let end = plan[gate..].find("\n}\n").map_or(plan.len(), |end| gate + end + 3);
    plan.replace_range(gate..end, "");
    assert!(!plan.contains("gate compare") && !plan.contains("= compare"), "the example changed: update this test");
    plan.push_str(
        r#"
/// Fails after the canary reached 100%.
param fail_later: bool = false

stage smoke {
  needs = [webshop]
  run "test ${fail_later} = false"
  rollback {}
}
"#,
    );
    plan
}

/// (version, status) of GET / as `uid=user-N`.
fn get(front: u16, user: usize) -> Option<(String, u16)> {
    let mut stream = TcpStream::connect(("127.0.0.1", front)).ok()?;
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

fn versions_seen(front: u16, users: usize) -> Vec<(String, u16)> {
    (0..users).map(|user| get(front, user).unwrap_or_else(|| ("unreachable".into(), 0))).collect()
}

/// The answers of `users` users once every one of them gets `expected`
/// (200), asking again for at most 5 s: nginx's reload is graceful, and on a
/// loaded machine an old worker may still take a connection for a moment
/// after the router's own read-back found the new split (as in
/// tests/canary_traffic.rs). The last round when they never all do.
fn settled_versions(front: u16, users: usize, expected: &str) -> Vec<(String, u16)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = versions_seen(front, users);
        if seen.iter().all(|(v, s)| v == expected && *s == 200) || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_rollback_after_100_percent_sends_every_user_back_to_the_old_version() {
    if !require(&["nginx", "prometheus", "python3", "curl"]) {
        return;
    }
    let (front, prometheus) = (free_port(), free_port());
    let test = Test::new().plan(&plan(front, prometheus));
    let scripts = common::root().join("examples/scripts");
    std::os::unix::fs::symlink(&scripts, test.path().join("scripts")).unwrap_or_else(|e| panic!("symlink: {e}"));
    let state = test.path().join("example").display().to_string();
    let test = test.env("DEPLOY_EXAMPLE_ROOT", &state);
    // Declared after `test`: dropped first, while the state directory still exists.
    let _down = Down(state.clone());

    let first = test.run_with(&["run", "release.deploy", "--set", "version=1.0.0"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(versions_seen(front, 50).iter().all(|(v, s)| v == "1.0.0" && *s == 200));

    let failed = test.run_with(&[
        "run",
        "release.deploy",
        "--json",
        "--set",
        "version=1.1.0",
        "--set",
        "pause=0s",
        "--set",
        "fail_later=true",
    ]);
    let text = format!("{}{}", failed.stdout, failed.stderr);
    assert_eq!(failed.code, 2, "{text}");
    let events = failed.events();
    let weights: Vec<(String, f64)> = events
        .iter()
        .filter(|e| e["type"] == "rollout_step" && e["node"] == "webshop")
        .map(|e| (e["phase"].as_str().unwrap_or("").to_string(), e["weight"].as_f64().unwrap_or(-1.0)))
        .collect();
    let expected: Vec<(String, f64)> =
        [("install", 0.0), ("step", 5.0), ("step", 25.0), ("step", 50.0), ("step", 100.0)]
            .iter()
            .map(|(phase, weight)| (phase.to_string(), *weight))
            .chain([("retire".to_string(), 100.0), ("stable".to_string(), 0.0)])
            .collect();
    assert_eq!(weights, expected, "{text}");
    // The retired version was installed again before the router sent the users back.
    let rollback_steps: Vec<&serde_json::Value> = events.iter().filter(|e| e["type"] == "rollback_step").collect();
    assert!(rollback_steps.iter().all(|e| e["status"] == "succeeded"), "{text}");
    assert!(Path::new(&state).join("releases/1.0.0").exists(), "1.0.0 was not installed again: {text}");
    assert!(!Path::new(&state).join("releases/1.1.0").exists(), "1.1.0 was not removed: {text}");

    let seen = settled_versions(front, 200, "1.0.0");
    let wrong: Vec<&(String, u16)> = seen.iter().filter(|(v, s)| v != "1.0.0" || *s != 200).collect();
    assert!(wrong.is_empty(), "after the rollback {} of 200 users got {:?}", wrong.len(), wrong.first());
    let status = test.run_with(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap_or_default();
    let current = status["environments"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["environment"] == "production"))
        .map(|row| row["current_version"].clone());
    assert_eq!(current, Some(serde_json::json!("1.0.0")), "{status}");

    // A healthy 1.1.0 reaches 100% and retires 1.0.0; `deploy rollback` then
    // installs 1.0.0 again, routes every user to it and removes 1.1.0.
    let healthy = test.run_with(&["run", "release.deploy", "--set", "version=1.1.0", "--set", "pause=0s"]);
    assert_eq!(healthy.code, 0, "{}{}", healthy.stdout, healthy.stderr);
    assert!(versions_seen(front, 50).iter().all(|(v, s)| v == "1.1.0" && *s == 200));
    assert!(!Path::new(&state).join("releases/1.0.0").exists(), "1.0.0 was not retired");
    let undone = test.run_with(&["rollback", "release.deploy", "--json"]);
    let text = format!("{}{}", undone.stdout, undone.stderr);
    assert_eq!(undone.code, 0, "{text}");
    assert!(undone.events().iter().any(|e| e["type"] == "rollout_step" && e["phase"] == "stable"), "{text}");
    let seen = settled_versions(front, 200, "1.0.0");
    let wrong: Vec<&(String, u16)> = seen.iter().filter(|(v, s)| v != "1.0.0" || *s != 200).collect();
    assert!(wrong.is_empty(), "after deploy rollback {} of 200 users got {:?}: {text}", wrong.len(), wrong.first());
    assert!(!Path::new(&state).join("releases/1.1.0").exists(), "1.1.0 was not removed: {text}");
}

/// Kills a process started by the test, however the test ends.
struct Kill(std::process::Child);

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
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_rollback_after_100_percent_sets_haproxy_back_to_the_old_version() {
    if !require(&["haproxy", "python3"]) {
        return;
    }
    let (front, admin, stable, canary) = (free_port(), free_port(), free_port(), free_port());
    let _apps = (app("1.0", stable), app("2.0", canary));
    wait_for(stable);
    wait_for(canary);
    let config = format!(
        "global\n  stats socket ipv4@127.0.0.1:{admin} level admin\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\nfrontend web\n  bind 127.0.0.1:{front}\n  default_backend app\nbackend app\n  balance hash req.cook(uid)\n  hash-type consistent\n  server stable 127.0.0.1:{stable} weight 100\n  server canary 127.0.0.1:{canary} weight 0\n"
    );
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
  strategy canary {{ steps = [5%, 25%, 50%, 100%]  pause = 0s  traffic = router }}
  run "echo installing ${{version}} beside ${{previous_version}}"
  rollback {{ run "echo removing ${{version}}" }}
}}
stage smoke {{
  needs = [web]
  run "false"
  rollback {{}}
}}
"#
    );
    let test = Test::new().file("haproxy.cfg", config).file("canary.deploy", plan);
    let haproxy = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(test.path().join("haproxy.cfg"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("haproxy: {e}"));
    let _haproxy = Kill(haproxy);
    wait_for(front);
    wait_for(admin);
    let run = test.run_with(&["run", "canary.deploy", "--json", "--previous-version", "1.0", "--set", "version=2.0"]);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 2, "{text}");
    let weights: Vec<f64> = run
        .events()
        .iter()
        .filter(|e| e["type"] == "rollout_step" && e["node"] == "web")
        .filter_map(|e| e["weight"].as_f64())
        .collect();
    assert_eq!(weights, [0.0, 5.0, 25.0, 50.0, 100.0, 0.0], "{text}");
    let seen = settled_versions(front, 200, "1.0");
    let wrong: Vec<&(String, u16)> = seen.iter().filter(|(v, _)| v != "1.0").collect();
    assert!(wrong.is_empty(), "after the rollback {} of 200 users got {:?}: {text}", wrong.len(), wrong.first());
}
