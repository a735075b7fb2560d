//! The fuzz harness, on stable Rust: for each target a bounded number of
//! inputs (every example, fixture and stdlib file, the regression corpus,
//! grammar-aware plans and mutations of the real files), the same inputs on
//! every run (a fixed seed; `FUZZ_SEED=N` for others, `FUZZ_CASES=N` for
//! more). A failing input is written to `target/fuzz-failures/` and named in
//! the panic message; it then belongs in `tests/fuzz/regressions/`.
//! `fuzz/` holds the cargo-fuzz targets for long runs on nightly.

mod common;
#[path = "fuzz/generate.rs"]
mod generate;
mod reference;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use deploy::fmt::{equivalence::without_spans, format_source, FormatError};
use deploy::syntax::span::FileId;
use generate::Rng;

/// Inputs per target and kind (generated, mutated), by default.
const CASES: usize = 250;

fn cases(default: usize) -> usize {
    std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x5EED)
}

/// Every example, fixture and stdlib file, and every regression.
fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["tests/fixtures/valid", "tests/fixtures/invalid", "examples", "stdlib/std", "tests/fuzz/regressions"] {
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(common::root().join(dir)) {
            Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
            Err(_) => continue,
        };
        paths.sort();
        texts.extend(paths.iter().filter_map(|path| std::fs::read_to_string(path).ok()));
    }
    assert!(texts.len() > 20, "the corpus is missing");
    texts
}

/// The corpus, then `n` generated plans and `n` mutations, for one target.
fn inputs(target: u64, n: usize) -> Vec<String> {
    let corpus = corpus();
    let mut rng = Rng::new(seed() ^ target.wrapping_mul(0x1000_0001));
    let mut out = corpus.clone();
    for round in 0..n {
        out.push(if round % 4 == 0 { generate::checked_plan(&mut rng) } else { generate::plan(&mut rng) });
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        out.push(generate::mutate(&mut rng, base, other));
    }
    out
}

/// Runs `property` on every input; the first one that panics is saved and reported.
fn run(target: &str, inputs: &[String], property: impl Fn(&str)) {
    for text in inputs {
        if catch_unwind(AssertUnwindSafe(|| property(text))).is_err() {
            let dir = common::root().join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{target}-{:016x}.deploy", fingerprint(text)));
            let _ = std::fs::write(&path, text);
            panic!("fuzz target `{target}` failed on the input saved in {}", path.display());
        }
    }
}

fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn parser() {
    run("parser", &inputs(1, cases(CASES)), |text| {
        let parsed = deploy::syntax::parse(FileId(0), text);
        let grammar = reference::parse(FileId(0), text);
        assert_eq!(parsed.is_ok(), grammar.is_ok(), "the parser and the grammar disagree");
        if let (Ok(tree), Ok(module)) = (&parsed, &grammar) {
            assert_eq!(tree, module, "the parser's tree is not the grammar's");
        }
        let (partial, diagnostics) = deploy::syntax::parse_tolerant(FileId(0), text);
        match &parsed {
            Ok(tree) => assert!(diagnostics.is_empty() && &partial == tree),
            Err(errors) => {
                assert_eq!(diagnostics.first(), errors.first());
                for label in errors.iter().filter_map(|d| d.primary.as_ref()) {
                    assert!(label.span.start <= label.span.end && label.span.end <= text.len());
                    assert!(text.is_char_boundary(label.span.start) && text.is_char_boundary(label.span.end));
                }
            }
        }
        for item in &partial.items {
            assert!(item.span().end <= text.len());
        }
    });
}

#[test]
fn checker() {
    run("checker", &inputs(2, cases(CASES)), |text| {
        let checked = deploy::check::check_source(Path::new("fuzz.deploy"), text.to_string());
        if checked.diagnostics.has_errors() {
            assert!(checked.plan.is_none());
        }
        for diagnostic in checked.diagnostics.iter() {
            for label in diagnostic.primary.iter().chain(&diagnostic.secondary) {
                let file = checked.sources.get(label.file).unwrap_or_else(|| panic!("a label in no file"));
                assert!(label.span.end <= file.text.len(), "a span past the end: {diagnostic:?}");
            }
        }
        let sorted = checked.diagnostics.clone().into_sorted();
        let _ = deploy::diagnostic::render_terminal(&sorted, &checked.sources, deploy::diagnostic::RenderStyle::Plain);
    });
}

#[test]
fn formatter() {
    run("formatter", &inputs(3, cases(CASES)), |text| match format_source(FileId(0), text) {
        Err(FormatError::Syntax(_)) => assert!(deploy::syntax::parse(FileId(0), text).is_err()),
        Err(FormatError::Internal(problem)) => panic!("{problem}"),
        Ok(formatted) => {
            let (Ok(before), Ok(after)) =
                (deploy::syntax::parse(FileId(0), text), deploy::syntax::parse(FileId(0), &formatted))
            else {
                panic!("the formatted text does not parse");
            };
            assert_eq!(without_spans(&before), without_spans(&after), "formatting changed the tree");
            match format_source(FileId(0), &formatted) {
                Ok(again) => assert_eq!(again, formatted, "formatting twice changed the text"),
                Err(error) => panic!("the formatted text cannot be formatted: {error:?}"),
            }
        }
    });
}

/// `deploy plan` through the binary: it exits with a code (0 for a plan
/// that checks, 1 otherwise) and never panics.
#[test]
fn plan() {
    let test = common::Test::new();
    let all = inputs(4, cases(CASES) / 10);
    // Every input that checks, and an equal number that do not.
    let (mut valid, mut invalid) = (Vec::new(), Vec::new());
    for text in all {
        let checks = !deploy::check::check_source(Path::new("fuzz.deploy"), text.clone()).diagnostics.has_errors();
        if checks {
            valid.push(text);
        } else if invalid.len() < 12 {
            invalid.push(text);
        }
    }
    assert!(!valid.is_empty(), "no input checks");
    run("plan", &[valid, invalid].concat(), |text| {
        let path = test.path().join("fuzz.deploy");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
        let output = std::process::Command::new(common::binary())
            .args(["plan", "fuzz.deploy", "--set", "version=1"])
            .current_dir(test.path())
            .env_remove("DEPLOY_PATH")
            .output()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "deploy plan panicked: {stderr}");
        assert!(matches!(output.status.code(), Some(0..=2)), "deploy plan exited with {:?}: {stderr}", output.status);
    });
}

/// The language server under random edit sequences: after every edit the
/// diagnostics published for that version are the checker's for that text
/// (never a stale one), and completion, hover, symbols and goto at random
/// places answer without an error. The server never crashes.
#[test]
fn lsp_documents() {
    use common::lsp_client::{file_uri, LspClient};
    use serde_json::json;

    let test = common::Test::new();
    let path = test.path().join("fuzz.deploy");
    let uri = file_uri(test.path()) + "/fuzz.deploy";
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    let corpus = corpus();
    let mut rng = Rng::new(seed() ^ 5);
    let mut version = 0;
    for document in 0..3 {
        let mut text = corpus[rng.below(corpus.len())].clone();
        version += 1;
        let open = json!({ "textDocument": { "uri": uri, "languageId": "deploy", "version": version, "text": text } });
        client.notify("textDocument/didOpen", open);
        client.diagnostics_for(&uri, |p| p["version"] == json!(version));
        for _ in 0..cases(CASES) / 20 {
            let start = boundary(&text, rng.below(text.len() + 1));
            let end = boundary(&text, (start + rng.below(12)).min(text.len()));
            let other = &corpus[rng.below(corpus.len())];
            let replacement = generate::mutate(&mut rng, "", other);
            let range = json!({ "start": position(&text, start), "end": position(&text, end) });
            text.replace_range(start..end, &replacement);
            version += 1;
            let change = json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": replacement }] });
            client.notify("textDocument/didChange", change);
            let published = client.diagnostics_for(&uri, |p| p["version"] == json!(version));
            assert_eq!(
                messages(&published),
                expected_messages(&path, &text),
                "stale diagnostics for version {version}"
            );
            let at = position(&text, boundary(&text, rng.below(text.len() + 1)));
            let place = json!({ "textDocument": { "uri": uri }, "position": at });
            for method in ["textDocument/completion", "textDocument/hover", "textDocument/definition"] {
                client.request(method, place.clone());
            }
            client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
            client.backlog.clear();
        }
        client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
        let _ = document;
    }
    assert_eq!(client.shutdown(), Some(0));
}

/// The LSP position (UTF-16) of a byte offset.
fn position(text: &str, offset: usize) -> serde_json::Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    serde_json::json!({ "line": line, "character": character })
}

fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The codes and first lines of published diagnostics, sorted.
fn messages(published: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = published["diagnostics"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| {
                    without_paths(&format!(
                        "{} {}",
                        d["code"].as_str().unwrap_or(""),
                        d["message"].as_str().unwrap_or("")
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

/// What `deploy check` says about `text` in the document's own file.
fn expected_messages(path: &Path, text: &str) -> Vec<String> {
    let checked = deploy::check::check_source(path, text.to_string());
    let mut out: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| !d.primary.as_ref().is_some_and(|label| label.file != FileId(0)))
        .map(|d| {
            let mut message = format!("{} {}", d.code.as_str(), d.message);
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            without_paths(&message)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A module path in a help line is relative to the working directory, which
/// differs between the language server (the test's directory) and this process.
fn without_paths(message: &str) -> String {
    message
        .lines()
        .map(|line| match (line.find("looked for "), line.find("deploy modules fetch ")) {
            (Some(at), _) => format!("{}looked for <path>", &line[..at]),
            (None, Some(at)) => format!("{}deploy modules fetch <plan>", &line[..at]),
            (None, None) => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The generator is worth its time only if most of what it makes parses
/// and a good part of that checks (and so reaches the later targets).
#[test]
fn generated_plans_are_mostly_valid() {
    let mut rng = Rng::new(seed());
    let mut plans: Vec<String> = (0..180).map(|_| generate::plan(&mut rng)).collect();
    plans.extend((0..20).map(|_| generate::checked_plan(&mut rng)));
    let parsing = plans.iter().filter(|text| deploy::syntax::parse(FileId(0), text).is_ok()).count();
    let checking = plans
        .iter()
        .filter(|text| {
            !deploy::check::check_source(Path::new("fuzz.deploy"), text.to_string()).diagnostics.has_errors()
        })
        .count();
    eprintln!("of 200 generated plans, {parsing} parse and {checking} check");
    if std::env::var("FUZZ_SHOW").is_ok() {
        for text in plans.iter().take(20) {
            let checked = deploy::check::check_source(Path::new("fuzz.deploy"), text.to_string());
            let first = checked.diagnostics.iter().next().map(|d| d.message.clone());
            eprintln!("----\n{text}\n=> {first:?}");
        }
    }
    assert!(parsing >= 150, "only {parsing} of 200 generated plans parse");
    assert!(checking >= 20, "only {checking} of 200 generated plans check");
}
