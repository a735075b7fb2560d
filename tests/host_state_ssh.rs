//! The per-host truth on real sshd hosts (tests/support/fleet.sh): a run of
//! everything, a `--limit` run, a failure `max_failures` tolerates, a
//! failure that rolls the run back, and per-host rollbacks — after each, the
//! files on the four hosts, `deploy status --json` and the expected versions
//! agree. Skipped, saying why, when not run as root.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use std::collections::BTreeMap;

use common::{Output, Test};
use fleet::Fleet;
use serde_json::Value;

fn plan(fleet: &Fleet, max_failures: u32) -> String {
    format!(
        r#"pipeline "fleet" {{ on_failure = rollback }}
param version: string = "v0"
param fail: string = "none"
environment production {{
  transport = ssh
  hosts = inventory("{}", "web")
  probe = "cat on-host 2>/dev/null || true"
  {}
}}
stage ship {{
  target = production
  strategy rolling {{ batch = 1  max_failures = {max_failures} }}
  run "test $DEPLOY_HOST != ${{fail}} && echo ${{version}} > on-host"
  rollback {{ run "echo ${{previous_version}} > on-host" }}
}}
"#,
        fleet.inventory(),
        fleet.ssh_block()
    )
}

fn run(test: &Test, args: &[&str]) -> Output {
    test.run_with(args)
}

fn hosts(test: &Test) -> BTreeMap<String, (String, String)> {
    let output = test.run_with(&["status", "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let status: Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout));
    let mut out = BTreeMap::new();
    for environment in status["environments"].as_array().cloned().unwrap_or_default() {
        for host in environment["hosts"].as_array().cloned().unwrap_or_default() {
            out.insert(
                host["host"].as_str().unwrap_or("").to_string(),
                (host["version"].as_str().unwrap_or("").to_string(), host["state"].as_str().unwrap_or("").to_string()),
            );
        }
    }
    out
}

/// Each host's file and its record: `(file, recorded version, state)`.
fn expect(fleet: &Fleet, test: &Test, want: &[(&str, &str, &str, &str)], after: &str) {
    let recorded = hosts(test);
    for (host, file, version, state) in want {
        assert_eq!(fleet.read(host, "on-host").trim(), *file, "{after}: the file on {host}");
        let (got_version, got_state) = recorded.get(*host).cloned().unwrap_or_default();
        assert_eq!((got_version.as_str(), got_state.as_str()), (*version, *state), "{after}: {host}'s record");
    }
}

#[test]
fn four_ssh_hosts_files_and_status_agree_through_runs_and_rollbacks() {
    let Some(fleet) = Fleet::start(4) else { return };
    let test = Test::new().plan(&plan(&fleet, 0)).file("tolerant.deploy", plan(&fleet, 1));
    let code = |output: &Output| (output.code, format!("{}{}", output.stdout, output.stderr));

    let first = run(&test, &["run", "release.deploy", "--set", "version=v1"]);
    assert_eq!(code(&first).0, 0, "{}", code(&first).1);
    let all_v1 = [
        ("web-1", "v1", "v1", "ok"),
        ("web-2", "v1", "v1", "ok"),
        ("web-3", "v1", "v1", "ok"),
        ("web-4", "v1", "v1", "ok"),
    ];
    expect(&fleet, &test, &all_v1, "v1 everywhere");

    let limited = run(&test, &["run", "release.deploy", "--set", "version=v2", "--limit", "web-2"]);
    assert_eq!(code(&limited).0, 0, "{}", code(&limited).1);
    expect(&fleet, &test, &[("web-1", "v1", "v1", "ok"), ("web-2", "v2", "v2", "ok")], "--limit web-2");

    // web-3 fails and the run rolls back: every host keeps what it had.
    let failed = run(&test, &["run", "release.deploy", "--set", "version=v3", "--set", "fail=web-3"]);
    assert_eq!(code(&failed).0, 2, "{}", code(&failed).1);
    expect(
        &fleet,
        &test,
        &[("web-1", "v1", "v1", "ok"), ("web-2", "v2", "v2", "ok"), ("web-3", "v1", "v1", "ok")],
        "a run rolled back",
    );

    // web-4 fails and it is tolerated: the run succeeds, web-4 did not make it.
    let tolerated = run(&test, &["run", "tolerant.deploy", "--set", "version=v4", "--set", "fail=web-4"]);
    assert_eq!(code(&tolerated).0, 0, "{}", code(&tolerated).1);
    assert!(code(&tolerated).1.contains("web-4 failed (tolerated)"), "{}", code(&tolerated).1);
    expect(
        &fleet,
        &test,
        &[("web-1", "v4", "v4", "ok"), ("web-2", "v4", "v4", "ok"), ("web-4", "v1", "v4", "failed")],
        "a tolerated failure",
    );

    // Each host back to its own previous version: web-2 to v2, the others to v1.
    let back = run(&test, &["rollback", "release.deploy"]);
    assert_eq!(code(&back).0, 0, "{}", code(&back).1);
    expect(
        &fleet,
        &test,
        &[
            ("web-1", "v1", "v1", "undone"),
            ("web-2", "v2", "v2", "undone"),
            ("web-3", "v1", "v1", "undone"),
            ("web-4", "v1", "v1", "undone"),
        ],
        "a per-host rollback",
    );
}

#[test]
fn verify_probes_ssh_hosts_in_sync_drift_and_unreachable() {
    let Some(fleet) = Fleet::start(3) else { return };
    let test = Test::new().plan(&plan(&fleet, 0));
    let deployed = run(&test, &["run", "release.deploy", "--set", "version=v1"]);
    assert_eq!(deployed.code, 0, "{}{}", deployed.stdout, deployed.stderr);
    let synced = run(&test, &["verify", "release.deploy"]);
    assert_eq!(synced.code, 0, "{}{}", synced.stdout, synced.stderr);
    assert!(synced.stdout.contains("3 in sync"), "{}", synced.stdout);
    // Someone changed web-2 by hand, over its own sshd.
    std::fs::write(fleet.host("web-2").srv.join("on-host"), "v0\n").unwrap_or_else(|e| panic!("{e}"));
    let drift = run(&test, &["verify", "release.deploy", "--json"]);
    assert_eq!(drift.code, 1, "{}{}", drift.stdout, drift.stderr);
    let report: Value = serde_json::from_str(&drift.stdout).unwrap_or_else(|e| panic!("{e}: {}", drift.stdout));
    assert_eq!(report["hosts"][1]["host"], "web-2");
    assert_eq!(report["hosts"][1]["status"], "drift");
    assert_eq!(report["hosts"][1]["found"], "v0");
    assert_eq!(report["hosts"][1]["recorded"], "v1");
    // web-3's sshd is gone: unreachable, exit 2.
    fleet.kill_sshd("web-3");
    let down = run(&test, &["verify", "release.deploy", "--json"]);
    assert_eq!(down.code, 2, "{}{}", down.stdout, down.stderr);
    let report: Value = serde_json::from_str(&down.stdout).unwrap_or_else(|e| panic!("{e}: {}", down.stdout));
    assert_eq!(report["hosts"][2]["status"], "unreachable", "{report}");
    assert_eq!(report["hosts"][0]["status"], "in_sync", "{report}");
}
