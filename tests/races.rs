//! Actions are atomic: of many requests to resume, approve or roll back
//! the same run at once — over HTTP to one `deploy serve`, or from two
//! terminals — exactly one wins and the others are told which run won.
//! Each step appends to a marker file, so a host deployed twice shows.
//! Every race runs on SQLite and on PostgreSQL.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::sync::Barrier;
use std::time::Duration;

use common::backend::{self, Backend};
use common::background::{get, post, wait_until, Answer, Background};
use common::Test;

const LONG: Duration = Duration::from_secs(60);

const TOKENS: &str = "alice-token-0123456789 alice\n";

/// `ship` waits at the gate; its step marks each time it deploys, then
/// takes a second, so the winner still runs while the losers arrive.
const GATED: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1", "web-2"] }
stage build { target = production  run "echo built ${version}" }
gate go { needs = [build]  approve "Ship ${version}?" by ["alice"] }
stage ship {
  needs = [go]  target = production
  run "echo ship ${version} ${host} >> shipped.log; sleep 1"
  rollback { run "echo unship ${version} ${host} >> unshipped.log; sleep 1" }
}
param version: string = "1.0"
"#;

fn alice() -> (&'static str, &'static str) {
    ("Authorization", "Bearer alice-token-0123456789")
}

fn backends(name: &str) -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    all.extend(backend::postgres(name));
    all
}

fn serve(test: &Test, backend: &Backend) -> (Background, String) {
    let env: Vec<(&str, &str)> = match backend {
        Backend::Postgres(url) => vec![("DEPLOY_STATE", url.as_str())],
        Backend::Sqlite => Vec::new(),
    };
    let server = Background::start(
        test.path(),
        &["serve", "release.deploy", "--listen", "127.0.0.1:0", "--token-file", "tokens"],
        &env,
    );
    let address = server.address();
    (server, format!("http://{address}"))
}

/// `count` POSTs of `body` to `url`, all released at once.
fn at_once(count: usize, url: &str, body: &str) -> Vec<Answer> {
    let barrier = Barrier::new(count);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..count)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    post(url, &[alice()], body)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(|_| panic!("a request thread panicked")))
            .collect()
    })
}

/// Exactly one 202; every other answer a 409 naming the winner's run id.
fn one_winner(answers: &[Answer]) -> String {
    let accepted: Vec<&Answer> = answers.iter().filter(|answer| answer.status == 202).collect();
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    assert_eq!(accepted.len(), 1, "{statuses:?}: {:?}", answers.iter().map(|a| &a.body).collect::<Vec<_>>());
    let winner = accepted[0].json()["run_id"].as_str().unwrap_or_default().to_string();
    assert!(!winner.is_empty(), "{}", accepted[0].body);
    for answer in answers.iter().filter(|answer| answer.status != 202) {
        assert_eq!(answer.status, 409, "{}", answer.body);
        let error = &answer.json()["error"];
        assert_eq!(error["run_id"], winner.as_str(), "{}", answer.body);
        assert!(error["message"].as_str().is_some_and(|message| !message.is_empty()), "{}", answer.body);
        assert!(matches!(error["code"].as_str(), Some("conflict" | "locked")), "{}", answer.body);
    }
    winner
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The run's journal: numbered 0, 1, 2, ... without a gap or a repeat.
fn journal(base: &str, run_id: &str) -> Vec<serde_json::Value> {
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    let journal = detail["journal"].as_array().cloned().unwrap_or_default();
    let seqs: Vec<u64> = journal.iter().filter_map(|event| event["seq"].as_u64()).collect();
    let expected: Vec<u64> = (0..journal.len() as u64).collect();
    assert_eq!(seqs, expected, "{detail}");
    journal
}

fn actions<'a>(journal: &'a [serde_json::Value], action: &str) -> Vec<&'a serde_json::Value> {
    journal.iter().filter(|event| event["type"] == "action" && event["action"] == action).collect()
}

fn status_of(base: &str, run_id: &str) -> serde_json::Value {
    get(&format!("{base}/api/runs/{run_id}")).json()["status"].clone()
}

fn paused_run(test: &Test) -> String {
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    ran.events().first().and_then(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default()
}

#[test]
fn of_many_approvals_at_once_exactly_one_resumes_the_run() {
    for backend in backends("of_many_approvals_at_once_exactly_one_resumes_the_run") {
        let test = backend.apply(Test::new().plan(GATED).file("tokens", TOKENS));
        let run_id = paused_run(&test);
        let (server, base) = serve(&test, &backend);
        let answers = at_once(20, &format!("{base}/api/runs/{run_id}/approve"), r#"{"gate":"go"}"#);
        assert_eq!(one_winner(&answers), run_id, "{backend:?}");
        wait_until(LONG, "the run to succeed", || status_of(&base, &run_id) == "succeeded");
        let mut shipped = lines(&test.path().join("shipped.log"));
        shipped.sort();
        assert_eq!(shipped, ["ship 1.0 web-1", "ship 1.0 web-2"], "{backend:?}: {}", server.logs());
        let journal = journal(&base, &run_id);
        assert_eq!(actions(&journal, "approve").len(), 1, "{backend:?}");
        let finished = journal.iter().filter(|event| event["type"] == "run_finished").count();
        assert_eq!(finished, 2, "{backend:?}: the pause and the end");
    }
}

/// `ship` marks, then waits for `release` (so a kill finds it running).
const HELD: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1"] }
stage ship {
  target = production
  run "echo ship ${version} >> shipped.log; while [ ! -f release ]; do sleep 0.05; done; sleep 1"
  rollback { run "echo unship ${version} >> unshipped.log" }
}
param version: string = "1.0"
"#;

/// Starts `deploy run`, waits for its step to mark, kills the runner with SIGKILL.
fn crashed_run(test: &Test) -> String {
    let child = test
        .command(&["run", "release.deploy", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    wait_until(LONG, "the step to start", || !lines(&test.path().join("shipped.log")).is_empty());
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("wait: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let first: serde_json::Value =
        stdout.lines().next().and_then(|line| serde_json::from_str(line).ok()).unwrap_or_default();
    match first["run_id"].as_str() {
        Some(run_id) => run_id.to_string(),
        // Killed before its first line reached the pipe (a loaded machine): the store knows it.
        None => {
            let history: serde_json::Value =
                serde_json::from_str(&test.run_with(&["history", "--json"]).stdout).unwrap_or_default();
            history[0]["run_id"].as_str().unwrap_or_default().to_string()
        }
    }
}

#[test]
fn of_many_resumes_of_a_crashed_run_exactly_one_goes_on() {
    for backend in backends("of_many_resumes_of_a_crashed_run_exactly_one_goes_on") {
        let test = backend.apply(Test::new().plan(HELD).file("tokens", TOKENS));
        let run_id = crashed_run(&test);
        assert!(!run_id.is_empty());
        let (server, base) = serve(&test, &backend);
        wait_until(LONG, "the run to read crashed", || status_of(&base, &run_id) == "crashed");
        std::fs::write(test.path().join("release"), "").unwrap_or_else(|e| panic!("{e}"));
        let answers = at_once(20, &format!("{base}/api/runs/{run_id}/resume"), "{}");
        assert_eq!(one_winner(&answers), run_id, "{backend:?}");
        wait_until(LONG, "the run to succeed", || status_of(&base, &run_id) == "succeeded");
        // Once before the kill, once resumed.
        assert_eq!(lines(&test.path().join("shipped.log")).len(), 2, "{backend:?}: {}", server.logs());
        let journal = journal(&base, &run_id);
        assert_eq!(actions(&journal, "resume").len(), 1, "{backend:?}");
        assert!(!server.err().contains("UNIQUE"), "{}", server.logs());
    }
}

#[test]
fn of_many_rollbacks_at_once_exactly_one_runs() {
    for backend in backends("of_many_rollbacks_at_once_exactly_one_runs") {
        let test = backend.apply(Test::new().plan(GATED).file("tokens", TOKENS));
        for version in ["1.0", "2.0", "3.0"] {
            let ran = test.run_with(&[
                "run",
                "release.deploy",
                "--yes",
                "--as",
                "alice",
                "--set",
                &format!("version={version}"),
            ]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
        }
        let (server, base) = serve(&test, &backend);
        let answers = at_once(20, &format!("{base}/api/environments/production/rollback"), "");
        let winner = one_winner(&answers);
        wait_until(LONG, "the rollback to succeed", || status_of(&base, &winner) == "succeeded");
        let mut unshipped = lines(&test.path().join("unshipped.log"));
        unshipped.sort();
        assert_eq!(unshipped, ["unship 3.0 web-1", "unship 3.0 web-2"], "{backend:?}: {}", server.logs());
        let status = get(&format!("{base}/api/status")).json();
        assert_eq!(status["environments"][0]["current_version"], "2.0", "{backend:?}: {status}");
        let rollbacks: Vec<serde_json::Value> = get(&format!("{base}/api/runs"))
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|run| run["kind"] == "rollback")
            .collect();
        assert_eq!(rollbacks.len(), 1, "{backend:?}: {rollbacks:?}");
        let undone = rollbacks[0]["undoes"].as_str().unwrap_or_default().to_string();
        assert_eq!(actions(&journal(&base, &undone), "rollback").len(), 1, "{backend:?}");
        journal(&base, &winner);
    }
}

#[test]
fn two_terminals_resuming_one_run_at_once_resume_it_once() {
    for backend in backends("two_terminals_resuming_one_run_at_once_resume_it_once") {
        let test = backend.apply(Test::new().plan(GATED));
        let run_id = paused_run(&test);
        let approved = test.run_with(&["approve", "go", "--as", "alice"]);
        assert_eq!(approved.code, 0, "{}", approved.stderr);
        let children: Vec<_> = (0..2)
            .map(|_| {
                // The loser waits for the lock, then finds the run resumed already.
                test.command(&["resume", &run_id, "--lock-timeout", "30s"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("spawn: {e}"))
            })
            .collect();
        let outputs: Vec<_> =
            children.into_iter().map(|child| child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))).collect();
        let mut codes: Vec<Option<i32>> = outputs.iter().map(|output| output.status.code()).collect();
        codes.sort();
        let stderrs: Vec<String> = outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
        assert_eq!(codes, [Some(0), Some(1)], "{backend:?}: {stderrs:?}");
        let loser = outputs
            .iter()
            .find(|output| output.status.code() == Some(1))
            .map(|output| String::from_utf8_lossy(&output.stderr).into_owned())
            .unwrap_or_default();
        assert!(loser.contains(&run_id), "{backend:?}: {loser}");
        let mut shipped = lines(&test.path().join("shipped.log"));
        shipped.sort();
        assert_eq!(shipped, ["ship 1.0 web-1", "ship 1.0 web-2"], "{backend:?}: {stderrs:?}");
    }
}

/// `ship` of version 1 leaves a process that outlives its runner.
const LINGERING: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1"] }
stage ship {
  target = production
  run "if [ ${version} = 1 ]; then echo $$ > step.pid; sleep 120; fi; echo ship ${version} >> shipped.log"
  rollback { run "true" }
}
param version: string = "1"
"#;

#[test]
fn a_new_run_after_a_kill_ends_the_crashed_runs_steps_first() {
    let test = Test::new().plan(LINGERING);
    let mut child = test
        .command(&["run", "release.deploy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let pid_file = test.path().join("step.pid");
    wait_until(LONG, "the step to start", || lines(&pid_file).first().is_some_and(|pid| !pid.is_empty()));
    // Killed once the journal has the step's process (a kill before the
    // journal's next commit loses it: nothing would know it is there).
    wait_until(LONG, "the step's process in the journal", || {
        test.run_with(&["logs", "--json"]).stdout.contains("\"process_started\"")
    });
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let step: i32 = lines(&pid_file).first().and_then(|pid| pid.trim().parse().ok()).unwrap_or(0);
    assert!(step > 0);
    // A zombie (ended, not yet reaped by its new parent) is gone.
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit(')').next().map(|rest| rest.trim_start().starts_with('Z')).map(|zombie| !zombie)
            })
            .unwrap_or(false)
    };
    assert!(alive(step), "the step should outlive its killed runner");
    let ran = test.run_with(&["run", "release.deploy", "--set", "version=2"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("left running by the crashed runner"), "{}", ran.stderr);
    wait_until(Duration::from_secs(10), "the old step to be gone", || !alive(step));
    assert_eq!(lines(&test.path().join("shipped.log")), ["ship 2"]);
}

#[test]
fn two_terminals_rolling_back_at_once_roll_back_once() {
    for backend in backends("two_terminals_rolling_back_at_once_roll_back_once") {
        let test = backend.apply(Test::new().plan(GATED));
        for version in ["1.0", "2.0", "3.0"] {
            let set = format!("version={version}");
            let ran = test.run_with(&["run", "release.deploy", "--yes", "--as", "alice", "--set", &set]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
        }
        let children: Vec<_> = (0..2)
            .map(|_| {
                // The loser waits for the lock, then finds the run rolled back already.
                test.command(&["rollback", "release.deploy", "--lock-timeout", "30s"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("spawn: {e}"))
            })
            .collect();
        let outputs: Vec<_> =
            children.into_iter().map(|child| child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))).collect();
        let stderrs: Vec<String> = outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
        let mut codes: Vec<Option<i32>> = outputs.iter().map(|output| output.status.code()).collect();
        codes.sort();
        assert_eq!(codes, [Some(0), Some(1)], "{backend:?}: {stderrs:?}");
        let mut unshipped = lines(&test.path().join("unshipped.log"));
        unshipped.sort();
        assert_eq!(unshipped, ["unship 3.0 web-1", "unship 3.0 web-2"], "{backend:?}: {stderrs:?}");
        let history = test.run_with(&["history", "--json"]);
        let rows: serde_json::Value = serde_json::from_str(&history.stdout).unwrap_or_default();
        let rollbacks: Vec<&serde_json::Value> =
            rows.as_array().into_iter().flatten().filter(|row| row["kind"] == "rollback").collect();
        assert_eq!(rollbacks.len(), 1, "{backend:?}: {rollbacks:?}");
        let winner = rollbacks[0]["run_id"].as_str().unwrap_or_default();
        let loser = stderrs.iter().find(|stderr| !stderr.contains("rolling back run")).cloned().unwrap_or_default();
        assert!(loser.contains(winner), "{backend:?}: the loser should name {winner}: {loser}");
    }
}
