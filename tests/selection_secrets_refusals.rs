//! What a team meets on its first day, through the real binary: choosing
//! environments and hosts at run time, per-host values, secrets from files
//! and commands, and the warnings and refusals that prevent silent surprises.

mod common;

use common::{Output, Test};
use serde_json::Value;

fn test() -> Test {
    Test::new().env("DEPLOY_KILL_GRACE_MS", "200")
}

fn lines(output: &Output) -> Vec<String> {
    output
        .events()
        .iter()
        .filter(|e| e["type"] == "step_output")
        .map(|e| format!("{} {}", e["node"].as_str().unwrap_or(""), e["line"].as_str().unwrap_or("")))
        .collect()
}

fn skipped(output: &Output) -> Vec<(String, String)> {
    output
        .events()
        .iter()
        .filter(|e| e["type"] == "node_skipped")
        .map(|e| (e["node"].as_str().unwrap_or("").to_string(), e["reason"].as_str().unwrap_or("").to_string()))
        .collect()
}

const TWO_ENVIRONMENTS: &str = r#"
pipeline "shop" {}
environment staging { hosts = ["stg-1"] }
environment production {
  hosts = ["web-1", "web-2", "db-1"]
}
stage build { run "echo built"  irreversible = "test" }
stage stage_rollout { needs = [build]  target = staging  run "echo on ${host}"  rollback { run "echo undo ${host}" } }
gate smoke { needs = [stage_rollout]  wait = 1ms }
stage prod_rollout { needs = [smoke]  target = production  run "echo on ${host}"  rollback { run "echo undo ${host}" } }
"#;

#[test]
fn env_runs_only_the_selected_environment_and_records_the_rest_as_skipped() {
    let test = test().plan(TWO_ENVIRONMENTS);
    let output = test.run_with(&["run", "release.deploy", "--env", "production", "--json"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let ran = lines(&output);
    assert!(ran.contains(&"build built".to_string()), "{ran:?}");
    assert!(ran.contains(&"prod_rollout on web-1".to_string()), "{ran:?}");
    assert!(!ran.iter().any(|l| l.starts_with("stage_rollout")), "{ran:?}");
    let skipped = skipped(&output);
    assert!(
        skipped.iter().any(|(node, why)| node == "stage_rollout" && why.contains("--env production")),
        "{skipped:?}"
    );
    let started = output.events().into_iter().find(|e| e["type"] == "run_started").unwrap_or(Value::Null);
    assert_eq!(started["environments"], serde_json::json!(["production"]));
    let history = test.run_with(&["history", "--json"]);
    assert!(history.stdout.contains("production"), "{}", history.stdout);
    let logs = test.run_with(&["logs"]);
    assert!(logs.stdout.contains("skipped"), "{}", logs.stdout);

    let plan = test.run_with(&["plan", "release.deploy", "--env", "production"]);
    assert!(plan.stdout.contains("skipped: targets staging, not selected by --env production"), "{}", plan.stdout);

    let unknown = test.run_with(&["run", "release.deploy", "--env", "prodution"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("E0134"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("did you mean `production`?"), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("staging, production"), "{}", unknown.stderr);
}

#[test]
fn limit_runs_on_the_intersection_and_resume_stays_within_it() {
    let plan = r#"
pipeline "shop" {}
environment production { hosts = ["web-1", "web-2", "db-1"] }
stage ship { target = production  run "echo on ${host}"  rollback { run "echo undo ${host}" } }
gate go { needs = [ship]  approve "go on?" }
stage after { needs = [go]  target = production  run "echo after ${host}"  rollback { run "echo undo-after ${host}" } }
"#;
    let test = test().plan(plan);
    let preview = test.run_with(&["plan", "release.deploy", "--limit", "web-*"]);
    assert!(preview.stdout.contains("hosts: web-1 (local), web-2 (local)"), "{}", preview.stdout);
    assert!(!preview.stdout.contains("[db-1]"), "{}", preview.stdout);

    let first = test.run_with(&["run", "release.deploy", "--limit", "web-*", "--json"]);
    assert_eq!(first.code, 3, "paused at the approval: {}{}", first.stdout, first.stderr);
    let mut ran = lines(&first);
    ran.sort();
    assert_eq!(ran, vec!["ship on web-1".to_string(), "ship on web-2".to_string()]);
    assert!(!ran.iter().any(|l| l.contains("db-1")), "{ran:?}");

    let resumed = test.run_with(&["resume", "--yes", "--json"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    let after = lines(&resumed);
    assert!(after.contains(&"after after web-1".to_string()), "{after:?}");
    assert!(!after.iter().any(|l| l.contains("db-1")), "resume left the limit: {after:?}");

    let rollback = test.run_with(&["rollback", "release.deploy", "--to", "v0", "--json"]);
    let undone = lines(&rollback);
    assert!(undone.iter().any(|l| l.contains("undo")), "{}{}", rollback.stdout, rollback.stderr);
    assert!(!undone.iter().any(|l| l.contains("db-1")), "rollback left the limit: {undone:?}");

    let unknown = test.run_with(&["run", "release.deploy", "--limit", "web-9"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("`--limit web-9` matches no host"), "{}", unknown.stderr);
}

#[test]
fn per_host_values_override_the_environment_and_are_checked() {
    let plan = r#"
pipeline "shop" {}
environment production {
  hosts = ["web-1", { name = "web-2"  weight = 3  port = 8081 }]
  vars { weight = 1  port = 8080 }
}
stage ship { target = production  run "echo ${host} ${host.weight} ${host.port} ${host.address}"  irreversible = "test" }
"#;
    let output = test().plan(plan).run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    let ran = lines(&output);
    assert!(ran.contains(&"ship web-1 1 8080 web-1".to_string()), "{ran:?}");
    assert!(ran.contains(&"ship web-2 3 8081 web-2".to_string()), "{ran:?}");

    let misspelt = plan.replace("${host.weight}", "${host.wieght}");
    let checked = test().plan(&misspelt).run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 1);
    assert!(checked.stderr.contains("E0100"), "{}", checked.stderr);
    assert!(checked.stderr.contains("did you mean `host.weight`?"), "{}", checked.stderr);
}

#[test]
fn secrets_from_files_and_commands_are_redacted_everywhere() {
    let plan = r#"
pipeline "shop" {}
secret token = file("secrets/token.txt")
secret db = command("sh get-db.sh")
environment staging { hosts = ["stg-1"]  secrets { api = command("sh key.sh staging") } }
environment production { hosts = ["web-1"]  secrets { api = command("sh key.sh prod") } }
stage a { target = staging  run "echo ${token} ${db} ${api}"  irreversible = "test" }
stage b { needs = [a]  target = production  run "echo ${api}"  irreversible = "test" }
"#;
    let test = test()
        .plan(plan)
        .file("secrets/token.txt", "file-s3cr3t\n")
        .file("get-db.sh", "printf 'cmd-s3cr3t\\n'\n")
        .file("key.sh", "[ \"$1\" = prod ] && touch prod-ran\necho \"$1-api-key\"\n");
    let path = test.path().join("secrets/token.txt");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap_or_default();
    let output = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert!(output.stderr.contains("W0011"), "readable file warned: {}", output.stderr);
    for secret in ["file-s3cr3t", "cmd-s3cr3t", "staging-api-key", "prod-api-key"] {
        assert!(!output.stdout.contains(secret), "{secret} leaked: {}", output.stdout);
        assert!(!output.stderr.contains(secret), "{secret} leaked: {}", output.stderr);
    }
    assert!(lines(&output).contains(&"a *** *** ***".to_string()), "{:?}", lines(&output));
    let logs = test.run_with(&["logs", "--json"]);
    let db = std::fs::read(test.path().join(".deploy/state.db")).unwrap_or_default();
    for secret in ["file-s3cr3t", "cmd-s3cr3t", "prod-api-key"] {
        assert!(!logs.stdout.contains(secret), "{secret} in the journal");
        assert!(!String::from_utf8_lossy(&db).contains(secret), "{secret} in the state file");
    }

    // Only the selected environment's secret commands run.
    let marker = test.path().join("prod-ran");
    assert!(marker.exists(), "the production run read production's secret");
    std::fs::remove_file(&marker).unwrap_or_default();
    let staging_only = test.run_with(&["run", "release.deploy", "--env", "staging"]);
    assert_eq!(staging_only.code, 0, "{}", staging_only.stderr);
    assert!(!marker.exists(), "production's secret command ran for a staging run");
}

#[test]
fn checking_and_previewing_a_plan_runs_no_secret_command_and_reads_no_secret_file() {
    let plan = r#"
pipeline "shop" {}
secret db = command("sh vault.sh db")
secret token = file("secrets/token.txt")
environment production { hosts = ["web-1"]  secrets { api = command("sh vault.sh api") } }
stage a { target = production  run "echo ${db} ${token} ${api}"  irreversible = "test" }
"#;
    let test = test().plan(plan).file("vault.sh", "touch \"ran-$1\"; echo \"$1-s3cr3t\"\n");
    for args in [
        &["check", "release.deploy"][..],
        &["check", "release.deploy", "--format", "json"][..],
        &["graph", "release.deploy"][..],
        &["plan", "release.deploy"][..],
        &["plan", "release.deploy", "--format", "json"][..],
    ] {
        let output = test.run_with(args);
        assert_eq!(output.code, 0, "{args:?}: {}{}", output.stdout, output.stderr);
        for marker in ["ran-db", "ran-api"] {
            assert!(!test.path().join(marker).exists(), "`deploy {}` ran a secret command", args.join(" "));
        }
        assert!(!output.stdout.contains("s3cr3t") && !output.stderr.contains("s3cr3t"), "{args:?}");
        // The secret file does not exist: reading it would have been an error.
        assert!(!output.stderr.contains("token.txt"), "{args:?} read the secret file: {}", output.stderr);
    }
}

#[test]
fn a_failing_secret_command_stops_the_run_before_anything_runs() {
    let plan = r#"
pipeline "shop" {}
secret db = command("sh vault.sh")
secret slow = command("sleep 5", 200ms)
stage a { run "touch ran"  irreversible = "test" }
"#;
    let test = test().plan(plan).file("vault.sh", "echo leaked-stdout; echo 'vault: permission denied' >&2; exit 7\n");
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 1, "{}{}", output.stdout, output.stderr);
    assert!(output.stderr.contains("E0133"), "{}", output.stderr);
    assert!(output.stderr.contains("exited with 7"), "{}", output.stderr);
    assert!(output.stderr.contains("vault: permission denied"), "{}", output.stderr);
    assert!(output.stderr.contains("did not finish within 200ms"), "{}", output.stderr);
    assert!(!output.stderr.contains("leaked-stdout") && !output.stdout.contains("leaked-stdout"));
    assert!(!test.path().join("ran").exists());
}

#[test]
fn ssh_looking_hosts_on_the_local_transport_are_warned_and_refused_under_strict() {
    let plan = r#"
environment production { hosts = ["deploy@web-1", "web-2:22", "10.0.0.5", "web-3"] }
stage ship { target = production  run "echo ${host}"  irreversible = "test" }
"#;
    let test = test().plan(plan);
    let checked = test.run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert_eq!(checked.stderr.matches("W0010").count(), 3, "{}", checked.stderr);
    assert!(checked.stderr.contains("on the local transport"), "{}", checked.stderr);
    assert!(!checked.stderr.contains("`web-3`"), "{}", checked.stderr);
    let strict = test.run_with(&["check", "--strict", "release.deploy"]);
    assert_eq!(strict.code, 1);
    let plan = test.run_with(&["plan", "release.deploy"]);
    assert!(plan.stdout.contains("deploy@web-1 (local)"), "{}", plan.stdout);
}

#[test]
fn an_empty_or_truncated_state_file_is_refused_and_left_untouched() {
    let plan = "stage a { run \"echo a\"  irreversible = \"test\" }\n";
    let test = test().plan(plan).file(".deploy/state.db", "");
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("empty"), "{}", output.stderr);
    assert!(output.stderr.contains("to start a new history on purpose"), "{}", output.stderr);
    let state = test.path().join(".deploy/state.db");
    assert_eq!(std::fs::metadata(&state).map(|m| m.len()).unwrap_or(1), 0, "file untouched");

    std::fs::remove_file(&state).unwrap_or_default();
    assert_eq!(test.run_with(&["run", "release.deploy"]).code, 0);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(test.path().join(format!(".deploy/state.db{suffix}")));
    }
    let length = std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0);
    let file = std::fs::OpenOptions::new().write(true).open(&state);
    if let Ok(file) = file {
        file.set_len(length / 2).unwrap_or_default();
    }
    let status = test.run_with(&["status"]);
    assert_eq!(status.code, 1, "{}", status.stdout);
    // SQLite itself finds the missing pages ("malformed") when the header
    // does not count them; either way the message says how to start anew.
    assert!(status.stderr.contains("truncated") || status.stderr.contains("malformed"), "{}", status.stderr);
    assert!(status.stderr.contains("move it away"), "{}", status.stderr);
    assert_eq!(std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0), length / 2);
}

#[test]
fn a_gate_decided_by_a_stage_that_names_host_is_refused_at_check_time() {
    let plan = r#"
import "std/http" as http
environment production { hosts = ["web-1", "web-2"]  vars { url = "http://127.0.0.1:9" } }
stage ship {
  target = production
  strategy canary { steps = [50%, 100%]  analysis = smoke }
  run "echo ${host}"
  irreversible = "test"
}
gate smoke from http.healthy { url = "http://${host}/health" }
"#;
    let test = test().plan(plan);
    let checked = test.run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 1);
    assert!(checked.stderr.contains("E0130"), "{}", checked.stderr);
    let ran = test.run_with(&["run", "release.deploy"]);
    assert_eq!(ran.code, 1, "run agrees with check: {}", ran.stderr);

    // The suggested fix: the environment's var is known where the gate is decided.
    let fixed = test.file("release.deploy", plan.replace("http://${host}/health", "${env.url}/health"));
    let checked = fixed.run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);

    let when = plan
        .replace("http://${host}/health", "${env.url}/health")
        .replace("gate smoke from http.healthy {", "gate smoke from http.healthy {\n  when = `true`");
    let checked = fixed.file("release.deploy", when).run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 1);
    assert!(checked.stderr.contains("E0131"), "{}", checked.stderr);
}

#[test]
fn a_gate_without_environment_gets_one_hint_that_does_not_contradict_e0118() {
    let plan = r#"
gate smoke { check every 1s within 2s `true`  approve "${env.url}" }
"#;
    let checked_string = test().plan(plan).run_with(&["check", "release.deploy"]);
    assert!(checked_string.stderr.contains("E0100"), "{}", checked_string.stderr);
    assert!(!checked_string.stderr.contains("give it `target = ENV`"), "{}", checked_string.stderr);
    assert!(checked_string.stderr.contains("make it need a stage that has a `target`"), "{}", checked_string.stderr);
}

#[test]
fn a_param_named_like_a_rhai_keyword_is_reported_once_at_its_declaration() {
    let plan = r#"
param case: string = "a"
stage a { when = `case == "a"`  script `log(case)`  irreversible = "test" }
"#;
    let checked = test().plan(plan).run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 1);
    assert_eq!(checked.stderr.matches("E0132").count(), 1, "{}", checked.stderr);
    assert!(!checked.stderr.contains("E0115"), "{}", checked.stderr);
    assert!(checked.stderr.contains("case_name"), "{}", checked.stderr);
}

#[test]
fn set_accepts_every_bool_spelling_in_any_case() {
    let plan = r#"
param flag: bool = false
stage a { run "echo flag=${flag}"  irreversible = "test" }
"#;
    let test = test().plan(plan);
    for (given, expected) in [
        ("TRUE", "true"),
        ("on", "true"),
        ("Yes", "true"),
        ("1", "true"),
        ("OFF", "false"),
        ("no", "false"),
        ("0", "false"),
        ("False", "false"),
    ] {
        let output = test.run_with(&["run", "release.deploy", "--set", &format!("flag={given}"), "--json"]);
        assert_eq!(output.code, 0, "{given}: {}", output.stderr);
        assert!(lines(&output).contains(&format!("a flag={expected}")), "{given}: {:?}", lines(&output));
    }
    let bad = test.run_with(&["plan", "release.deploy", "--set", "flag=maybe"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("true/false, yes/no, on/off, 1/0"), "{}", bad.stderr);
}

#[test]
fn shell_expansion_in_a_step_gets_the_escape_as_its_hint() {
    let test = test().plan("stage a { run \"echo ${PORT:-8080}\"  irreversible = \"test\" }\n");
    let checked = test.run_with(&["check", "release.deploy"]);
    assert_eq!(checked.code, 1);
    assert!(checked.stderr.contains("`${PORT:-8080}` is shell parameter expansion"), "{}", checked.stderr);
    assert!(checked.stderr.contains(r"write `\"), "{}", checked.stderr);
    let escaped = test.file("release.deploy", "stage a { run \"echo \\${PORT:-8080}\"  irreversible = \"test\" }\n");
    let output = escaped.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(lines(&output).contains(&"a 8080".to_string()), "{:?}", lines(&output));
}

#[test]
fn stages_get_a_default_timeout_unless_they_opt_out() {
    let plan = r#"
pipeline "p" { step_timeout = 300ms }
stage slow { run "sleep 5"  irreversible = "test" }
"#;
    let test = test().plan(plan);
    let started = std::time::Instant::now();
    let output = test.run_with(&["run", "release.deploy", "--json"]);
    assert_ne!(output.code, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "the default timeout did not apply");
    let preview = test.file("release.deploy", "stage a { run \"true\"  irreversible = \"test\" }\n");
    let plan_output = preview.run_with(&["plan", "release.deploy"]);
    assert!(plan_output.stdout.contains("timeout 30m"), "{}", plan_output.stdout);
    assert!(!plan_output.stdout.contains("unbounded"), "{}", plan_output.stdout);
    let opted_out =
        preview.file("release.deploy", "stage a { run \"true\"  timeout = none  irreversible = \"test\" }\n");
    let plan_output = opted_out.run_with(&["plan", "release.deploy"]);
    assert!(plan_output.stdout.contains("unbounded"), "{}", plan_output.stdout);
}
