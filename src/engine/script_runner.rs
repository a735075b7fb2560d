//! How the engine evaluates Rhai: the narrow [`ScriptRunner`] trait it
//! depends on, and [`SandboxRunner`], its implementation over the sandbox of
//! [`crate::script`] (one engine configuration, limits, deadline, host API).
//!
//! Every method is blocking; the engine calls them on tokio's blocking pool,
//! whose threads `deploy run` gives [`crate::script::required_stack_size`]
//! bytes of stack so that an evaluation runs right on that thread. The AST
//! compiled at check time is reused for every host, attempt and poll.
//!
//! A runtime error names the place in the `.deploy` file: Rhai's position
//! inside the snippet is moved by the snippet's `source_start` and turned
//! into the file's line and column.

use std::sync::Arc;

use crate::check::model::{Script, ScriptLimits};
use crate::script::{LogSink, Sandbox, ScriptError, ScriptOutcome, ScriptVariables};
use crate::syntax::span::{byte_offset, line_column, SourceMap};

/// The decision of a `check` script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Pass,
    Fail(String),
    Inconclusive(String),
    NoData(String),
    /// The script itself is broken (runtime error, limit, deadline), with
    /// its place in the `.deploy` file.
    Error(String),
}

impl CheckOutcome {
    /// `pass`, `fail`, `inconclusive`, `no_data`, `error` (as in events).
    pub fn word(&self) -> &'static str {
        match self {
            CheckOutcome::Pass => "pass",
            CheckOutcome::Fail(_) => "fail",
            CheckOutcome::Inconclusive(_) => "inconclusive",
            CheckOutcome::NoData(_) => "no_data",
            CheckOutcome::Error(_) => "error",
        }
    }

    /// The message of a non-pass outcome, without trailing whitespace or
    /// newlines (a script's `fail(body)` often ends with one).
    pub fn message(&self) -> Option<&str> {
        match self {
            CheckOutcome::Pass => None,
            CheckOutcome::Fail(m)
            | CheckOutcome::Inconclusive(m)
            | CheckOutcome::NoData(m)
            | CheckOutcome::Error(m) => Some(m.trim_end()),
        }
    }
}

pub trait ScriptRunner: Send + Sync {
    /// Runs a `script` step or hook; `Err` is the message of a failure.
    fn run_step(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<(), String>;
    /// Evaluates a `when` condition.
    fn condition(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<bool, String>;
    /// Evaluates a gate's `check` once.
    fn check(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> CheckOutcome;
    /// The same evaluation, done quickly enough to run on an async worker:
    /// `None` when the script may block (HTTP, metrics, sleep) or did not
    /// finish within a small operation budget — then nothing it did was
    /// observable, and the caller evaluates it in full on the blocking pool.
    fn quick(&self, _script: &Script, _context: &ScriptVariables, _log: &LogSink, _kind: Quick) -> Option<QuickResult> {
        None
    }
}

/// Which evaluation [`ScriptRunner::quick`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quick {
    Step,
    Condition,
    Check,
}

/// What a quick evaluation gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuickResult {
    Step(Result<(), String>),
    Condition(Result<bool, String>),
    Check(CheckOutcome),
}

/// Operations a quick evaluation may use (well under a millisecond).
pub const QUICK_OPERATIONS: u64 = 20_000;

/// Whether a script can only compute: it calls nothing that waits (HTTP,
/// metrics, sleep), so running it again after an aborted quick run is safe.
pub fn computes_only(script: &Script) -> bool {
    let source = &*script.source;
    !(source.contains("http") || source.contains("metrics") || source.contains("sleep"))
}

/// The sandbox, shared by every task of a run, and the plan's sources to
/// place runtime errors in the `.deploy` file.
pub struct SandboxRunner {
    sandbox: Sandbox,
    /// The same sandbox with a small operation budget, for [`ScriptRunner::quick`].
    budgeted: Sandbox,
    sources: SourceMap,
}

impl SandboxRunner {
    pub fn new(limits: ScriptLimits, sources: SourceMap) -> SandboxRunner {
        SandboxRunner::with_host_keys(limits, sources, &[])
    }

    /// The runner of `plan`'s scripts: its limits, its sources, and
    /// `host.KEY` for every key its hosts and environments have.
    pub fn for_plan(plan: &crate::check::model::Plan) -> SandboxRunner {
        let mut keys: Vec<String> = plan
            .environments
            .iter()
            .flat_map(|environment| environment.host_value_keys().map(str::to_string))
            .collect();
        keys.sort();
        keys.dedup();
        SandboxRunner::with_host_keys(plan.pipeline.script_limits, plan.sources.clone(), &keys)
    }

    fn with_host_keys(limits: ScriptLimits, sources: SourceMap, host_keys: &[String]) -> SandboxRunner {
        // Every evaluation of the engine passes its own sink (`*_with_log`).
        let budget = ScriptLimits { max_operations: limits.max_operations.min(QUICK_OPERATIONS), ..limits };
        let sink = crate::script::null_sink;
        SandboxRunner {
            sandbox: Sandbox::with_host_keys(limits, sink(), host_keys),
            budgeted: Sandbox::with_host_keys(budget, sink(), host_keys),
            sources,
        }
    }

    /// The native stack an evaluation needs to run on the calling thread.
    pub fn required_stack_size(&self) -> usize {
        self.sandbox.required_stack_size()
    }

    /// `release.deploy:12:9: message` for an error inside `script`.
    pub fn locate(&self, script: &Script, error: &ScriptError) -> String {
        locate(&self.sources, script, error)
    }

    fn describe(&self, script: &Script, outcome: ScriptOutcome) -> String {
        match outcome {
            ScriptOutcome::Pass => String::new(),
            ScriptOutcome::Fail(message) if message.is_empty() => "the script called fail()".to_string(),
            ScriptOutcome::Fail(message) => message,
            ScriptOutcome::Inconclusive(message) => format!("inconclusive: {message}"),
            ScriptOutcome::NoData(message) => format!("no data: {message}"),
            ScriptOutcome::Error(error) => self.locate(script, &error),
        }
    }
}

/// Places a script error in its file: `FILE:LINE:COLUMN: message`.
pub fn locate(sources: &SourceMap, script: &Script, error: &ScriptError) -> String {
    let Some(file) = sources.get(script.file) else {
        return error.to_string();
    };
    let Some(line) = error.line else {
        let at = line_column(&file.text, script.source_start);
        return format!("{}:{}:{}: {} (in the script starting here)", file.name, at.line, at.column, error.message);
    };
    let inside = byte_offset(&script.source, line, error.column.unwrap_or(1));
    let at = line_column(&file.text, script.source_start + inside);
    format!("{}:{}:{}: {}", file.name, at.line, at.column, error.message)
}

impl ScriptRunner for SandboxRunner {
    fn run_step(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<(), String> {
        match self.sandbox.eval_with_log(&script.ast, context, log) {
            Ok(_) => Ok(()),
            Err(outcome) => Err(self.describe(script, outcome)),
        }
    }

    fn condition(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<bool, String> {
        self.sandbox.condition_with_log(&script.ast, context, log).map_err(|outcome| self.describe(script, outcome))
    }

    fn check(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> CheckOutcome {
        self.check_outcome(script, self.sandbox.check_with_log(&script.ast, context, log))
    }

    fn quick(&self, script: &Script, context: &ScriptVariables, log: &LogSink, kind: Quick) -> Option<QuickResult> {
        if !computes_only(script) || self.budgeted.limits().max_operations == self.sandbox.limits().max_operations {
            return None;
        }
        // What it prints is kept until it is known to have finished.
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let buffer: LogSink = {
            let lines = lines.clone();
            Arc::new(move |line| {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            })
        };
        let over_budget =
            |outcome: &ScriptOutcome| matches!(outcome, ScriptOutcome::Error(error) if exceeded_budget(error));
        let result = match kind {
            Quick::Step => match self.budgeted.eval_with_log(&script.ast, context, &buffer) {
                Err(outcome) if over_budget(&outcome) => return None,
                Ok(_) => QuickResult::Step(Ok(())),
                Err(outcome) => QuickResult::Step(Err(self.describe(script, outcome))),
            },
            Quick::Condition => match self.budgeted.condition_with_log(&script.ast, context, &buffer) {
                Err(outcome) if over_budget(&outcome) => return None,
                Ok(value) => QuickResult::Condition(Ok(value)),
                Err(outcome) => QuickResult::Condition(Err(self.describe(script, outcome))),
            },
            Quick::Check => match self.budgeted.check_with_log(&script.ast, context, &buffer) {
                outcome if over_budget(&outcome) => return None,
                outcome => QuickResult::Check(self.check_outcome(script, outcome)),
            },
        };
        let lines = lines.lock().map(|mut lines| std::mem::take(&mut *lines)).unwrap_or_default();
        for line in lines {
            log(line);
        }
        Some(result)
    }
}

impl SandboxRunner {
    fn check_outcome(&self, script: &Script, outcome: ScriptOutcome) -> CheckOutcome {
        match outcome {
            ScriptOutcome::Pass => CheckOutcome::Pass,
            ScriptOutcome::Fail(message) => CheckOutcome::Fail(message),
            ScriptOutcome::Inconclusive(message) => CheckOutcome::Inconclusive(message),
            ScriptOutcome::NoData(message) => CheckOutcome::NoData(message),
            ScriptOutcome::Error(error) => CheckOutcome::Error(self.locate(script, &error)),
        }
    }
}

/// The quick sandbox's operation budget ran out.
fn exceeded_budget(error: &ScriptError) -> bool {
    error.message == format!("script exceeded {} operations", QUICK_OPERATIONS)
}

/// Compiles a snippet the way the checker does (for tests and hand-built plans).
pub fn compile_script(source: &str) -> Result<Script, String> {
    let ast = crate::script::compile(source).map_err(|error| error.to_string())?;
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
    use std::sync::Mutex;

    fn context() -> ScriptVariables {
        ScriptVariables::new().with("version", "2.0".to_string())
    }

    fn runner() -> SandboxRunner {
        SandboxRunner::new(ScriptLimits::default(), SourceMap::default())
    }

    #[test]
    fn conditions_and_checks() {
        let runner = runner();
        let log = crate::script::null_sink();
        let when = compile_script(r#"version != "1.0""#).unwrap();
        assert_eq!(runner.condition(&when, &context(), &log), Ok(true));
        let check = compile_script(r#"inconclusive("not yet")"#).unwrap();
        assert_eq!(runner.check(&check, &context(), &log), CheckOutcome::Inconclusive("not yet".into()));
        let check = compile_script("1 + 1 == 2").unwrap();
        assert_eq!(runner.check(&check, &context(), &log), CheckOutcome::Pass);
    }

    #[test]
    fn step_logs_and_fails() {
        let runner = runner();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log: LogSink = Arc::new(move |line: crate::script::ScriptLog| sink.lock().unwrap().push(line.message));
        let step = compile_script("log(`v=${version}`); fail(\"bad\")").unwrap();
        assert_eq!(runner.run_step(&step, &context(), &log), Err("bad".into()));
        assert_eq!(lines.lock().unwrap().as_slice(), ["v=2.0"]);
    }

    #[test]
    fn quick_runs_finish_or_leave_no_trace() {
        let runner = runner();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let log: LogSink = Arc::new(move |line: crate::script::ScriptLog| sink.lock().unwrap().push(line.message));
        let short = compile_script("log(\"short\"); 1 + 1 == 2").unwrap();
        assert_eq!(runner.quick(&short, &context(), &log, Quick::Check), Some(QuickResult::Check(CheckOutcome::Pass)));
        let long = compile_script("log(\"long\"); let i = 0; while i < 100000 { i += 1; } true").unwrap();
        assert_eq!(runner.quick(&long, &context(), &log, Quick::Check), None);
        let waits = compile_script("sleep(1); true").unwrap();
        assert_eq!(runner.quick(&waits, &context(), &log, Quick::Check), None);
        // Only the run that finished printed.
        assert_eq!(lines.lock().unwrap().as_slice(), ["short"]);
        assert_eq!(runner.check(&long, &context(), &log), CheckOutcome::Pass);
    }

    #[test]
    fn errors_name_the_line_of_the_deploy_file() {
        let text = "stage a {\n  script ```\n    let x = 1;\n    x.nope()\n  ```\n}\n";
        let start = text.find("\n    let").unwrap() + 1;
        let end = text.find("\n  ```\n}").unwrap() + 1;
        let mut sources = SourceMap::default();
        let file = sources.add(std::path::Path::new("release.deploy"), "release.deploy".into(), Arc::from(text));
        let mut script = compile_script(&text[start..end]).unwrap();
        script.file = file;
        script.source_start = start;
        let runner = SandboxRunner::new(ScriptLimits::default(), sources);
        let error = runner.run_step(&script, &context(), &crate::script::null_sink()).unwrap_err();
        assert!(error.starts_with("release.deploy:4:"), "{error}");
        assert!(error.contains("nope"), "{error}");
    }
}
