//! `deploy watch` end to end: real git repositories (a bare origin and a
//! clone that pushes), the real binary in the background, real HTTP.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::background::{git, github_signature, history, post, wait_until, Background, Repo};

const LONG: Duration = Duration::from_secs(60);

/// A test directory with a repository and a runner directory beside it.
struct Setup {
    _dir: tempfile::TempDir,
    repo: Repo,
    runner: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let repo = Repo::new(dir.path());
        let runner = dir.path().join("runner");
        std::fs::create_dir_all(&runner).unwrap_or_else(|e| panic!("mkdir: {e}"));
        Setup { _dir: dir, repo, runner }
    }

    fn state(&self) -> PathBuf {
        self.runner.join(".deploy").join("state.db")
    }

    /// `deploy watch --repo ../origin.git release.deploy ARGS...` in the runner directory.
    fn watch(&self, args: &[&str]) -> Background {
        let origin = self.repo.origin.display().to_string();
        let mut all = vec!["watch", "--repo", origin.as_str()];
        all.extend_from_slice(args);
        all.push("release.deploy");
        Background::start(&self.runner, &all, &[])
    }

    fn history(&self) -> Vec<serde_json::Value> {
        history(&self.runner, &self.state())
    }

    /// The history row whose commit is `hash`.
    fn row_of(&self, hash: &str) -> Option<serde_json::Value> {
        self.history().into_iter().find(|row| row["commit"]["hash"] == hash)
    }

    fn wait_for_status(&self, hash: &str, status: &str, watcher: &Background) -> serde_json::Value {
        let mut found = serde_json::Value::Null;
        let started = Instant::now();
        while started.elapsed() < LONG {
            if let Some(row) = self.row_of(hash) {
                if row["status"] == status {
                    found = row;
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!found.is_null(), "{} never became {status}: {:#?}\n{}", &hash[..7], self.history(), watcher.logs());
        found
    }
}

fn plan(body: &str) -> String {
    format!("pipeline \"app\" {{ watch {{ branch = \"main\" }} }}\n{body}\n")
}

const ECHO: &str =
    r#"stage build { run "echo built ${version} of ${commit} as $DEPLOY_COMMIT"  irreversible = "test" }"#;

#[test]
fn the_first_commit_is_deployed_with_its_version_commit_author_and_subject() {
    let setup = Setup::new();
    let hash = setup.repo.commit(&[("release.deploy", &plan(ECHO))], "Ship the first plan");
    let mut watcher = setup.watch(&["--every", "200ms"]);
    let row = setup.wait_for_status(&hash, "succeeded", &watcher);
    assert_eq!(row["version"], &hash[..7]);
    assert_eq!(row["kind"], "run");
    assert_eq!(row["commit"]["author"], "Ada Lovelace <ada@example.com>");
    assert_eq!(row["commit"]["subject"], "Ship the first plan");
    assert_eq!(row["commit"]["status"], "deployed");
    let out = watcher.out();
    assert!(out.contains(&format!("built {} of {hash} as {hash}", &hash[..7])), "{}", watcher.logs());
    // The plan ran from a worktree of that commit under .deploy/.
    assert!(setup.runner.join(".deploy/watch/worktrees").join(&hash[..7]).join("release.deploy").is_file());
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn commits_during_a_slow_run_are_coalesced_to_the_newest() {
    let setup = Setup::new();
    let slow = plan(r#"stage build { run "test -f go || sleep 3; echo deployed $(cat note)"  irreversible = "test" }"#);
    let first = setup.repo.commit(&[("release.deploy", &slow), ("note", "one")], "one");
    let mut watcher = setup.watch(&["--every", "200ms"]);
    wait_until(LONG, "the first run to start", || watcher.out().contains("stage started"));
    let second = setup.repo.commit(&[("note", "two")], "two");
    let third = setup.repo.commit(&[("note", "three")], "three");
    let fourth = setup.repo.commit(&[("note", "four"), ("go", "")], "four");
    setup.wait_for_status(&first, "succeeded", &watcher);
    setup.wait_for_status(&fourth, "succeeded", &watcher);
    for skipped in [&second, &third] {
        let row = setup.wait_for_status(skipped, "superseded", &watcher);
        assert_eq!(row["kind"], "commit");
        assert_eq!(row["commit"]["superseded_by"], fourth.as_str());
    }
    let out = watcher.out();
    assert!(out.contains("deployed one") && out.contains("deployed four"), "{}", watcher.logs());
    assert!(!out.contains("deployed two") && !out.contains("deployed three"), "{}", watcher.logs());
    let runs = setup.history().into_iter().filter(|row| row["kind"] == "run").count();
    assert_eq!(runs, 2);
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn a_bad_commit_is_rolled_back_once_and_never_retried() {
    let setup = Setup::new();
    let failing = plan(
        r#"stage build { run "echo try $(cat note); test ! -f broken"  rollback { run "echo undo $(cat note)" } }"#,
    );
    let good = setup.repo.commit(&[("release.deploy", &failing), ("note", "good")], "good");
    let mut watcher = setup.watch(&["--every", "200ms"]);
    setup.wait_for_status(&good, "succeeded", &watcher);
    let bad = setup.repo.commit(&[("note", "bad"), ("broken", "")], "break it");
    let row = setup.wait_for_status(&bad, "rolled_back", &watcher);
    assert_eq!(row["commit"]["status"], "bad");
    // Many polls later it still ran once.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(watcher.out().matches("try bad").count(), 1, "{}", watcher.logs());
    assert_eq!(watcher.out().matches("undo bad").count(), 1, "{}", watcher.logs());
    // The next commit is deployed.
    setup.repo.remove("broken");
    let fixed = setup.repo.commit(&[("note", "fixed")], "fix it");
    setup.wait_for_status(&fixed, "succeeded", &watcher);
    assert_eq!(watcher.out().matches("try bad").count(), 1, "{}", watcher.logs());
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn a_commit_that_changes_the_plan_deploys_the_new_plan() {
    let setup = Setup::new();
    let old = plan(r#"stage build { run "echo old plan"  irreversible = "test" }"#);
    let first = setup.repo.commit(&[("release.deploy", &old)], "old");
    let mut watcher = setup.watch(&["--every", "200ms"]);
    setup.wait_for_status(&first, "succeeded", &watcher);
    let new = plan(
        "stage build { run \"echo new plan\"  irreversible = \"test\" }\n\
         stage check { needs = [build]  run \"echo checked ${version}\"  irreversible = \"test\" }",
    );
    let second = setup.repo.commit(&[("release.deploy", &new)], "new");
    setup.wait_for_status(&second, "succeeded", &watcher);
    let out = watcher.out();
    assert!(out.contains("new plan") && out.contains(&format!("checked {}", &second[..7])), "{}", watcher.logs());
    assert_eq!(out.matches("old plan").count(), 1, "{}", watcher.logs());
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

fn lock_status(setup: &Setup) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["lock", "status", "--json", "--state", &setup.state().display().to_string()])
        .current_dir(&setup.runner)
        .output()
        .unwrap_or_else(|e| panic!("deploy lock status: {e}"));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("lock status JSON: {e}"))
}

#[test]
fn sigterm_stops_the_watcher_cleanly_and_leaves_no_lock() {
    let setup = Setup::new();
    let slow = plan(r#"stage build { run "echo started; sleep 30"  rollback { run "echo undone" } }"#);
    setup.repo.commit(&[("release.deploy", &slow)], "slow");
    let mut watcher = setup.watch(&["--every", "200ms"]);
    wait_until(LONG, "the run to start", || watcher.out().contains("started"));
    let locks = lock_status(&setup);
    assert_eq!(locks.as_array().map(Vec::len), Some(1), "{locks}");
    watcher.signal(libc::SIGTERM);
    // It interrupted a run: 130, after the rollback ran.
    assert_eq!(watcher.wait(LONG), Some(130), "{}", watcher.logs());
    assert!(watcher.out().contains("undone"), "{}", watcher.logs());
    let locks = lock_status(&setup);
    assert_eq!(locks.as_array().map(Vec::len), Some(0), "{locks}");

    // The interrupted commit is queued again; a newer one supersedes it.
    let quick = setup.repo.commit(&[("release.deploy", &plan(ECHO))], "quick");
    let mut idle = setup.watch(&["--every", "200ms"]);
    setup.wait_for_status(&quick, "succeeded", &idle);
    std::thread::sleep(Duration::from_millis(300));
    // Idle: exit 0.
    idle.signal(libc::SIGINT);
    assert_eq!(idle.wait(LONG), Some(0), "{}", idle.logs());
    let locks = lock_status(&setup);
    assert_eq!(locks.as_array().map(Vec::len), Some(0), "{locks}");
}

#[test]
fn a_watcher_that_crashed_resumes_its_run_when_it_starts_again() {
    let setup = Setup::new();
    let slow = plan(
        "stage one { run \"echo one\"  irreversible = \"test\" }\n\
         stage two { needs = [one]  run \"while [ ! -f ../../../../go ]; do sleep 0.05; done; echo two\"  irreversible = \"test\" }",
    );
    let first = setup.repo.commit(&[("release.deploy", &slow)], "slow");
    let watcher = setup.watch(&["--every", "200ms"]);
    wait_until(LONG, "stage two to start", || watcher.out().contains("[two] stage started"));
    let row = setup.row_of(&first).unwrap_or_default();
    let run_id = row["run_id"].as_str().unwrap_or_default().to_string();
    watcher.signal(libc::SIGKILL);
    drop(watcher);
    std::fs::write(setup.runner.join("go"), "").unwrap_or_else(|e| panic!("write: {e}"));
    let mut again = setup.watch(&["--every", "200ms"]);
    let row = setup.wait_for_status(&first, "succeeded", &again);
    assert_eq!(row["run_id"], run_id.as_str(), "the crashed run itself was resumed");
    assert!(again.err().contains(&format!("run {run_id} crashed; resuming it")), "{}", again.logs());
    assert!(again.out().contains("[one] skipped"), "{}", again.logs());
    assert_eq!(runs_of(&setup), 1);
    again.signal(libc::SIGTERM);
    assert_eq!(again.wait(LONG), Some(0), "{}", again.logs());
}

const SECRET: &str = "a-webhook-secret-of-some-length";

fn push_event(hash: &str) -> String {
    serde_json::json!({ "ref": "refs/heads/main", "after": hash, "repository": { "name": "app" } }).to_string()
}

fn runs_of(setup: &Setup) -> usize {
    setup.history().into_iter().filter(|row| row["kind"] == "run").count()
}

#[test]
fn a_signed_webhook_deploys_at_once_and_a_bad_signature_gets_401() {
    let setup = Setup::new();
    std::fs::write(setup.runner.join("secret"), format!("{SECRET}\n")).unwrap_or_else(|e| panic!("write: {e}"));
    let first = setup.repo.commit(&[("release.deploy", &plan(ECHO))], "first");
    let mut watcher = setup.watch(&["--every", "1h", "--listen", "127.0.0.1:0", "--webhook-secret-file", "secret"]);
    let address = watcher.address();
    setup.wait_for_status(&first, "succeeded", &watcher);
    let hook = format!("http://{address}/hooks/git");

    // Unsigned and badly signed pushes: 401, nothing deployed.
    let second = setup.repo.commit(&[("note", "2")], "second");
    let body = push_event(&second);
    let unsigned = post(&hook, &[("X-GitHub-Event", "push")], &body);
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    assert_eq!(unsigned.json()["error"]["code"], "unauthorized");
    let wrong = github_signature("not-the-secret-at-all", &body);
    let bad = post(&hook, &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &wrong)], &body);
    assert_eq!(bad.status, 401, "{}", bad.body);
    let gitlab = post(&hook, &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "nope")], &body);
    assert_eq!(gitlab.status, 401, "{}", gitlab.body);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(runs_of(&setup), 1, "{}", watcher.logs());

    // Another branch and another event: ignored.
    let other = serde_json::json!({ "ref": "refs/heads/feature", "after": second }).to_string();
    let signature = github_signature(SECRET, &other);
    let ignored = post(&hook, &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &signature)], &other);
    assert_eq!((ignored.status, ignored.json()["triggered"].clone()), (200, serde_json::json!(false)));
    let signature = github_signature(SECRET, &body);
    let ping = post(&hook, &[("X-GitHub-Event", "ping"), ("X-Hub-Signature-256", &signature)], &body);
    assert_eq!(ping.status, 200, "{}", ping.body);

    // Signed: deployed at once although polling is hourly.
    let sent = Instant::now();
    let good = post(&hook, &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &signature)], &body);
    assert_eq!(good.status, 202, "{}", good.body);
    assert_eq!(good.json()["triggered"], true);
    setup.wait_for_status(&second, "succeeded", &watcher);
    assert!(sent.elapsed() < Duration::from_secs(20));

    // GitLab's token works too.
    let third = setup.repo.commit(&[("note", "3")], "third");
    let body = push_event(&third);
    let answer = post(&hook, &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)], &body);
    assert_eq!(answer.status, 202, "{}", answer.body);
    setup.wait_for_status(&third, "succeeded", &watcher);
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

const TOKENS: &str = "# who may approve\nalice-token-0123456789 alice\nmallory-token-0123456789 mallory\n";

#[test]
fn an_api_approval_resumes_a_paused_run_and_records_the_identity() {
    let setup = Setup::new();
    std::fs::write(setup.runner.join("tokens"), TOKENS).unwrap_or_else(|e| panic!("write: {e}"));
    let gated = plan(
        "stage build { run \"echo built ${version}\"  irreversible = \"test\" }\n\
         gate go { needs = [build]  approve \"Ship ${version}?\" by [\"alice\"] }\n\
         stage ship { needs = [go]  run \"echo shipped ${version}\"  irreversible = \"test\" }",
    );
    let first = setup.repo.commit(&[("release.deploy", &gated)], "gated");
    let mut watcher = setup.watch(&["--every", "200ms", "--listen", "127.0.0.1:0", "--token-file", "tokens"]);
    let address = watcher.address();
    let row = setup.wait_for_status(&first, "paused", &watcher);
    let run_id = row["run_id"].as_str().unwrap_or_default().to_string();

    // The paused run holds the queue: a new commit waits.
    let second = setup.repo.commit(&[("note", "2")], "second");
    wait_until(LONG, "the watcher to say what it waits for", || {
        let status = common::background::get(&format!("http://{address}/api/status")).json();
        status["watch"]["state"] == "waiting" && status["watch"]["detail"].as_str().unwrap_or("").contains(&run_id)
    });
    assert_eq!(runs_of(&setup), 1);
    // Every 200 ms the watcher fetches again (and says so) before it goes
    // back to waiting: `deploy status` shows the waiting between fetches.
    let mut text = String::new();
    wait_until(LONG, "deploy status to say what the watcher waits for", || {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_deploy"))
            .args(["status", "--state", &setup.state().display().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("deploy status: {e}"));
        text = String::from_utf8_lossy(&status.stdout).into_owned();
        text.contains("waiting") && text.contains(&run_id)
    });
    assert!(text.contains(&run_id), "{text}");

    let approve = format!("http://{address}/api/runs/{run_id}/approve");
    let body = r#"{"gate": "go"}"#;
    let anonymous = post(&approve, &[], body);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let mallory = post(&approve, &[("Authorization", "Bearer mallory-token-0123456789")], body);
    assert_eq!(mallory.status, 403, "{}", mallory.body);
    let broken = post(&approve, &[("Authorization", "Bearer alice-token-0123456789")], r#"{"gate": "#);
    assert_eq!(broken.status, 400, "{}", broken.body);
    let alice = post(&approve, &[("Authorization", "Bearer alice-token-0123456789")], body);
    assert_eq!(alice.status, 202, "{}", alice.body);
    assert_eq!(alice.json()["approver"], "alice");

    setup.wait_for_status(&first, "succeeded", &watcher);
    let detail = common::background::get(&format!("http://{address}/api/runs/{run_id}")).json();
    assert_eq!(detail["approvals"][0]["approver"], "alice", "{detail}");
    let approved: Vec<&serde_json::Value> =
        detail["journal"].as_array().into_iter().flatten().filter(|event| event["type"] == "approved").collect();
    assert_eq!(approved.len(), 1, "{detail}");
    assert_eq!(approved[0]["approver"], "alice");
    // The queue moves on: the second commit runs (and pauses at the gate in turn).
    setup.wait_for_status(&second, "paused", &watcher);
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

/// The SSE messages of a stream: (event name, data) pairs.
fn read_sse(url: &str) -> Vec<(String, String)> {
    let response = ureq::get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    let text = response.into_string().unwrap_or_default();
    text.split("\n\n")
        .filter_map(|message| {
            let mut name = "message".to_string();
            let mut data = None;
            for line in message.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().to_string();
                }
                if let Some(value) = line.strip_prefix("data:") {
                    data = Some(value.trim().to_string());
                }
            }
            data.map(|data| (name, data))
        })
        .collect()
}

#[test]
fn the_event_stream_delivers_a_runs_events_in_order_live() {
    let setup = Setup::new();
    let slow = plan(
        "stage one { run \"echo one; sleep 1\"  irreversible = \"test\" }\n\
         stage two { needs = [one]  run \"echo two\"  irreversible = \"test\" }",
    );
    let first = setup.repo.commit(&[("release.deploy", &slow)], "slow");
    let mut watcher = setup.watch(&["--every", "200ms", "--listen", "127.0.0.1:0"]);
    let address = watcher.address();
    let mut run_id = String::new();
    wait_until(LONG, "the run to start", || match setup.row_of(&first) {
        Some(row) if row["status"] == "running" => {
            run_id = row["run_id"].as_str().unwrap_or_default().to_string();
            true
        }
        _ => false,
    });
    // Opened while the run runs: recorded events, then live ones, then `end`.
    let messages = read_sse(&format!("http://{address}/api/runs/{run_id}/events"));
    let (last_name, last_data) = messages.last().cloned().unwrap_or_default();
    assert_eq!(last_name, "end", "{messages:?}");
    assert!(last_data.contains("succeeded"), "{last_data}");
    let events: Vec<serde_json::Value> = messages
        .iter()
        .filter(|(name, _)| name == "message")
        .map(|(_, data)| serde_json::from_str(data).unwrap_or_else(|e| panic!("event JSON ({e}): {data}")))
        .collect();
    let seqs: Vec<u64> = events.iter().map(|event| event["seq"].as_u64().unwrap_or(u64::MAX)).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "{events:?}");
    assert_eq!(events.first().map(|event| event["type"].clone()), Some(serde_json::json!("run_started")));
    assert_eq!(events.last().map(|event| event["type"].clone()), Some(serde_json::json!("run_finished")));
    let lines: Vec<&str> = events.iter().filter_map(|event| event["line"].as_str()).collect();
    assert_eq!(lines, vec!["one", "two"]);
    // The same events as the journal holds, for a finished run too.
    let again = read_sse(&format!("http://{address}/api/runs/{run_id}/events"));
    assert_eq!(again.len(), messages.len());
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn a_failing_fetch_is_logged_and_retried_without_deploying() {
    let setup = Setup::new();
    let missing = setup.runner.join("no-such-repo.git");
    let mut watcher = Background::start(
        &setup.runner,
        &["watch", "--repo", &missing.display().to_string(), "--every", "100ms", "release.deploy"],
        &[],
    );
    wait_until(LONG, "two failed fetches", || watcher.err().matches("failed (attempt").count() >= 2);
    assert!(watcher.err().contains("retrying in"), "{}", watcher.logs());
    assert_eq!(runs_of(&setup), 0);
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn the_plans_watch_block_is_checked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = dir.path().join("release.deploy");
    std::fs::write(&file, "pipeline \"a\" { watch { branch = \"main\"  every = 10ms  colour = 1 } }\nstage s { run \"true\"  irreversible = \"t\" }\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["check", &file.display().to_string()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("deploy check: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`every` must be at least 1s"), "{stderr}");
    assert!(stderr.contains("`watch` has no `colour`"), "{stderr}");
    let _ = (Path::new("."), git);
}

/// `application/x-www-form-urlencoded` with the JSON in `payload`, as GitHub can send it.
fn form_encoded(json: &str) -> String {
    let mut out = String::from("payload=");
    for byte in json.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[test]
fn a_signed_form_encoded_push_deploys_and_a_redelivery_wakes_nothing() {
    let setup = Setup::new();
    std::fs::write(setup.runner.join("secret"), format!("{SECRET}\n")).unwrap_or_else(|e| panic!("write: {e}"));
    let first = setup.repo.commit(&[("release.deploy", &plan(ECHO))], "first");
    let mut watcher = setup.watch(&["--every", "1h", "--listen", "127.0.0.1:0", "--webhook-secret-file", "secret"]);
    let address = watcher.address();
    setup.wait_for_status(&first, "succeeded", &watcher);
    let hook = format!("http://{address}/hooks/git");
    let second = setup.repo.commit(&[("note", "2")], "second");
    let body = form_encoded(&push_event(&second));
    let signature = github_signature(SECRET, &body);
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-GitHub-Event", "push"),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("X-Hub-Signature-256", signature.as_str()),
    ];
    let good = post(&hook, &headers, &body);
    assert_eq!((good.status, good.json()["triggered"].clone()), (202, serde_json::json!(true)), "{}", good.body);
    setup.wait_for_status(&second, "succeeded", &watcher);
    let fetches = watcher.err().matches("fetch").count() + watcher.out().matches("fetch").count();
    // The same delivery again (GitHub's "Redeliver"): 200, nothing fetched or run.
    let third = setup.repo.commit(&[("note", "3")], "third");
    let again = post(&hook, &headers, &body);
    assert_eq!((again.status, again.json()["triggered"].clone()), (200, serde_json::json!(false)), "{}", again.body);
    assert!(again.json()["ignored"].as_str().is_some_and(|why| why.contains("received before")), "{}", again.body);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(setup.row_of(&third).is_none(), "a redelivery fetched: {}", watcher.logs());
    assert_eq!(watcher.err().matches("fetch").count() + watcher.out().matches("fetch").count(), fetches);
    // A form without `payload`: 400 as JSON.
    let empty = "ref=refs%2Fheads%2Fmain";
    let signature = github_signature(SECRET, empty);
    let bad = post(
        &hook,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &signature),
        ],
        empty,
    );
    assert_eq!((bad.status, bad.json()["error"]["code"].clone()), (400, serde_json::json!("bad_request")));
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn a_required_version_param_is_bound_to_the_commit() {
    let setup = Setup::new();
    let body = "param version: string\nstage build { run \"echo built ${version}\"  irreversible = \"test\" }";
    let first = setup.repo.commit(&[("release.deploy", &plan(body))], "first");
    let mut watcher = setup.watch(&["--every", "200ms"]);
    let row = setup.wait_for_status(&first, "succeeded", &watcher);
    assert_eq!(row["version"], &first[..7], "{row}");
    assert!(watcher.out().contains(&format!("built {}", &first[..7])), "{}", watcher.logs());
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
}

#[test]
fn the_start_line_names_the_plans_every_and_no_row_is_named_after_the_file() {
    let setup = Setup::new();
    let body = "stage build { run \"echo built\"  irreversible = \"test\" }";
    let text = format!("pipeline \"app\" {{ watch {{ branch = \"main\"  every = 2s }} }}\n{body}\n");
    let first = setup.repo.commit(&[("release.deploy", &text)], "first");
    for _ in 0..2 {
        // The plan is not in the runner's directory: it is read from the first head.
        let mut watcher = setup.watch(&[]);
        setup.wait_for_status(&first, "succeeded", &watcher);
        wait_until(LONG, "the start line", || watcher.err().contains("watching "));
        assert!(watcher.err().contains("every 2s"), "{}", watcher.logs());
        assert!(!watcher.err().contains("every 1m"), "{}", watcher.logs());
        watcher.signal(libc::SIGTERM);
        assert_eq!(watcher.wait(LONG), Some(0), "{}", watcher.logs());
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_deploy"))
            .args(["status", "--json", "--state", &setup.state().display().to_string()])
            .current_dir(&setup.runner)
            .output()
            .unwrap_or_else(|e| panic!("deploy status: {e}"));
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_default();
        let names: Vec<&str> =
            status["watchers"].as_array().into_iter().flatten().filter_map(|w| w["pipeline"].as_str()).collect();
        assert_eq!(names, ["app"], "{status}");
    }
}

/// #27: a watcher that starts again and a terminal both resume the run the
/// crashed watcher left, at once: exactly one of them resumes it (the
/// store's compare-and-set), the stage in flight runs again once, and the
/// other says the run went on elsewhere.
#[test]
fn a_watcher_and_a_terminal_resuming_one_crashed_run_at_once_resume_it_once() {
    // The terminal at once (it wins the lock), then once the watcher is resuming (the watcher wins).
    watcher_and_terminal_resume(false);
    watcher_and_terminal_resume(true);
}

fn watcher_and_terminal_resume(terminal_late: bool) {
    let setup = Setup::new();
    let slow = plan(
        "stage one { run \"echo one >> ../../../../one.log\"  irreversible = \"test\" }\n\
         stage two { needs = [one]  run \"echo start >> ../../../../two.log; \
         while [ ! -f ../../../../go ]; do sleep 0.05; done; sleep 0.5\"  irreversible = \"test\" }",
    );
    let first = setup.repo.commit(&[("release.deploy", &slow)], "slow");
    let watcher = setup.watch(&["--every", "200ms"]);
    wait_until(LONG, "stage two to start", || watcher.out().contains("[two] stage started"));
    let row = setup.row_of(&first).unwrap_or_default();
    let run_id = row["run_id"].as_str().unwrap_or_default().to_string();
    watcher.signal(libc::SIGKILL);
    drop(watcher);
    std::fs::write(setup.runner.join("go"), "").unwrap_or_else(|e| panic!("write: {e}"));
    let state = setup.state().display().to_string();
    // The watcher starts first (it reads its repository before it looks at
    // the state), the terminal right after: either may win.
    let mut again = setup.watch(&["--every", "200ms"]);
    if terminal_late {
        wait_until(LONG, "the watcher to resume", || again.err().contains("crashed; resuming it"));
    }
    let terminal = std::process::Command::new(common::binary())
        .args(["resume", &run_id, "--state", &state, "--lock-timeout", "30s"])
        .current_dir(&setup.runner)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy resume: {e}"));
    let terminal = terminal.wait_with_output().unwrap_or_else(|e| panic!("deploy resume: {e}"));
    let said = String::from_utf8_lossy(&terminal.stderr).into_owned();
    let printed = String::from_utf8_lossy(&terminal.stdout).into_owned();
    setup.wait_for_status(&first, "succeeded", &again);
    std::thread::sleep(Duration::from_millis(500));
    let count = |name: &str| {
        std::fs::read_to_string(setup.runner.join(name)).unwrap_or_default().lines().filter(|l| !l.is_empty()).count()
    };
    let logs = again.logs();
    // Started once before the kill, and once by whichever resumed the run.
    assert_eq!(count("two.log"), 2, "stage two ran once after the crash\nterminal: {said}\nwatcher: {logs}");
    assert_eq!(count("one.log"), 1, "stage one ran once in all\nterminal: {said}\nwatcher: {logs}");
    assert_eq!(runs_of(&setup), 1, "{logs}");
    // The watcher that came back left the worktree the run went on in
    // where it was (it did not check the commit out again under it).
    assert!(!printed.contains("getcwd") && !logs.contains("getcwd"), "{printed}\n{logs}");
    match terminal.status.code() {
        // The terminal won: the counts above prove the watcher did not run it too.
        Some(0) => {}
        // The watcher won: the terminal names the run and why it did not resume it.
        Some(1) => assert!(said.contains(&run_id), "{said}\n{logs}"),
        other => panic!("deploy resume exited {other:?}: {said}\n{logs}"),
    }
    println!("terminal (late: {terminal_late}) exit {:?}: {said}", terminal.status.code());
    if terminal_late {
        assert_eq!(terminal.status.code(), Some(1), "the watcher resumed first: {said}\n{logs}");
    }
    again.signal(libc::SIGTERM);
    assert_eq!(again.wait(LONG), Some(0), "{}", again.logs());
}
