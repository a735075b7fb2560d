//! `deploy verify` through the real binary on local hosts, against SQLite
//! and PostgreSQL: every host's `probe` compared with its record in the
//! state — in sync, drift, unreachable — with the documented exit codes;
//! each host's last result shows in `deploy status` and, with `deploy serve
//! --verify-every`, on the overview and in `GET /api/status`.

mod common;

use std::time::Duration;

use common::backend::{self, Backend};
use common::background::{get, wait_until, Background};
use common::{Output, Test};

const PLAN: &str = r#"
pipeline "shop" {}
param version: string = "1.0.0"
environment production {
  hosts = ["web-1", "web-2", "web-3"]
  // web-3's probe fails when its marker says so (a host that cannot answer).
  probe = "test ! -e hosts/${host}.down && cat hosts/${host}"
}
stage deploy {
  target = production
  run "mkdir -p hosts && echo ${version} > hosts/${host}"
  rollback { run "true" }
}
"#;

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", output.stdout, output.stderr))
}

fn statuses(output: &Output) -> Vec<(String, String)> {
    json(output)["hosts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|host| {
            (host["host"].as_str().unwrap_or("").to_string(), host["status"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn verify_compares_hosts_with_the_state(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN));
    let run = test.run_with(&["run", "release.deploy", "--set", "version=2.0.0"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let synced = test.run_with(&["verify", "release.deploy", "--json"]);
    assert_eq!(synced.code, 0, "{}{}", synced.stdout, synced.stderr);
    assert_eq!(statuses(&synced), pairs(&[("web-1", "in_sync"), ("web-2", "in_sync"), ("web-3", "in_sync")]));
    assert_eq!(json(&synced)["hosts"][0]["recorded"], "2.0.0");
    assert_eq!(json(&synced)["hosts"][0]["found"], "2.0.0");

    // Someone changed web-2 by hand.
    std::fs::write(test.path().join("hosts/web-2"), "1.9.0\n").unwrap_or_default();
    let drift = test.run_with(&["verify", "release.deploy"]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.contains("drift: store says 2.0.0, host has 1.9.0"), "{}", drift.stdout);
    assert!(drift.stdout.contains("1 drift"), "{}", drift.stdout);

    // web-3 cannot answer: unreachable wins over drift (exit 2).
    std::fs::write(test.path().join("hosts/web-3.down"), "").unwrap_or_default();
    let down = test.run_with(&["verify", "release.deploy", "--env", "production", "--json"]);
    assert_eq!(down.code, 2, "{}{}", down.stdout, down.stderr);
    assert_eq!(statuses(&down), pairs(&[("web-1", "in_sync"), ("web-2", "drift"), ("web-3", "unreachable")]));
    let error = json(&down)["hosts"][2]["error"].as_str().unwrap_or("").to_string();
    assert!(error.contains("the probe failed (exit 1)"), "{error}");
    assert_eq!(json(&down)["unreachable"], 1);

    // The last verify of each host is kept beside its record.
    let status = test.run_with(&["status", "--json"]);
    let hosts = json(&status)["environments"][0]["hosts"].clone();
    assert_eq!(hosts[1]["verified"]["status"], "drift", "{hosts}");
    assert_eq!(hosts[1]["verified"]["found"], "1.9.0", "{hosts}");
    assert_eq!(hosts[2]["verified"]["status"], "unreachable", "{hosts}");
    let text = test.run_with(&["status"]);
    assert!(text.stdout.contains("drift: the host has 1.9.0"), "{}", text.stdout);
}

#[test]
fn verify_compares_hosts_with_the_state_sqlite() {
    verify_compares_hosts_with_the_state(&Backend::Sqlite);
}

#[test]
fn verify_compares_hosts_with_the_state_postgres() {
    if let Some(backend) = backend::postgres("verify_compares_hosts") {
        verify_compares_hosts_with_the_state(&backend);
    }
}

#[test]
fn verify_needs_a_probe_and_a_known_environment() {
    let test = Test::new().plan(&PLAN.replace("  probe = \"test ! -e hosts/${host}.down && cat hosts/${host}\"\n", ""));
    let none = test.run_with(&["verify", "release.deploy"]);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert!(none.stderr.contains("no probe to run"), "{}", none.stderr);
    let unknown = Test::new().plan(PLAN).run_with(&["verify", "release.deploy", "--env", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("the plan has no such environment"), "{}", unknown.stderr);
    // Before anything ran, a host with nothing on it is in sync with an empty state.
    let fresh = Test::new().plan(&PLAN.replace("cat hosts/${host}", "cat hosts/${host} 2>/dev/null || true"));
    let output = fresh.run_with(&["verify", "release.deploy"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert!(output.stdout.contains("in sync (nothing)"), "{}", output.stdout);
}

#[test]
fn a_probe_must_be_a_command() {
    let test = Test::new().plan(&PLAN.replace("probe = \"test", "probe = 5 // \"test"));
    let output = test.run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("`probe` takes a command in a string"), "{}", output.stderr);
}

#[test]
fn serve_verifies_every_period_and_the_overview_shows_it() {
    let test = Test::new().plan(PLAN);
    let run = test.run_with(&["run", "release.deploy", "--set", "version=2.0.0"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    std::fs::write(test.path().join("hosts/web-3"), "0.1.0\n").unwrap_or_default();
    let server = Background::start(
        test.path(),
        &["serve", "release.deploy", "--listen", "127.0.0.1:0", "--verify-every", "200ms"],
        &[],
    );
    let base = format!("http://{}", server.address());
    wait_until(Duration::from_secs(30), "a verify to be recorded", || {
        get(&format!("{base}/api/status")).json()["environments"][0]["hosts"][2]["verified"]["status"] == "drift"
    });
    let page = get(&format!("{base}/"));
    assert!(page.body.contains("data-verified=\"drift\""), "{}", page.body);
    assert!(page.body.contains("verified: drift: host has 0.1.0"), "{}", page.body);
    // Fixed by hand: the next period says so.
    std::fs::write(test.path().join("hosts/web-3"), "2.0.0\n").unwrap_or_default();
    wait_until(Duration::from_secs(30), "the next verify", || {
        get(&format!("{base}/api/status")).json()["environments"][0]["hosts"][2]["verified"]["status"] == "in_sync"
    });
}

#[test]
fn serve_refuses_verify_every_without_a_probe() {
    let test = Test::new().plan(&PLAN.replace("  probe = \"test ! -e hosts/${host}.down && cat hosts/${host}\"\n", ""));
    let output = test.run_with(&["serve", "release.deploy", "--listen", "127.0.0.1:0", "--verify-every", "1s"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("no environment of the plan has a `probe`"), "{}", output.stderr);
}
