//! The sandboxed engine: packages, limits, deadline, output routing, and outcome classification.

use super::big_stack::Helpers;
use super::outcome::{self, Thrown};
use super::{host, runtime, stack, LogSink, ScriptError, ScriptLimits, ScriptOutcome, ScriptVariables};
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, BasicTimePackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, Position, AST};
use std::sync::Arc;

/// How often (in Rhai operations) the wall-clock deadline is checked.
const DEADLINE_CHECK_EVERY: u64 = 1024;
/// The token `on_progress` terminates a script with when its deadline has passed.
const DEADLINE_TOKEN: &str = "deploy:deadline";

/// The shared script runner. `Send + Sync`, cheap to share in an `Arc`, built once per run.
///
/// Every evaluation gets its own scope (from a [`ScriptVariables`]) and its own deadline (kept per
/// thread), so evaluations on many threads sharing one `Sandbox` do not interfere.
pub struct Sandbox {
    core: Arc<Core>,
    /// Native stack an evaluation may need (see [`crate::script::required_stack_size`]).
    stack_size: usize,
    /// Threads with that much stack, for callers that have less.
    helpers: Helpers,
}

/// The engine and its limits, shared with helper threads.
struct Core {
    engine: Engine,
    limits: ScriptLimits,
}

impl Sandbox {
    /// The engine with its packages, limits, host API and output routed to `log`.
    pub fn new(limits: ScriptLimits, log: LogSink) -> Sandbox {
        Sandbox::with_host_keys(limits, log, &[])
    }

    /// [`Sandbox::new`] where `host.KEY` reads each of `host_keys` (the keys
    /// of the plan's hosts and environments; `name` and `address` always).
    pub fn with_host_keys(limits: ScriptLimits, log: LogSink, host_keys: &[String]) -> Sandbox {
        let mut engine = parser_engine(&limits);

        engine.register_global_module(CorePackage::new().as_shared_module());
        engine.register_global_module(LogicPackage::new().as_shared_module());
        engine.register_global_module(BasicMathPackage::new().as_shared_module());
        engine.register_global_module(BasicArrayPackage::new().as_shared_module());
        engine.register_global_module(BasicMapPackage::new().as_shared_module());
        engine.register_global_module(MoreStringPackage::new().as_shared_module());
        engine.register_global_module(BasicTimePackage::new().as_shared_module());

        let sink = log.clone();
        engine.on_print(move |text| runtime::emit(&sink, "info", text));
        let sink = log.clone();
        engine.on_debug(move |text, _source, _position| runtime::emit(&sink, "debug", text));
        engine.on_progress(|operations| {
            if operations % DEADLINE_CHECK_EVERY == 0 && runtime::expired() {
                Some(Dynamic::from(DEADLINE_TOKEN))
            } else {
                None
            }
        });

        host::register(&mut engine, &limits, log);
        super::host_values::register(&mut engine, host_keys);

        let stack_size = stack::required_stack_size(&limits);
        Sandbox { core: Arc::new(Core { engine, limits }), stack_size, helpers: Helpers::new(stack_size) }
    }

    /// The limits this sandbox enforces.
    pub fn limits(&self) -> &ScriptLimits {
        &self.core.limits
    }

    /// The native stack an evaluation may need. Evaluations run on the calling thread when it was
    /// given at least this much (e.g. tokio's `Builder::thread_stack_size`), and otherwise on a
    /// helper thread of this sandbox (correct, but much slower).
    pub fn required_stack_size(&self) -> usize {
        self.stack_size
    }

    /// Compile with this sandbox's parse-time limits (see [`crate::script::compile`]).
    pub fn compile(&self, source: &str) -> Result<AST, ScriptError> {
        compile_with(&self.core.engine, source)
    }

    /// Run a step/hook/`when` script; returns the value it evaluated to.
    ///
    /// `fail()`/`inconclusive()`/`no_data()` give those outcomes; any other error gives
    /// [`ScriptOutcome::Error`]. Never `Err(ScriptOutcome::Pass)`.
    pub fn eval(&self, ast: &AST, context: &ScriptVariables) -> Result<Dynamic, ScriptOutcome> {
        self.run(ast, context, None)
    }

    /// [`Sandbox::eval`], with what the script prints going to `log` instead of the sandbox's sink.
    pub fn eval_with_log(&self, ast: &AST, context: &ScriptVariables, log: &LogSink) -> Result<Dynamic, ScriptOutcome> {
        self.run(ast, context, Some(log))
    }

    /// Run a check script and classify: true → Pass, false → Fail("check returned false"),
    /// non-bool → Error, fail()/inconclusive()/no_data() → Fail/Inconclusive/NoData.
    pub fn check(&self, ast: &AST, context: &ScriptVariables) -> ScriptOutcome {
        classify_check(self.run(ast, context, None))
    }

    /// [`Sandbox::check`], with what the script prints going to `log` instead of the sandbox's sink.
    pub fn check_with_log(&self, ast: &AST, context: &ScriptVariables, log: &LogSink) -> ScriptOutcome {
        classify_check(self.run(ast, context, Some(log)))
    }

    /// A `when` condition: `Ok(bool)` or an error outcome.
    pub fn condition(&self, ast: &AST, context: &ScriptVariables) -> Result<bool, ScriptOutcome> {
        classify_condition(self.run(ast, context, None))
    }

    /// [`Sandbox::condition`], with what the script prints going to `log` instead of the sandbox's sink.
    pub fn condition_with_log(
        &self,
        ast: &AST,
        context: &ScriptVariables,
        log: &LogSink,
    ) -> Result<bool, ScriptOutcome> {
        classify_condition(self.run(ast, context, Some(log)))
    }

    /// Evaluate on this thread when its stack is big enough, else on a helper thread.
    fn run(&self, ast: &AST, context: &ScriptVariables, log: Option<&LogSink>) -> Result<Dynamic, ScriptOutcome> {
        if stack::remaining().is_some_and(|left| left >= self.stack_size - stack::CALLER_ALLOWANCE) {
            self.core.eval_here(ast, context, log)
        } else {
            let (core, ast, context, log) = (self.core.clone(), ast.clone(), context.clone(), log.cloned());
            self.helpers
                .run(move || core.eval_here(&ast, &context, log.as_ref()))
                .unwrap_or_else(|message| Err(ScriptOutcome::Error(ScriptError::new(message))))
        }
    }
}

fn classify_check(result: Result<Dynamic, ScriptOutcome>) -> ScriptOutcome {
    match result {
        Ok(value) => match value.as_bool() {
            Ok(true) => ScriptOutcome::Pass,
            Ok(false) => ScriptOutcome::Fail("check returned false".to_string()),
            Err(_) => ScriptOutcome::Error(ScriptError::new(format!(
                "a check must evaluate to true or false, not {}",
                describe_value(&value)
            ))),
        },
        Err(outcome) => outcome,
    }
}

fn classify_condition(result: Result<Dynamic, ScriptOutcome>) -> Result<bool, ScriptOutcome> {
    let value = result?;
    value.as_bool().map_err(|_| {
        ScriptOutcome::Error(ScriptError::new(format!(
            "a `when` condition must evaluate to true or false, not {}",
            describe_value(&value)
        )))
    })
}

impl Core {
    /// Evaluate on this thread.
    fn eval_here(&self, ast: &AST, context: &ScriptVariables, log: Option<&LogSink>) -> Result<Dynamic, ScriptOutcome> {
        let _guard = runtime::enter(self.limits.timeout, context, log);
        let mut scope = context.to_scope();
        match self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast) {
            Ok(value) => Ok(value.flatten()),
            Err(err) => Err(self.classify(err)),
        }
    }

    /// Turn an evaluation error into an outcome (called while the evaluation's secrets are set).
    fn classify(&self, err: Box<EvalAltResult>) -> ScriptOutcome {
        if let EvalAltResult::ErrorRuntime(value, _) = err.unwrap_inner() {
            if let Some((kind, message)) = outcome::recognize(value) {
                let message = runtime::redact(&message).into_owned();
                return match kind {
                    Thrown::Fail => ScriptOutcome::Fail(message),
                    Thrown::Inconclusive => ScriptOutcome::Inconclusive(message),
                    Thrown::NoData => ScriptOutcome::NoData(message),
                };
            }
        }
        ScriptOutcome::Error(self.script_error(err))
    }

    /// A readable error at the innermost position Rhai reports.
    fn script_error(&self, err: Box<EvalAltResult>) -> ScriptError {
        let mut err = err;
        let mut functions = Vec::new();
        let mut outer = Position::NONE;
        loop {
            match *err {
                EvalAltResult::ErrorInFunctionCall(name, _source, inner, position) => {
                    if outer.is_none() {
                        outer = position;
                    }
                    functions.push(name);
                    err = inner;
                }
                EvalAltResult::ErrorInModule(_name, inner, position) => {
                    if outer.is_none() {
                        outer = position;
                    }
                    err = inner;
                }
                other => {
                    *err = other;
                    break;
                }
            }
        }
        let mut position = err.take_position();
        if position.is_none() {
            position = outer;
        }
        let mut message = self.describe(&err);
        if !functions.is_empty() {
            let names: Vec<&str> = functions.iter().rev().map(String::as_str).collect();
            message.push_str(&format!(" (in function '{}')", names.join("' called by '")));
        }
        ScriptError::at(runtime::redact(&message).into_owned(), position)
    }

    /// The message of an (innermost, position-less) error.
    fn describe(&self, err: &EvalAltResult) -> String {
        let limits = &self.limits;
        match err {
            EvalAltResult::ErrorTerminated(token, _) if token.to_string() == DEADLINE_TOKEN => {
                format!("script exceeded its {} deadline", crate::duration::format_duration(limits.timeout))
            }
            EvalAltResult::ErrorTooManyOperations(_) => {
                format!("script exceeded {} operations", limits.max_operations)
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                format!("function calls nested deeper than the limit of {} (call_depth)", limits.max_call_depth)
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => match what.as_str() {
                "Length of string" => {
                    format!("string longer than the limit of {} bytes (string_size)", limits.max_string_size)
                }
                "Size of array/BLOB" => {
                    format!("array larger than the limit of {} items (array_size)", limits.max_array_size)
                }
                "Size of object map" => {
                    format!("map larger than the limit of {} entries (map_size)", limits.max_map_size)
                }
                other => format!("{other} too large"),
            },
            EvalAltResult::ErrorModuleNotFound(name, _) => {
                format!("cannot import {name:?}: modules are not available in deploy scripts")
            }
            EvalAltResult::ErrorRuntime(value, _) => runtime_message(value),
            other => other.to_string(),
        }
    }
}

/// The message of a thrown value: a string as it is, anything else displayed.
fn runtime_message(value: &Dynamic) -> String {
    if value.is_unit() {
        "runtime error".to_string()
    } else if let Ok(text) = value.as_immutable_string_ref() {
        text.to_string()
    } else {
        value.to_string()
    }
}

/// What a script evaluated to, by type only (the value itself could hold a secret).
fn describe_value(value: &Dynamic) -> String {
    match value.type_name() {
        "()" => "nothing (does the script end with `;`?)".to_string(),
        "i64" | "i32" => "an integer".to_string(),
        "f64" | "f32" => "a float".to_string(),
        "string" => "a string".to_string(),
        "char" => "a character".to_string(),
        "array" => "an array".to_string(),
        "map" => "a map".to_string(),
        other => format!("a value of type {other}"),
    }
}

/// An engine with the language configuration and limits but no functions: enough to parse.
pub(crate) fn parser_engine(limits: &ScriptLimits) -> Engine {
    let mut engine = Engine::new_raw();
    engine.disable_symbol("eval");
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_depth);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine
}

pub(crate) fn compile_with(engine: &Engine, source: &str) -> Result<AST, ScriptError> {
    engine.compile(source).map_err(ScriptError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{compile, ScriptLog};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    fn collecting_sink() -> (LogSink, Arc<Mutex<Vec<ScriptLog>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let store = lines.clone();
        let sink: LogSink = Arc::new(move |line| {
            if let Ok(mut l) = store.lock() {
                l.push(line)
            }
        });
        (sink, lines)
    }

    fn sandbox(limits: ScriptLimits) -> Sandbox {
        Sandbox::new(limits, crate::script::null_sink())
    }

    fn check(source: &str) -> ScriptOutcome {
        let ast = compile(source).expect("compiles");
        sandbox(ScriptLimits::default()).check(&ast, &ScriptVariables::new())
    }

    fn error_of(outcome: ScriptOutcome) -> ScriptError {
        match outcome {
            ScriptOutcome::Error(e) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn sandbox_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Sandbox>();
        assert_send_sync::<ScriptVariables>();
        assert_send_sync::<ScriptOutcome>();
    }

    #[test]
    fn check_classification() {
        assert_eq!(check("1 + 1 == 2"), ScriptOutcome::Pass);
        assert_eq!(check("false"), ScriptOutcome::Fail("check returned false".into()));
        assert_eq!(check("fail(\"too slow\")"), ScriptOutcome::Fail("too slow".into()));
        assert_eq!(check("fail()"), ScriptOutcome::Fail("check failed".into()));
        assert_eq!(check("inconclusive(\"warming up\")"), ScriptOutcome::Inconclusive("warming up".into()));
        assert_eq!(check("no_data(\"no traffic\")"), ScriptOutcome::NoData("no traffic".into()));
        // From inside a function, too.
        assert_eq!(check("fn f() { no_data(\"x\") } f()"), ScriptOutcome::NoData("x".into()));
        // Non-bool is an error.
        let err = error_of(check("42"));
        assert_eq!(err.message, "a check must evaluate to true or false, not an integer");
        let err = error_of(check("let x = 1;"));
        assert!(err.message.contains("nothing"), "{}", err.message);
        // A thrown string is an error with a position.
        let err = error_of(check("let a = 1;\n  throw \"boom\""));
        assert_eq!(err.message, "boom");
        assert_eq!(err.line, Some(2));
        assert_eq!(err.column, Some(3));
    }

    #[test]
    fn eval_and_condition() {
        let sb = sandbox(ScriptLimits::default());
        let mut ctx = ScriptVariables::new();
        ctx.set_str("version", "1.2.3");
        ctx.set_int("attempt", 2);
        ctx.set_env("prod", [("region", Dynamic::from("eu"))]);
        let ast = compile("version + \"/\" + attempt + \"/\" + env.name + \"/\" + env.region").expect("compiles");
        let value = sb.eval(&ast, &ctx).expect("evaluates");
        assert_eq!(value.to_string(), "1.2.3/2/prod/eu");

        let when = compile("env.name == \"prod\" && attempt > 1").expect("compiles");
        assert_eq!(sb.condition(&when, &ctx), Ok(true));
        let bad = compile("\"yes\"").expect("compiles");
        assert!(matches!(sb.condition(&bad, &ctx), Err(ScriptOutcome::Error(_))));
        let failing = compile("fail(\"nope\")").expect("compiles");
        assert_eq!(sb.eval(&failing, &ctx).err(), Some(ScriptOutcome::Fail("nope".into())));
        // The context is not changed by a script.
        let mutate = compile("attempt = 99; attempt").expect("compiles");
        assert_eq!(sb.eval(&mutate, &ctx).ok().and_then(|v| v.as_int().ok()), Some(99));
        assert_eq!(ctx.get("attempt").and_then(|v| v.as_int().ok()), Some(2));
    }

    #[test]
    fn endless_loop_stopped_by_operations() {
        let limits = ScriptLimits { max_operations: 100_000, ..ScriptLimits::default() };
        let ast = compile("let x = 0;\nloop { x += 1; }").expect("compiles");
        let err = error_of(sandbox(limits).check(&ast, &ScriptVariables::new()));
        assert_eq!(err.message, "script exceeded 100000 operations");
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn endless_loop_stopped_by_deadline() {
        let limits = ScriptLimits {
            max_operations: 0, // unlimited
            timeout: Duration::from_millis(200),
            ..ScriptLimits::default()
        };
        let sb = sandbox(limits);
        let ast = compile("loop {}").expect("compiles");
        let start = Instant::now();
        let err = error_of(sb.check(&ast, &ScriptVariables::new()));
        let took = start.elapsed();
        assert_eq!(err.message, "script exceeded its 200ms deadline");
        assert_eq!(err.line, Some(1));
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_millis(500), "{took:?}");

        // Large max_operations, deadline inside a function.
        let limits =
            ScriptLimits { max_operations: u64::MAX, timeout: Duration::from_millis(200), ..ScriptLimits::default() };
        let ast = compile("fn spin() { let i = 0; while true { i += 1; } }\nspin()").expect("compiles");
        let start = Instant::now();
        let err = error_of(sandbox(limits).check(&ast, &ScriptVariables::new()));
        assert!(start.elapsed() < Duration::from_millis(500));
        assert_eq!(err.message, "script exceeded its 200ms deadline");
        assert!(err.line.is_some());
    }

    #[test]
    fn huge_string_is_capped() {
        let ast = compile("let s = \"x\";\nloop { s += s; }").expect("compiles");
        let err = error_of(sandbox(ScriptLimits::default()).check(&ast, &ScriptVariables::new()));
        assert_eq!(err.message, "string longer than the limit of 1048576 bytes (string_size)");
        assert_eq!(err.line, Some(2));
        let ast = compile("let s = \"x\"; s.pad(1000000000, 'y'); true").expect("compiles");
        let err = error_of(sandbox(ScriptLimits::default()).check(&ast, &ScriptVariables::new()));
        assert!(err.message.contains("string_size"), "{}", err.message);
    }

    #[test]
    fn huge_array_and_map_are_capped() {
        let limits = ScriptLimits { max_array_size: 1000, max_map_size: 1000, ..ScriptLimits::default() };
        let sb = sandbox(limits);
        let ast = compile("let a = []; loop { a.push(1); }").expect("compiles");
        let err = error_of(sb.check(&ast, &ScriptVariables::new()));
        assert!(err.message.contains("array_size"), "{}", err.message);
        // (Rhai 1.27 checks map_size when a map is assigned or merged, not on `m[new_key] = v`.)
        let ast =
            compile("let m = #{}; let i = 0; loop { let n = #{}; n[`k${i}`] = i; m += n; i += 1; }").expect("compiles");
        let err = error_of(sb.check(&ast, &ScriptVariables::new()));
        assert!(err.message.contains("map_size"), "{}", err.message);
    }

    #[test]
    fn deep_recursion_is_capped() {
        let ast = compile("fn f(n) { f(n + 1) }\nf(0)").expect("compiles");
        let err = error_of(sandbox(ScriptLimits::default()).check(&ast, &ScriptVariables::new()));
        assert!(err.message.contains("call_depth"), "{}", err.message);
    }

    #[test]
    fn deeply_nested_data_does_not_overflow_the_stack() {
        // 10000 nested maps need more than the 2 MiB of a test thread (about 4 MiB in a debug
        // build): the sandbox moves such evaluations to a thread with enough stack instead of
        // letting the process abort.
        let limits = ScriptLimits { max_map_size: 10_000, ..ScriptLimits::default() };
        let sb = sandbox(limits);
        let ast = compile("let m = #{}; loop { m = #{x: take(m)}; }").expect("compiles");
        let err = error_of(sb.check(&ast, &ScriptVariables::new()));
        assert_eq!(err.message, "map larger than the limit of 10000 entries (map_size)");
    }

    #[test]
    fn no_files_no_processes_no_imports() {
        let sb = sandbox(ScriptLimits::default());
        let ctx = ScriptVariables::new();
        let err = error_of(sb.check(&compile("import \"x\" as x; true").expect("compiles"), &ctx));
        assert!(err.message.contains("cannot import \"x\""), "{}", err.message);
        assert!(compile("eval(\"1\")").is_err());
        for source in [
            "open(\"/etc/passwd\")",
            "system(\"ls\")",
            "exec(\"ls\")",
            "read_file(\"/etc/passwd\")",
            "Fn(\"eval\").call(\"1\")",
            "call(Fn(\"eval\"), \"true\")",
        ] {
            match compile(source) {
                Err(_) => {}
                Ok(ast) => {
                    let err = error_of(sb.check(&ast, &ctx));
                    assert!(!err.message.is_empty(), "{source}");
                }
            }
        }
    }

    #[test]
    fn print_and_debug_reach_the_sink() {
        let (sink, lines) = collecting_sink();
        let sb = Sandbox::new(ScriptLimits::default(), sink);
        let mut ctx = ScriptVariables::new();
        ctx.set_secret("token", "hunter2");
        let ast = compile("print(\"hello\"); debug(42); log(\"via log \" + token); print(`t=${token}`); true")
            .expect("compiles");
        assert_eq!(sb.check(&ast, &ctx), ScriptOutcome::Pass);
        let lines = lines.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(
            lines,
            vec![
                ScriptLog { level: "info", message: "hello".into() },
                ScriptLog { level: "debug", message: "42".into() },
                ScriptLog { level: "info", message: "via log ***".into() },
                ScriptLog { level: "info", message: "t=***".into() },
            ]
        );
        // Secrets are redacted from outcome messages too, and usable as values.
        let ast = compile("if token.len() == 7 { fail(\"bad token \" + token) } else { true }").expect("compiles");
        assert_eq!(sb.check(&ast, &ctx), ScriptOutcome::Fail("bad token ***".into()));
        let ast = compile("throw \"bad \" + token").expect("compiles");
        assert_eq!(error_of(sb.check(&ast, &ctx)).message, "bad ***");
    }

    #[test]
    fn per_evaluation_log_sinks() {
        let (default_sink, default_lines) = collecting_sink();
        let (own_sink, own_lines) = collecting_sink();
        let sb = Sandbox::new(ScriptLimits::default(), default_sink);
        let ast = compile("print(\"a\"); log(\"b\"); true").expect("compiles");
        assert_eq!(sb.check_with_log(&ast, &ScriptVariables::new(), &own_sink), ScriptOutcome::Pass);
        assert_eq!(sb.check(&ast, &ScriptVariables::new()), ScriptOutcome::Pass);
        let messages = |lines: &Arc<Mutex<Vec<ScriptLog>>>| {
            lines.lock().map(|l| l.iter().map(|line| line.message.clone()).collect::<Vec<_>>()).unwrap_or_default()
        };
        assert_eq!(messages(&own_lines), vec!["a", "b"]);
        assert_eq!(messages(&default_lines), vec!["a", "b"]);
        let when = compile("debug(1); true").expect("compiles");
        assert_eq!(sb.condition_with_log(&when, &ScriptVariables::new(), &own_sink), Ok(true));
        assert!(sb.eval_with_log(&when, &ScriptVariables::new(), &own_sink).is_ok());
        assert_eq!(messages(&own_lines).len(), 4);
    }

    #[test]
    fn runs_on_the_callers_thread_when_its_stack_is_big_enough() {
        let sb = Arc::new(sandbox(ScriptLimits::default()));
        let ast = Arc::new(compile("print(\"x\"); true").expect("compiles"));
        let thread_of_eval = |stack: usize| {
            let (sb, ast) = (sb.clone(), ast.clone());
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    let seen = Arc::new(Mutex::new(None));
                    let store = seen.clone();
                    let sink: LogSink = Arc::new(move |_| {
                        if let Ok(mut s) = store.lock() {
                            *s = Some(std::thread::current().id());
                        }
                    });
                    assert_eq!(sb.check_with_log(&ast, &ScriptVariables::new(), &sink), ScriptOutcome::Pass);
                    let seen = seen.lock().ok().and_then(|s| *s);
                    seen == Some(std::thread::current().id())
                })
                .ok()
                .and_then(|h| h.join().ok())
        };
        assert_eq!(thread_of_eval(sb.required_stack_size()), Some(true));
        assert_eq!(thread_of_eval(2 << 20), Some(false));
    }

    #[test]
    fn runtime_errors_carry_positions() {
        let err = error_of(check("let a = [1];\nlet b = a[5];\ntrue"));
        assert_eq!(err.line, Some(2));
        assert!(err.column.is_some());
        let err = error_of(check("nope_fn(1)"));
        assert!(err.message.contains("nope_fn"), "{}", err.message);
        assert_eq!((err.line, err.column), (Some(1), Some(1)));
        assert!(!err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn concurrent_evaluations_do_not_interfere() {
        let limits = ScriptLimits { max_operations: 0, timeout: Duration::from_millis(300), ..ScriptLimits::default() };
        let sb = Arc::new(sandbox(limits));
        let spin = Arc::new(compile("let i = 0; loop { i += 1; }").expect("compiles"));
        let quick =
            Arc::new(compile("sleep(50); let s = 0; for i in 0..1000 { s += i; } s == 499500").expect("compiles"));
        let slow_sleep = Arc::new(compile("sleep(1000); true").expect("compiles"));
        let outcome = Arc::new(
            compile("if attempt == 3 { inconclusive(`a${attempt}`) } else { no_data(`b${attempt}`) }")
                .expect("compiles"),
        );

        let mut handles = Vec::new();
        for i in 0..8u64 {
            let (sb, spin, quick, slow_sleep, outcome) =
                (sb.clone(), spin.clone(), quick.clone(), slow_sleep.clone(), outcome.clone());
            handles.push(std::thread::spawn(move || {
                // Stagger the starts so deadlines differ per thread.
                std::thread::sleep(Duration::from_millis(40 * i));
                let mut ctx = ScriptVariables::new();
                ctx.set_int("attempt", i as i64);
                let start = Instant::now();
                let result = match i % 4 {
                    0 => sb.check(&spin, &ctx),
                    1 => sb.check(&quick, &ctx),
                    2 => sb.check(&slow_sleep, &ctx),
                    _ => sb.check(&outcome, &ctx),
                };
                (i, result, start.elapsed())
            }));
        }
        for handle in handles {
            let (i, result, took) = handle.join().expect("thread");
            match i % 4 {
                0 => {
                    let err = error_of(result);
                    assert_eq!(err.message, "script exceeded its 300ms deadline", "thread {i}");
                    assert!(took >= Duration::from_millis(300), "thread {i}: {took:?}");
                    assert!(took < Duration::from_millis(800), "thread {i}: {took:?}");
                }
                1 => {
                    assert_eq!(result, ScriptOutcome::Pass, "thread {i}");
                    assert!(took < Duration::from_millis(300), "thread {i}: {took:?}");
                }
                2 => {
                    let err = error_of(result);
                    assert!(err.message.contains("deadline"), "thread {i}: {}", err.message);
                    assert!(took < Duration::from_millis(100), "thread {i}: {took:?}");
                }
                _ => {
                    let expected = if i == 3 {
                        ScriptOutcome::Inconclusive(format!("a{i}"))
                    } else {
                        ScriptOutcome::NoData(format!("b{i}"))
                    };
                    assert_eq!(result, expected, "thread {i}");
                }
            }
        }
    }

    #[test]
    fn reuses_ast_across_many_evaluations() {
        let sb = sandbox(ScriptLimits::default());
        let ast = compile(
            "let status = 200;\nlet latency = 0.05;\nlet errors = [0, 1, 0];\nlet total = 0;\n\
             for e in errors { total += e; }\nif status != 200 { fail(\"status\") }\n\
             if latency > 0.5 { fail(\"slow\") }\ntotal < 3 && host.starts_with(\"web\")",
        )
        .expect("compiles");
        let mut ctx = ScriptVariables::new();
        ctx.set_str("host", "web-1");
        for _ in 0..1000 {
            assert_eq!(sb.check(&ast, &ctx), ScriptOutcome::Pass);
        }
    }
}
