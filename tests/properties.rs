//! Property tests over random and mutated plans: parsing and checking never
//! panic, every failure carries a diagnostic that points into the file, and
//! the parser accepts exactly what the pest grammar (grammar/deploy.pest, the
//! normative one) accepts, producing the same tree.

mod common;
mod reference;

use std::path::Path;

use deploy::syntax::ast::Item;
use deploy::syntax::span::FileId;
use proptest::prelude::*;

/// Texts to mutate: every fixture and example.
fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["tests/fixtures/valid", "tests/fixtures/invalid", "examples", "stdlib/std"] {
        let Ok(entries) = std::fs::read_dir(common::root().join(dir)) else { continue };
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                texts.push(text);
            }
        }
    }
    texts
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "`",
    "```",
    "${",
    "}",
    "=",
    ",",
    ".",
    ":",
    "<",
    ">",
    "%",
    "-",
    "\\",
    "\\u{41}",
    "\\u{D800}",
    "stage",
    "gate",
    "template",
    "import",
    "from",
    "run",
    "script",
    "upload",
    "to",
    "rollback",
    "strategy",
    "canary",
    "on",
    "approve",
    "by",
    "check",
    "every",
    "within",
    "for",
    "needs",
    "target",
    "true",
    "false",
    "10s",
    "5ms",
    "1h30m",
    "25%",
    "12.5%",
    "99999999999999999999",
    "-3",
    "x",
    "é",
    "\t",
    "\n",
    " ",
    "//",
    "/*",
    "*/",
    "\u{FEFF}",
    "raw(",
    "env(",
    "list<",
    "string",
];

fn mutated() -> impl Strategy<Value = String> {
    let corpus = corpus();
    (0..corpus.len(), proptest::collection::vec((any::<prop::sample::Index>(), 0..TOKENS.len(), 0..3u8), 1..6))
        .prop_map(move |(which, edits)| {
            let mut text = corpus[which].clone();
            for (at, token, action) in edits {
                let mut position = at.index(text.len() + 1);
                while !text.is_char_boundary(position) {
                    position -= 1;
                }
                match action {
                    0 => text.insert_str(position, TOKENS[token]),
                    1 => {
                        let mut end = (position + 1 + token % 7).min(text.len());
                        while !text.is_char_boundary(end) {
                            end += 1;
                        }
                        text.replace_range(position..end, "");
                    }
                    _ => {
                        let mut end = (position + 1).min(text.len());
                        while !text.is_char_boundary(end) {
                            end += 1;
                        }
                        text.replace_range(position..end, TOKENS[token]);
                    }
                }
            }
            text
        })
}

/// Plans built from the grammar's pieces, mostly valid.
fn generated() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z0-9_]{0,6}";
    let value = prop_oneof![
        Just("\"text ${version}\"".to_string()),
        Just("10s".to_string()),
        Just("25%".to_string()),
        Just("3".to_string()),
        Just("true".to_string()),
        Just("[a, b]".to_string()),
        Just("`1 + 1`".to_string()),
        Just("2 every 5s".to_string()),
        Just("g for 1m".to_string()),
        Just("env(\"X\", \"d\")".to_string()),
        name.prop_map(|n| n),
    ];
    let entry = prop_oneof![
        (name, value.clone()).prop_map(|(n, v)| format!("{n} = {v}")),
        Just("run \"echo ${host}\"".to_string()),
        Just("upload \"dist/${version}\" to \"releases/${version}\"".to_string()),
        Just("upload \"a\" to".to_string()),
        Just("script ```\nlet x = 1;\nx + 1\n```".to_string()),
        Just("upload \"./dist\" to \"/srv/${version}\"".to_string()),
        Just("rollback { run \"undo\" }".to_string()),
        Just("strategy canary { steps = [50%, 100%] }".to_string()),
        Just("on start { run \"x\" }".to_string()),
        Just("approve \"ok?\" by [\"a\"]".to_string()),
        Just("check every 1s within 5s `true`".to_string()),
        (name, name).prop_map(|(n, m)| format!("{n} {{ {m} = 1 }}")),
    ];
    let item = prop_oneof![
        (prop_oneof![Just("stage"), Just("gate")], name, proptest::collection::vec(entry.clone(), 0..5))
            .prop_map(|(kind, n, entries)| format!("{kind} {n} {{\n  {}\n}}", entries.join("\n  "))),
        (name, value.clone()).prop_map(|(n, v)| format!("param {n}: string = {v}")),
        (name, proptest::collection::vec(entry, 0..3))
            .prop_map(|(n, entries)| format!("environment {n} {{ hosts = [\"h\"] {} }}", entries.join(" "))),
        Just("import \"std/http\" as http".to_string()),
        Just("template stage t(a: string, b: list<int> = [1]) { run \"${a}\" }".to_string()),
        (name, name).prop_map(|(n, m)| format!("stage {n} from {m}.healthy {{ url = \"u\" }}")),
    ];
    proptest::collection::vec(item, 0..8).prop_map(|items| items.join("\n"))
}

fn assert_invariants(text: &str) -> Result<(), TestCaseError> {
    // The parser accepts what the grammar accepts, with the same tree.
    let reference = reference::parse(FileId(0), text);
    let parsed = deploy::syntax::parse(FileId(0), text);
    match (&parsed, &reference) {
        (Ok(tree), Ok(module)) => prop_assert_eq!(tree, module),
        (Ok(_), Err(errors)) => prop_assert!(false, "the parser accepted what the grammar rejects: {:?}", errors),
        (Err(errors), Ok(_)) => prop_assert!(false, "the grammar accepted what the parser rejects: {:?}", errors),
        // A syntax error (the grammar's has no label): the parser's points into the file.
        // Or forms the grammar does not have that the parser names and reads
        // on past (E0116: `1.5s`, `5sec`, `-5s`), each pointing into the file.
        (Err(errors), Err(grammar)) if grammar.len() == 1 && grammar[0].primary.is_none() => {
            prop_assert!(errors.len() == 1 || errors.iter().all(|e| e.code.as_str() != "E0001"), "{:?}", errors);
            for error in errors {
                let label = error.primary.as_ref();
                prop_assert!(label.is_some_and(|l| l.span.start <= l.span.end && l.span.end <= text.len()));
            }
        }
        // Literals out of range: the same diagnostics.
        (Err(errors), Err(grammar)) => prop_assert_eq!(errors, grammar),
    }
    // The lexer covers the text exactly, and what it calls comments is the
    // parser's trivia: blanking them (line breaks kept) gives the same tree,
    // so no comment token lies inside a string or a Rhai snippet.
    let tokens = deploy::syntax::lexer::Tokens::of(text);
    prop_assert_eq!(tokens.iter().map(|t| t.text(text)).collect::<String>(), text);
    if let Ok(tree) = &parsed {
        let mut blanked = text.as_bytes().to_vec();
        for token in tokens.iter().filter(|t| t.is_comment()) {
            for byte in &mut blanked[token.span.start..token.span.end] {
                if *byte != b'\n' {
                    *byte = b' ';
                }
            }
        }
        let blanked = String::from_utf8_lossy(&blanked).into_owned();
        let reparsed = deploy::syntax::parse(FileId(0), &blanked).ok();
        prop_assert_eq!(reparsed.as_ref(), Some(tree), "{}", blanked);
    }
    // The tolerant parse gives the same tree for a file that parses, and the
    // same first diagnostic for one that does not.
    let (partial, diagnostics) = deploy::syntax::parse_tolerant(FileId(0), text);
    match &parsed {
        Ok(tree) => {
            prop_assert_eq!(&partial, tree);
            prop_assert!(diagnostics.is_empty());
        }
        Err(errors) => prop_assert_eq!(diagnostics.first(), errors.first()),
    }
    // The outline the checker reads delimits every body where the full parse
    // ends it, and parsing a body on its own gives the same tree.
    if let (Ok(full), Ok((outline, true))) = (&reference, deploy::syntax::parse_outline(FileId(0), text)) {
        prop_assert_eq!(outline.items.len(), full.items.len());
        for (lazy, whole) in outline.items.iter().zip(&full.items) {
            match (lazy, whole) {
                (Item::Node(lazy), Item::Node(whole)) => {
                    prop_assert_eq!(lazy.body.span, whole.body.span);
                    let body = deploy::syntax::parse_body(FileId(0), text, lazy.body.span);
                    prop_assert_eq!(body.as_ref().ok(), Some(&whole.body));
                }
                _ => prop_assert_eq!(lazy, whole),
            }
        }
    }
    // Checking never panics, and a failure points into the file.
    let checked = deploy::check::check_source(Path::new("prop.deploy"), text.to_string());
    if checked.diagnostics.has_errors() {
        prop_assert!(checked.plan.is_none());
        let any_with_span = checked.diagnostics.iter().any(|d| {
            d.primary.as_ref().is_some_and(|label| {
                let Some(file) = checked.sources.get(label.file) else { return false };
                label.span.start <= label.span.end && label.span.end <= file.text.len()
            })
        });
        prop_assert!(any_with_span, "no diagnostic with a span: {:?}", checked.diagnostics);
    }
    for diagnostic in checked.diagnostics.iter() {
        for label in diagnostic.primary.iter().chain(&diagnostic.secondary) {
            let Some(file) = checked.sources.get(label.file) else {
                prop_assert!(false, "label in an unknown file");
                continue;
            };
            prop_assert!(label.span.end <= file.text.len(), "span past the end: {:?}", diagnostic);
        }
    }
    // No diagnostic is said twice (a syntax error is the loader's alone,
    // whichever parse found it; the checker's are of what parsed).
    let all: Vec<_> = checked.diagnostics.iter().collect();
    for (i, diagnostic) in all.iter().enumerate() {
        prop_assert!(!all[..i].contains(diagnostic), "said twice: {:?}", diagnostic);
    }
    // Rendering never panics either.
    let sorted = checked.diagnostics.clone().into_sorted();
    let _ = deploy::diagnostic::render_terminal(&sorted, &checked.sources, deploy::diagnostic::RenderStyle::Plain);
    Ok(())
}

/// 400 cases by default; `PROPTEST_CASES=N` for a longer search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_plans(text in mutated()) {
        assert_invariants(&text)?;
    }

    #[test]
    fn generated_plans(text in generated()) {
        assert_invariants(&text)?;
    }

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        assert_invariants(&text)?;
    }
}
