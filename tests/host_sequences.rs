//! A second state-machine test of what deploy records per host (beside
//! tests/host_model.rs), through the real binary on SQLite and PostgreSQL:
//! seeded random sequences of runs (all, `--env`, `--limit`, with a
//! tolerated failure, with a failure that rolls the run back) and rollbacks
//! (all, `--env`, `--limit`, and `--to` a version some hosts had, or one no
//! host had) on local hosts. After every step the files each host's steps
//! wrote, `deploy status --json` per host (version, previous version,
//! state), production's `mixed` and a reference model of each host's
//! history all agree.

mod common;

use common::backend::Backend;
use common::{Output, Test};
use serde_json::Value;

/// Each host's steps write the version to `on-HOST`; its rollback writes
/// the version it goes back to. A host fails while `fail-HOST` exists.
const PLAN: &str = r#"
pipeline "model" {}
param version: string = "v0"
environment staging { hosts = ["s1"] }
environment production { hosts = ["p1", "p2", "p3"] }
stage stg {
  target = staging
  run "test ! -f fail-${host}"
  run "echo ${version} > on-${host}"
  rollback { run "echo ${previous_version} > on-${host}" }
}
stage prod {
  needs = [stg]  target = production
  strategy rolling { batch = 1  max_failures = 1 }
  run "test ! -f fail-${host}"
  run "echo ${version} > on-${host}"
  rollback { run "echo ${previous_version} > on-${host}" }
}
"#;

const HOSTS: [&str; 4] = ["s1", "p1", "p2", "p3"];

/// xorshift64*: the same sequence for the same seed, no dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What one host should run, by the rules of docs/state.md.
#[derive(Clone, Debug, Default)]
struct Host {
    version: String,
    previous: String,
    state: String,
    /// Every change: (version, previous, by a rollback).
    history: Vec<(String, String, bool)>,
    /// What its steps last wrote.
    file: String,
}

impl Host {
    fn recorded(&self) -> bool {
        !self.history.is_empty()
    }

    fn deployed(&mut self, version: &str, state: &str) {
        let previous = if self.version == version { self.previous.clone() } else { self.version.clone() };
        self.history.push((version.to_string(), previous.clone(), false));
        (self.version, self.previous, self.state) = (version.to_string(), previous, state.to_string());
    }

    fn undone_to(&mut self, version: &str) {
        let previous = self
            .history
            .iter()
            .rev()
            .find(|(seen, _, undo)| seen == version && !undo)
            .map(|(_, previous, _)| previous.clone())
            .unwrap_or_default();
        self.history.push((version.to_string(), previous.clone(), true));
        (self.version, self.previous, self.state) = (version.to_string(), previous, "undone".to_string());
        self.file = version.to_string();
    }

    fn had(&self, version: &str) -> bool {
        self.history.iter().any(|(seen, _, _)| seen == version)
    }
}

struct Model {
    hosts: Vec<(&'static str, Host)>,
}

impl Model {
    fn host(&mut self, name: &str) -> &mut Host {
        match self.hosts.iter_mut().find(|(host, _)| *host == name) {
            Some((_, host)) => host,
            None => panic!("no host {name}"),
        }
    }
}

/// `--env`/`--limit` arguments and the hosts they select.
fn selection(random: &mut Random) -> (Vec<String>, Vec<&'static str>) {
    match random.below(5) {
        0 | 1 => (Vec::new(), HOSTS.to_vec()),
        2 => (vec!["--env".into(), "staging".into()], vec!["s1"]),
        3 => (vec!["--env".into(), "production".into()], vec!["p1", "p2", "p3"]),
        _ => {
            let host = ["p1", "p2", "p3"][random.below(3) as usize];
            (vec!["--limit".into(), host.into()], vec![host])
        }
    }
}

fn run_step(test: &Test, model: &mut Model, random: &mut Random, version: &str) -> String {
    let (args, selected) = selection(random);
    let production: Vec<&str> = selected.iter().copied().filter(|host| host.starts_with('p')).collect();
    let mut failing: Vec<&str> = Vec::new();
    for _ in 0..random.below(3) {
        if let Some(host) = production.get(random.below(production.len().max(1) as u64) as usize) {
            if !failing.contains(host) {
                failing.push(host);
            }
        }
    }
    for host in &failing {
        std::fs::write(test.path().join(format!("fail-{host}")), "").unwrap_or_else(|e| panic!("{e}"));
    }
    let set = format!("version={version}");
    let mut command = vec!["run", "release.deploy", "--set", set.as_str()];
    command.extend(args.iter().map(String::as_str));
    let output = test.run_with(&command);
    for host in &failing {
        let _ = std::fs::remove_file(test.path().join(format!("fail-{host}")));
    }
    // Staging first, then production one host at a time; the second failure stops and rolls back the run.
    let mut touched: Vec<(&str, bool)> = Vec::new();
    let mut failures = 0;
    let mut rolled_back = false;
    for host in selected.iter().copied().filter(|host| *host == "s1").chain(production.iter().copied()) {
        let failed = failing.contains(&host);
        touched.push((host, failed));
        if failed {
            failures += 1;
            if failures > 1 {
                rolled_back = true;
                break;
            }
        }
    }
    let what = format!("run {version} {args:?} failing {failing:?}");
    if rolled_back {
        assert_eq!(output.code, 2, "{what}: {}{}", output.stdout, output.stderr);
        // Undone in the same run: every host it touched is back on its own version.
        for (host, _) in touched {
            let model = model.host(host);
            model.file = model.version.clone();
        }
    } else {
        assert_eq!(output.code, 0, "{what}: {}{}", output.stdout, output.stderr);
        for (host, failed) in touched {
            let model = model.host(host);
            model.deployed(version, if failed { "failed" } else { "ok" });
            if !failed {
                model.file = version.to_string();
            }
        }
    }
    what
}

fn rollback_step(test: &Test, model: &mut Model, random: &mut Random, versions: &[String]) -> String {
    let (args, selected) = selection(random);
    let to = match random.below(4) {
        0 if !versions.is_empty() => Some(versions[random.below(versions.len() as u64) as usize].clone()),
        1 if random.below(3) == 0 => Some("v99".to_string()),
        _ => None,
    };
    let mut command = vec!["rollback", "release.deploy"];
    command.extend(args.iter().map(String::as_str));
    if let Some(to) = &to {
        command.extend(["--to", to.as_str()]);
    }
    let output = test.run_with(&command);
    let what = format!("rollback {args:?} --to {to:?}");
    let recorded: Vec<&str> = selected.iter().copied().filter(|host| model.host(host).recorded()).collect();
    let anyone_had = to.as_ref().is_some_and(|to| recorded.iter().any(|host| model.host(host).had(to)));
    let mut moved = 0;
    for host in recorded {
        let state = model.host(host);
        let target = match &to {
            Some(to) if !anyone_had || state.had(to) => to.clone(),
            Some(_) => continue,
            None if state.previous.is_empty() => continue,
            None => state.previous.clone(),
        };
        if target == state.version {
            continue;
        }
        state.undone_to(&target);
        moved += 1;
    }
    let expected = if moved > 0 { 0 } else { 1 };
    assert_eq!(output.code, expected, "{what}: {}{}", output.stdout, output.stderr);
    what
}

fn check(test: &Test, pipeline: &str, model: &mut Model, history: &[String]) {
    let output: Output = test.run_with(&["status", "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let status: Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout));
    let steps = history.join("\n  ");
    for name in HOSTS {
        let environment = if name == "s1" { "staging" } else { "production" };
        let recorded = status["environments"]
            .as_array()
            .and_then(|list| list.iter().find(|env| env["pipeline"] == pipeline && env["environment"] == environment))
            .and_then(|env| env["hosts"].as_array())
            .and_then(|hosts| hosts.iter().find(|host| host["host"] == name))
            .cloned();
        let host = model.host(name).clone();
        match recorded {
            None => assert!(!host.recorded(), "{name} is not in status but should be {host:?}\nafter:\n  {steps}"),
            Some(recorded) => {
                let got =
                    (recorded["version"].clone(), recorded["previous_version"].clone(), recorded["state"].clone());
                let want =
                    (Value::from(host.version.clone()), Value::from(host.previous.clone()), Value::from(host.state));
                assert_eq!(got, want, "{name} (version, previous, state)\nafter:\n  {steps}");
            }
        }
        let file = std::fs::read_to_string(test.path().join(format!("on-{name}"))).unwrap_or_default();
        assert_eq!(file.trim(), host.file, "on-{name}\nafter:\n  {steps}");
    }
    // Production is mixed exactly when its hosts (a host never deployed to runs nothing) differ.
    let versions: Vec<String> = ["p1", "p2", "p3"].iter().map(|host| model.host(host).version.clone()).collect();
    if versions.iter().any(|version| !version.is_empty()) {
        let production = status["environments"]
            .as_array()
            .and_then(|list| {
                list.iter().find(|env| env["pipeline"] == pipeline && env["environment"] == "production").cloned()
            })
            .unwrap_or_default();
        let mixed = versions.iter().any(|version| *version != versions[0]);
        assert_eq!(production["mixed"], mixed, "production mixed, hosts {versions:?}\nafter:\n  {steps}");
        if !mixed {
            assert_eq!(production["current_version"], versions[0].as_str(), "after:\n  {steps}");
        }
    }
}

fn sequence(backend: &Backend, seed: u64, steps: usize) {
    // A pipeline of its own per seed: the PostgreSQL variant shares one database.
    let plan = PLAN.replace("pipeline \"model\"", &format!("pipeline \"model-{seed}\""));
    let test = backend.apply(Test::new().plan(&plan)).env("DEPLOY_KILL_GRACE_MS", "200");
    let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut model = Model { hosts: HOSTS.iter().map(|host| (*host, Host::default())).collect() };
    let mut versions: Vec<String> = Vec::new();
    let mut history: Vec<String> = Vec::new();
    for step in 0..steps {
        let what = if step < 2 || random.below(3) != 0 {
            let version = format!("v{}", versions.len() + 1);
            versions.push(version.clone());
            run_step(&test, &mut model, &mut random, &version)
        } else {
            rollback_step(&test, &mut model, &mut random, &versions)
        };
        history.push(what);
        check(&test, &format!("model-{seed}"), &mut model, &history);
    }
}

fn random_runs_and_rollbacks_agree_with_the_model(backend: &Backend) {
    for seed in 1..=6 {
        sequence(backend, seed, 16);
    }
}

on_both_backends!(random_runs_and_rollbacks_agree_with_the_model);
