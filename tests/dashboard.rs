//! The dashboard in a real browser: `deploy serve` with a real SQLite
//! state and token file, a run started by `deploy run` that pauses at an
//! approval, and Debian's chromium driven by playwright-core
//! (tests/e2e/dashboard.mjs) through the page — approve with a token, watch
//! the run finish live, a failing run roll back live, the history, a wrong
//! token refused. Screenshots land in target/e2e/.
//!
//! Without node, chromium or tests/e2e/node_modules (`npm ci` in
//! tests/e2e) the browser test is skipped with the reason printed — except
//! under CI, where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::background::{get, post, Background};
use common::Test;

const PLAN: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1"] }
param version: string = "1.0"
param fail: string = "no"
param pause: string = "3"
stage build { target = production  run "echo built ${version}"  rollback { run "echo unbuilt ${version}" } }
gate go { needs = [build]  approve "Ship ${version}?" by ["alice", "bob"] }
stage ship {
  needs = [go]
  target = production
  run "sleep ${pause}; echo shipping ${version}; test ${fail} = no"
  rollback { run "echo unshipped ${version}" }
}
"#;

const TOKENS: &str = "alice-token-0123456789 alice\nmallory-token-0123456789 mallory\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    if Command::new("node").arg("--version").output().map(|out| !out.status.success()).unwrap_or(true) {
        return Some("node is not installed".into());
    }
    if !Path::new("/usr/bin/chromium").exists() {
        return Some("/usr/bin/chromium is not installed (apt-get install chromium)".into());
    }
    if !root().join("tests/e2e/node_modules/playwright-core").exists() {
        return Some("tests/e2e/node_modules is missing (run `npm ci` in tests/e2e)".into());
    }
    None
}

fn serve(test: &Test) -> (Background, String) {
    let server = Background::start(
        test.path(),
        &["serve", "release.deploy", "--listen", "127.0.0.1:0", "--token-file", "tokens"],
        &[],
    );
    let address = server.address();
    (server, format!("http://{address}"))
}

fn paused_run(test: &Test) -> String {
    let ran = test.run_with(&["run", "release.deploy", "--json", "--as", "bob"]);
    assert_eq!(ran.code, 3, "the run pauses at the approval: {}", ran.stderr);
    ran.events()
        .iter()
        .find_map(|event| event["run_id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no run_id in {}", ran.stdout))
}

#[test]
fn the_dashboard_approves_and_shows_runs_live_in_a_real_browser() {
    if let Some(reason) = missing_tools() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the browser test, but {reason}");
        eprintln!("skipping the browser test: {reason}");
        return;
    }
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let first =
        test.run_with(&["run", "release.deploy", "--yes", "--as", "bob", "--set", "version=0.9", "--set", "pause=0"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let run_id = paused_run(&test);
    let (server, base) = serve(&test);
    let artifacts = root().join("target/e2e");
    std::fs::create_dir_all(&artifacts).unwrap_or_else(|e| panic!("mkdir {}: {e}", artifacts.display()));
    let output = Command::new("node")
        .arg(root().join("tests/e2e/dashboard.mjs"))
        .args([&base, &run_id, "alice-token-0123456789", common::binary()])
        .arg(test.path())
        .arg(&artifacts)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser scenario failed:\n{stdout}\n{stderr}\n{}", server.logs());
    assert!(stdout.contains("dashboard scenario passed"), "{stdout}");
    // What the browser did is in the state, as the API says.
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    assert_eq!(detail["status"], "succeeded", "{detail}");
    assert_eq!(detail["approvals"][0]["approver"], "alice");
    let actions: Vec<&serde_json::Value> =
        detail["journal"].as_array().into_iter().flatten().filter(|event| event["type"] == "action").collect();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!((actions[0]["action"].as_str(), actions[0]["by"].as_str()), (Some("approve"), Some("alice")));
    let runs = get(&format!("{base}/api/runs")).json();
    let statuses: Vec<&str> = runs.as_array().into_iter().flatten().filter_map(|run| run["status"].as_str()).collect();
    assert_eq!(statuses, ["rolled_back", "succeeded", "succeeded"], "{runs}");
    for shot in ["overview.png", "run.png", "rollback.png", "phone-run.png"] {
        let size = std::fs::metadata(artifacts.join(shot)).map(|meta| meta.len()).unwrap_or(0);
        assert!(size > 1000, "the screenshot {shot} was not saved");
    }
}

#[test]
fn pages_render_without_javascript_and_actions_need_a_token() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let run_id = paused_run(&test);
    let (_server, base) = serve(&test);
    let page = get(&format!("{base}/runs/{run_id}"));
    assert_eq!(page.status, 200);
    for text in ["<label for=\"token\">Token</label>", ">Approve</button>", ">Reject</button>", ">Resume</button>"] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    assert!(page.body.contains(">waiting</text>"), "the gate waits: {}", page.body);
    assert!(page.body.contains("<script src=\"/assets/dashboard.js\" defer>"), "{}", page.body);
    let script = get(&format!("{base}/assets/dashboard.js"));
    assert_eq!(script.status, 200);
    assert!(script.body.contains("EventSource"), "the script follows the run's events");

    // A wrong token changes nothing, for every action.
    let wrong = [("Authorization", "Bearer wrong-token-0123456789")];
    let gate = r#"{"gate":"go"}"#;
    for (path, body) in [
        (format!("/api/runs/{run_id}/approve"), gate),
        (format!("/api/runs/{run_id}/reject"), gate),
        (format!("/api/runs/{run_id}/resume"), "{}"),
        ("/api/environments/production/rollback".to_string(), "{}"),
        ("/api/locks/release".to_string(), r#"{"pipeline":"shop"}"#),
    ] {
        let answer = post(&format!("{base}{path}"), &wrong, body);
        assert_eq!(answer.status, 401, "{path}: {}", answer.body);
    }
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    assert_eq!(detail["status"], "paused");
    assert_eq!(detail["approvals"], serde_json::json!([]));
    assert!(!detail["journal"].as_array().into_iter().flatten().any(|event| event["type"] == "action"));

    // Only an identity of the gate's `by` list may reject it.
    let mallory = [("Authorization", "Bearer mallory-token-0123456789")];
    assert_eq!(post(&format!("{base}/api/runs/{run_id}/reject"), &mallory, gate).status, 403);

    let history = get(&format!("{base}/history?env=production"));
    assert_eq!(history.status, 200);
    assert!(history.body.contains(&format!("data-run-row=\"{run_id}\"")), "{}", history.body);
    assert!(history.body.contains("<option value=\"production\" selected>") || history.body.contains("selected"));
    let other = get(&format!("{base}/history?env=staging"));
    assert!(!other.body.contains("data-run-row="), "{}", other.body);
    let plan = get(&format!("{base}/plan"));
    assert_eq!(plan.status, 200);
    assert!(plan.body.contains("Nothing deployed yet"), "{}", plan.body);
}

/// The text of the page's `<pre data-plan-diff>`, unescaped.
fn plan_diff_of(page: &str) -> String {
    const OPEN: &str = "<pre class=\"diff\" data-plan-diff>";
    let start = page.find(OPEN).map(|at| at + OPEN.len()).unwrap_or(0);
    let end = page[start..].find("</pre>").map(|at| start + at).unwrap_or(page.len());
    page[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn the_plan_page_shows_what_deploy_plan_diff_only_prints() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--yes", "--as", "bob", "--set", "pause=0"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let changed = PLAN.replace("echo built ${version}", "echo built ${version} again").replace("\"1.0\"", "\"1.1\"");
    std::fs::write(test.path().join("release.deploy"), changed).unwrap_or_else(|e| panic!("write: {e}"));
    let cli = test.run_with(&["plan", "release.deploy", "--diff-only"]);
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    assert!(cli.stdout.contains("version 1.0 → 1.1"), "{}", cli.stdout);
    let (_server, base) = serve(&test);
    let page = get(&format!("{base}/plan"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(plan_diff_of(&page.body), cli.stdout);
}

#[test]
fn rejecting_a_gate_rolls_the_run_back_and_journals_who() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let run_id = paused_run(&test);
    let (server, base) = serve(&test);
    let alice = [("Authorization", "Bearer alice-token-0123456789")];
    let answer = post(&format!("{base}/api/runs/{run_id}/reject"), &alice, r#"{"gate":"go"}"#);
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.json()["rejected_by"], "alice");
    common::background::wait_until(Duration::from_secs(60), "the rejected run to end", || {
        get(&format!("{base}/api/runs/{run_id}")).json()["status"] != "paused"
            && get(&format!("{base}/api/runs/{run_id}")).json()["status"] != "running"
    });
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    assert_eq!(detail["status"], "rolled_back", "{detail}\n{}", server.logs());
    let journal = detail["journal"].as_array().cloned().unwrap_or_default();
    let action = journal.iter().find(|event| event["type"] == "action").cloned().unwrap_or_default();
    assert_eq!(
        (action["action"].as_str(), action["by"].as_str(), action["node"].as_str()),
        (Some("reject"), Some("alice"), Some("go"))
    );
    assert!(
        journal.iter().any(|event| event["type"] == "approval_refused" && event["approver"] == "alice"),
        "{journal:?}"
    );
    assert!(server.out().contains("unbuilt 1.0"), "{}", server.logs());
    let seqs: Vec<u64> = journal.iter().filter_map(|event| event["seq"].as_u64()).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "one numbering across the actions and the runs");
}

#[test]
fn a_rollback_is_previewed_then_journaled_in_the_run_it_undoes() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    for version in ["1.0", "2.0"] {
        let ran =
            test.run_with(&["run", "release.deploy", "--yes", "--as", "bob", "--set", &format!("version={version}")]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
    }
    let (_server, base) = serve(&test);
    let runs = get(&format!("{base}/api/runs")).json();
    let undone = runs[0]["run_id"].as_str().unwrap_or_default().to_string();
    let preview = get(&format!("{base}/api/environments/production/rollback"));
    assert_eq!(preview.status, 200, "{}", preview.body);
    let preview = preview.json();
    assert_eq!(preview["undoes"], undone.as_str());
    assert_eq!((preview["from_version"].as_str(), preview["to_version"].as_str()), (Some("2.0"), Some("1.0")));
    assert_eq!(preview["units"], serde_json::json!(["build@web-1", "ship@web-1"]));
    // The preview ran nothing.
    assert_eq!(get(&format!("{base}/api/runs")).json().as_array().map(Vec::len), Some(2));
    assert_eq!(get(&format!("{base}/api/environments/staging/rollback")).status, 404);

    let alice = [("Authorization", "Bearer alice-token-0123456789")];
    let answer = post(&format!("{base}/api/environments/production/rollback"), &alice, "{}");
    assert_eq!(answer.status, 202, "{}", answer.body);
    let rollback = answer.json()["run_id"].as_str().unwrap_or_default().to_string();
    common::background::wait_until(Duration::from_secs(60), "the rollback to succeed", || {
        get(&format!("{base}/api/runs/{rollback}")).json()["status"] == "succeeded"
    });
    let journal = get(&format!("{base}/api/runs/{undone}")).json()["journal"].as_array().cloned().unwrap_or_default();
    let action = journal.last().cloned().unwrap_or_default();
    assert_eq!(
        (action["type"].as_str(), action["action"].as_str(), action["by"].as_str()),
        (Some("action"), Some("rollback"), Some("alice"))
    );
    assert!(action["message"].as_str().is_some_and(|m| m.contains(&rollback)), "{action}");
    let page = get(&format!("{base}/runs/{undone}"));
    assert!(
        page.body.contains("action=rollback")
            || page.body.contains("rollback by=alice")
            || page.body.contains("by=alice"),
        "the run page's journal shows it"
    );
}

#[test]
fn a_stale_lock_is_released_over_the_api_and_journaled() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let mut run = test.command(&["run", "release.deploy", "--yes", "--as", "bob", "--set", "pause=60"]);
    // A group of its own: killing it kills its step too.
    std::os::unix::process::CommandExt::process_group(&mut run, 0);
    let child = run.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn();
    let mut group = Group(Some(child.unwrap_or_else(|e| panic!("spawn: {e}"))));
    let (_server, base) = serve(&test);
    common::background::wait_until(Duration::from_secs(30), "the run to hold the lock", || {
        get(&format!("{base}/api/status")).json()["locks"].as_array().is_some_and(|locks| !locks.is_empty())
    });
    let alice = [("Authorization", "Bearer alice-token-0123456789")];
    let live = post(&format!("{base}/api/locks/release"), &alice, r#"{"pipeline":"shop"}"#);
    assert_eq!(live.status, 409, "a live holder keeps its lock: {}", live.body);
    group.kill();
    common::background::wait_until(Duration::from_secs(30), "the lock to look stale", || {
        get(&format!("{base}/api/status")).json()["locks"][0]["stale"].is_string()
    });
    let run_id =
        get(&format!("{base}/api/status")).json()["locks"][0]["run_id"].as_str().unwrap_or_default().to_string();
    let page = get(&format!("{base}/"));
    assert!(page.body.contains(">Release lock</button>"), "{}", page.body);
    assert_eq!(post(&format!("{base}/api/locks/release"), &alice, r#"{"pipeline":"nope"}"#).status, 404);
    let released = post(&format!("{base}/api/locks/release"), &alice, r#"{"pipeline":"shop"}"#);
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.json()["released"][0]["run_id"], run_id.as_str());
    assert_eq!(get(&format!("{base}/api/status")).json()["locks"], serde_json::json!([]));
    let journal = get(&format!("{base}/api/runs/{run_id}")).json()["journal"].as_array().cloned().unwrap_or_default();
    assert!(
        journal
            .iter()
            .any(|event| event["type"] == "action" && event["action"] == "release_lock" && event["by"] == "alice"),
        "{journal:?}"
    );
}

/// A process group killed (with its steps) when dropped, even on failure.
struct Group(Option<std::process::Child>);

impl Group {
    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            // SAFETY: kill(2) on the process group of a child this guard owns and has not reaped.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_watched_commit_shows_with_its_author_in_the_runs_and_the_history() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let repo = common::background::Repo::new(dir.path());
    let runner = dir.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let plan = "pipeline \"app\" { watch { branch = \"main\" } }\n\
                environment production { hosts = [\"web-1\"] }\n\
                stage build { target = production  run \"echo built ${version}\"  irreversible = \"test\" }\n";
    let hash = repo.commit(&[("release.deploy", plan)], "Ship the dashboard");
    let origin = repo.origin.display().to_string();
    let mut watcher = Background::start(
        &runner,
        &["watch", "--repo", &origin, "--every", "200ms", "--listen", "127.0.0.1:0", "release.deploy"],
        &[],
    );
    let base = format!("http://{}", watcher.address());
    common::background::wait_until(Duration::from_secs(60), "the commit to be deployed", || {
        get(&format!("{base}/api/runs")).json()[0]["status"] == "succeeded"
    });
    let row = get(&format!("{base}/api/runs")).json()[0].clone();
    assert_eq!(row["commit"]["hash"], hash.as_str(), "{row}");
    assert_eq!(row["commit"]["author"], "Ada Lovelace <ada@example.com>");
    assert_eq!(row["commit"]["subject"], "Ship the dashboard");
    let page = get(&format!("{base}/history"));
    assert!(page.body.contains(&format!(">{}</code>", &hash[..7])), "{}", page.body);
    assert!(page.body.contains("Ada Lovelace &lt;ada@example.com&gt;"), "{}", page.body);
    let run_page = get(&format!("{base}/runs/{}", row["run_id"].as_str().unwrap_or_default()));
    assert!(run_page.body.contains("Ship the dashboard"), "{}", run_page.body);
    watcher.signal(libc::SIGTERM);
    assert_eq!(watcher.wait(Duration::from_secs(60)), Some(0), "{}", watcher.logs());
}

#[test]
fn an_old_run_is_drawn_from_the_plan_it_ran_not_todays() {
    let before = "pipeline \"shop\" {}\nstage build { run \"echo built\"  irreversible = \"test\" }\n";
    let test = Test::new().plan(before).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let old = ran.events().iter().find_map(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default();
    // A stage added since.
    let after =
        format!("{before}stage smoke_check {{ needs = [build]  run \"echo checked\"  irreversible = \"test\" }}\n");
    std::fs::write(test.path().join("release.deploy"), after).unwrap_or_else(|e| panic!("write: {e}"));
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let new = ran.events().iter().find_map(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default();
    let (_server, base) = serve(&test);
    let old_page = get(&format!("{base}/runs/{old}"));
    assert_eq!(old_page.status, 200);
    assert!(old_page.body.contains(">build<"), "{}", old_page.body);
    assert!(!old_page.body.contains("smoke_check"), "the old run shows a stage added later: {}", old_page.body);
    let new_page = get(&format!("{base}/runs/{new}"));
    assert!(new_page.body.contains("smoke_check"), "{}", new_page.body);
}

#[test]
fn open_pages_follow_what_a_terminal_does_in_a_real_browser() {
    if let Some(reason) = missing_tools() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the browser test, but {reason}");
        eprintln!("skipping the browser test: {reason}");
        return;
    }
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let first =
        test.run_with(&["run", "release.deploy", "--yes", "--as", "bob", "--set", "version=0.9", "--set", "pause=0"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // A row wider than the screen: the history's Outcome column must stay in view.
    let wide = format!("version=0.9-{}", "build".repeat(40));
    let ran = test.run_with(&["run", "release.deploy", "--yes", "--as", "bob", "--set", &wide, "--set", "pause=0"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = test.run_with(&["run", "release.deploy", "--json", "--as", "bob", "--set", "pause=0"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run_id = ran.events().iter().find_map(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default();
    let (server, base) = serve(&test);
    let output = Command::new("node")
        .arg(root().join("tests/e2e/live.mjs"))
        .args([&base, &run_id, common::binary()])
        .arg(test.path())
        .arg("alice-token-0123456789")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the live scenario failed:\n{stdout}\n{stderr}\n{}", server.logs());
    assert!(stdout.contains("live scenario passed"), "{stdout}");
}

#[test]
fn the_overview_shows_every_host_and_a_mixed_environment() {
    let plan = "pipeline \"shop\" {}\nenvironment production { hosts = [\"web-1\", \"web-2\"] }\n\
                param version: string = \"1.0\"\n\
                stage ship { target = production  run \"echo ${version} on ${host}\"  rollback { run \"true\" } }\n";
    let test = Test::new().plan(plan).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--set", "version=1.0"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = test.run_with(&["run", "release.deploy", "--set", "version=2.0", "--limit", "web-1"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let (_server, base) = serve(&test);
    let page = get(&format!("{base}/")).body;
    let host = |name: &str| {
        let start = page.find(&format!("<li data-host=\"{name}\">")).unwrap_or_else(|| panic!("no {name}: {page}"));
        page[start..].split("</li>").next().unwrap_or_default().to_string()
    };
    assert!(host("web-1").contains("2.0"), "{}", host("web-1"));
    assert!(host("web-2").contains("1.0") && !host("web-2").contains("2.0"), "{}", host("web-2"));
    assert!(page.contains("data-mixed"), "{page}");
}

#[test]
fn a_waiting_gate_shows_its_question_and_who_may_answer() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let run_id = paused_run(&test);
    let (_server, base) = serve(&test);
    let page = get(&format!("{base}/runs/{run_id}")).body;
    assert!(
        page.contains("Gate <strong>go</strong> asks <q>Ship 1.0?</q> and waits for approval by alice, bob."),
        "{page}"
    );
}

/// A canary whose analysis gate asks a person after its first step.
const CANARY: &str = r#"
pipeline "shop" {}
param version: string = "2.0"
param delay: string = "0"
environment production { hosts = ["web-1", "web-2", "web-3", "web-4"] }
gate bake {
  check every 100ms within 2s `true`
  approve "Promote ${version} past the canary?" by ["alice"]
}
stage ship {
  target = production
  strategy canary { steps = [25%, 100%]  pause = 0s  analysis = bake }
  run "sleep ${delay}; echo ${version} > on-${host}"
  rollback { run "echo ${previous_version} > on-${host}" }
}
"#;

#[test]
fn a_paused_canary_is_promoted_or_aborted_from_its_run_page_in_a_real_browser() {
    let test = Test::new().plan(CANARY).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 3, "the canary pauses at its analysis: {}", ran.stderr);
    let run_id = ran.events().iter().find_map(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default();
    let (server, base) = serve(&test);
    // Without a browser: the page names the step, the hosts, the question and the last analysis.
    let page = get(&format!("{base}/runs/{run_id}")).body;
    assert!(page.contains("Canary <strong>ship</strong> paused after step 1/2 (canary 25%) on web-1."), "{page}");
    assert!(page.contains("asks <q>Promote 2.0 past the canary?</q> and waits for approval by alice."), "{page}");
    assert!(page.contains("<p data-last-analysis>Last analysis: pass (evaluation 1)</p>"), "{page}");
    assert!(page.contains(">Promote</button>") && page.contains(">Abort and roll back</button>"), "{page}");
    if let Some(reason) = missing_tools() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the browser test, but {reason}");
        eprintln!("skipping the browser test: {reason}");
        return;
    }
    let output = Command::new("node")
        .arg(root().join("tests/e2e/canary.mjs"))
        .args([&base, &run_id, common::binary()])
        .arg(test.path())
        .arg("alice-token-0123456789")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the canary scenario failed:\n{stdout}\n{stderr}\n{}", server.logs());
    assert!(stdout.contains("canary scenario passed"), "{stdout}");
    let on = |host: &str| std::fs::read_to_string(test.path().join(format!("on-{host}"))).unwrap_or_default();
    // Promoted 2.0 everywhere, then 3.0 aborted on web-1 and rolled back to 2.0.
    for host in ["web-1", "web-2", "web-3", "web-4"] {
        assert_eq!(on(host), "2.0\n", "{host}");
    }
    let runs = get(&format!("{base}/api/runs")).json();
    let statuses: Vec<&str> = runs.as_array().into_iter().flatten().filter_map(|run| run["status"].as_str()).collect();
    assert_eq!(statuses, ["rolled_back", "succeeded"], "{runs}");
}
