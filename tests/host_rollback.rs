//! `deploy rollback` per host, through the real binary, on SQLite and
//! PostgreSQL: every selected host goes back to its own previous version
//! with `${version}`/`${previous_version}` of its own, repeated rollbacks
//! walk further back, `--limit` and `--to` select hosts and versions, a
//! rollback that failed half-way is finished by the next one, and a run
//! that undid itself does not stand in the way.

mod common;

use std::time::{Duration, Instant};

use common::backend::Backend;
use common::{Output, Test};
use serde_json::Value;

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

fn read(test: &Test, file: &str) -> String {
    std::fs::read_to_string(test.path().join(file)).unwrap_or_default()
}

/// Each host's steps write what it runs to `on-HOST`; each undo appends
/// `VERSION->PREVIOUS_VERSION` to `undo-HOST`. A host fails while
/// `fail-HOST` exists; an undo on h2 fails while `broken` exists, and
/// each undo takes a second while `slow` exists.
const PLAN: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment production { hosts = ["h1", "h2", "h3"] }
stage web {
  target = production
  run "if [ $DEPLOY_HOST = h2 ] && [ -f stuck-$DEPLOY_VERSION ]; then touch started-h2; while [ ! -f release ]; do sleep 0.05; done; fi"
  run "test ! -f fail-${host}"
  run "echo ${version} > on-${host}"
  rollback {
    run "test ${host} != h2 || test ! -f broken"
    run "if [ -f slow ]; then sleep 1; fi"
    run "echo ${version}-'>'${previous_version} >> undo-${host}; echo ${previous_version} > on-${host}"
  }
}
"#;

fn deploy(test: &Test, version: &str, extra: &[&str]) {
    let set = format!("version={version}");
    let mut args = vec!["run", "release.deploy", "--set", &set];
    args.extend_from_slice(extra);
    ok(&test.run_with(&args));
}

fn rollback(test: &Test, extra: &[&str]) -> Output {
    let mut args = vec!["rollback", "release.deploy"];
    args.extend_from_slice(extra);
    test.run_with(&args)
}

/// `(version, previous_version, state)` of each host, from `deploy status --json`.
fn hosts(test: &Test) -> Vec<(String, String, String, String)> {
    let output = test.run_with(&["status", "--json"]);
    ok(&output);
    let status: Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout));
    let production = status["environments"]
        .as_array()
        .and_then(|list| list.iter().find(|env| env["environment"] == "production").cloned())
        .unwrap_or_else(|| panic!("no production in {status}"));
    let text = |host: &Value, key: &str| host[key].as_str().unwrap_or("?").to_string();
    production["hosts"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|h| (text(h, "host"), text(h, "version"), text(h, "previous_version"), text(h, "state")))
                .collect()
        })
        .unwrap_or_default()
}

fn row(host: &str, version: &str, previous: &str, state: &str) -> (String, String, String, String) {
    (host.to_string(), version.to_string(), previous.to_string(), state.to_string())
}

fn each_host_goes_back_to_its_own_version(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN));
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    deploy(&test, "v3", &["--limit", "h3"]);
    // A dry run says per host where it goes, and changes nothing.
    let dry = rollback(&test, &["--dry-run"]);
    ok(&dry);
    assert!(dry.stdout.contains("would roll back 3 host(s) of `shop`"), "{}", dry.stdout);
    assert!(dry.stdout.contains("  production h1: v2 → v1 (undoing run "), "{}", dry.stdout);
    assert!(dry.stdout.contains("  production h3: v3 → v2 (undoing run "), "{}", dry.stdout);
    let preview: Value = serde_json::from_str(&rollback(&test, &["--dry-run", "--json"]).stdout)
        .unwrap_or_else(|e| panic!("--dry-run --json: {e}"));
    let steps: Vec<(String, String, String)> = preview["hosts"]
        .as_array()
        .map(|hosts| {
            hosts
                .iter()
                .map(|h| {
                    let text = |key: &str| h[key].as_str().unwrap_or("?").to_string();
                    (text("host"), text("from"), text("to"))
                })
                .collect()
        })
        .unwrap_or_default();
    let step = |host: &str, from: &str, to: &str| (host.to_string(), from.to_string(), to.to_string());
    assert_eq!(steps, vec![step("h1", "v2", "v1"), step("h2", "v2", "v1"), step("h3", "v3", "v2")], "{preview}");
    assert_eq!(read(&test, "undo-h1"), "", "a dry run undoes nothing");
    assert_eq!(hosts(&test)[2], row("h3", "v3", "v2", "ok"));
    let first = rollback(&test, &[]);
    ok(&first);
    assert!(first.stderr.contains("each to its own version"), "{}", first.stderr);
    assert_eq!(read(&test, "undo-h1"), "v2->v1\n");
    assert_eq!(read(&test, "undo-h3"), "v3->v2\n");
    assert_eq!(
        hosts(&test),
        vec![row("h1", "v1", "", "undone"), row("h2", "v1", "", "undone"), row("h3", "v2", "v1", "undone"),]
    );
    // Again: only h3 has an earlier version to go to.
    ok(&rollback(&test, &[]));
    assert_eq!(read(&test, "undo-h1"), "v2->v1\n", "h1 is already at its first version");
    assert_eq!(read(&test, "undo-h3"), "v3->v2\nv2->v1\n");
    assert_eq!((read(&test, "on-h2"), read(&test, "on-h3")), ("v1\n".to_string(), "v1\n".to_string()));
    // Nothing earlier anywhere: refused.
    let last = rollback(&test, &[]);
    assert_eq!(last.code, 1, "{}{}", last.stdout, last.stderr);
    assert!(last.stderr.contains("no earlier version"), "{}", last.stderr);
}

fn limit_and_to_choose_hosts_and_versions(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN));
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    deploy(&test, "v3", &[]);
    ok(&rollback(&test, &["--limit", "h1"]));
    assert_eq!(read(&test, "undo-h1"), "v3->v2\n");
    assert_eq!(read(&test, "undo-h2"), "", "--limit h1 leaves h2 alone");
    // Straight to v1 on every host that had it; h1 comes from v2, the others from v3.
    ok(&rollback(&test, &["--to", "v1"]));
    assert_eq!(read(&test, "undo-h1"), "v3->v2\nv2->v1\n");
    assert_eq!(read(&test, "undo-h2"), "v3->v1\n");
    assert_eq!(
        hosts(&test),
        vec![row("h1", "v1", "", "undone"), row("h2", "v1", "", "undone"), row("h3", "v1", "", "undone"),]
    );
    let again = rollback(&test, &["--to", "v1"]);
    assert_eq!(again.code, 1, "every host is there already: {}", again.stderr);
}

fn a_half_failed_rollback_is_finished_by_the_next(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN));
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    std::fs::write(test.path().join("broken"), "").unwrap_or_else(|e| panic!("{e}"));
    let failed = rollback(&test, &[]);
    assert_eq!(failed.code, 4, "{}{}", failed.stdout, failed.stderr);
    // Status says so, and what each host is left on.
    let status = test.run_with(&["status"]);
    assert!(
        status.stdout.contains("rollback_failed shop") && status.stdout.contains("its rollback failed"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("    h2: v2 unknown, previous v1 (run "), "{}", status.stdout);
    assert_eq!(
        hosts(&test),
        vec![row("h1", "v1", "", "undone"), row("h2", "v2", "v1", "unknown"), row("h3", "v1", "", "undone"),]
    );
    std::fs::remove_file(test.path().join("broken")).unwrap_or_else(|e| panic!("{e}"));
    ok(&rollback(&test, &[]));
    assert_eq!(read(&test, "undo-h1"), "v2->v1\n", "h1 was undone already");
    let status = test.run_with(&["status"]);
    assert!(status.stdout.contains("none running, paused or crashed"), "{}", status.stdout);
    assert_eq!(read(&test, "undo-h2"), "v2->v1\n");
    assert_eq!(read(&test, "on-h2"), "v1\n");
    assert_eq!(
        hosts(&test),
        vec![row("h1", "v1", "", "undone"), row("h2", "v1", "", "undone"), row("h3", "v1", "", "undone"),]
    );
}

fn a_run_that_undid_itself_does_not_block_rollback(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN)).env("DEPLOY_KILL_GRACE_MS", "200");
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    // v3 gets stuck on h2, is interrupted and undoes itself.
    std::fs::write(test.path().join("stuck-v3"), "").unwrap_or_else(|e| panic!("{e}"));
    let mut child = test
        .command(&["run", "release.deploy", "--set", "version=v3"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let started = Instant::now();
    while !test.path().join("started-h2").exists() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run never reached h2");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: sends SIGINT to the child this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().ok().and_then(|status| status.code()), Some(130));
    assert_eq!(read(&test, "on-h1"), "v2\n", "the interrupted run undid itself");
    // Its hosts are back on v2: the rollback of v2 still works.
    let back = rollback(&test, &[]);
    ok(&back);
    assert_eq!((read(&test, "on-h1"), read(&test, "on-h2")), ("v1\n".to_string(), "v1\n".to_string()));
    assert!(read(&test, "undo-h3").ends_with("v2->v1\n"), "{}", read(&test, "undo-h3"));
}

fn a_failed_run_puts_each_host_back_on_its_own_version(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN));
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &["--limit", "h3"]);
    // `deploy plan` says beforehand where undoing v3 takes each host, and
    // renders each host's rollback with its own previous version.
    let plan = test.run_with(&["plan", "release.deploy", "--set", "version=v3"]);
    ok(&plan);
    assert!(
        plan.stdout.contains("undoing it takes each host back to its own version: h1 → v1, h2 → v1, h3 → v2"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("$ [h3] echo v3-'>'v2 >> undo-h3"), "{}", plan.stdout);
    assert!(plan.stdout.contains("$ [h1] echo v3-'>'v1 >> undo-h1"), "{}", plan.stdout);
    let json = test.run_with(&["plan", "release.deploy", "--set", "version=v3", "--format", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    assert_eq!(
        json["host_rollback"],
        serde_json::json!([
            {"host": "h1", "version": "v3", "previous_version": "v1"},
            {"host": "h2", "version": "v3", "previous_version": "v1"},
            {"host": "h3", "version": "v3", "previous_version": "v2"}
        ]),
        "{json}"
    );
    std::fs::write(test.path().join("fail-h2"), "").unwrap_or_else(|e| panic!("{e}"));
    let failed = test.run_with(&["run", "release.deploy", "--set", "version=v3"]);
    assert_eq!(failed.code, 2, "{}{}", failed.stdout, failed.stderr);
    // The run's own rollback binds each host's previous version: h3 ran v2.
    assert_eq!(read(&test, "undo-h3"), "v3->v2\n");
    assert_eq!(read(&test, "undo-h1"), "v3->v1\n");
    assert_eq!((read(&test, "on-h1"), read(&test, "on-h3")), ("v1\n".to_string(), "v2\n".to_string()));
    // Undone in the same run: no host changed.
    assert_eq!(hosts(&test), vec![row("h1", "v1", "", "ok"), row("h2", "v1", "", "ok"), row("h3", "v2", "v1", "ok"),]);
}

fn two_rollbacks_at_once_walk_each_host_back_once(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN));
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    std::fs::write(test.path().join("slow"), "").unwrap_or_else(|e| panic!("{e}"));
    let spawn = |extra: &[&str]| {
        let mut args = vec!["rollback", "release.deploy"];
        args.extend_from_slice(extra);
        test.command(&args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn()
    };
    let first = spawn(&[]).unwrap_or_else(|e| panic!("spawn: {e}"));
    let started = Instant::now();
    while !read(&test, "undo-h1").contains("v2->v1") && !read(&test, "undo-h2").contains("v2->v1") {
        assert!(started.elapsed() < Duration::from_secs(60), "the first rollback never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Planned from the same records while the first still runs; it waits for the lock, then finds them changed.
    let second = spawn(&["--lock-timeout", "60s"]).unwrap_or_else(|e| panic!("spawn: {e}"));
    let first = first.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let second = second.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(said.contains("changed since this rollback was planned"), "{said}");
    for host in ["h1", "h2", "h3"] {
        assert_eq!(read(&test, &format!("undo-{host}")), "v2->v1\n", "{host} walked back once");
    }
}

fn a_crashed_rollback_leaves_its_hosts_unknown_and_the_next_one_finishes(backend: &Backend) {
    let test = backend.apply(Test::new().plan(PLAN)).env("DEPLOY_KILL_GRACE_MS", "200");
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    std::fs::write(test.path().join("slow"), "").unwrap_or_else(|e| panic!("{e}"));
    let mut child = test
        .command(&["rollback", "release.deploy"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let started = Instant::now();
    let undone =
        |test: &Test| ["h1", "h2", "h3"].iter().filter(|h| !read(test, &format!("undo-{h}")).is_empty()).count();
    while undone(&test) == 0 {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the rollback never undid a host");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    // Found crashed: the hosts it had started to undo are unknown.
    let states = hosts(&test);
    for (host, version, _, state) in &states {
        assert_eq!(version, "v2", "{states:?}");
        if !read(&test, &format!("undo-{host}")).is_empty() {
            assert_eq!(state, "unknown", "{host} was undone by the dead rollback: {states:?}");
        }
    }
    assert!(states.iter().all(|(_, _, _, state)| state == "unknown" || state == "ok"), "{states:?}");
    // The next rollback takes its lock over and takes every host back.
    std::fs::remove_file(test.path().join("slow")).unwrap_or_else(|e| panic!("{e}"));
    let again = rollback(&test, &[]);
    ok(&again);
    assert!(again.stderr.contains("took over the lock"), "{}", again.stderr);
    assert_eq!(
        hosts(&test),
        vec![row("h1", "v1", "", "undone"), row("h2", "v1", "", "undone"), row("h3", "v1", "", "undone"),]
    );
}

const ARTIFACT: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment production { hosts = ["h1", "h2"] }
stage artifact {
  run "echo built ${version} >> artifacts"
  rollback { run "echo dropped ${version} >> artifacts" }
}
stage web {
  needs = [artifact]  target = production
  run "echo ${version} > on-${host}"
  rollback { run "echo ${previous_version} > on-${host}" }
}
"#;

fn an_artifact_a_host_still_runs_is_kept(backend: &Backend) {
    let test = backend.apply(Test::new().plan(ARTIFACT));
    deploy(&test, "v1", &["--limit", "h1"]);
    deploy(&test, "v2", &[]);
    // h1 goes back to v1; h2 has no earlier version and keeps v2, so v2's artifact stays.
    ok(&rollback(&test, &[]));
    assert_eq!((read(&test, "on-h1"), read(&test, "on-h2")), ("v1\n".to_string(), "v2\n".to_string()));
    assert_eq!(read(&test, "artifacts"), "built v1\nbuilt v2\n");
    // Once no host runs v3 any more (h1 back to v1, h2 to v2), v3's goes.
    deploy(&test, "v3", &[]);
    ok(&rollback(&test, &[]));
    assert_eq!((read(&test, "on-h1"), read(&test, "on-h2")), ("v1\n".to_string(), "v2\n".to_string()));
    assert_eq!(read(&test, "artifacts"), "built v1\nbuilt v2\nbuilt v3\ndropped v3\n");
}

/// `prepare` has no rollback block (W0001) and `migrate` is irreversible:
/// both are left as they are, as the plan says; `web`'s undo decides.
const LEFT_AS_IS: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment production { hosts = ["h1", "h2"] }
stage prepare { target = production  run "echo prepared ${version}" }
stage migrate { needs = [prepare]  target = production  run "true"  irreversible = "forward-only schema" }
stage web {
  needs = [migrate]  target = production
  run "test ! -f fail-${host}"
  run "echo ${version} > on-${host}"
  rollback { run "echo ${previous_version} > on-${host}" }
}
"#;

fn units_left_as_is_do_not_put_a_host_in_doubt(backend: &Backend) {
    let test = backend.apply(Test::new().plan(LEFT_AS_IS));
    deploy(&test, "v1", &[]);
    deploy(&test, "v2", &[]);
    // deploy rollback: web undone on both hosts, the rest left as is → undone, on v1.
    ok(&rollback(&test, &[]));
    assert_eq!((read(&test, "on-h1"), read(&test, "on-h2")), ("v1\n".to_string(), "v1\n".to_string()));
    assert_eq!(hosts(&test), vec![row("h1", "v1", "", "undone"), row("h2", "v1", "", "undone")]);
    let status = test.run_with(&["status", "--json"]);
    let status: Value = serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", status.stdout));
    assert_eq!(status["environments"][0]["current_version"], "v1", "{status}");
    assert_eq!(status["environments"][0]["mixed"], false, "{status}");
    // A run that fails on h2 undoes web on h1 in the same run: h1 is back, unchanged.
    deploy(&test, "v2", &[]);
    std::fs::write(test.path().join("fail-h2"), "").unwrap_or_else(|e| panic!("{e}"));
    let failed = test.run_with(&["run", "release.deploy", "--set", "version=v3"]);
    assert_eq!(failed.code, 2, "{}{}", failed.stdout, failed.stderr);
    assert_eq!(read(&test, "on-h1"), "v2\n");
    let h1 = hosts(&test).into_iter().find(|h| h.0 == "h1");
    assert_eq!(h1, Some(row("h1", "v2", "v1", "ok")));
}

on_both_backends!(
    units_left_as_is_do_not_put_a_host_in_doubt,
    an_artifact_a_host_still_runs_is_kept,
    a_crashed_rollback_leaves_its_hosts_unknown_and_the_next_one_finishes,
    two_rollbacks_at_once_walk_each_host_back_once,
    a_failed_run_puts_each_host_back_on_its_own_version,
    each_host_goes_back_to_its_own_version,
    limit_and_to_choose_hosts_and_versions,
    a_half_failed_rollback_is_finished_by_the_next,
    a_run_that_undid_itself_does_not_block_rollback,
);
