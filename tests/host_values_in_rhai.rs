//! #29: a host's values (inventory variables, `address`, the environment's
//! vars) are `host.KEY` in Rhai as they are `${host.KEY}` in strings: in a
//! step's script, in a gate a canary decides (`hosts` are names whose
//! values read the same way), and checked before anything runs.

mod common;

use common::Test;

const INVENTORY: &str = "[web]\nweb-1 role=primary http_port=8080\nweb-2 role=replica http_port=8081\n\
                         web-3 role=replica http_port=8082\n";

const PLAN: &str = r#"
pipeline "shop" {}
param version: string = "1.0"
environment production {
  hosts = inventory("inventory.ini", "web")
  vars { region = "eu" }
}
gate replicas_first {
  check every 100ms within 1s ```
    let primaries = hosts.filter(|h| h.role == "primary");
    log("rolled out: " + hosts + ", primaries among them: " + primaries.len());
    primaries.len() <= 1
  ```
}
stage ship {
  target = production
  strategy canary { steps = [30%, 100%]  pause = 0s  analysis = replicas_first }
  script ```
    let port = host.http_port + 1;
    log(`${host} is ${host.role} in ${host.region}, next port ${port}, name ${host.name}`);
  ```
  run "echo ${host.role} > on-${host}"
  rollback { run "rm -f on-${host}" }
}
"#;

#[test]
fn a_scripts_host_has_its_inventory_values_and_a_canary_gate_reads_them_per_host() {
    let test = Test::new().file("inventory.ini", INVENTORY).plan(PLAN);
    let checked = test.run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    let ran = test.run_with(&["run", "release.deploy"]);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert_eq!(ran.code, 0, "{all}");
    assert!(all.contains("web-1 is primary in eu, next port 8081, name web-1"), "{all}");
    assert!(all.contains("web-3 is replica in eu, next port 8083, name web-3"), "{all}");
    // The first step rolled out web-1 only, and the gate saw it as the primary.
    assert!(all.contains("rolled out: [\"web-1\"], primaries among them: 1"), "{all}");
}

#[test]
fn the_gate_decides_on_the_hosts_values_and_the_run_rolls_back() {
    // web-1 is the primary: the gate fails after the first step, so only
    // web-1 was changed and it is undone.
    let plan = PLAN.replace("primaries.len() <= 1", "primaries.is_empty()");
    let test = Test::new().file("inventory.ini", INVENTORY).plan(&plan);
    let ran = test.run_with(&["run", "release.deploy"]);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert_eq!(ran.code, 2, "{all}");
    for host in ["web-1", "web-2", "web-3"] {
        assert!(!test.path().join(format!("on-{host}")).exists(), "{host}: {all}");
    }
}

#[test]
fn a_key_no_host_has_is_found_before_anything_runs() {
    let plan = PLAN.replace("host.http_port + 1", "host.http_prot + 1");
    let test = Test::new().file("inventory.ini", INVENTORY).plan(&plan);
    let checked = test.run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    assert!(checked.stderr.contains("E0100"), "{}", checked.stderr);
    assert!(
        checked.stderr.contains("unknown name `host.http_prot`: no host of environment `production` has a `http_prot`"),
        "{}",
        checked.stderr
    );
    assert!(checked.stderr.contains("did you mean `host.http_port`?"), "{}", checked.stderr);
    let ran = test.run_with(&["run", "release.deploy"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    for host in ["web-1", "web-2", "web-3"] {
        assert!(!test.path().join(format!("on-{host}")).exists(), "{host} ran: {}", ran.stderr);
    }
}

#[test]
fn a_string_that_is_not_a_host_has_no_values() {
    let plan = PLAN.replace("let port = host.http_port + 1;", "let port = \"db-9\".http_port;");
    let test = Test::new().file("inventory.ini", INVENTORY).plan(&plan);
    let ran = test.run_with(&["run", "release.deploy"]);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert_eq!(ran.code, 2, "{all}");
    assert!(all.contains("`db-9` is not a host of this environment, so it has no `http_port`"), "{all}");
}
