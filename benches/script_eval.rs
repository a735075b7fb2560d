//! 100,000 evaluations of a 20-line check script across 1,000 hosts, the
//! way the engine evaluates checks: one shared sandbox, the AST compiled
//! once, a typed context per host, each evaluation on tokio's blocking pool.
//! Peers in the same run: the same loop on one thread without tokio, and
//! compiling the script for every evaluation (what reusing the AST saves).
//!
//! `cargo bench --bench script_eval` prints evaluations/second; the numbers
//! go to docs/performance.md. Not a test: nothing is asserted on time.

use std::sync::Arc;
use std::time::Instant;

use deploy::check::model::ScriptLimits;
use deploy::engine::script_runner::{compile_script, CheckOutcome, Quick, QuickResult, SandboxRunner, ScriptRunner};
use deploy::script::{null_sink, ScriptVariables};
use deploy::syntax::span::SourceMap;
use rhai::Dynamic;

const HOSTS: usize = 1_000;
const POLLS: usize = 100;

/// 20 lines: parse a status, compare versions, add up error counts, decide.
const CHECK: &str = r#"let status = 200;
let latency_ms = 42 + attempt;
let errors = [0, 1, 0, 2, 0];
let total = 0;
for e in errors { total += e; }
let rate = total.to_float() / 1000.0;
if status != 200 { fail(`${host} answered ${status}`) }
if latency_ms > 500 { inconclusive(`${host} is slow: ${latency_ms}ms`) }
let region = env.region;
if region == "" { no_data("no region") }
let parts = version.split(".");
let major = parse_int(parts[0]);
if major < 1 { fail("version too old") }
let label = `${stage}@${host}`;
if label.len() == 0 { fail("no label") }
let budget = if fast { 0.01 } else { 0.005 };
if rate > budget * 10.0 { fail(`error rate ${rate}`) }
let healthy = host.starts_with("web-") && total < 10;
debug(label);
healthy"#;

fn context(host: &str, attempt: i64) -> ScriptVariables {
    let mut context = ScriptVariables::new();
    context.set_str("replicas", "3");
    context.set_bool("fast", true);
    context.set_env(
        "prod",
        [("region", Dynamic::from("eu-1".to_string())), ("url", Dynamic::from("http://x".to_string()))],
    );
    context.set_str("version", "2.4.1");
    context.set_str("previous_version", "2.4.0");
    context.set_str("host", host);
    context.set_str("stage", "smoke");
    context.set_int("attempt", attempt);
    context.set_str("pipeline", "bench");
    context.set_secrets([("api_token", "hunter2")]);
    context
}

fn report(name: &str, evaluations: usize, seconds: f64) {
    println!(
        "{name:<48} {evaluations:>7} evaluations in {seconds:>7.3} s = {:>10.0} evaluations/s",
        evaluations as f64 / seconds
    );
}

fn main() {
    let limits = ScriptLimits::default();
    let runner = Arc::new(SandboxRunner::new(limits, SourceMap::default()));
    let script = Arc::new(compile_script(CHECK).unwrap_or_else(|e| panic!("{e}")));
    let hosts: Vec<String> = (1..=HOSTS).map(|i| format!("web-{i}")).collect();
    let log = null_sink();
    let total = HOSTS * POLLS;

    // The engine's way: a spawn_blocking per evaluation on a runtime whose
    // threads have the sandbox's stack; hosts evaluated concurrently.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(runner.required_stack_size())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // As many at once as `--max-parallel` allows by default.
    let in_flight = 16;
    let permits = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let passed = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for host in hosts.clone() {
            let (runner, script, log, permits) = (runner.clone(), script.clone(), log.clone(), permits.clone());
            tasks.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else { return 0 };
                let mut passed = 0usize;
                for poll in 0..POLLS {
                    let context = context(&host, poll as i64 + 1);
                    // As engine::evaluate::check: on the worker when it only computes, else on the pool.
                    let outcome = match runner.quick(&script, &context, &log, Quick::Check) {
                        Some(QuickResult::Check(outcome)) => outcome,
                        _ => {
                            let (runner, script, log) = (runner.clone(), script.clone(), log.clone());
                            tokio::task::spawn_blocking(move || runner.check(&script, &context, &log))
                                .await
                                .unwrap_or(CheckOutcome::Error("joined".into()))
                        }
                    };
                    passed += usize::from(outcome == CheckOutcome::Pass);
                }
                passed
            });
        }
        let mut passed = 0;
        while let Some(done) = tasks.join_next().await {
            passed += done.unwrap_or(0);
        }
        passed
    });
    let engine_way = started.elapsed().as_secs_f64();
    assert_eq!(passed, total, "every evaluation passes");
    report("engine: AST reused, 16 hosts at a time", total, engine_way);

    // The same, every evaluation on the blocking pool (a script that may block).
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for host in hosts.clone() {
            let (runner, script, log, permits) = (runner.clone(), script.clone(), log.clone(), permits.clone());
            tasks.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else { return };
                for poll in 0..POLLS {
                    let context = context(&host, poll as i64 + 1);
                    let (runner, script, log) = (runner.clone(), script.clone(), log.clone());
                    let _ = tokio::task::spawn_blocking(move || runner.check(&script, &context, &log)).await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    report("engine, all on the blocking pool, 16 at a time", total, started.elapsed().as_secs_f64());

    // The same evaluations on this thread (given the stack), no tokio.
    let reused = std::thread::Builder::new()
        .stack_size(runner.required_stack_size())
        .spawn({
            let (runner, script, log, hosts) = (runner.clone(), script.clone(), log.clone(), hosts.clone());
            move || {
                let started = Instant::now();
                for poll in 0..POLLS {
                    for host in &hosts {
                        let outcome = runner.check(&script, &context(host, poll as i64 + 1), &log);
                        assert_eq!(outcome, CheckOutcome::Pass);
                    }
                }
                started.elapsed().as_secs_f64()
            }
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .join()
        .unwrap_or_else(|_| panic!("the loop panicked"));
    report("one thread: AST reused", total, reused);

    // Both cores, hosts split between two threads, no tokio.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (runner, script, log, hosts) = (runner.clone(), script.clone(), log.clone(), hosts.clone());
            std::thread::Builder::new()
                .stack_size(runner.required_stack_size())
                .spawn(move || {
                    for poll in 0..POLLS {
                        for host in hosts.iter().skip(t).step_by(threads) {
                            let outcome = runner.check(&script, &context(host, poll as i64 + 1), &log);
                            assert_eq!(outcome, CheckOutcome::Pass);
                        }
                    }
                })
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for worker in workers {
        worker.join().unwrap_or_else(|_| panic!("a worker panicked"));
    }
    report(&format!("{threads} threads: AST reused"), total, started.elapsed().as_secs_f64());

    // Peer: compiling for every evaluation (a tenth of the evaluations).
    let compiled_each_time = std::thread::Builder::new()
        .stack_size(runner.required_stack_size())
        .spawn({
            let (runner, log, hosts) = (runner.clone(), log.clone(), hosts.clone());
            move || {
                let started = Instant::now();
                for poll in 0..POLLS / 10 {
                    for host in &hosts {
                        let script = compile_script(CHECK).unwrap_or_else(|e| panic!("{e}"));
                        let outcome = runner.check(&script, &context(host, poll as i64 + 1), &log);
                        assert_eq!(outcome, CheckOutcome::Pass);
                    }
                }
                started.elapsed().as_secs_f64()
            }
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .join()
        .unwrap_or_else(|_| panic!("the loop panicked"));
    report("peer, one thread: compiled for every evaluation", total / 10, compiled_each_time);
    println!("engine way vs target of 100000 evaluations/s: {:.2}x", total as f64 / engine_way / 100_000.0);
}
