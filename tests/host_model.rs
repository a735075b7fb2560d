//! A state-machine test of the per-host truth: seeded random sequences of
//! `deploy run` (everything, `--env`, `--limit`, with a failing host that
//! rolls the run back, with a failure `max_failures` tolerates, killed with
//! SIGKILL mid-way then `deploy resume`d, interrupted with SIGINT mid-way)
//! and `deploy rollback` (everything, `--env`, `--limit`) on local hosts. After every
//! step three things must agree: the files on the hosts, `deploy status
//! --json` per host, and a reference model of what each host should be on.
//! SQLite for every seed, PostgreSQL for one.

mod common;

use std::collections::BTreeMap;

use common::backend::{self, Backend};
use common::{Output, Test};
use serde_json::Value;

/// Every host of the plan, with its environment.
const HOSTS: [(&str, &str); 4] = [("staging", "s1"), ("production", "p1"), ("production", "p2"), ("production", "p3")];

/// `fail` names a host whose step fails. The release plan rolls the whole run
/// back then; the tolerant plan (same pipeline, same state) lets production
/// lose one host.
fn plan(max_failures: u32) -> String {
    format!(
        r#"
pipeline "model" {{ on_failure = rollback }}
param version: string = "v0"
param fail: string = "none"
environment staging {{ hosts = ["s1"] }}
environment production {{ hosts = ["p1", "p2", "p3"] }}
stage stg {{
  target = staging
  run "test ${{host}} != ${{fail}} && mkdir -p hosts && echo ${{version}} > hosts/${{host}}"
  rollback {{ run "mkdir -p hosts && echo ${{previous_version}} > hosts/${{host}}" }}
}}
stage prod {{
  needs = [stg]
  target = production
  strategy rolling {{ batch = 1  max_failures = {max_failures} }}
  run "while [ -e hold-${{host}} ]; do sleep 0.05; done; test ${{host}} != ${{fail}} && mkdir -p hosts && echo ${{version}} > hosts/${{host}}"
  rollback {{ run "mkdir -p hosts && echo ${{previous_version}} > hosts/${{host}}" }}
}}
"#
    )
}

/// What the model knows of one host.
#[derive(Clone, Debug, Default, PartialEq)]
struct Host {
    /// The version the store records (`""`: never deployed).
    recorded: String,
    /// The version before it; `None` after a rollback (the model does not
    /// follow the history further back, so it rolls back only known steps).
    previous: Option<String>,
    state: String,
    /// What the host's file says.
    file: String,
}

#[derive(Debug)]
enum Step {
    Run {
        version: String,
        scope: Scope,
        fail: Option<&'static str>,
        tolerant: bool,
    },
    /// A run of everything killed with SIGKILL while p2's step runs, then resumed.
    KilledThenResumed {
        version: String,
    },
    /// A run of everything interrupted with SIGINT while p2's step runs.
    Interrupted {
        version: String,
    },
    Rollback {
        scope: Scope,
    },
}

#[derive(Clone, Debug)]
enum Scope {
    All,
    Env(&'static str),
    Limit(&'static str),
}

impl Scope {
    fn selects(&self, environment: &str, host: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Env(wanted) => *wanted == environment,
            Scope::Limit(wanted) => *wanted == host,
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Scope::All => Vec::new(),
            Scope::Env(environment) => vec!["--env".into(), environment.to_string()],
            Scope::Limit(host) => vec!["--limit".into(), host.to_string()],
        }
    }
}

/// A small deterministic generator: the same seed, the same sequence.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn random_scope(random: &mut Lcg) -> Scope {
    match random.below(4) {
        0 | 1 => Scope::All,
        2 => Scope::Env(if random.below(2) == 0 { "staging" } else { "production" }),
        _ => Scope::Limit(HOSTS[random.below(4) as usize].1),
    }
}

fn steps(seed: u64, count: usize) -> Vec<Step> {
    let mut random = Lcg(seed);
    let mut out = Vec::new();
    for number in 1..=count {
        let version = format!("v{number}");
        out.push(match random.below(8) {
            0 | 1 => Step::Run { version, scope: random_scope(&mut random), fail: None, tolerant: false },
            2 => Step::Run { version, scope: Scope::All, fail: Some("p2"), tolerant: false },
            3 => Step::Run { version, scope: Scope::All, fail: Some("p3"), tolerant: true },
            4 => Step::KilledThenResumed { version },
            5 => Step::Interrupted { version },
            _ => Step::Rollback { scope: random_scope(&mut random) },
        });
    }
    out
}

/// The model's answer to a step: its new hosts and the exit code expected.
fn apply(model: &BTreeMap<&str, Host>, step: &Step) -> (BTreeMap<&'static str, Host>, Vec<i32>) {
    let mut next: BTreeMap<&'static str, Host> = HOSTS.iter().map(|(_, host)| (*host, model[host].clone())).collect();
    match step {
        // Resumed to its end: as if it had run through.
        Step::KilledThenResumed { version } => {
            apply(model, &Step::Run { version: version.clone(), scope: Scope::All, fail: None, tolerant: false })
        }
        // The interrupt rolls the run back under `on_failure = rollback`.
        Step::Interrupted { .. } => (next, vec![130]),
        Step::Run { version, scope, fail, tolerant } => {
            let failing_rolls_back = fail.is_some() && !tolerant;
            if failing_rolls_back {
                // The run undoes itself: every host keeps its record and its file.
                return (next, vec![2]);
            }
            for (environment, name) in HOSTS {
                if !scope.selects(environment, name) {
                    continue;
                }
                let host = next.get_mut(name).unwrap_or_else(|| panic!("{name}"));
                let before = host.recorded.clone();
                host.previous = Some(before);
                host.recorded = version.clone();
                if *fail == Some(name) {
                    host.state = "failed".into();
                } else {
                    host.state = "ok".into();
                    host.file = version.clone();
                }
            }
            (next, vec![0])
        }
        Step::Rollback { scope } => {
            let mut moved = false;
            for (environment, name) in HOSTS {
                let host = next.get_mut(name).unwrap_or_else(|| panic!("{name}"));
                if !scope.selects(environment, name) || host.recorded.is_empty() {
                    continue;
                }
                let Some(previous) = host.previous.clone() else { continue };
                if previous.is_empty() {
                    continue;
                }
                host.recorded = previous.clone();
                host.previous = None;
                host.state = "undone".into();
                host.file = previous;
                moved = true;
            }
            (next, if moved { vec![0] } else { vec![1] })
        }
    }
}

/// Whether the model can tell where a rollback of `scope` takes every host.
fn rollback_is_modelled(model: &BTreeMap<&str, Host>, scope: &Scope) -> bool {
    HOSTS
        .iter()
        .filter(|(environment, host)| scope.selects(environment, host) && !model[host].recorded.is_empty())
        .all(|(_, host)| model[host].previous.is_some())
}

/// Starts a run of everything whose p2 step waits (while `hold-p2`
/// exists), waits until p1 runs the new version, sends `signal`, and lets
/// p2 go on for whatever comes next (a resume).
fn signalled_run(test: &Test, version: &str, signal: i32) -> Output {
    let set = format!("version={version}");
    let hold = test.path().join("hold-p2");
    std::fs::write(&hold, "").unwrap_or_else(|e| panic!("{e}"));
    let mut child = test
        .command(&["run", "release.deploy", "--set", &set])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy: {e}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while file_of(test, "p1") != version {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("p1 never ran {version}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // p2's step has started (batch = 1): give it a moment to be running.
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: signals the child this test spawned.
    unsafe { libc::kill(child.id() as i32, signal) };
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("wait: {e}"));
    let _ = std::fs::remove_file(&hold);
    Output {
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

fn run_step(test: &Test, step: &Step) -> Output {
    match step {
        Step::KilledThenResumed { version } => {
            let killed = signalled_run(test, version, libc::SIGKILL);
            assert_eq!(killed.code, -1, "killed: {}", killed.stderr);
            test.run_with(&["resume"])
        }
        Step::Interrupted { version } => signalled_run(test, version, libc::SIGINT),
        Step::Run { version, scope, fail, tolerant } => {
            let file = if *tolerant { "tolerant.deploy" } else { "release.deploy" };
            let mut args: Vec<String> = vec!["run".into(), file.into(), "--set".into(), format!("version={version}")];
            if let Some(host) = fail {
                args.extend(["--set".into(), format!("fail={host}")]);
            }
            args.extend(scope.args());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            test.run_with(&args)
        }
        Step::Rollback { scope } => {
            let mut args: Vec<String> = vec!["rollback".into(), "release.deploy".into()];
            args.extend(scope.args());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            test.run_with(&args)
        }
    }
}

fn recorded_hosts(test: &Test) -> BTreeMap<String, Value> {
    let output = test.run_with(&["status", "--json"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let status: Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout));
    let mut hosts = BTreeMap::new();
    for environment in status["environments"].as_array().cloned().unwrap_or_default() {
        for host in environment["hosts"].as_array().cloned().unwrap_or_default() {
            hosts.insert(host["host"].as_str().unwrap_or("").to_string(), host);
        }
    }
    hosts
}

fn file_of(test: &Test, host: &str) -> String {
    std::fs::read_to_string(test.path().join("hosts").join(host)).unwrap_or_default().trim().to_string()
}

fn sequence(backend: &Backend, seed: u64, count: usize) {
    let test = backend.apply(Test::new().plan(&plan(0)).file("tolerant.deploy", plan(1)));
    let mut model: BTreeMap<&str, Host> = HOSTS.iter().map(|(_, host)| (*host, Host::default())).collect();
    let mut done: Vec<String> = Vec::new();
    for step in steps(seed, count) {
        if let Step::Rollback { scope } = &step {
            if !rollback_is_modelled(&model, scope) {
                continue;
            }
        }
        let (next, codes) = apply(&model, &step);
        let output = run_step(&test, &step);
        done.push(format!("{step:?} → exit {}", output.code));
        let trail = done.join("\n");
        assert!(
            codes.contains(&output.code),
            "seed {seed}: {step:?} exited {}, the model expected {codes:?}\n{trail}\n{}{}",
            output.code,
            output.stdout,
            output.stderr
        );
        model = next.into_iter().collect();
        let recorded = recorded_hosts(&test);
        for (_, name) in HOSTS {
            let want = &model[name];
            assert_eq!(file_of(&test, name), want.file, "seed {seed}: the file of {name}\n{trail}");
            match recorded.get(name) {
                None => assert!(want.recorded.is_empty(), "seed {seed}: {name} has no record, want {want:?}\n{trail}"),
                Some(host) => {
                    assert_eq!(host["version"], want.recorded.as_str(), "seed {seed}: {name}: {host}\n{trail}");
                    assert_eq!(host["state"], want.state.as_str(), "seed {seed}: {name}: {host}\n{trail}");
                    if let Some(previous) = &want.previous {
                        assert_eq!(host["previous_version"], previous.as_str(), "seed {seed}: {name}: {host}\n{trail}");
                    }
                }
            }
        }
    }
}

#[test]
fn hosts_files_status_and_model_agree_sqlite() {
    for seed in 1..=12 {
        sequence(&Backend::Sqlite, seed, 14);
    }
}

#[test]
fn hosts_files_status_and_model_agree_postgres() {
    for seed in [7, 11] {
        // A database of its own for each sequence, as each has its own hosts.
        if let Some(backend) = backend::postgres(&format!("host_model_{seed}")) {
            sequence(&backend, seed, 14);
        }
    }
}
