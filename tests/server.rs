//! `deploy serve` end to end: the real binary in the background, runs
//! started with `deploy run` against the same state, real HTTP.

mod common;

use std::time::Duration;

use common::background::{get, post, request, wait_until, Background};
use common::Test;

const LONG: Duration = Duration::from_secs(60);

const PLAN: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1"] }
stage build { target = production  run "echo built ${version}"  rollback { run "echo unbuilt ${version} back to ${previous_version}" } }
gate go { needs = [build]  approve "Ship ${version}?" by ["alice", "bob"] }
stage ship { needs = [go]  target = production  run "echo shipped ${version}"  rollback { run "echo unshipped ${version}" } }
param version: string = "1.0"
"#;

const TOKENS: &str = "alice-token-0123456789 alice\nmallory-token-0123456789 mallory\n";

fn serve(test: &Test) -> (Background, String) {
    let server = Background::start(
        test.path(),
        &["serve", "release.deploy", "--listen", "127.0.0.1:0", "--token-file", "tokens"],
        &[],
    );
    let address = server.address();
    (server, format!("http://{address}"))
}

fn alice() -> (&'static str, &'static str) {
    ("Authorization", "Bearer alice-token-0123456789")
}

#[test]
fn reads_answer_json_and_mistakes_get_json_errors() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--json", "--set", "version=1.0"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let (_server, base) = serve(&test);

    let status = get(&format!("{base}/api/status"));
    assert_eq!(status.status, 200, "{}", status.body);
    let status = status.json();
    assert_eq!(status["backend"], "sqlite");
    assert_eq!(status["runs"][0]["status"], "paused");
    assert_eq!(status["watch"], serde_json::Value::Null);
    let run_id = status["runs"][0]["run_id"].as_str().unwrap_or_default().to_string();

    let runs = get(&format!("{base}/api/runs?limit=5")).json();
    assert_eq!(runs[0]["run_id"], run_id.as_str());
    assert_eq!(runs[0]["version"], "1.0");
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    assert_eq!(detail["status"], "paused");
    let types: Vec<&str> =
        detail["journal"].as_array().into_iter().flatten().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"run_started"));
    assert_eq!(types.last(), Some(&"run_finished"));
    assert!(detail["nodes"].as_array().is_some_and(|nodes| !nodes.is_empty()), "{detail}");

    let unknown = get(&format!("{base}/api/runs/no-such-run"));
    assert_eq!((unknown.status, unknown.json()["error"]["code"].clone()), (404, serde_json::json!("not_found")));
    let events = get(&format!("{base}/api/runs/no-such-run/events"));
    assert_eq!(events.status, 404);
    let route = get(&format!("{base}/api/nothing"));
    assert_eq!(route.status, 404);
    assert!(route.json()["error"]["message"].is_string());
    let method = request("DELETE", &format!("{base}/api/runs/{run_id}"), &[], "");
    assert_eq!((method.status, method.json()["error"]["code"].clone()), (405, serde_json::json!("method_not_allowed")));
    let method = get(&format!("{base}/api/runs/{run_id}/approve"));
    assert_eq!(method.status, 405);

    let approve = format!("{base}/api/runs/{run_id}/approve");
    let no_token = post(&approve, &[], r#"{"gate":"go"}"#);
    assert_eq!(no_token.status, 401);
    let bad_token = post(&approve, &[("Authorization", "Bearer guess-guess-guess-guess")], r#"{"gate":"go"}"#);
    assert_eq!(bad_token.status, 401);
    for body in ["{", "[]", r#"{"gate": 3}"#, r#"{"gate":"go","extra":1}"#, "not json"] {
        let answer = post(&approve, &[alice()], body);
        assert_eq!(
            (answer.status, answer.json()["error"]["code"].clone()),
            (400, serde_json::json!("bad_request")),
            "{body}"
        );
    }
    let no_gate = post(&approve, &[alice()], r#"{"gate":"nope"}"#);
    assert_eq!(no_gate.status, 404, "{}", no_gate.body);
    let unknown_run = post(&format!("{base}/api/runs/zzz/approve"), &[alice()], r#"{"gate":"go"}"#);
    assert_eq!(unknown_run.status, 404);
    // Nothing was recorded by the refused requests.
    assert_eq!(get(&format!("{base}/api/runs/{run_id}")).json()["approvals"], serde_json::json!([]));
}

#[test]
fn an_approval_over_http_resumes_a_run_started_by_deploy_run() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let (server, base) = serve(&test);
    let run_id =
        get(&format!("{base}/api/status")).json()["runs"][0]["run_id"].as_str().unwrap_or_default().to_string();
    let approve = format!("{base}/api/runs/{run_id}/approve");
    let mallory = post(&approve, &[("Authorization", "Bearer mallory-token-0123456789")], r#"{"gate":"go"}"#);
    assert_eq!((mallory.status, mallory.json()["error"]["code"].clone()), (403, serde_json::json!("forbidden")));
    let answer = post(&approve, &[alice()], r#"{"gate":"go"}"#);
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({"run_id": run_id, "gate": "go", "approver": "alice", "resumed": true})
    );
    wait_until(LONG, "the resumed run to succeed", || {
        get(&format!("{base}/api/runs/{run_id}")).json()["status"] == "succeeded"
    });
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    assert_eq!(detail["approvals"][0]["approver"], "alice");
    assert!(server.out().contains("shipped 1.0"), "{}", server.logs());
    // Approving again: the run is no longer paused.
    let again = post(&approve, &[alice()], r#"{"gate":"go"}"#);
    assert_eq!(again.status, 409, "{}", again.body);
    let versions = get(&format!("{base}/api/status")).json();
    assert_eq!(versions["environments"][0]["current_version"], "1.0");
}

#[test]
fn a_rollback_over_http_undoes_the_environment() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    for version in ["1.0", "2.0"] {
        let ran =
            test.run_with(&["run", "release.deploy", "--yes", "--as", "bob", "--set", &format!("version={version}")]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
    }
    let (server, base) = serve(&test);
    let url = format!("{base}/api/environments/production/rollback");
    assert_eq!(post(&url, &[], "").status, 401);
    assert_eq!(post(&format!("{base}/api/environments/staging/rollback"), &[alice()], "").status, 404);
    assert_eq!(post(&url, &[alice()], r#"{"to": 3}"#).status, 400);
    let answer = post(&url, &[alice()], "");
    assert_eq!(answer.status, 202, "{}", answer.body);
    let run_id = answer.json()["run_id"].as_str().unwrap_or_default().to_string();
    wait_until(LONG, "the rollback to end", || {
        get(&format!("{base}/api/runs/{run_id}")).json()["status"] == "succeeded"
    });
    let detail = get(&format!("{base}/api/runs/{run_id}")).json();
    assert_eq!(detail["kind"], "rollback");
    assert!(
        server.out().contains("unshipped 2.0") && server.out().contains("unbuilt 2.0 back to 1.0"),
        "{}",
        server.logs()
    );
    let status = get(&format!("{base}/api/status")).json();
    assert_eq!(status["environments"][0]["current_version"], "1.0", "{status}");
    // Reads need no token on loopback; the token file is not needed for them.
    assert_eq!(get(&format!("{base}/api/runs")).status, 200);
}

#[test]
fn sigterm_stops_the_server_with_exit_0() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let (mut server, base) = serve(&test);
    assert_eq!(get(&format!("{base}/api/status")).status, 200);
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait(LONG), Some(0), "{}", server.logs());
}

#[test]
fn a_bad_token_file_is_refused_at_start() {
    let test = Test::new().plan(PLAN).file("tokens", "short alice\n");
    let output = test.run_with(&["serve", "release.deploy", "--listen", "127.0.0.1:0", "--token-file", "tokens"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("line 1: the token is shorter than 16 characters"), "{}", output.stderr);
}

#[test]
fn every_error_is_json_a_bad_query_a_large_body_and_a_long_url_included() {
    let test = Test::new().plan(PLAN).file("tokens", TOKENS);
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let (server, base) = serve(&test);
    let code = |answer: &common::background::Answer| answer.json()["error"]["code"].clone();
    for url in
        [format!("{base}/api/runs?limit=abc"), format!("{base}/api/runs?limit=-1"), format!("{base}/history?limit=abc")]
    {
        let answer = get(&url);
        assert_eq!((answer.status, code(&answer)), (400, serde_json::json!("bad_request")), "{url}: {}", answer.body);
        assert!(answer.json()["error"]["message"].as_str().is_some_and(|m| m.contains("limit")), "{}", answer.body);
    }
    // Announced as 3 MiB: refused before it is sent (a client still sending
    // would find the connection closed under it).
    let answer = announce_large_body(base.trim_start_matches("http://"), "/api/runs/nope/approve", 3 * 1024 * 1024);
    assert_eq!((answer.status, code(&answer)), (413, serde_json::json!("payload_too_large")), "{}", answer.body);
    let long = format!("{base}/api/runs?pipeline={}", "p".repeat(10_000));
    let answer = get(&long);
    assert_eq!((answer.status, code(&answer)), (414, serde_json::json!("uri_too_long")), "{}", answer.body);
    // The server is fine afterwards.
    assert_eq!(get(&format!("{base}/api/status")).status, 200, "{}", server.logs());
}

/// A POST whose headers announce `length` bytes of body, none of which is sent; the answer.
fn announce_large_body(address: &str, path: &str, length: usize) -> common::background::Answer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap_or_else(|e| panic!("{address}: {e}"));
    let _ = stream.set_read_timeout(Some(LONG));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer alice-token-0123456789\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap_or_else(|e| panic!("write: {e}"));
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    common::background::Answer { status, body: body.to_string() }
}

#[test]
fn runs_page_by_offset_and_filter_by_outcome_on_both_backends() {
    let plan = "pipeline \"shop\" {}\nparam version: string = \"1\"\nparam fail: string = \"no\"\n\
                stage ship { run \"test ${fail} = no\"  rollback { run \"true\" } }\n";
    let mut backends = vec![common::backend::Backend::Sqlite];
    backends.extend(common::backend::postgres("runs_page_by_offset_and_filter_by_outcome_on_both_backends"));
    for backend in backends {
        let test = backend.apply(Test::new().plan(plan).file("tokens", TOKENS));
        for version in 1..=7 {
            let fail = if version == 3 { "fail=yes" } else { "fail=no" };
            let ran = test.run_with(&["run", "release.deploy", "--set", &format!("version={version}"), "--set", fail]);
            assert_eq!(ran.code, if version == 3 { 2 } else { 0 }, "{}", ran.stderr);
        }
        let env: Vec<(&str, &str)> = match &backend {
            common::backend::Backend::Postgres(url) => vec![("DEPLOY_STATE", url.as_str())],
            common::backend::Backend::Sqlite => Vec::new(),
        };
        let server = Background::start(test.path(), &["serve", "release.deploy", "--listen", "127.0.0.1:0"], &env);
        let base = format!("http://{}", server.address());
        let versions = |url: &str| -> Vec<String> {
            get(url)
                .json()
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["version"].as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(versions(&format!("{base}/api/runs?limit=3")), ["7", "6", "5"], "{backend:?}");
        assert_eq!(versions(&format!("{base}/api/runs?limit=3&offset=3")), ["4", "3", "2"], "{backend:?}");
        assert_eq!(versions(&format!("{base}/api/runs?limit=3&offset=6")), ["1"], "{backend:?}");
        assert!(versions(&format!("{base}/api/runs?limit=1000&offset=1500")).is_empty(), "{backend:?}");
        assert_eq!(versions(&format!("{base}/api/runs?status=rolled_back")), ["3"], "{backend:?}");
        assert_eq!(get(&format!("{base}/api/runs?status=nonsense")).status, 400);
        // The page: the same, with links between pages that keep the filters.
        let page = get(&format!("{base}/history?limit=3&page=2")).body;
        assert!(page.contains("page 2") && page.contains("rel=\"prev\"") && page.contains("rel=\"next\""), "{page}");
        assert!(page.contains("/history?page=3&amp;limit=3"), "{page}");
        let rows = page.matches("data-run-row").count();
        assert_eq!(rows, 3, "{page}");
        let failed = get(&format!("{base}/history?status=rolled_back")).body;
        assert_eq!(failed.matches("data-run-row").count(), 1, "{failed}");
        assert!(failed.contains("<option value=\"rolled_back\" selected>"), "{failed}");
    }
}

/// #27: history filtered by commit (`deploy history --commit`, `/api/runs?commit=`,
/// `/history?commit=`), and a run named by its version or commit wherever a
/// run is read (`deploy logs`, `/api/runs/{id}`, `/runs/{id}`).
#[test]
fn runs_are_filtered_by_commit_and_named_by_version_or_commit() {
    let plan = "pipeline \"shop\" {}\nparam version: string = \"1\"\n\
                stage ship { run \"echo ${version}\"  rollback { run \"true\" } }\n";
    let mut backends = vec![common::backend::Backend::Sqlite];
    backends.extend(common::backend::postgres("runs_are_filtered_by_commit_and_named_by_version_or_commit"));
    for backend in backends {
        let test = backend.apply(Test::new().plan(plan));
        let mut ids = Vec::new();
        for version in ["1.0", "2.0", "3.0"] {
            let ran = test.run_with(&["run", "release.deploy", "--set", &format!("version={version}")]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
            let history: serde_json::Value = serde_json::from_str(&test.run_with(&["history", "--json"]).stdout)
                .unwrap_or_else(|e| panic!("history: {e}"));
            ids.push(history[0]["run_id"].as_str().unwrap_or_default().to_string());
        }
        // What `deploy watch` records: 2.0 came from commit abcdef12…, and a
        // later commit abcd9999… was skipped.
        let sql = format!(
            "INSERT INTO commits (pipeline, commit_hash, branch, author, subject, committed_at, seen_at, status, run_id) \
             VALUES ('shop', 'abcdef1234567890abcdef1234567890abcdef12', 'main', 'Ada <ada@example.com>', 'Faster', 1, 1, 'deployed', '{}'); \
             INSERT INTO commits (pipeline, commit_hash, branch, author, subject, committed_at, seen_at, status, superseded_by) \
             VALUES ('shop', 'abcd999934567890abcdef1234567890abcdef12', 'main', 'Ada <ada@example.com>', 'Later', 2, 2, 'superseded', 'x');",
            ids[1]
        );
        match &backend {
            common::backend::Backend::Sqlite => {
                let connection =
                    rusqlite::Connection::open(test.path().join(".deploy/state.db")).unwrap_or_else(|e| panic!("{e}"));
                connection.execute_batch(&sql).unwrap_or_else(|e| panic!("{e}"));
            }
            common::backend::Backend::Postgres(url) => common::backend::postgres_execute(url, &sql),
        }
        let rows = |args: &[&str]| -> Vec<(String, String)> {
            let out = test.run_with(args);
            assert_eq!(out.code, 0, "{backend:?}: {}", out.stderr);
            serde_json::from_str::<serde_json::Value>(&out.stdout)
                .unwrap_or_default()
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    (
                        r["kind"].as_str().unwrap_or_default().to_string(),
                        r["version"].as_str().unwrap_or_default().into(),
                    )
                })
                .collect()
        };
        // The CLI: a full hash, a prefix in capitals, and the skipped commit's row.
        let of_commit = rows(&["history", "--json", "--commit", "abcdef1234567890abcdef1234567890abcdef12"]);
        assert_eq!(of_commit, [("run".to_string(), "2.0".to_string())], "{backend:?}");
        assert_eq!(rows(&["history", "--json", "--commit", "ABCDEF1"]), of_commit, "{backend:?}");
        let both = rows(&["history", "--json", "--commit", "abcd"]);
        assert_eq!(both.len(), 2, "{backend:?}: {both:?}");
        assert!(both.contains(&("commit".to_string(), "abcd999".to_string())), "{backend:?}: {both:?}");
        assert!(rows(&["history", "--json", "--commit", "0123456"]).is_empty(), "{backend:?}");
        let refused = test.run_with(&["history", "--commit", "main"]);
        assert_eq!(refused.code, 1, "{backend:?}");
        assert!(refused.stderr.contains("`--commit main` is not a commit hash"), "{backend:?}: {}", refused.stderr);
        // `deploy logs` by id, version and commit.
        let started = |name: &str| -> String {
            let out = test.run_with(&["logs", name, "--json"]);
            assert_eq!(out.code, 0, "{backend:?} logs {name}: {}", out.stderr);
            let first: serde_json::Value =
                serde_json::from_str(out.stdout.lines().next().unwrap_or_default()).unwrap_or_default();
            first["run_id"].as_str().unwrap_or_default().to_string()
        };
        assert_eq!(started(&ids[0]), ids[0], "{backend:?}");
        assert_eq!(started("1.0"), ids[0], "{backend:?}");
        assert_eq!(started("3.0"), ids[2], "{backend:?}");
        assert_eq!(started("abcdef1"), ids[1], "{backend:?}");
        let missing = test.run_with(&["logs", "9.9"]);
        assert_eq!(missing.code, 1, "{backend:?}");
        assert!(missing.stderr.contains("no run `9.9`"), "{backend:?}: {}", missing.stderr);

        // The server: the same filter and names.
        let env: Vec<(&str, &str)> = match &backend {
            common::backend::Backend::Postgres(url) => vec![("DEPLOY_STATE", url.as_str())],
            common::backend::Backend::Sqlite => Vec::new(),
        };
        let server = Background::start(test.path(), &["serve", "release.deploy", "--listen", "127.0.0.1:0"], &env);
        let base = format!("http://{}", server.address());
        let runs = get(&format!("{base}/api/runs?commit=ABCDEF12")).json();
        let versions: Vec<&str> = runs.as_array().into_iter().flatten().filter_map(|r| r["version"].as_str()).collect();
        assert_eq!(versions, ["2.0"], "{backend:?}: {runs}");
        let bad = get(&format!("{base}/api/runs?commit=zz"));
        assert_eq!(bad.status, 400, "{backend:?}: {}", bad.body);
        assert!(bad.body.contains("\"error\""), "{backend:?}: {}", bad.body);
        assert_eq!(get(&format!("{base}/api/runs/1.0")).json()["run_id"], ids[0].as_str(), "{backend:?}");
        assert_eq!(get(&format!("{base}/api/runs/abcdef1")).json()["run_id"], ids[1].as_str(), "{backend:?}");
        assert_eq!(get(&format!("{base}/api/runs/9.9")).status, 404, "{backend:?}");
        let page = get(&format!("{base}/runs/abcdef1"));
        assert_eq!(page.status, 200, "{backend:?}");
        assert!(page.body.contains(&format!("data-run=\"{}\"", ids[1])), "{backend:?}: {}", page.body);
        let history = get(&format!("{base}/history?commit=abcdef1")).body;
        assert_eq!(history.matches("data-run-row").count(), 1, "{backend:?}: {history}");
        assert!(history.contains("value=\"abcdef1\""), "{backend:?}");
        assert_eq!(get(&format!("{base}/history?commit=nope")).status, 400, "{backend:?}");
    }
}
