//! Benchmark (ignored by default; prints numbers, asserts nothing about
//! time): on a generated 5,000-line plan, the time from `didChange` to the
//! `publishDiagnostics` for that version, and the latency of completion
//! inside `needs = [`. Run with a release build:
//!
//!     cargo test --release --test lsp_latency -- --ignored --nocapture

mod common;

use std::time::{Duration, Instant};

use common::lsp_client::{file_uri, LspClient};
use serde_json::json;

/// A plan of about `lines` lines: environments, params, and stages that
/// need earlier ones, target an environment, interpolate and roll back.
fn generated_plan(lines: usize) -> String {
    let mut text =
        String::from("pipeline \"bench\" {\n  on_failure = rollback\n}\n\nparam version: string = \"1.0.0\"\n\n");
    for env in 0..4 {
        text.push_str(&format!(
            "environment env_{env} {{\n  hosts = [\"h{env}-1\", \"h{env}-2\"]\n  vars {{ url = \"http://127.0.0.1:80{env}0\" }}\n}}\n\n"
        ));
    }
    let mut stage = 0;
    while text.lines().count() < lines {
        let needs = if stage == 0 { String::new() } else { format!("  needs  = [s{}]\n", stage - 1) };
        text.push_str(&format!(
            "/// Stage number {stage}.\nstage s{stage} {{\n{needs}  target = env_{}\n  run \"./install ${{version}} ${{host}} ${{env.url}}\"\n  timeout = 5m\n  rollback {{ run \"./undo ${{host}}\" }}\n}}\n\n",
            stage % 4
        ));
        stage += 1;
    }
    text
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.1} ms p95={:.1} ms max={:.1} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1000.0,
        percentile(&samples, 0.95).as_secs_f64() * 1000.0,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture on a release build"]
fn did_change_to_diagnostics_and_completion_latency() {
    let text = generated_plan(5000);
    let test = common::Test::new().plan(&text);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "deploy", "version": 1, "text": text } }),
    );
    client.diagnostics_for(&uri, |p| p["version"] == json!(1));
    println!("plan: {} lines, {} bytes; debounce {:?}", text.lines().count(), text.len(), deploy::lsp::DEBOUNCE);

    // Edits in the middle of the file: a stage's timeout alternates between
    // `5m` and `5x` (an error, E0001) so each version's diagnostics differ.
    let middle = text.lines().count() / 2;
    let line = text.lines().enumerate().skip(middle).find(|(_, l)| l.contains("timeout = 5m")).map_or(0, |(i, _)| i);
    let (mut samples, mut broken, mut valid) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..60 {
        let version = round + 2;
        let replacement = if round % 2 == 0 { "x" } else { "m" };
        let range = json!({ "start": { "line": line, "character": 13 }, "end": { "line": line, "character": 14 } });
        let started = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": replacement }] }),
        );
        let published = client.diagnostics_for(&uri, |p| p["version"] == json!(version));
        let elapsed = started.elapsed();
        samples.push(elapsed);
        if round % 2 == 0 {
            broken.push(elapsed)
        } else {
            valid.push(elapsed)
        }
        let errors = published["diagnostics"].as_array().map_or(0, Vec::len);
        assert_eq!(errors > 0, round % 2 == 0, "{published:#}");
        client.backlog.clear();
    }
    report("didChange → publishDiagnostics", samples);
    report("  of which: edit makes a syntax error", broken);
    report("  of which: edit fixes it (full check)", valid);

    // Completion inside `needs = [` of the last stage.
    let (needs_line, needs_text) =
        text.lines().enumerate().filter(|(_, l)| l.contains("needs  = [")).last().unwrap_or((0, ""));
    let character = needs_text.find('[').map_or(0, |i| i + 1);
    let mut samples = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let items = client.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": { "line": needs_line, "character": character } }),
        );
        samples.push(started.elapsed());
        assert!(items.as_array().is_some_and(|items| items.len() > 500));
    }
    report("completion in needs = [", samples);

    // Hover on the stage named in that `needs`: its doc comment.
    let hover_at = json!({ "line": needs_line, "character": character + 1 });
    let mut samples = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let hover =
            client.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": hover_at }));
        samples.push(started.elapsed());
        assert!(hover["contents"]["value"].as_str().is_some_and(|v| v.contains("Stage number")), "{hover:#}");
    }
    report("hover on a stage name", samples);

    // The same two on a file that does not parse (`5x` again).
    let range = json!({ "start": { "line": line, "character": 13 }, "end": { "line": line, "character": 14 } });
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 1000 }, "contentChanges": [{ "range": range, "text": "x" }] }),
    );
    client.diagnostics_for(&uri, |p| p["version"] == json!(1000));
    let mut samples = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        client.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": { "line": needs_line, "character": character } }),
        );
        client.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": hover_at }));
        samples.push(started.elapsed());
    }
    report("completion + hover, file with a syntax error", samples);
    client.shutdown();
}
