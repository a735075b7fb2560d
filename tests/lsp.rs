//! The language server, driven over stdio like an editor drives it.

mod common;

use common::lsp_client::{file_uri, position_of, LspClient};
use serde_json::{json, Value};

const MODULE: &str = "/// Database stages.

/// Runs the migrations up to `version`.
template stage migrate(version: string, dir: string = \"db\") {
  run \"./migrate ${dir} ${version}\"
  rollback { run \"./migrate down ${dir}\" }
}
";

const BROKEN: &str = "import \"./stages/db.deploy\" as db

/// The release to ship.
param version: string = \"1.0\"

environment production {
  hosts = [\"web-1\"]
  vars { url = \"http://127.0.0.1:8080\" }
}

/// Compiles the release.
stage build {
  run \"make ${version}\"
  rollback { run \"make clean\" }
}

stage migrate from db.migrate {
  needs   = [biuld]
  version = version
}

stage ship {
  needs = [migrate]
  target = production
  run \"./install ${version} ${host} ${env.url}\"
  rollback { run \"./uninstall ${host}\" }
}
";

fn codes(diagnostics: &Value) -> Vec<String> {
    diagnostics["diagnostics"]
        .as_array()
        .map(|all| all.iter().map(|d| d["code"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn language_server_end_to_end() {
    let test = common::Test::new().file("stages/db.deploy", MODULE).plan(BROKEN);
    let plan = test.path().join("release.deploy");
    let uri = file_uri(&plan);
    let module_uri = file_uri(&test.path().join("stages/db.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    let capabilities = client.initialize(&file_uri(test.path()));
    assert_eq!(capabilities["capabilities"]["renameProvider"]["prepareProvider"], json!(true));

    // A broken plan: the same code and span as `deploy check`.
    let published = client.open(&uri, BROKEN);
    assert_eq!(codes(&published), ["E0100"], "{published:#}");
    let diagnostic = &published["diagnostics"][0];
    let start = position_of(BROKEN, "biuld", 0);
    assert_eq!(diagnostic["range"]["start"], start);
    assert_eq!(diagnostic["range"]["end"]["character"], json!(start["character"].as_u64().unwrap_or(0) + 5));
    assert_eq!(diagnostic["severity"], json!(1));
    assert_eq!(diagnostic["source"], json!("deploy"));
    let check = test.run_with(&["check", "--format", "json", "release.deploy"]);
    assert!(check.stdout.contains("E0100"), "{}", check.stdout);
    let message = diagnostic["message"].as_str().unwrap_or_default();
    let first_line = message.lines().next().unwrap_or_default();
    assert!(check.stdout.contains(first_line), "LSP says {first_line:?}; check says {}", check.stdout);

    // Fixing it clears the diagnostics.
    let fixed = BROKEN.replace("[biuld]", "[build]");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": fixed }] }),
    );
    let cleared = client.diagnostics_for(&uri, |p| p["version"] == json!(2));
    assert_eq!(codes(&cleared), Vec::<String>::new(), "{cleared:#}");

    // An incremental change: `version` → `versio` in the run command makes E0100 again.
    let at = position_of(&fixed, "${version}", 0);
    let start = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap_or(0) + 8 });
    let end = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap_or(0) + 9 });
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "range": { "start": start, "end": end }, "text": "" }] }),
    );
    let again = client.diagnostics_for(&uri, |p| p["version"] == json!(3));
    assert_eq!(codes(&again), ["E0100"], "{again:#}");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 4 }, "contentChanges": [{ "text": fixed }] }),
    );
    client.diagnostics_for(&uri, |p| p["version"] == json!(4));

    // Hover on a reference shows the declaration and its doc comment.
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "build]", 0) }),
    );
    let hover_text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(hover_text.contains("stage build") && hover_text.contains("Compiles the release."), "{hover:#}");
    // ... and on a keyword, its documentation.
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "target", 0) }),
    );
    assert!(
        hover["contents"]["value"].as_str().unwrap_or_default().contains("fans")
            || hover["contents"]["value"].as_str().unwrap_or_default().contains("per host"),
        "{hover:#}"
    );

    // Go to definition across the import.
    let mut template = position_of(&fixed, "db.migrate", 0);
    template["character"] = json!(template["character"].as_u64().unwrap_or(0) + 4);
    let definition =
        client.request("textDocument/definition", json!({ "textDocument": { "uri": uri }, "position": template }));
    assert_eq!(definition["uri"], json!(module_uri), "{definition:#}");
    assert_eq!(definition["range"]["start"], position_of(MODULE, "migrate(", 0));
    // ... and within the file.
    let definition = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "migrate]", 0) }),
    );
    let mut expected = position_of(&fixed, "stage migrate", 0);
    expected["character"] = json!(6);
    assert_eq!(definition["range"]["start"], expected, "{definition:#}");

    // Completion inside `needs = [`.
    let with_needs = fixed.replace("  needs = [migrate]\n", "  needs = [mi\n");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 5 }, "contentChanges": [{ "text": with_needs }] }),
    );
    let mut at = position_of(&with_needs, "[mi\n", 0);
    at["character"] = json!(at["character"].as_u64().unwrap_or(0) + 3);
    let completion =
        client.request("textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": at }));
    let labels: Vec<&str> =
        completion.as_array().into_iter().flatten().filter_map(|item| item["label"].as_str()).collect();
    assert!(labels.contains(&"build") && labels.contains(&"migrate"), "{labels:?}");
    assert!(!labels.contains(&"ship"), "a stage does not need itself: {labels:?}");
    // Template arguments inside `from db.migrate { }`.
    let mut at = position_of(&with_needs, "  version = version", 0);
    at["character"] = json!(0);
    let completion =
        client.request("textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": at }));
    let labels: Vec<&str> =
        completion.as_array().into_iter().flatten().filter_map(|item| item["label"].as_str()).collect();
    assert!(labels.contains(&"dir") && labels.contains(&"needs"), "{labels:?}");
    // Environment vars inside `${env.`.
    let mut at = position_of(&with_needs, "${env.url}", 0);
    at["character"] = json!(at["character"].as_u64().unwrap_or(0) + 6);
    let completion =
        client.request("textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": at }));
    let labels: Vec<&str> =
        completion.as_array().into_iter().flatten().filter_map(|item| item["label"].as_str()).collect();
    assert!(labels.contains(&"url"), "{labels:?}");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 6 }, "contentChanges": [{ "text": fixed }] }),
    );

    // Formatting gives the text `deploy fmt` writes.
    let edits = client.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let formatted = edits[0]["newText"].as_str().unwrap_or_default().to_string();
    assert!(formatted.contains("  needs  = [migrate]\n  target = production\n"), "{formatted}");
    let fmt = common::Test::new().plan(&fixed).run_with(&["fmt", "release.deploy"]);
    assert_eq!(fmt.code, 0, "{}", fmt.stderr);

    // Rename a param everywhere in the file.
    let rename = client.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "version: string", 0), "newName": "release" }),
    );
    let edits = rename["changes"][uri.as_str()].as_array().cloned().unwrap_or_default();
    // The declaration, `make ${version}`, `version = version` (the value), `./install ${version}`.
    assert_eq!(edits.len(), 4, "{rename:#}");
    assert!(edits.iter().all(|e| e["newText"] == json!("release")));
    let refused = client.request_full(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "version: string", 0), "newName": "9x" }),
    );
    assert!(refused.get("error").is_some(), "{refused:#}");

    // Outline.
    let symbols = client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    let names: Vec<&str> = symbols.as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["db", "version", "production", "build", "migrate", "ship"]);

    // Malformed input never kills the server.
    client.send_raw("{ this is not json");
    let parse_error = client.wait_for(|m| m["id"].is_null() && m.get("error").is_some());
    assert_eq!(parse_error["error"]["code"], json!(-32700), "{parse_error:#}");
    let bad = client.request_full("textDocument/hover", json!({ "textDocument": 7 }));
    assert!(bad.get("error").is_some(), "{bad:#}");
    let unknown = client.request_full(
        "textDocument/hover",
        json!({ "textDocument": { "uri": "file:///nowhere.deploy" }, "position": { "line": 99, "character": 99 } }),
    );
    assert_eq!(unknown["result"], Value::Null);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": "untitled:Untitled-1", "languageId": "deploy", "version": 1, "text": "stage é { needs = [\"\u{1F680}\" ${ }" } }),
    );
    client.diagnostics_for("untitled:Untitled-1", |p| p["diagnostics"].as_array().is_some_and(|d| !d.is_empty()));
    let still = client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    assert!(still.is_array());

    assert_eq!(client.shutdown(), Some(0));
}

#[test]
fn diagnostics_in_an_imported_file_go_to_that_file() {
    let broken_module = MODULE.replace("run \"./migrate", "timeout = 5\n  run \"./migrate");
    let test = common::Test::new().file("stages/db.deploy", &broken_module).plan(&BROKEN.replace("biuld", "build"));
    let uri = file_uri(&test.path().join("release.deploy"));
    let module_uri = file_uri(&test.path().join("stages/db.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    let text = std::fs::read_to_string(test.path().join("release.deploy")).unwrap_or_default();
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "deploy", "version": 1, "text": text } }),
    );
    let in_module = client.diagnostics_for(&module_uri, |p| p["diagnostics"].as_array().is_some_and(|d| !d.is_empty()));
    assert!(codes(&in_module).contains(&"E0110".to_string()), "{in_module:#}");
    // The module, opened and fixed in the editor (not saved): the plan's check reads the open text.
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": module_uri, "languageId": "deploy", "version": 1, "text": MODULE } }),
    );
    client.diagnostics_for(&module_uri, |p| p["diagnostics"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(client.shutdown(), Some(0));
}

/// A file being typed (a stage left open, an unterminated list): hover,
/// go to definition, document symbols and completion answer from the
/// partial tree; rename refuses until the file parses.
#[test]
fn a_file_that_does_not_parse_still_answers() {
    let text = BROKEN.replace("biuld", "build")
        + "\nstage half {\n  needs = [ship\n  target = production\n\nstage after {\n  needs = [build]\n  run \"x\"\n}\n";
    let test = common::Test::new().file("stages/db.deploy", MODULE).plan(&text);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    let published = client.open(&uri, &text);
    // The syntax error, and the checker's word on the items that parse:
    // `after` (past the broken stage) has no rollback; nothing is said of
    // the half-typed stage itself.
    assert_eq!(codes(&published), ["E0001", "W0001"], "{published:#}");
    let warning = &published["diagnostics"][1];
    assert!(warning["message"].as_str().is_some_and(|m| m.contains("`after`")), "{published:#}");
    let document = json!({ "uri": uri });

    // `build` in the stage after the broken one: its definition and hover.
    let at = position_of(&text, "needs = [build]", 0);
    let on_build = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap_or(0) + 10 });
    let definition =
        client.request("textDocument/definition", json!({ "textDocument": document, "position": on_build }));
    assert_eq!(definition["range"]["start"], position_of(&text, "build {", 0), "{definition:#}");
    let hover = client.request("textDocument/hover", json!({ "textDocument": document, "position": on_build }));
    assert!(hover["contents"]["value"].as_str().is_some_and(|v| v.contains("Compiles the release")), "{hover:#}");

    // The outline has every stage, the half-typed one included.
    let symbols = client.request("textDocument/documentSymbol", json!({ "textDocument": document }));
    let names: Vec<&str> = symbols.as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    for stage in ["build", "migrate", "ship", "half", "after"] {
        assert!(names.contains(&stage), "{stage} missing from {names:?}");
    }

    // Completion inside the open `needs = [` offers the stages.
    let at = position_of(&text, "[ship", 0);
    let inside = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap_or(0) + 1 });
    let items = client.request("textDocument/completion", json!({ "textDocument": document, "position": inside }));
    let labels: Vec<&str> = items.as_array().into_iter().flatten().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"after") && labels.contains(&"build"), "{labels:?}");

    let rename = client.request_full(
        "textDocument/rename",
        json!({ "textDocument": document, "position": on_build, "newName": "compile" }),
    );
    assert!(rename.get("error").is_some(), "{rename:#}");

    // A keystroke that keeps the syntax error and brings back `biuld`: the
    // unknown stage is reported with it, as `deploy check` reports both.
    let typo = BROKEN.to_string() + "\nstage half {\n  needs = [ship\n";
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": typo }] }),
    );
    let both = client.diagnostics_for(&uri, |p| p["version"] == json!(2));
    assert_eq!(codes(&both), ["E0100", "E0001"], "{both:#}");
    std::fs::write(test.path().join("release.deploy"), &typo).unwrap_or_default();
    let check = test.run_with(&["check", "--format", "json", "release.deploy"]);
    let report: Value = serde_json::from_str(&check.stdout).unwrap_or_default();
    let mut from_check: Vec<&str> =
        report["diagnostics"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str()).collect();
    from_check.sort_unstable();
    assert_eq!(from_check, ["E0001", "E0100"], "{}", check.stdout);
    assert_eq!(client.shutdown(), Some(0));
}

/// A plan with the SSH transport, inventories, uploads, file and command
/// secrets, per-environment secrets, per-host values, timeouts, `watch` and
/// a traffic canary through a std router.
const FLEET: &str = "import \"std/nginx\" as nginx

pipeline \"shop\" {
  step_timeout = 45m
  watch {
    branch = \"main\"
  }
}

secret token = file(\"token.txt\")

environment production {
  transport = ssh
  hosts = [{ name = \"web-1\"  address = \"127.0.0.1\"  zone = \"eu\" }, \"web-2\"]
  ssh {
    user = \"deploy\"
    strict_host_keys = yes
    connect_timeout = 5s
  }
  vars { region = \"eu-west\" }
  secrets { db = command(\"pass show db\") }
}

environment fleet {
  hosts = inventory(\"inventory.ini\", \"web\")
}

stage router from nginx.split {
  config = \"/srv/nginx/canary.conf\"
  stable = \"127.0.0.1:8081\"
  canary = \"127.0.0.1:8082\"
}

gate compare {
  wait = 1s
}

stage web {
  target = production
  timeout = none
  strategy canary {
    steps = [50%, 100%]
    traffic = router
    retire { run \"./remove ${previous_version}\" }
  }
  upload \"dist/\" to \"/srv/app/\"
  run \"./install ${version} ${host.zone} ${db} ${token}\"
  rollback { run \"./remove ${version}\" }
}
";

/// The position `delta` bytes after the `nth` occurrence of `needle` starts.
fn position_after(text: &str, needle: &str, nth: usize, delta: usize) -> Value {
    let mut at = position_of(text, needle, nth);
    at["character"] = json!(at["character"].as_u64().unwrap_or(0) + delta as u64);
    at
}

fn labels(completion: &Value) -> Vec<String> {
    completion.as_array().into_iter().flatten().filter_map(|i| i["label"].as_str().map(str::to_string)).collect()
}

#[test]
fn completion_and_hover_know_transports_secrets_hosts_and_traffic_canaries() {
    let test = common::Test::new().plan(FLEET);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    client.open(&uri, FLEET);
    let document = json!({ "uri": uri });
    let mut complete = |needle: &str, delta: usize| {
        let position = position_after(FLEET, needle, 0, delta);
        labels(&client.request("textDocument/completion", json!({ "textDocument": document, "position": position })))
    };
    let has = |labels: &[String], wanted: &[&str]| wanted.iter().all(|w| labels.iter().any(|l| l == w));

    let words = complete("transport = ssh", 15);
    assert!(has(&words, &["local", "ssh"]), "{words:?}");
    let words = complete("    user = \"deploy\"", 0);
    let ssh_keys =
        ["config", "user", "port", "identity", "jump", "known_hosts", "strict_host_keys", "connect_timeout", "dir"];
    assert!(has(&words, &ssh_keys), "{words:?}");
    assert!(!words.iter().any(|w| w == "hosts"), "environment entries are not ssh keys: {words:?}");
    let words = complete("strict_host_keys = yes", 22);
    assert!(has(&words, &["yes", "accept-new"]), "{words:?}");
    let words = complete("inventory(", 3);
    assert!(has(&words, &["inventory"]), "{words:?}");
    let words = complete("  hosts = [{", 0);
    assert!(has(&words, &["transport", "ssh", "secrets", "hosts", "vars"]), "{words:?}");
    let words = complete("file(\"token", 2);
    assert!(has(&words, &["env", "file", "command"]), "{words:?}");
    let words = complete("command(\"pass", 3);
    assert!(has(&words, &["env", "file", "command"]), "{words:?}");
    let words = complete("    branch", 0);
    assert!(has(&words, &["branch", "every", "repo"]), "{words:?}");
    let words = complete("step_timeout = 45m", 18);
    assert!(has(&words, &["none"]), "{words:?}");
    let words = complete("timeout = none", 12);
    assert!(has(&words, &["none"]), "{words:?}");
    let words = complete("  upload", 0);
    assert!(has(&words, &["upload", "run", "strategy", "timeout"]), "{words:?}");
    let words = complete("\"dist/\" to", 10);
    assert!(has(&words, &["to"]), "{words:?}");
    let words = complete("    traffic", 0);
    assert!(has(&words, &["steps", "traffic", "analysis", "keep_previous", "retire"]), "{words:?}");
    let words = complete("traffic = router", 16);
    assert_eq!(words, ["router"], "only stages made from a template with a weight route traffic");
    let words = complete("${host.zone}", 8);
    assert!(has(&words, &["name", "address", "zone", "region"]), "{words:?}");
    let words = complete("${db}", 3);
    assert!(has(&words, &["db", "token", "version", "host"]), "{words:?}");

    let hover = |client: &mut LspClient, needle: &str, delta: usize| {
        let position = position_after(FLEET, needle, 0, delta);
        let hover = client.request("textDocument/hover", json!({ "textDocument": document, "position": position }));
        hover["contents"]["value"].as_str().unwrap_or_default().to_string()
    };
    let cases: &[(&str, usize, &str)] = &[
        ("transport = ssh", 1, "SSH destination"),
        ("connect_timeout", 1, "10s"),
        ("inventory(", 1, "Ansible"),
        ("upload \"dist", 1, "atomically"),
        ("command(\"pass", 1, "stdout"),
        ("file(\"token", 1, "trailing newline"),
        ("secrets {", 1, "only the stages"),
        ("step_timeout", 1, "30m"),
        ("none", 1, "no time limit"),
        ("watch {", 1, "deploy watch"),
        ("branch =", 1, "new commits"),
        ("traffic = router", 1, "weight"),
        ("retire {", 1, "previous version"),
        ("${host.zone}", 8, "set by `web-1` (production)"),
        ("${db}", 2, "db = command(\"pass show db\")"),
    ];
    for (needle, delta, wanted) in cases {
        let text = hover(&mut client, needle, *delta);
        assert!(text.contains(wanted), "hover on {needle:?}: {text:?} lacks {wanted:?}");
    }

    // The environment's secret is a definition: go to it from `${db}`.
    let definition = client.request(
        "textDocument/definition",
        json!({ "textDocument": document, "position": position_after(FLEET, "${db}", 0, 2) }),
    );
    assert_eq!(definition["range"]["start"], position_of(FLEET, "db = command", 0), "{definition:#}");
    assert_eq!(client.shutdown(), Some(0));
}

/// A plan whose names are also used in Rhai snippets and `${}`.
const SCRIPTED: &str = "param replicas: int = 2

environment production {
  hosts = [\"web-1\"]
  vars { url = \"http://127.0.0.1:8080\" }
}

stage build {
  when = `replicas > 1 && env_var(\"replicas\") != \"\"`
  run \"make ${replicas}\"
  irreversible = \"builds\"
}

stage ship {
  needs = [build]
  target = production
  script ```rhai
    // replicas and env.url in a comment stay
    let r = http::get(env.url + \"/scale/\" + replicas);
    log(`scaled to ${replicas} at ${env.url}`);
  ```
  run \"./install ${env.url}\"
  irreversible = \"ships\"
}
";

/// Applies the text edits of a rename (all on one line each, none overlapping).
fn apply_edits(text: &str, edits: &[Value]) -> String {
    let mut offsets: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|edit| {
            let offset = |position: &Value| {
                let line = position["line"].as_u64().unwrap_or(0) as usize;
                let character = position["character"].as_u64().unwrap_or(0) as usize;
                text.split_inclusive('\n').take(line).map(str::len).sum::<usize>() + character
            };
            let new_text = edit["newText"].as_str().unwrap_or_default().to_string();
            (offset(&edit["range"]["start"]), offset(&edit["range"]["end"]), new_text)
        })
        .collect();
    offsets.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut out = text.to_string();
    for (start, end, new_text) in offsets {
        out.replace_range(start..end, &new_text);
    }
    out
}

/// Rename reaches into Rhai snippets and `${}` (not comments or strings),
/// and refuses a name that is taken or reserved, saying why.
#[test]
fn rename_renames_uses_in_scripts_and_refuses_taken_or_reserved_names() {
    let test = common::Test::new().plan(SCRIPTED);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    let published = client.open(&uri, SCRIPTED);
    assert_eq!(codes(&published), Vec::<String>::new(), "{published:#}");
    let rename = |client: &mut LspClient, needle: &str, new_name: &str| {
        client.request_full(
            "textDocument/rename",
            json!({ "textDocument": { "uri": uri }, "position": position_of(SCRIPTED, needle, 0), "newName": new_name }),
        )
    };

    // The param: declaration, `when`, `${replicas}` in run, the script's
    // code and its backtick string's `${}`; not the comment nor "replicas".
    let renamed = rename(&mut client, "replicas: int", "instances");
    let edits = renamed["result"]["changes"][uri.as_str()].as_array().cloned().unwrap_or_default();
    let after = apply_edits(SCRIPTED, &edits);
    assert_eq!(edits.len(), 5, "{renamed:#}\n{after}");
    assert!(after.contains("`instances > 1 && env_var(\"replicas\") != \"\"`"), "{after}");
    assert!(after.contains("// replicas and env.url in a comment stay"), "{after}");
    assert!(after.contains("\"/scale/\" + instances)") && after.contains("`scaled to ${instances}"), "{after}");
    std::fs::write(test.path().join("release.deploy"), &after).unwrap_or_default();
    let check = test.run_with(&["check", "release.deploy"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    // The environment's var: `vars { url }`, `env.url` in the script (twice) and `${env.url}`.
    let renamed = rename(&mut client, "url =", "endpoint");
    let edits = renamed["result"]["changes"][uri.as_str()].as_array().cloned().unwrap_or_default();
    let after = apply_edits(SCRIPTED, &edits);
    assert_eq!(edits.len(), 4, "{renamed:#}\n{after}");
    assert!(after.contains("env.endpoint + \"/scale/\"") && after.contains("at ${env.endpoint}`"), "{after}");
    assert!(after.contains("./install ${env.endpoint}"), "{after}");

    // A stage: its declaration and `needs`.
    let renamed = rename(&mut client, "build {", "compile");
    let edits = renamed["result"]["changes"][uri.as_str()].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 2, "{renamed:#}");

    // Refused, with the reason: a taken name, a built-in, a keyword, a Rhai word.
    for (needle, new_name, reason) in [
        ("build {", "ship", "already the name of a stage"),
        ("replicas: int", "version", "built-in name"),
        ("replicas: int", "stage", "keyword"),
        ("replicas: int", "let", "Rhai keyword"),
    ] {
        let refused = rename(&mut client, needle, new_name);
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{new_name}: {refused:#}");
    }
    assert_eq!(client.shutdown(), Some(0));
}

/// Completion of import paths (the stdlib's modules, the files beside the
/// plan) and hover on a template (its parameters one per line).
#[test]
fn import_paths_complete_and_template_hover_lists_parameters() {
    let text = "import \"std/\nimport \"./\n\nstage migrate from db.migrate {\n  version = \"1\"\n}\n";
    let test =
        common::Test::new().file("stages/db.deploy", MODULE).file("other.deploy", "param x: int = 1\n").plan(text);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "deploy", "version": 1, "text": text } }),
    );
    let complete = |client: &mut LspClient, line: u32, character: u32| -> Vec<Value> {
        let items = client.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } }),
        );
        items.as_array().cloned().unwrap_or_default()
    };
    let std = complete(&mut client, 0, 12);
    let labels: Vec<&str> = std.iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"std/http") && labels.contains(&"std/nginx"), "{labels:?}");
    assert!(!labels.iter().any(|l| l.starts_with("./")), "{labels:?}");
    // Each replaces what is typed of the path (`std/`, from after the quote).
    let edit = &std[0]["textEdit"];
    assert_eq!(edit["range"]["start"], json!({ "line": 0, "character": 8 }), "{edit:#}");
    assert_eq!(edit["range"]["end"], json!({ "line": 0, "character": 12 }), "{edit:#}");

    let files = complete(&mut client, 1, 10);
    let labels: Vec<&str> = files.iter().filter_map(|i| i["label"].as_str()).collect();
    assert_eq!(labels, ["./other.deploy", "./stages/"], "{files:#?}");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": text.replace("\"./\n", "\"./stages/\n") }] }),
    );
    let nested = complete(&mut client, 1, 17);
    let labels: Vec<&str> = nested.iter().filter_map(|i| i["label"].as_str()).collect();
    assert_eq!(labels, ["./stages/db.deploy"], "{nested:#?}");

    // Hover on the template of a `from`: its parameters one per line.
    let fixed = "import \"./stages/db.deploy\" as db\n\nstage migrate from db.migrate {\n  version = \"1\"\n}\n";
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "text": fixed }] }),
    );
    let at = position_of(fixed, "db.migrate", 0);
    let on_template = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap_or(0) + 4 });
    let hover =
        client.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": on_template }));
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(value.contains("template stage migrate(\n  version: string,\n  dir: string = \"db\",\n)"), "{value}");
    assert_eq!(client.shutdown(), Some(0));
}

/// Go to definition into the stdlib: a template of `std/http`, and the
/// import's path, open the module's read-only copy under the cache
/// directory, which holds the text embedded in the binary.
#[test]
fn definition_into_the_stdlib_opens_a_read_only_copy() {
    let plan = "import \"std/http\" as http\n\nstage up {\n  run \"true\"\n}\n\ngate ok from http.healthy {\n  url = \"http://127.0.0.1:1\"\n}\n";
    let test = common::Test::new().plan(plan);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    client.open(&uri, plan);
    let copy = test.path().join(".cache/deploy/std").join(env!("CARGO_PKG_VERSION")).join("http.deploy");
    let module = deploy::stdlib::module("std/http").unwrap_or_default();

    let definition = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(plan, "healthy", 0) }),
    );
    assert_eq!(definition["uri"], json!(file_uri(&copy)), "{definition:#}");
    assert_eq!(definition["range"]["start"], position_of(module, "healthy(", 0), "{definition:#}");
    assert_eq!(std::fs::read_to_string(&copy).unwrap_or_default(), module);
    let permissions = std::fs::metadata(&copy).map(|m| m.permissions());
    assert!(permissions.is_ok_and(|p| p.readonly()), "the copy is read-only");

    // From the import's path: the module itself. A stale copy is rewritten.
    std::fs::remove_file(&copy).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&copy, "stale").unwrap_or_else(|e| panic!("{e}"));
    let definition = client.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(plan, "std/http", 0) }),
    );
    assert_eq!(definition["uri"], json!(file_uri(&copy)), "{definition:#}");
    assert_eq!(std::fs::read_to_string(&copy).unwrap_or_default(), module);
}

/// Semantic tokens: names typed by what they name (from the index), and
/// from the lexer comments, keywords, numbers and strings, the latter split
/// around the names in their `${}`.
#[test]
fn semantic_tokens_cover_names_comments_strings_numbers_and_keywords() {
    let plan =
        "param version: string = \"1\"\n\n// Builds it.\nstage build {\n  run \"make ${version}\"\n  timeout = 5m\n}\n";
    let test = common::Test::new().plan(plan);
    let uri = file_uri(&test.path().join("release.deploy"));
    let mut client = LspClient::start(common::binary(), test.path());
    client.initialize(&file_uri(test.path()));
    client.open(&uri, plan);
    let tokens = client.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } }));
    let data: Vec<u64> =
        tokens["data"].as_array().map(|d| d.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
    // Decoded into (line, character, length, type).
    let (mut line, mut character) = (0, 0);
    let mut decoded = Vec::new();
    for chunk in data.chunks(5) {
        let [delta_line, delta_start, length, kind, _] = chunk else { panic!("{data:?}") };
        character = if *delta_line == 0 { character + delta_start } else { *delta_start };
        line += delta_line;
        decoded.push((line, character, *length, *kind));
    }
    let at = |needle: &str, length: u64, kind: u64| {
        let position = position_of(plan, needle, 0);
        let wanted =
            (position["line"].as_u64().unwrap_or(0), position["character"].as_u64().unwrap_or(0), length, kind);
        assert!(decoded.contains(&wanted), "no {needle:?} as {wanted:?} in {decoded:?}");
    };
    at("param", 5, 10);
    at("version:", 7, 2);
    at("// Builds it.", 13, 7);
    at("stage", 5, 10);
    at("build", 5, 0);
    at("\"make ", 6, 8);
    at("version}", 7, 2);
    at("\"\n  timeout", 1, 8);
    at("5m", 2, 9);
}
