//! Inputs for the fuzz harness: a seeded random source, grammar-aware plans
//! (every form of grammar/deploy.pest, with trivia between tokens), and
//! mutations of real files (token edits, deleted and repeated lines,
//! splices of two files).

#![allow(dead_code)]

/// splitmix64: small, fast, and the same sequence for the same seed on
/// every machine, so a failure is reproduced by its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "build",
    "deploy",
    "smoke",
    "db",
    "web",
    "canary",
    "version",
    "host",
    "url",
    "region",
    "x",
    "_y2",
    "needs",
    "target",
    "hosts",
    "timeout",
    "retry",
    "vars",
    "protect",
    "limits",
    "switch",
    "monitor",
    "analysis",
    "steps",
    "pause",
    "on_failure",
    "approval",
    "window",
    "description",
    "production",
    "staging",
    "rollback",
    "run",
    "upload",
    "to",
    "check",
    "every",
    "for",
    "within",
];

const STAGES: &[&str] = &["build", "deploy", "smoke", "migrate", "web"];

const SEPARATORS: &[&str] = &[" ", " ", " ", "\n", "\n  ", "\t", " /* note */ ", " // note\n", "\r\n", "\n\n"];

/// A plan built from the grammar's productions, mostly valid, with random
/// trivia between tokens.
pub fn plan(rng: &mut Rng) -> String {
    let mut out = String::new();
    let items = 1 + rng.below(8);
    for _ in 0..items {
        if rng.chance(20) {
            out.push_str("/// A doc comment.\n");
        }
        item(rng, &mut out);
        out.push_str(if rng.chance(80) { "\n\n" } else { " " });
    }
    out
}

/// A plan that checks: an environment, a version, a chain of stages that
/// need each other, with steps, rollbacks, retries, strategies and gates.
pub fn checked_plan(rng: &mut Rng) -> String {
    let mut out =
        String::from("pipeline \"fuzz\" {\n  on_failure = rollback\n}\n\nparam version: string = \"1.0\"\n\n");
    out.push_str("environment production {\n  hosts = [\"a\", \"b\", \"c\", \"d\"]\n  vars { url = \"http://127.0.0.1:9\" }\n}\n\n");
    let stages = 1 + rng.below(6);
    for index in 0..stages {
        if rng.chance(20) {
            out.push_str("// a comment\n");
        }
        out.push_str(&format!("stage s{index} {{\n"));
        if index > 0 {
            out.push_str(&format!("  needs = [s{}]\n", rng.below(index)));
        }
        out.push_str("  target = production\n");
        for _ in 0..1 + rng.below(3) {
            out.push_str(rng.pick(&[
                "  run \"echo ${version} ${host}\"\n",
                "  run \"echo ${env.url}\"\n",
                "  script `log(\"x\")`\n",
            ]));
        }
        out.push_str(rng.pick(&["", "  timeout = 5m\n", "  retry = 2 every 1s\n"]));
        out.push_str(rng.pick(&[
            "  rollback { run \"undo ${host}\" }\n",
            "  rollback { run \"undo\" }\n  strategy rolling { batch = 2 }\n",
            "  rollback { run \"undo\" }\n  strategy canary { steps = [25%, 100%] }\n",
        ]));
        out.push_str("}\n\n");
    }
    out
}

fn sep(rng: &mut Rng, out: &mut String) {
    out.push_str(if rng.chance(70) { " " } else { rng.pick(SEPARATORS) });
}

fn name(rng: &mut Rng) -> &'static str {
    rng.pick(NAMES)
}

fn item(rng: &mut Rng, out: &mut String) {
    match rng.below(9) {
        0 => {
            out.push_str("import");
            sep(rng, out);
            out.push_str(rng.pick(&["\"std/http\"", "\"std/notify\"", "\"std/git\"", "\"./missing.deploy\""]));
            sep(rng, out);
            out.push_str("as");
            sep(rng, out);
            out.push_str(rng.pick(&["http", "notify", "git", "m"]));
        }
        1 => {
            out.push_str("pipeline \"fuzz\"");
            sep(rng, out);
            block(rng, out, 2);
        }
        2 => {
            out.push_str("param ");
            out.push_str(name(rng));
            sep(rng, out);
            out.push(':');
            sep(rng, out);
            type_expr(rng, out, 2);
            if rng.chance(70) {
                out.push_str(" = ");
                value(rng, out, 2);
            }
        }
        3 => {
            out.push_str("secret ");
            out.push_str(name(rng));
            out.push_str(" = ");
            value(rng, out, 1);
        }
        4 => {
            out.push_str("environment ");
            out.push_str(rng.pick(&["production", "staging", "dev"]));
            sep(rng, out);
            block(rng, out, 3);
        }
        5 => {
            out.push_str("template ");
            out.push_str(rng.pick(&["stage", "gate"]));
            out.push(' ');
            out.push_str(name(rng));
            out.push('(');
            let params = rng.below(3);
            for index in 0..params {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(name(rng));
                out.push_str(": ");
                type_expr(rng, out, 2);
                if rng.chance(40) {
                    out.push_str(" = ");
                    value(rng, out, 1);
                }
            }
            if params > 0 && rng.chance(20) {
                out.push(',');
            }
            out.push_str(") ");
            block(rng, out, 3);
        }
        _ => {
            out.push_str(rng.pick(&["stage", "stage", "gate"]));
            out.push(' ');
            out.push_str(rng.pick(STAGES));
            if rng.chance(20) {
                out.push_str(" from ");
                out.push_str(rng.pick(&["http.healthy", "notify.slack", "m.t", "git.tag"]));
            }
            sep(rng, out);
            block(rng, out, 3);
        }
    }
}

fn type_expr(rng: &mut Rng, out: &mut String, depth: usize) {
    if depth > 0 && rng.chance(20) {
        out.push_str("list<");
        type_expr(rng, out, depth - 1);
        out.push('>');
    } else {
        out.push_str(rng.pick(&["string", "int", "bool", "duration", "percent", "thing"]));
    }
}

fn block(rng: &mut Rng, out: &mut String, depth: usize) {
    out.push('{');
    let entries = rng.below(6);
    for _ in 0..entries {
        out.push_str(rng.pick(&["\n  ", " ", "\n    "]));
        entry(rng, out, depth);
    }
    out.push_str(if entries > 0 && rng.chance(80) { "\n}" } else { " }" });
}

fn entry(rng: &mut Rng, out: &mut String, depth: usize) {
    match rng.below(13) {
        0..=3 => {
            out.push_str(name(rng));
            sep(rng, out);
            out.push('=');
            sep(rng, out);
            value(rng, out, depth);
        }
        4 if depth > 0 => {
            out.push_str(rng.pick(&["vars", "protect", "limits", "switch", "x"]));
            sep(rng, out);
            block(rng, out, depth - 1);
        }
        5 => {
            out.push_str("run ");
            string(rng, out);
        }
        6 => {
            out.push_str("script ");
            rhai(rng, out);
        }
        7 => {
            out.push_str("upload");
            sep(rng, out);
            string(rng, out);
            sep(rng, out);
            out.push_str("to");
            sep(rng, out);
            string(rng, out);
        }
        8 if depth > 0 => {
            out.push_str("rollback ");
            block(rng, out, depth - 1);
        }
        9 => {
            out.push_str("strategy ");
            out.push_str(rng.pick(&["canary", "rolling", "all_at_once", "blue_green"]));
            if depth > 0 && rng.chance(70) {
                out.push(' ');
                block(rng, out, depth - 1);
            }
        }
        10 if depth > 0 => {
            out.push_str("on ");
            out.push_str(rng.pick(&["failure", "success", "start", "finish"]));
            out.push(' ');
            block(rng, out, depth - 1);
        }
        11 => {
            out.push_str("approve ");
            string(rng, out);
            if rng.chance(50) {
                out.push_str(" by ");
                value(rng, out, 1);
            }
        }
        _ => {
            out.push_str("check");
            if rng.chance(60) {
                out.push_str(" every ");
                out.push_str(rng.pick(&["1s", "5s", "0s", "10ms"]));
            }
            if rng.chance(60) {
                out.push_str(" within ");
                out.push_str(rng.pick(&["1m", "5s", "2h"]));
            }
            out.push(' ');
            rhai(rng, out);
        }
    }
}

fn value(rng: &mut Rng, out: &mut String, depth: usize) {
    atom(rng, out, depth);
    if rng.chance(10) {
        out.push_str(rng.pick(&[" every ", " for "]));
        atom(rng, out, 0);
    }
}

fn atom(rng: &mut Rng, out: &mut String, depth: usize) {
    let choice = if depth == 0 { rng.below(8) } else { rng.below(11) };
    match choice {
        0 => string(rng, out),
        1 => rhai(rng, out),
        2 if rng.chance(3) => out.push_str("999999999999d"),
        2 => out.push_str(rng.pick(&["10s", "500ms", "1h30m", "2d", "0s"])),
        3 => out.push_str(rng.pick(&["25%", "12.5%", "100%", "0%"])),
        4 if rng.chance(3) => out.push_str("99999999999999999999"),
        4 => out.push_str(rng.pick(&["3", "-1", "0"])),
        5 => out.push_str(rng.pick(&["true", "false"])),
        6 | 7 => {
            out.push_str(name(rng));
            if rng.chance(30) {
                out.push('.');
                out.push_str(name(rng));
            }
        }
        8 => {
            out.push('[');
            let items = rng.below(4);
            for index in 0..items {
                if index > 0 {
                    out.push(',');
                    sep(rng, out);
                }
                value(rng, out, depth - 1);
            }
            if items > 0 && rng.chance(20) {
                out.push(',');
            }
            out.push(']');
        }
        9 => {
            out.push('{');
            for _ in 0..rng.below(3) {
                out.push(' ');
                out.push_str(name(rng));
                out.push_str(" = ");
                value(rng, out, depth - 1);
            }
            out.push_str(" }");
        }
        _ => {
            out.push_str(rng.pick(&["env", "file", "command", "raw", "f"]));
            out.push('(');
            for index in 0..rng.below(3) {
                if index > 0 {
                    out.push_str(", ");
                }
                value(rng, out, depth - 1);
            }
            out.push(')');
        }
    }
}

fn string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(4) {
        out.push_str(rng.pick(&[
            "text ",
            "./dist",
            "${version}",
            "${host}",
            "${env.url}",
            "${raw(version)}",
            "\\n",
            "\\\"",
            "\\$",
            "\\u{1F600}",
            "$HOME",
            "é",
        ]));
    }
    out.push('"');
}

fn rhai(rng: &mut Rng, out: &mut String) {
    if rng.chance(30) {
        out.push_str("```\nlet x = 1;\nx + 1 == 2\n```");
    } else {
        out.push('`');
        out.push_str(rng.pick(&["true", "1 + 1", "http::get(url).status == 200", "version != \"\"", "let"]));
        out.push('`');
    }
}

/// Pieces inserted by the mutator: the grammar's tokens and the characters
/// that end strings, snippets and comments.
const TOKENS: &[&str] = &[
    "{", "}", "[", "]", "(", ")", "\"", "`", "```", "${", "=", ",", ".", ":", "<", ">", "%", "-", "\\", "\\u{",
    "stage", "gate", "template", "import", "from", "run", "script", "upload", "to", "rollback", "strategy", "on",
    "approve", "by", "check", "every", "within", "for", "needs", "target", "true", "10s", "25%", "-3", "x", "é", "\t",
    "\n", " ", "//", "/*", "*/", "\u{FEFF}", "\r", "\0", "list<", "string",
];

/// `text` with 1 to 6 random edits.
pub fn mutate(rng: &mut Rng, text: &str, other: &str) -> String {
    let mut text = text.to_string();
    for _ in 0..1 + rng.below(6) {
        let at = boundary(&text, rng.below(text.len() + 1));
        match rng.below(7) {
            0 | 1 => text.insert_str(at, rng.pick(TOKENS)),
            2 => {
                let end = boundary(&text, (at + 1 + rng.below(8)).min(text.len()));
                text.replace_range(at..end, "");
            }
            3 => {
                let end = boundary(&text, (at + 1).min(text.len()));
                text.replace_range(at..end, rng.pick(TOKENS));
            }
            4 => {
                // Repeat or drop the line holding `at`.
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                let line = text[start..end].to_string();
                if rng.chance(50) {
                    text.insert_str(end, &line);
                } else {
                    text.replace_range(start..end, "");
                }
            }
            5 => text.truncate(at),
            _ => {
                let from = boundary(other, rng.below(other.len() + 1));
                let to = boundary(other, (from + rng.below(200)).min(other.len()));
                text.insert_str(at, &other[from..to]);
            }
        }
    }
    text
}

fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
