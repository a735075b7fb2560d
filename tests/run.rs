//! `deploy run` through the real binary: scheduling, processes, rollback,
//! exit codes, redaction, signals. Plans are written in the language.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{binary, root, Output, Test};
use serde_json::Value;

/// A test directory; kills after a timeout get a short grace period.
fn test() -> Test {
    Test::new().env("DEPLOY_KILL_GRACE_MS", "200")
}

fn run_json(plan: &str, extra: &[&str]) -> (Test, Output) {
    let test = test().plan(plan);
    let mut args = vec!["run", "release.deploy", "--json"];
    args.extend_from_slice(extra);
    let output = test.run_with(&args);
    (test, output)
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn seq_of(events: &[Value], kind: &str, node: &str) -> u64 {
    events
        .iter()
        .find(|e| e["type"] == kind && e["node"] == node && e.get("host").is_none())
        .and_then(|e| e["seq"].as_u64())
        .unwrap_or_else(|| panic!("no {kind} for {node}"))
}

fn lines(events: &[Value]) -> Vec<String> {
    of_type(events, "step_output").iter().map(|e| e["line"].as_str().unwrap_or("").to_string()).collect()
}

fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn independent_stages_overlap_and_needs_order_holds() {
    let (_test, output) = run_json(
        r#"
pipeline "p" {}
stage a { run "sleep 0.5"  irreversible = "test" }
stage b { run "sleep 0.5"  irreversible = "test" }
stage c { needs = [a, b]  run "echo c"  irreversible = "test" }
"#,
        &[],
    );
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    // Both started before either finished: they overlapped.
    let first_finish = seq_of(&events, "node_finished", "a").min(seq_of(&events, "node_finished", "b"));
    assert!(seq_of(&events, "node_started", "a") < first_finish);
    assert!(seq_of(&events, "node_started", "b") < first_finish);
    // c started after both finished.
    let last_finish = seq_of(&events, "node_finished", "a").max(seq_of(&events, "node_finished", "b"));
    assert!(seq_of(&events, "node_started", "c") > last_finish);
    let finished = of_type(&events, "run_finished");
    assert_eq!(finished[0]["status"], "succeeded");
    assert!(finished[0]["duration_ms"].as_u64().unwrap_or(0) < 950, "no overlap: {}", finished[0]);
}

#[test]
fn events_are_numbered_and_versioned() {
    let (_test, output) = run_json("pipeline \"p\" {}\nstage a { run \"echo hi\"  irreversible = \"x\" }\n", &[]);
    let events = output.events();
    assert!(!events.is_empty());
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["seq"].as_u64(), Some(index as u64));
        assert_eq!(event["schema"], 1);
        assert!(event["time"].is_string());
    }
    assert_eq!(events[0]["type"], "run_started");
    assert_eq!(events.last().map(|e| e["type"].clone()), Some(Value::from("run_finished")));
}

#[test]
fn steps_see_the_environment_and_run_in_the_plan_directory() {
    let test = test().file(
        "sub/release.deploy",
        r#"
pipeline "envs" {}
param version: string = "2.5"
environment prod { hosts = ["web-1"] }
stage show {
  target = prod
  run "echo $DEPLOY_PIPELINE $DEPLOY_STAGE $DEPLOY_HOST $DEPLOY_VERSION prev=$DEPLOY_PREVIOUS_VERSION attempt=$DEPLOY_ATTEMPT; pwd"
  irreversible = "read only"
}
"#,
    );
    let output = test.run_with(&["run", "sub/release.deploy", "--json"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let lines = lines(&output.events());
    assert_eq!(lines[0], "envs show web-1 2.5 prev= attempt=1");
    assert!(lines[1].ends_with("/sub"), "{lines:?}");
}

#[test]
fn interpolated_values_are_shell_quoted_unless_raw() {
    let (_test, output) = run_json(
        r#"
pipeline "q" {}
param message: string = "a; echo INJECTED"
stage s { run "echo ${message}"  run "echo ${raw(message)}"  irreversible = "x" }
"#,
        &[],
    );
    assert_eq!(lines(&output.events()), vec!["a; echo INJECTED", "a", "INJECTED"]);
}

#[test]
fn plain_output_is_prefixed_with_node_and_host() {
    let test = test().plan(
        r#"
pipeline "plain" {}
environment prod { hosts = ["web-1", "web-2"] }
stage deploy { target = prod  run "echo hello from ${host}"  rollback { run "true" } }
"#,
    );
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert!(output.stdout.contains("[deploy web-1] hello from web-1"), "{}", output.stdout);
    assert!(output.stdout.contains("[deploy web-2] hello from web-2"), "{}", output.stdout);
    assert!(output.stdout.contains("run succeeded"), "{}", output.stdout);
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let started = Instant::now();
    let (test, output) = run_json(
        r#"
pipeline "t" {}
stage hang { run "sleep 60 & echo $! > child.pid; sleep 60"  timeout = 500ms  irreversible = "x" }
"#,
        &[],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    let finished = of_type(&events, "node_finished");
    assert!(finished[0]["error"].as_str().unwrap_or("").contains("timed out after 500ms"), "{}", finished[0]);
    let pid: i32 = std::fs::read_to_string(test.path().join("child.pid")).unwrap().trim().parse().unwrap();
    assert!(!running(pid), "the step's background child {pid} is still running");
}

#[test]
fn retry_runs_again_until_it_passes() {
    let (test, output) = run_json(
        r#"
pipeline "r" {}
stage flaky {
  run "n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; test $n -ge 2"
  retry = 3 every 100ms
  irreversible = "x"
}
"#,
        &[],
    );
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    let retries = of_type(&events, "retry");
    assert_eq!(retries.len(), 2);
    assert_eq!(retries[0]["attempt"], 2);
    assert_eq!(retries[0]["max_attempts"], 4);
    assert_eq!(std::fs::read_to_string(test.path().join("count")).unwrap().trim(), "3");
}

#[test]
fn retries_exhausted_fail_the_stage() {
    let (_test, output) =
        run_json("pipeline \"r\" {}\nstage nope { run \"exit 7\"  retry = 1 every 10ms  irreversible = \"x\" }\n", &[]);
    assert_eq!(output.code, 2);
    let events = output.events();
    assert_eq!(of_type(&events, "retry").len(), 1);
    let finished = of_type(&events, "node_finished");
    assert_eq!(finished[0]["exit_code"], 7);
}

#[test]
fn when_false_skips_the_stage() {
    let plan = r#"
pipeline "w" {}
param version: string = "1.0"
stage optional { when = `version != "1.0"`  run "echo ran"  irreversible = "x" }
stage after { needs = [optional]  run "echo after"  irreversible = "x" }
"#;
    let (_test, output) = run_json(plan, &[]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    assert_eq!(of_type(&events, "node_skipped")[0]["node"], "optional");
    assert_eq!(lines(&events), vec!["after"]);
    let (_test, output) = run_json(plan, &["--set", "version=2.0"]);
    assert_eq!(lines(&output.events()), vec!["ran", "after"]);
}

const ROLLBACK_PLAN: &str = r#"
pipeline "rb" { on_failure = rollback }
environment prod { hosts = ["web-1", "web-2", "web-3"] }
stage build { run "echo build"  rollback { run "echo undo build" } }
stage migrate { needs = [build]  run "echo migrate"  rollback { run "echo undo migrate" } }
stage deploy {
  needs = [migrate]
  target = prod
  run "sleep 0.$(echo ${host} | tr -d web-)"
  rollback { run "echo undo deploy ${host}" }
}
stage verify { needs = [deploy]  run "echo verify; exit 5"  rollback { run "echo undo verify" } }
"#;

#[test]
fn failure_rolls_back_in_reverse_completion_order_across_stages_and_hosts() {
    let (_test, output) = run_json(ROLLBACK_PLAN, &[]);
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    let undone: Vec<String> = lines(&events).into_iter().filter(|l| l.starts_with("undo")).collect();
    assert_eq!(
        undone,
        vec![
            "undo verify",
            "undo deploy web-3",
            "undo deploy web-2",
            "undo deploy web-1",
            "undo migrate",
            "undo build"
        ]
    );
    let finished = of_type(&events, "run_finished");
    assert_eq!(finished[0]["status"], "rolled_back");
    assert_eq!(finished[0]["summary"]["failure"]["node"], "verify");
    assert_eq!(of_type(&events, "rollback_finished")[0]["succeeded"], true);
}

#[test]
fn a_partly_done_stage_undoes_the_hosts_it_finished() {
    let (_test, output) = run_json(
        r#"
pipeline "partial" {}
environment prod { hosts = ["web-1", "web-2", "web-3"] }
stage deploy {
  target = prod
  strategy rolling { batch = 1 }
  run "test ${host} != web-2"
  rollback { run "echo undo ${host}" }
}
"#,
        &[],
    );
    assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    // web-1 finished, web-2 failed (undone too: it may have changed something), web-3 never started.
    assert_eq!(lines(&events), vec!["undo web-2", "undo web-1"]);
    let summary = &of_type(&events, "run_finished")[0]["summary"];
    let hosts = &summary["nodes"][0]["hosts"];
    assert_eq!(hosts[2]["status"], "not_started");
}

#[test]
fn a_failing_rollback_step_is_reported_and_the_rest_still_run() {
    let (_test, output) = run_json(
        r#"
pipeline "rbf" {}
stage a { run "true"  rollback { run "echo undo a" } }
stage b { needs = [a]  run "true"  rollback { run "echo cannot undo b >&2; exit 3" } }
stage c { needs = [b]  run "false"  irreversible = "x" }
"#,
        &[],
    );
    assert_eq!(output.code, 4, "{}{}", output.stdout, output.stderr);
    let events = output.events();
    assert!(lines(&events).contains(&"undo a".to_string()));
    let steps = of_type(&events, "rollback_step");
    let statuses: Vec<(&str, &str)> =
        steps.iter().map(|s| (s["node"].as_str().unwrap_or(""), s["status"].as_str().unwrap_or(""))).collect();
    assert_eq!(statuses, vec![("c", "irreversible"), ("b", "failed"), ("a", "succeeded")]);
    assert_eq!(of_type(&events, "run_finished")[0]["status"], "rollback_failed");
}

#[test]
fn exit_codes() {
    // 0: success.
    let (_t, ok) = run_json("pipeline \"e\" {}\nstage a { run \"true\"  irreversible = \"x\" }\n", &[]);
    assert_eq!(ok.code, 0);
    // 1: a plan error, a bad --set, an unknown flag.
    let (_t, bad) = run_json("pipeline \"e\" {}\nstage a { needs = [nope] run \"true\" }\n", &[]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    let (_t, bad_set) = run_json(
        "pipeline \"e\" {}\nparam n: int = 1\nstage a { run \"true\" irreversible = \"x\" }\n",
        &["--set", "n=abc"],
    );
    assert_eq!(bad_set.code, 1);
    assert!(bad_set.stderr.contains("not an integer"), "{}", bad_set.stderr);
    let (_t, bad_flag) = run_json("pipeline \"e\" {}\n", &["--max-parallel", "0"]);
    assert_eq!(bad_flag.code, 1);
    // 2: failed and rolled back; failed and aborted.
    let (_t, rolled) = run_json("pipeline \"e\" {}\nstage a { run \"false\"  rollback { run \"true\" } }\n", &[]);
    assert_eq!(rolled.code, 2);
    let (_t, aborted) = run_json(
        "pipeline \"e\" { on_failure = abort }\nstage a { run \"false\"  rollback { run \"echo undone\" } }\n",
        &[],
    );
    assert_eq!(aborted.code, 2);
    assert!(lines(&aborted.events()).is_empty());
    // 3: paused, on a failure under `pause` or waiting for an approval.
    let (_t, paused) =
        run_json("pipeline \"e\" { on_failure = pause }\nstage a { run \"false\"  irreversible = \"x\" }\n", &[]);
    assert_eq!(paused.code, 3);
    let approval = r#"
pipeline "e" {}
gate go { approve "Ship it?" }
stage ship { needs = [go]  run "echo shipped"  irreversible = "x" }
"#;
    let (_t, waiting) = run_json(approval, &[]);
    assert_eq!(waiting.code, 3, "{}{}", waiting.stdout, waiting.stderr);
    assert!(lines(&waiting.events()).is_empty());
    let (_t, approved) = run_json(approval, &["--approve", "go", "--as", "alice"]);
    assert_eq!(approved.code, 0, "{}{}", approved.stdout, approved.stderr);
    assert_eq!(of_type(&approved.events(), "approved")[0]["approver"], "alice");
    let (_t, yes) = run_json(approval, &["--yes"]);
    assert_eq!(yes.code, 0);
    // 4: the rollback failed.
    let (_t, rollback_failed) =
        run_json("pipeline \"e\" {}\nstage a { run \"false\"  rollback { run \"false\" } }\n", &[]);
    assert_eq!(rollback_failed.code, 4);
    // 130 is in `sigint_rolls_back_and_exits_130`.
}

#[test]
fn secrets_never_appear_in_output_json_or_files() {
    let plan = r#"
pipeline "s" {}
secret token = env("SECRET_TOKEN")
stage leak {
  run "echo token=${token}; echo \"$0\" >&2; echo ${token} | rev | rev; printf '%s\n' ${token} > .deploy-leak.txt"
  run "exit 1"
  rollback { run "echo undo with ${token}" }
}
"#;
    let secret = "hunter2 with spaces";
    for json in [true, false] {
        let test = test().plan(plan).env("SECRET_TOKEN", secret);
        let mut args = vec!["run", "release.deploy"];
        if json {
            args.push("--json");
        }
        let output = test.run_with(&args);
        assert_eq!(output.code, 2, "{}{}", output.stdout, output.stderr);
        for text in [&output.stdout, &output.stderr] {
            assert!(!text.contains("hunter2"), "secret leaked:\n{text}");
        }
        assert!(output.stdout.contains("token=***"), "{}", output.stdout);
        // Nothing deploy wrote under .deploy/ holds it either.
        let state = test.path().join(".deploy");
        if state.exists() {
            for entry in walk(&state) {
                let bytes = std::fs::read(&entry).unwrap_or_default();
                assert!(!String::from_utf8_lossy(&bytes).contains("hunter2"), "{}", entry.display());
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn dry_run_runs_nothing() {
    let test = test().plan("pipeline \"d\" {}\nstage a { run \"touch ran\"  irreversible = \"x\" }\n");
    let output = test.run_with(&["run", "release.deploy", "--dry-run"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("touch ran"), "{}", output.stdout);
    assert!(!test.path().join("ran").exists());
}

#[test]
fn sigint_rolls_back_and_exits_130() {
    let test = test().plan(
        r#"
pipeline "int" {}
stage a { run "echo a"  rollback { run "echo undo a" } }
stage b { needs = [a]  run "sleep 60 & echo $! > child.pid; echo started-b; sleep 60"  rollback { run "echo undo b" } }
"#,
    );
    let mut child = Command::new(binary())
        .args(["run", "release.deploy", "--json"])
        .current_dir(test.path())
        .env("DEPLOY_KILL_GRACE_MS", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut seen = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push(line.clone());
        let started = line.contains("started-b");
        line.clear();
        if started {
            break;
        }
    }
    // SAFETY: sends SIGINT to the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    for rest in reader.lines() {
        seen.push(rest.unwrap_or_default());
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", seen.join(""));
    let all = seen.join("\n");
    assert!(all.contains("undo a"), "{all}");
    assert!(all.contains("undo b"), "{all}");
    assert!(all.contains("\"status\":\"interrupted\""), "{all}");
    let pid: i32 = std::fs::read_to_string(test.path().join("child.pid")).unwrap().trim().parse().unwrap();
    assert!(!running(pid), "child {pid} left running after SIGINT");
}

#[test]
fn example_release_runs_and_rolls_back() {
    let work = tempfile::tempdir().unwrap();
    let examples = root().join("examples");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "release.deploy", "--yes", "--json"];
        args.extend_from_slice(extra);
        Test::new()
            .current_dir(&examples)
            .env("DEPLOY_EXAMPLE_ROOT", &work.path().display().to_string())
            .run_with(&args)
    };
    let ok = run(&["--set", "version=1.1.0"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    for n in 1..=4 {
        let current = work.path().join(format!("hosts/web-{n}/current"));
        let target = std::fs::read_link(&current).unwrap();
        assert!(target.ends_with("releases/1.1.0"), "{}", target.display());
    }
    let failed = run(&["--set", "version=1.2.0", "--set", "fail_at=production"]);
    assert_eq!(failed.code, 2, "{}{}", failed.stdout, failed.stderr);
    for n in 1..=4 {
        let current = work.path().join(format!("hosts/web-{n}/current"));
        let target = std::fs::read_link(&current).unwrap();
        assert!(target.ends_with("releases/1.1.0"), "web-{n} not rolled back: {}", target.display());
    }
}
