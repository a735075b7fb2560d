//! The semantic plan diff through the real binary: `deploy diff OLD NEW`
//! (one test per kind of change), and `deploy plan [--diff-only]` against
//! the canonical plan the state recorded with the last successful run of
//! each environment, including a store written before schema 2.

mod common;

use common::{Output, Test};
use serde_json::Value;

const BASE: &str = r#"
import "./lib/checks.deploy" as checks

pipeline "shop" { on_failure = rollback }

param version: string = "1.0"

environment staging { hosts = ["stg-1"] }
environment production { hosts = ["web-1", "web-2"] }

stage build {
  run "make build VERSION=${version}"
  rollback { run "make clean" }
}

stage stage_rollout {
  needs  = [build]
  target = staging
  run "./install ${version} ${host}"
  rollback { run "./install previous ${host}" }
}

gate smoke {
  needs = [stage_rollout]
  check every 5s within 1m `true`
}

stage production {
  needs  = [smoke]
  target = production
  strategy rolling { batch = 1 }
  run "./install ${version} ${host}"
  rollback { run "./install previous ${host}" }
}
"#;

const MODULE: &str = r#"
template gate healthy(url: string) {
  check every 5s within 1m `true`
}
"#;

fn diff(new: &str) -> (Output, Vec<Value>) {
    diff_with(new, MODULE, MODULE)
}

fn diff_with(new: &str, old_module: &str, new_module: &str) -> (Output, Vec<Value>) {
    let test = Test::new()
        .file("old/release.deploy", BASE)
        .file("old/lib/checks.deploy", old_module)
        .file("new/release.deploy", new)
        .file("new/lib/checks.deploy", new_module);
    let human = test.run_with(&["diff", "old/release.deploy", "new/release.deploy"]);
    assert_eq!(human.code, 0, "{}\n{}", human.stdout, human.stderr);
    let json = test.run_with(&["diff", "old/release.deploy", "new/release.deploy", "--format", "json"]);
    let document: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    let changes = document["changes"].as_array().cloned().unwrap_or_default();
    (human, changes)
}

fn has(changes: &[Value], kind: &str, field: &str, value: &str) -> bool {
    changes.iter().any(|c| c["change"] == kind && c[field] == value)
}

#[test]
fn identical_plans_have_no_changes() {
    let (output, changes) = diff(BASE);
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(output.stdout.trim(), "no changes");
}

#[test]
fn a_stage_and_a_gate_added_and_removed() {
    let new = BASE
        .replace(
            "gate smoke {\n  needs = [stage_rollout]\n  check every 5s within 1m `true`\n}\n",
            "gate approval {\n  needs = [stage_rollout]\n  approve \"Ship?\"\n}\n",
        )
        .replace("needs  = [smoke]", "needs  = [approval]")
        + "\nstage announce {\n  needs = [production]\n  run \"echo done\"\n  irreversible = \"sent\"\n}\n";
    let (output, changes) = diff(&new);
    assert!(has(&changes, "node_added", "name", "announce"), "{changes:?}");
    assert!(has(&changes, "node_added", "name", "approval"), "{changes:?}");
    assert!(has(&changes, "node_removed", "name", "smoke"), "{changes:?}");
    assert!(output.stdout.contains("+ stage announce"), "{}", output.stdout);
    assert!(output.stdout.contains("- gate smoke"), "{}", output.stdout);
}

#[test]
fn a_rename_is_a_rename() {
    let new = BASE
        .replace("stage stage_rollout {", "stage staging_rollout {")
        .replace("[stage_rollout]", "[staging_rollout]");
    let (output, changes) = diff(&new);
    assert_eq!(changes.len(), 1, "only the rename: {changes:?}");
    assert_eq!(changes[0]["change"], "node_renamed");
    assert_eq!(changes[0]["from"], "stage_rollout");
    assert_eq!(changes[0]["to"], "staging_rollout");
    assert!(output.stdout.contains("~ stage stage_rollout renamed to staging_rollout"), "{}", output.stdout);
}

#[test]
fn needs_edges_added_and_removed() {
    let new = BASE.replace("  needs  = [smoke]\n", "  needs  = [build]\n");
    let (output, changes) = diff(&new);
    assert!(changes.iter().any(|c| c["change"] == "need_added" && c["node"] == "production" && c["need"] == "build"));
    assert!(changes.iter().any(|c| c["change"] == "need_removed" && c["node"] == "production" && c["need"] == "smoke"));
    assert!(output.stdout.contains("~ production: no longer needs smoke"), "{}", output.stdout);
}

#[test]
fn a_strategy_and_batch_change() {
    let new = BASE.replace("strategy rolling { batch = 1 }", "strategy rolling { batch = 2  max_failures = 1 }");
    let (output, changes) = diff(&new);
    let change = changes.iter().find(|c| c["change"] == "setting_changed" && c["key"] == "strategy").cloned();
    let change = change.unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(change["from"], "rolling { batch = 1  max_failures = 0 }");
    assert_eq!(change["to"], "rolling { batch = 2  max_failures = 1 }");
    assert!(output.stdout.contains("~ production: strategy:"), "{}", output.stdout);
}

#[test]
fn steps_added_removed_and_changed_as_a_word_diff() {
    let new = BASE
        .replace(
            "run \"make build VERSION=${version}\"",
            "run \"make release VERSION=${version}\"\n  run \"make test\"",
        )
        .replace(
            "  run \"./install ${version} ${host}\"\n  rollback { run \"./install previous ${host}\" }\n}\n\ngate",
            "  rollback { run \"./install previous ${host}\" }\n}\n\ngate",
        );
    let (output, changes) = diff(&new);
    let changed = changes.iter().find(|c| c["change"] == "step_changed" && c["node"] == "build").cloned();
    let changed = changed.unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(changed["diff"], "run \"make [-build-]{+release+} VERSION=${version}\"");
    assert!(changes.iter().any(|c| c["change"] == "step_added" && c["node"] == "build" && c["index"] == 2));
    assert!(changes.iter().any(|c| c["change"] == "step_removed" && c["node"] == "stage_rollout"));
    assert!(output.stdout.contains("~ build: steps step 1: run \"make [-build-]{+release+}"), "{}", output.stdout);
}

#[test]
fn a_rollback_block_changed() {
    let new =
        BASE.replace("  rollback { run \"make clean\" }", "  irreversible = \"artifacts are published\"").replace(
            "rollback { run \"./install previous ${host}\" }\n}\n\ngate",
            "rollback { run \"./install ${previous_version} ${host}\" }\n}\n\ngate",
        );
    let (_, changes) = diff(&new);
    let rollback = changes.iter().find(|c| c["change"] == "rollback_changed").cloned().unwrap_or_default();
    assert_eq!(rollback["node"], "build");
    assert_eq!(rollback["from"], "steps");
    assert_eq!(rollback["to"], "irreversible: artifacts are published");
    assert!(
        changes
            .iter()
            .any(|c| c["change"] == "step_changed" && c["node"] == "stage_rollout" && c["list"] == "rollback"),
        "{changes:?}"
    );
}

#[test]
fn hosts_added_and_removed_per_environment() {
    let new = BASE.replace("hosts = [\"web-1\", \"web-2\"]", "hosts = [\"web-2\", \"web-3\"]");
    let (output, changes) = diff(&new);
    assert!(changes
        .iter()
        .any(|c| c["change"] == "host_added" && c["environment"] == "production" && c["host"] == "web-3"));
    assert!(changes.iter().any(|c| c["change"] == "host_removed" && c["host"] == "web-1"));
    assert!(output.stdout.contains("+ environment production: host web-3"), "{}", output.stdout);
}

#[test]
fn gate_thresholds_and_policies() {
    let new = BASE.replace(
        "check every 5s within 1m `true`\n}",
        "check every 10s within 5m `true`\n  on_inconclusive = rollback\n}",
    );
    let (_, changes) = diff(&new);
    let setting = |key: &str| {
        changes.iter().find(|c| c["change"] == "setting_changed" && c["node"] == "smoke" && c["key"] == key).cloned()
    };
    let check = setting("check").unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(check["from"], "every 5s within 1m");
    assert_eq!(check["to"], "every 10s within 5m");
    assert_eq!(setting("on_inconclusive").unwrap_or_default()["to"], "rollback");
}

#[test]
fn params_and_their_defaults() {
    let new = BASE
        .replace("param version: string = \"1.0\"", "param version: string = \"2.0\"\nparam region: string = \"eu\"");
    let (output, changes) = diff(&new);
    assert!(changes.iter().any(|c| c["change"] == "param_added" && c["name"] == "region"));
    let default = changes.iter().find(|c| c["change"] == "param_changed").cloned().unwrap_or_default();
    assert_eq!(default["key"], "default");
    assert_eq!(default["from"], "\"1.0\"");
    assert_eq!(default["to"], "\"2.0\"");
    assert!(output.stdout.contains("+ param region: string = \"eu\""), "{}", output.stdout);
}

#[test]
fn a_changed_imported_module() {
    let changed = MODULE.replace("within 1m", "within 2m");
    let (output, changes) = diff_with(BASE, MODULE, &changed);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["change"], "module_changed");
    assert_eq!(changes[0]["path"], "lib/checks.deploy");
    assert_ne!(changes[0]["from"], changes[0]["to"]);
    assert!(output.stdout.contains("~ module lib/checks.deploy:"), "{}", output.stdout);
}

#[test]
fn a_plan_with_errors_is_refused() {
    let test = Test::new()
        .file("a.deploy", BASE)
        .file("lib/checks.deploy", MODULE)
        .file("b.deploy", "stage x { needs = [nope] }\n");
    let output = test.run_with(&["diff", "a.deploy", "b.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stdout);
}

/// A plan that runs for real: every step is `true`.
const RUNNABLE: &str = r#"
pipeline "shop" { on_failure = rollback }
param version: string = "1.0"
environment staging { hosts = ["stg-1"] }
environment production { hosts = ["web-1", "web-2"] }
stage stage_rollout {
  target = staging
  run "true"
  rollback { run "true" }
}
stage production {
  needs  = [stage_rollout]
  target = production
  run "true"
  rollback { run "true" }
}
"#;

#[test]
fn plan_shows_the_changes_against_the_last_successful_deployment_of_each_environment() {
    let test = Test::new().plan(RUNNABLE);
    assert_eq!(test.run_with(&["run", "release.deploy"]).code, 0);
    // A second run deploys staging only: production's last deployment stays the first run.
    let staging_only = RUNNABLE.split("stage production {").next().unwrap_or("").to_string();
    std::fs::write(test.path().join("release.deploy"), &staging_only).unwrap();
    let second = test.run_with(&["run", "release.deploy", "--set", "version=1.1"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let changed = RUNNABLE.replace("hosts = [\"web-1\", \"web-2\"]", "hosts = [\"web-1\", \"web-2\", \"web-3\"]");
    std::fs::write(test.path().join("release.deploy"), changed).unwrap();

    let output = test.run_with(&["plan", "release.deploy", "--diff-only", "--set", "version=1.2"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("+ stage production"), "since run 2: {}", output.stdout);
    assert!(output.stdout.contains("Changes in production since its last successful deployment"), "{}", output.stdout);
    assert!(output.stdout.contains("+ environment production: host web-3"), "since run 1: {}", output.stdout);
    assert!(!output.stdout.contains("Wave 1"), "--diff-only prints only the diff: {}", output.stdout);

    let json = test.run_with(&["plan", "release.deploy", "--diff-only", "--format", "json", "--set", "version=1.2"]);
    let document: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    let semantic = document["semantic"].as_array().cloned().unwrap_or_default();
    assert!(semantic.iter().any(|c| c["change"] == "node_added" && c["name"] == "production"), "{document}");
    assert!(semantic.iter().any(|c| c["change"] == "param_value_changed" && c["from"] == "1.1" && c["to"] == "1.2"));
    let production = &document["environments"][0];
    assert_eq!(production["environment"], "production");
    let since_first = production["semantic"].as_array().cloned().unwrap_or_default();
    assert!(since_first.iter().any(|c| c["change"] == "host_added" && c["host"] == "web-3"), "{production}");

    let full = test.run_with(&["plan", "release.deploy"]);
    assert!(full.stdout.contains("Wave 1") && full.stdout.contains("+ stage production"), "{}", full.stdout);
}

#[test]
fn a_store_from_before_canonical_plans_stays_readable() {
    let test = Test::new().plan(RUNNABLE);
    assert_eq!(test.run_with(&["run", "release.deploy"]).code, 0);
    // Turn the store back into a schema-1 store (migrations 2 to 6 undone).
    let db = test.path().join(".deploy/state.db");
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .execute_batch(
            "ALTER TABLE deployments DROP COLUMN plan_canonical; ALTER TABLE deployments DROP COLUMN plan_imports; \
             ALTER TABLE deployments DROP COLUMN modules; \
             DROP TABLE commits; DROP TABLE watchers; DROP TABLE host_versions; DROP TABLE host_history; DROP TABLE host_checks; \
             ALTER TABLE environment_versions DROP COLUMN mixed; \
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
    drop(connection);
    let changed = RUNNABLE.replace(
        "run \"true\"\n  rollback { run \"true\" }\n}\nstage production",
        "run \"true \"\n  rollback { run \"true\" }\n}\nstage production",
    );
    std::fs::write(test.path().join("release.deploy"), changed).unwrap();
    let output = test.run_with(&["plan", "release.deploy", "--diff-only"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("plan changed:"), "{}", output.stdout);
    assert!(output.stdout.contains("+  run \"true \""), "a text diff for the old row: {}", output.stdout);
    // Migrated: a new run records the canonical plan again.
    assert_eq!(test.run_with(&["run", "release.deploy"]).code, 0);
    let again = test.run_with(&["plan", "release.deploy", "--diff-only"]);
    assert!(again.stdout.contains("plan unchanged"), "{}", again.stdout);
}
