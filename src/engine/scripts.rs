//! How the engine evaluates Rhai: the narrow [`ScriptRunner`] trait it
//! depends on, and [`RhaiRunner`], a minimal implementation over a plain
//! `rhai::Engine`. The sandbox of `crate::script` replaces it by
//! implementing the same trait (one file changes).
//!
//! Every method is blocking; the engine calls them on tokio's blocking pool.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use rhai::{Dynamic, EvalAltResult, Map};

use crate::check::model::{Script, ScriptLimits};

/// What a script sees: variables by name; secrets apart so that an
/// implementation can mask them in what the script prints.
#[derive(Clone, Debug, Default)]
pub struct ScriptVars {
    pub variables: Vec<(String, Dynamic)>,
    pub secrets: Vec<(String, String)>,
}

/// Receives each line a script prints (`print`, `debug`, `log`).
pub type ScriptLogFn = Arc<dyn Fn(String) + Send + Sync>;

/// The decision of a `check` script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Pass,
    Fail(String),
    Inconclusive(String),
    NoData(String),
    /// The script itself is broken (runtime error, limit, deadline).
    Error(String),
}

pub trait ScriptRunner: Send + Sync {
    /// Runs a `script` step; `Err` is the message of a failure.
    fn run_step(&self, script: &Script, vars: &ScriptVars, log: &ScriptLogFn) -> Result<(), String>;
    /// Evaluates a `when` condition.
    fn condition(&self, script: &Script, vars: &ScriptVars) -> Result<bool, String>;
    /// Evaluates a gate's `check` once.
    fn check(&self, script: &Script, vars: &ScriptVars, log: &ScriptLogFn) -> CheckOutcome;
}

thread_local! {
    static LOG: RefCell<Option<ScriptLogFn>> = const { RefCell::new(None) };
    static DEADLINE: RefCell<Option<Instant>> = const { RefCell::new(None) };
}

const OUTCOME_KEY: &str = "__outcome";

/// A plain Rhai engine with the plan's limits, `print`/`debug`/`log` routed
/// to the step's output, and `fail`, `inconclusive`, `no_data`.
pub struct RhaiRunner {
    engine: rhai::Engine,
    /// Wall-clock limit of one evaluation.
    timeout: std::time::Duration,
}

impl RhaiRunner {
    pub fn new(limits: ScriptLimits) -> RhaiRunner {
        let mut engine = rhai::Engine::new();
        engine.set_max_operations(limits.max_operations);
        engine.set_max_call_levels(limits.max_call_depth);
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
        engine.set_max_string_size(limits.max_string_size);
        engine.set_max_array_size(limits.max_array_size);
        engine.set_max_map_size(limits.max_map_size);
        engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
        engine.on_print(|text| emit_log(text.to_string()));
        engine.on_debug(|text, _, _| emit_log(text.to_string()));
        engine.register_fn("log", |text: &str| emit_log(text.to_string()));
        engine.register_fn("log", |value: Dynamic| emit_log(value.to_string()));
        for outcome in ["fail", "inconclusive", "no_data"] {
            engine.register_fn(outcome, move |message: &str| -> Result<Dynamic, Box<EvalAltResult>> {
                Err(thrown(outcome, message))
            });
            engine.register_fn(outcome, move || -> Result<Dynamic, Box<EvalAltResult>> { Err(thrown(outcome, "")) });
        }
        let timeout = limits.timeout;
        engine.on_progress(move |_| {
            let expired = DEADLINE.with(|deadline| deadline.borrow().is_some_and(|at| Instant::now() >= at));
            if expired {
                Some(Dynamic::from(format!("the script ran longer than its limit of {timeout:?}")))
            } else {
                None
            }
        });
        RhaiRunner { engine, timeout }
    }

    fn eval(
        &self,
        script: &Script,
        vars: &ScriptVars,
        log: Option<&ScriptLogFn>,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut scope = rhai::Scope::new();
        for (name, value) in &vars.variables {
            scope.push_dynamic(name.as_str(), value.clone());
        }
        for (name, value) in &vars.secrets {
            scope.push(name.as_str(), value.clone());
        }
        LOG.with(|slot| *slot.borrow_mut() = log.cloned());
        DEADLINE.with(|slot| *slot.borrow_mut() = Some(Instant::now() + self.timeout));
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, &script.ast);
        LOG.with(|slot| *slot.borrow_mut() = None);
        DEADLINE.with(|slot| *slot.borrow_mut() = None);
        result
    }
}

fn emit_log(text: String) {
    LOG.with(|slot| {
        if let Some(log) = slot.borrow().as_ref() {
            log(text);
        }
    });
}

fn thrown(outcome: &str, message: &str) -> Box<EvalAltResult> {
    let mut map = Map::new();
    map.insert(OUTCOME_KEY.into(), Dynamic::from(outcome.to_string()));
    map.insert("message".into(), Dynamic::from(message.to_string()));
    Box::new(EvalAltResult::ErrorRuntime(Dynamic::from_map(map), rhai::Position::NONE))
}

/// Splits an evaluation error into a thrown outcome or a plain message.
fn classify(error: &EvalAltResult) -> CheckOutcome {
    if let EvalAltResult::ErrorRuntime(value, _) = error {
        if let Some(map) = value.read_lock::<Map>() {
            if let Some(outcome) = map.get(OUTCOME_KEY) {
                let message = map.get("message").map(|m| m.to_string()).unwrap_or_default();
                return match outcome.to_string().as_str() {
                    "fail" => CheckOutcome::Fail(message),
                    "inconclusive" => CheckOutcome::Inconclusive(message),
                    _ => CheckOutcome::NoData(message),
                };
            }
        }
        if let EvalAltResult::ErrorRuntime(value, position) = error {
            return CheckOutcome::Error(format!("{value} ({position})"));
        }
    }
    CheckOutcome::Error(error.to_string())
}

impl ScriptRunner for RhaiRunner {
    fn run_step(&self, script: &Script, vars: &ScriptVars, log: &ScriptLogFn) -> Result<(), String> {
        match self.eval(script, vars, Some(log)) {
            Ok(_) => Ok(()),
            Err(error) => Err(match classify(&error) {
                CheckOutcome::Fail(message) if message.is_empty() => "the script called fail()".to_string(),
                CheckOutcome::Fail(message) | CheckOutcome::Error(message) => message,
                CheckOutcome::Inconclusive(message) => format!("inconclusive: {message}"),
                CheckOutcome::NoData(message) => format!("no data: {message}"),
                CheckOutcome::Pass => String::new(),
            }),
        }
    }

    fn condition(&self, script: &Script, vars: &ScriptVars) -> Result<bool, String> {
        match self.eval(script, vars, None) {
            Ok(value) => {
                value.as_bool().map_err(|ty| format!("`when` must be true or false, not a value of type {ty}"))
            }
            Err(error) => Err(match classify(&error) {
                CheckOutcome::Fail(message)
                | CheckOutcome::Error(message)
                | CheckOutcome::Inconclusive(message)
                | CheckOutcome::NoData(message) => message,
                CheckOutcome::Pass => String::new(),
            }),
        }
    }

    fn check(&self, script: &Script, vars: &ScriptVars, log: &ScriptLogFn) -> CheckOutcome {
        match self.eval(script, vars, Some(log)) {
            Ok(value) => match value.as_bool() {
                Ok(true) => CheckOutcome::Pass,
                Ok(false) => CheckOutcome::Fail("the check returned false".to_string()),
                Err(ty) => CheckOutcome::Error(format!("a check must return true or false, not a value of type {ty}")),
            },
            Err(error) => classify(&error),
        }
    }
}

/// Compiles a snippet the way the checker will (for tests and hand-built plans).
pub fn compile_script(source: &str) -> Result<Script, String> {
    let ast = rhai::Engine::new().compile(source).map_err(|error| error.to_string())?;
    Ok(Script {
        source: Arc::from(source),
        ast: Arc::new(ast),
        file: crate::syntax::span::FileId::default(),
        source_start: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> ScriptVars {
        ScriptVars { variables: vec![("version".into(), Dynamic::from("2.0".to_string()))], secrets: vec![] }
    }

    #[test]
    fn conditions_and_checks() {
        let runner = RhaiRunner::new(ScriptLimits::default());
        let when = compile_script(r#"version != "1.0""#).unwrap();
        assert_eq!(runner.condition(&when, &vars()), Ok(true));
        let log: ScriptLogFn = Arc::new(|_| {});
        let check = compile_script(r#"inconclusive("not yet")"#).unwrap();
        assert_eq!(runner.check(&check, &vars(), &log), CheckOutcome::Inconclusive("not yet".into()));
        let check = compile_script("1 + 1 == 2").unwrap();
        assert_eq!(runner.check(&check, &vars(), &log), CheckOutcome::Pass);
    }

    #[test]
    fn step_logs_and_fails() {
        let runner = RhaiRunner::new(ScriptLimits::default());
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log: ScriptLogFn = Arc::new(move |line| sink.lock().unwrap().push(line));
        let step = compile_script(r#"log(`v=${version}`); fail("bad")"#).unwrap();
        assert_eq!(runner.run_step(&step, &vars(), &log), Err("bad".into()));
        assert_eq!(lines.lock().unwrap().as_slice(), ["v=2.0"]);
    }
}
