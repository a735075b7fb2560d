//! Pathological input stays fast and bounded (issue #31): each case answers
//! within 2 s with a clear diagnostic and a non-zero exit.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Output, Test};

/// What the issue allows; a debug build on a busy machine is still far under it.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// Runs `deploy ARGS`, killing it (and failing) if it has not ended after
/// 30 s, so that a regression fails instead of hanging the suite.
fn run_timed(test: &Test, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = test
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn deploy: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("wait: {e}")) {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("deploy {args:?} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let output = Output {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        code: status.code().unwrap_or(-1),
    };
    (output, elapsed)
}

fn assert_fast(elapsed: Duration, what: &str) {
    assert!(elapsed < ANSWER_WITHIN, "{what} took {elapsed:?}");
}

const PLAN: &str = "pipeline \"p\" { description = \"x\" }\nstage build { run \"true\"  irreversible = \"demo\" }\n";

#[test]
fn check_dev_zero_is_too_large_after_reading_the_limit() {
    let test = Test::new();
    let (output, elapsed) = run_timed(&test, &["check", "/dev/zero"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("E0002"), "{}", output.stderr);
    assert!(output.stderr.contains("too large (over the 64 MiB limit"), "{}", output.stderr);
    assert_fast(elapsed, "check /dev/zero");
}

#[test]
fn a_plan_past_the_size_limit_is_refused_and_one_at_it_is_read() {
    let at_limit = PLAN.len().to_string();
    let below = (PLAN.len() - 1).to_string();
    let test = Test::new().plan(PLAN);
    let output = test.run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let output = Test::new().plan(PLAN).env("DEPLOY_MAX_FILE_SIZE", &at_limit).run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let output = Test::new().plan(PLAN).env("DEPLOY_MAX_FILE_SIZE", &below).run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("E0002"), "{}", output.stderr);
    assert!(output.stderr.contains(&format!("too large (over the {below} bytes limit")), "{}", output.stderr);
}

#[test]
fn an_imported_module_past_the_size_limit_is_refused_at_its_import() {
    let module =
        format!("template stage t() {{ run \"true\"  irreversible = \"demo\" }}\n{}", "// padding\n".repeat(200));
    let test = Test::new()
        .plan("import \"./big\" as big\npipeline \"p\" { description = \"x\" }\nstage build from big.t {}\n")
        .file("big.deploy", &module)
        .env("DEPLOY_MAX_FILE_SIZE", "1000");
    let output = test.run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("cannot read module big.deploy: it is too large"), "{}", output.stderr);
    assert!(output.stderr.contains("imported here"), "{}", output.stderr);
}

#[test]
fn an_endless_fifo_is_read_only_up_to_the_limit() {
    let test = Test::new();
    let fifo = test.path().join("plan.deploy");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success());
    // A writer that never stops: only a bounded reader lets `deploy` answer.
    let writer_path = fifo.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(writer_path) {
            let chunk = vec![b'/'; 64 * 1024];
            while pipe.write_all(&chunk).is_ok() {}
        }
    });
    let (output, elapsed) = run_timed(&test.env("DEPLOY_MAX_FILE_SIZE", "1000000"), &["check", "plan.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("too large (over the 1000000 bytes limit"), "{}", output.stderr);
    assert_fast(elapsed, "check FIFO");
}

#[test]
fn fmt_reads_standard_input_up_to_the_limit() {
    let test = Test::new().env("DEPLOY_MAX_FILE_SIZE", "1000000");
    let zero = std::fs::File::open("/dev/zero").unwrap_or_else(|e| panic!("/dev/zero: {e}"));
    let output = test.command(&["fmt", "-"]).stdin(zero).output().unwrap_or_else(|e| panic!("run deploy: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read standard input: it is too large"), "{stderr}");
}

/// The refusal of a `--state` that is no regular file: it says so, and never
/// advises moving the file away (`mv /dev/null /dev/null.damaged`).
fn assert_not_a_store(output: &Output, path: &str, what: &str) {
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains(&format!("{path} is not a state store: it is {what}")), "{}", output.stderr);
    assert!(!output.stderr.contains("mv "), "{}", output.stderr);
    assert!(!output.stderr.contains("damaged"), "{}", output.stderr);
}

#[test]
fn status_with_state_dev_null_says_it_is_not_a_state_store() {
    let test = Test::new();
    let (output, elapsed) = run_timed(&test, &["status", "--state", "/dev/null"]);
    assert_not_a_store(&output, "/dev/null", "a character device");
    assert_fast(elapsed, "status --state /dev/null");
    let output = test.run_with(&["history", "--state", "/dev/null"]);
    assert_not_a_store(&output, "/dev/null", "a character device");
}

#[test]
fn run_with_state_dev_null_runs_nothing_and_says_it_is_not_a_state_store() {
    let test = Test::new()
        .plan("pipeline \"p\" { description = \"x\" }\nstage build { run \"touch built\"  irreversible = \"demo\" }\n");
    let (output, elapsed) = run_timed(&test, &["run", "release.deploy", "--json", "--state", "/dev/null"]);
    assert_not_a_store(&output, "/dev/null", "a character device");
    assert_fast(elapsed, "run --state /dev/null");
    let error = output.events().into_iter().find(|event| event["type"] == "error").unwrap_or_default();
    assert_eq!(error["code"], "state_unreadable", "{}", output.stdout);
    assert!(!test.path().join("built").exists(), "a step ran");
}

#[test]
fn a_directory_or_a_fifo_is_not_a_state_store() {
    let test = Test::new().file("dir/keep", "");
    let fifo = test.path().join("state.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success());
    let output = test.run_with(&["status", "--state", "dir"]);
    assert_not_a_store(&output, "dir", "a directory");
    // Nobody writes the FIFO: opening it as SQLite would block for ever.
    let (output, elapsed) = run_timed(&test, &["status", "--state", "state.fifo"]);
    assert_not_a_store(&output, "state.fifo", "a FIFO");
    assert_fast(elapsed, "status --state FIFO");
}

const LEAKED: &str = "template stage leaked() { run \"echo LEAKED-LINE\"  irreversible = \"demo\" }\n";

fn importing(path: &str) -> String {
    format!("import \"{path}\" as m\npipeline \"p\" {{ description = \"x\" }}\nstage build from m.leaked {{}}\n")
}

fn assert_outside(output: &Output) {
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("E0146"), "{}", output.stderr);
    assert!(output.stderr.contains("leads out of the plan's repository"), "{}", output.stderr);
    assert!(!output.stderr.contains("LEAKED-LINE"), "{}", output.stderr);
    assert!(!output.stderr.contains("root:"), "{}", output.stderr);
}

#[test]
fn an_import_of_etc_passwd_is_refused_without_printing_it() {
    let test = Test::new().plan(&importing("../../../../../../../../../../etc/passwd"));
    let (output, elapsed) = run_timed(&test, &["check", "release.deploy"]);
    assert_outside(&output);
    assert_fast(elapsed, "check import of /etc/passwd");
}

#[test]
fn imports_stay_inside_the_nearest_directory_holding_git() {
    let test = Test::new()
        .file("outside.deploy", LEAKED)
        .file("repo/.git/HEAD", "ref: refs/heads/main\n")
        .file("repo/modules/m.deploy", LEAKED)
        .file("repo/plans/ok.deploy", importing("../modules/m.deploy"))
        .file("repo/plans/out.deploy", importing("../../outside.deploy"))
        .file("repo/plans/missing.deploy", importing("../../nothing-here.deploy"));
    let output = test.run_with(&["check", "repo/plans/ok.deploy"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_outside(&test.run_with(&["check", "repo/plans/out.deploy"]));
    // Refused whether or not the file exists: the answer tells nothing about outside.
    assert_outside(&test.run_with(&["check", "repo/plans/missing.deploy"]));
}

#[test]
fn without_git_imports_stay_inside_the_plans_directory() {
    let test = Test::new()
        .file("modules/m.deploy", LEAKED)
        .file("plans/sub/m.deploy", LEAKED)
        .file("plans/inside.deploy", importing("./sub/m.deploy"))
        .file("plans/up.deploy", importing("../modules/m.deploy"));
    let output = test.run_with(&["check", "plans/inside.deploy"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_outside(&test.run_with(&["check", "plans/up.deploy"]));
}

#[test]
fn a_symbolic_link_out_of_the_repository_is_refused() {
    let test = Test::new().file("outside/m.deploy", LEAKED).file("repo/release.deploy", importing("./link.deploy"));
    std::os::unix::fs::symlink(test.path().join("outside/m.deploy"), test.path().join("repo/link.deploy"))
        .unwrap_or_else(|e| panic!("symlink: {e}"));
    assert_outside(&test.run_with(&["check", "repo/release.deploy"]));
}

#[test]
fn deploy_path_directories_and_the_stdlib_stay_importable() {
    let test = Test::new()
        .file(
            "lib/shared/m.deploy",
            "import \"./inner\" as inner\ntemplate stage leaked() { run \"true\"  irreversible = \"demo\" }\n",
        )
        .file("lib/shared/inner.deploy", "template stage unused() { run \"true\"  irreversible = \"demo\" }\n")
        .file(
            "repo/release.deploy",
            "import \"shared/m\" as m\nimport \"std/http\" as http\npipeline \"p\" { description = \"x\" }\n\
             stage build from m.leaked {}\ngate up from http.healthy { url = \"http://127.0.0.1:9\"  needs = [build] }\n",
        );
    let lib = test.path().join("lib").display().to_string();
    let output = test.env("DEPLOY_PATH", &lib).run_with(&["check", "repo/release.deploy"]);
    assert!(!output.stderr.contains("E0146"), "{}", output.stderr);
    assert_eq!(output.code, 0, "{}", output.stderr);
}

/// `stage s0` needs the last stage, every other stage the one before it.
fn needs_cycle(stages: usize) -> String {
    let mut plan = format!("stage s0 {{ needs = [s{}]  run \"true\"  irreversible = \"demo\" }}\n", stages - 1);
    for i in 1..stages {
        plan.push_str(&format!("stage s{i} {{ needs = [s{}]  run \"true\"  irreversible = \"demo\" }}\n", i - 1));
    }
    plan
}

/// The messages of `deploy check --format json`.
fn messages(test: &Test) -> Vec<String> {
    let output = test.run_with(&["check", "release.deploy", "--format", "json"]);
    let report: serde_json::Value =
        serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", output.stdout));
    report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["message"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_10001_stage_needs_cycle_is_printed_once_and_bounded() {
    let test = Test::new().plan(&needs_cycle(10_001));
    let (output, elapsed) = run_timed(&test, &["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert_eq!(output.stderr.matches("E0102").count(), 1, "{}", output.stderr);
    // Was 2.4 MB (every stage named, every edge labelled) after 28.5 s.
    assert!(output.stderr.len() < 10_000, "{} bytes", output.stderr.len());
    assert_fast(elapsed, "check of a 10,001-stage cycle");
    assert_eq!(
        messages(&test),
        ["`needs` form a cycle of 10001 nodes: s0 → s10000 → s9999 → s9998 → s9997 → … 9991 more … \
          → s5 → s4 → s3 → s2 → s1 → s0"]
    );
}

#[test]
fn a_short_cycle_names_every_node_and_a_longer_one_counts_the_middle() {
    assert_eq!(
        messages(&Test::new().plan(&needs_cycle(11))),
        ["`needs` form a cycle: s0 → s10 → s9 → s8 → s7 → s6 → s5 → s4 → s3 → s2 → s1 → s0"]
    );
    assert_eq!(
        messages(&Test::new().plan(&needs_cycle(13))),
        ["`needs` form a cycle of 13 nodes: s0 → s12 → s11 → s10 → s9 → … 3 more … → s5 → s4 → s3 → s2 → s1 → s0"]
    );
}

#[test]
fn the_cycle_shown_is_a_real_cycle_even_when_a_first_need_leads_astray() {
    // x's first need y leads to a dead end (y needs only x again): a walk
    // that follows first needs printed "a → x → y → a", though y does not
    // need a. The cycle printed is a shortest one that exists.
    let plan = "stage a { needs = [x]  run \"true\"  irreversible = \"demo\" }\n\
                stage x { needs = [y, z]  run \"true\"  irreversible = \"demo\" }\n\
                stage y { needs = [x]  run \"true\"  irreversible = \"demo\" }\n\
                stage z { needs = [a]  run \"true\"  irreversible = \"demo\" }\n";
    assert_eq!(messages(&Test::new().plan(plan)), ["`needs` form a cycle: a → x → z → a"]);
}

#[test]
fn a_secret_file_or_an_inventory_on_dev_zero_is_too_large() {
    let test = Test::new()
        .file(
            "secret.deploy",
            "pipeline \"p\" { description = \"x\" }\nsecret s = file(\"/dev/zero\")\n\
             stage build { run \"echo ${s}\"  irreversible = \"demo\" }\n",
        )
        .file(
            "inventory.deploy",
            "pipeline \"p\" { description = \"x\" }\nenvironment e { hosts = inventory(\"/dev/zero\", \"web\") }\n\
             stage build { target = e  run \"true\"  irreversible = \"demo\" }\n",
        );
    let (output, elapsed) = run_timed(&test, &["run", "secret.deploy", "--state", "state.db"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("E0133"), "{}", output.stderr);
    assert!(output.stderr.contains("cannot read /dev/zero: it is too large"), "{}", output.stderr);
    assert_fast(elapsed, "a secret file(\"/dev/zero\")");
    let (output, elapsed) = run_timed(&test, &["check", "inventory.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("cannot read inventory /dev/zero: it is too large"), "{}", output.stderr);
    assert_fast(elapsed, "inventory(\"/dev/zero\")");
}

/// Many `${/*` in strings: inside an interpolation a `/*` may be trivia, so
/// the lexer looks for its `*/` (there is none). It remembers where the next
/// `*/` is, so the plan is read once, not once per `/*` (50,000 searches to
/// the end of a 0.7 MB file before).
#[test]
fn unclosed_comments_in_many_interpolations_are_read_once() {
    let plan = format!("stage a {{\n{}}}\n", "  run \"${/*\"\n".repeat(50_000));
    let test = Test::new().plan(&plan);
    let (output, elapsed) = run_timed(&test, &["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("expected a name"), "{}", output.stderr);
    assert_fast(elapsed, "50,000 `${/*`");
}

/// `deploy check` on `stages` stages that are each broken by `broken(i)`:
/// every one is reported under `code`, in output that grows by a bounded
/// amount per stage. The time is printed; the bound is only a hang guard
/// (the quadratic render of these files took 46 s).
fn check_many_broken_stages(stages: usize, code: &str, broken: impl Fn(usize) -> String) {
    let plan: String = (0..stages).map(|i| broken(i) + "\n").collect();
    let test = Test::new().plan(&plan);
    for format in ["human", "json"] {
        let (output, elapsed) = run_timed(&test, &["check", "release.deploy", "--format", format]);
        eprintln!("check of {stages} broken stages ({code}, {format}): {elapsed:?}");
        assert_eq!(output.code, 1, "{}", output.stderr);
        let report = format!("{}{}", output.stdout, output.stderr);
        assert_eq!(report.matches(code).count(), stages, "{}", &report[..report.len().min(2_000)]);
        assert!(report.len() < stages * 1_000, "{} bytes for {stages} errors", report.len());
        assert!(elapsed < Duration::from_secs(10), "{format}: {elapsed:?}");
    }
}

/// Each diagnostic is placed with the file's line index, built once, and
/// its snippet read from the lines around it: a file with 10,000 errors is
/// read and rendered in linear time (46 s in a debug build before, 0.8 s
/// after).
#[test]
fn ten_thousand_broken_stages_are_each_reported_in_linear_time() {
    check_many_broken_stages(10_000, "E0116", |i| format!("stage s{i} {{ timeout = 5x }}"));
}

/// 10,000 stages that each leave a `[` and a `{` open: each is its own
/// "missing `]`" (the brackets left open did once add up to "nested
/// deeper than 64 levels" at the 33rd stage, and nothing more was said).
#[test]
fn ten_thousand_stages_with_a_missing_bracket_each_say_so() {
    check_many_broken_stages(10_000, "E0001", |i| format!("stage s{i} {{ needs = [build"));
}

/// 10,000 stages that each need a name that is not declared: each is
/// reported, and "did you mean" compares names within a bound (each
/// unknown name was compared with every stage's name: 41 s in a debug
/// build, 7 s in a release build). The first get their suggestion.
#[test]
fn ten_thousand_unknown_names_in_needs_are_suggested_for_within_a_bound() {
    check_many_broken_stages(10_000, "E0100", |i| {
        format!("stage s_{i:05} {{ needs = [s_{i:05}x]  run \"true\"  irreversible = \"demo\" }}")
    });
    let plan: String = (0..10_000)
        .map(|i| format!("stage s_{i:05} {{ needs = [s_{i:05}x]  run \"true\"  irreversible = \"demo\" }}\n"))
        .collect();
    let (output, _) = run_timed(&Test::new().plan(&plan), &["check", "release.deploy"]);
    let head: String = output.stderr.chars().take(2_000).collect();
    assert!(output.stderr.contains("did you mean `s_00000`?"), "{head}");
    let suggested = output.stderr.matches("did you mean").count();
    assert!((1..10_000).contains(&suggested), "{suggested} suggestions");
}

/// 5,000 canaries whose `analysis` names a gate that is not declared, among
/// 5,000 gates: each is reported, and "did you mean" compares names within a
/// bound, as for `needs` (each unknown gate was compared with every node).
#[test]
fn five_thousand_unknown_analysis_gates_are_suggested_for_within_a_bound() {
    let mut plan = String::from("environment prod { hosts = [\"a\", \"b\"] }\n");
    for i in 0..5_000 {
        plan.push_str(&format!("gate g_{i:05} {{ check \"true\" }}\n"));
        plan.push_str(&format!(
            "stage s_{i:05} {{ target = prod  strategy canary {{ steps = [50%, 100%]  analysis = g_{i:05}x }}  \
             run \"true\"  irreversible = \"demo\" }}\n"
        ));
    }
    let test = Test::new().plan(&plan);
    let (output, elapsed) = run_timed(&test, &["check", "release.deploy"]);
    eprintln!("check of 5,000 unknown analysis gates: {elapsed:?}");
    assert_eq!(output.code, 1, "{}", &output.stderr[..output.stderr.len().min(2_000)]);
    let head: String = output.stderr.chars().take(2_000).collect();
    assert_eq!(output.stderr.matches("unknown gate `g_").count(), 5_000, "{head}");
    assert!(output.stderr.contains("did you mean `g_00000`?"), "{head}");
    let suggested = output.stderr.matches("did you mean").count();
    assert!((1..5_000).contains(&suggested), "{suggested} suggestions");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

/// A chain of 24,000 `needs` (each stage needs the one before): the search
/// for cycles once recursed along it and overflowed the stack, aborting
/// `deploy check`.
#[test]
fn a_24000_stage_needs_chain_is_checked_without_overflowing_the_stack() {
    let mut plan = String::from("stage s0 { run \"true\"  irreversible = \"demo\" }\n");
    for i in 1..24_000 {
        plan.push_str(&format!("stage s{i} {{ needs = [s{}]  run \"true\"  irreversible = \"demo\" }}\n", i - 1));
    }
    let test = Test::new().plan(&plan);
    let (output, elapsed) = run_timed(&test, &["check", "release.deploy"]);
    eprintln!("check of a 24,000-stage chain: {elapsed:?}");
    assert_eq!(output.code, 0, "{}{}", output.stdout, output.stderr);
    assert_fast(elapsed, "check of a 24,000-stage chain");
}

/// One environment of 100,000 hosts: `check`, `plan` and `plan --limit`
/// answer in linear time (repeats were looked for in the list so far, for
/// each host: 37 s for check and 70 s for plan in a debug build).
#[test]
fn a_hundred_thousand_hosts_are_checked_and_planned_in_linear_time() {
    let hosts: Vec<String> = (0..100_000).map(|i| format!("\"h{i}\"")).collect();
    let plan = format!(
        "environment prod {{\n  hosts = [{}]\n}}\nstage a {{\n  target = prod\n  run \"true\"\n  irreversible = \"demo\"\n}}\n",
        hosts.join(",")
    );
    let test = Test::new().plan(&plan);
    for args in [
        &["check", "release.deploy"][..],
        &["plan", "release.deploy"],
        &["plan", "--limit", "h1*,!h19*", "release.deploy"],
    ] {
        let (output, elapsed) = run_timed(&test, args);
        eprintln!("deploy {args:?} on 100,000 hosts: {elapsed:?}");
        assert_eq!(output.code, 0, "{}", output.stderr);
        assert_fast(elapsed, &format!("deploy {args:?} on 100,000 hosts"));
    }
}

/// `deploy plan` of 24,000 stages (no `needs`, and a chain of `needs`):
/// each node was looked for among all of them, twice, to render its wave
/// (14.5 s in a debug build; now a fraction of a second).
#[test]
fn the_plan_of_24000_stages_is_rendered_in_linear_time() {
    let flat: String =
        (0..24_000).map(|i| format!("stage s{i} {{ run \"true\"  irreversible = \"demo\" }}\n")).collect();
    let mut chain = String::from("stage s0 { run \"true\"  irreversible = \"demo\" }\n");
    for i in 1..24_000 {
        chain.push_str(&format!("stage s{i} {{ needs = [s{}]  run \"true\"  irreversible = \"demo\" }}\n", i - 1));
    }
    for (what, plan) in [("flat", flat), ("chain", chain)] {
        let test = Test::new().plan(&plan);
        let (output, elapsed) = run_timed(&test, &["plan", "release.deploy"]);
        eprintln!("plan of 24,000 stages ({what}): {elapsed:?}");
        assert_eq!(output.code, 0, "{}", output.stderr);
        assert!(output.stdout.contains("  stage s23999"), "{what}");
        assert_fast(elapsed, &format!("plan of 24,000 stages ({what})"));
    }
}
