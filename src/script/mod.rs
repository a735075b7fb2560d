//! The Rhai sandbox: engine setup, limits, host API.
//!
//! Plans embed Rhai snippets (steps, hooks, `when` conditions and checks). They are compiled once
//! at check time with [`compile`] and evaluated many times, possibly concurrently on many threads,
//! by one shared [`Sandbox`]:
//!
//! * [`Sandbox::eval`] runs a step/hook script and returns its value,
//! * [`Sandbox::check`] runs a check script and classifies it into a [`ScriptOutcome`],
//! * [`Sandbox::condition`] runs a `when` condition and returns a bool.
//!
//! The engine is `Engine::new_raw()` plus pure packages (no filesystem, no processes, no module
//! resolver, no `eval`), bounded by [`ScriptLimits`] (operations, call depth, expression depth,
//! string/array/map sizes) and a per-evaluation wall-clock deadline. `print`/`debug`/`log` go to a
//! [`LogSink`]. The host API (`http::`, `metrics::`, `json::`, `semver::`, `sleep`, `env_var`,
//! `fail`, `inconclusive`, `no_data`) is described in `docs/scripting.md`.
//!
//! Threads: an evaluation runs on the calling thread when it has [`required_stack_size`] bytes
//! of stack (about 110 MiB of address space with the default limits: configure tokio's blocking
//! pool with `thread_stack_size`), otherwise on a helper thread of the sandbox (slower). The
//! `*_with_log` variants send one evaluation's output to its own sink.

mod big_stack;
mod error;
mod free_variables;
pub(crate) mod host;
mod host_values;
mod limits;
mod outcome;
mod runtime;
mod sandbox;
mod stack;
#[cfg(test)]
mod testutil;
mod variables;

use std::sync::{Arc, OnceLock};

pub use error::ScriptError;
pub use free_variables::{free_variables, properties_of, strict_parser, FreeVariable};
pub use host::json::{dynamic_to_json, json_to_dynamic};
pub use host_values::{HostTable, BUILT_IN_KEYS as HOST_BUILT_IN_KEYS};
pub use limits::ScriptLimits;
pub use outcome::ScriptOutcome;
pub use sandbox::Sandbox;
pub use stack::required_stack_size;
pub use variables::ScriptVariables;

/// A line printed by a script: `print`/`debug`/`log()`. Level is "info" for print/log, "debug" for debug.
///
/// Secret values of the evaluation's context (see [`ScriptVariables::set_secret`]) are already
/// replaced by `***` in `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptLog {
    pub level: &'static str,
    pub message: String,
}

/// Where script output goes. It is called synchronously, before the evaluation that printed
/// returns, on the thread that runs it: the caller's thread, or a helper thread when the caller's
/// stack is too small (see [`required_stack_size`]).
pub type LogSink = Arc<dyn Fn(ScriptLog) + Send + Sync>;

/// A sink that drops every line (handy for `check`-only tooling and tests).
pub fn null_sink() -> LogSink {
    Arc::new(|_| {})
}

/// Compile once (at check time) with the sandbox configuration; syntax errors carry positions.
///
/// Parse-time limits (expression depth, string literal size) are the defaults of
/// [`ScriptLimits`]; use [`compile_with_limits`] or [`Sandbox::compile`] to apply configured ones.
pub fn compile(source: &str) -> Result<rhai::AST, ScriptError> {
    static ENGINE: OnceLock<rhai::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| sandbox::parser_engine(&ScriptLimits::default()));
    sandbox::compile_with(engine, source)
}

/// An engine that compiles with the parse-time limits of `limits`; build it
/// once and compile every script of a plan with it.
pub fn compiler(limits: &ScriptLimits) -> rhai::Engine {
    sandbox::parser_engine(limits)
}

/// Compiles with an engine from [`compiler`].
pub fn compile_on(engine: &rhai::Engine, source: &str) -> Result<rhai::AST, ScriptError> {
    sandbox::compile_with(engine, source)
}

/// Like [`compile`], with the parse-time limits of `limits`.
pub fn compile_with_limits(source: &str, limits: &ScriptLimits) -> Result<rhai::AST, ScriptError> {
    sandbox::compile_with(&sandbox::parser_engine(limits), source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_error_carries_line_and_column() {
        let source = "let a = 1;\nlet b = 2;\nlet = 3;";
        let err = compile(source).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.column, Some(5));
        assert!(!err.message.is_empty());
        assert!(!err.message.contains("line 3"), "position is kept out of the message: {}", err.message);
    }

    #[test]
    fn compile_error_column_counts_chars() {
        let err = compile("let s = \"héllo\"; let = 1;").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert_eq!(err.column, Some(22));
    }

    #[test]
    fn compile_ok() {
        assert!(compile("let x = 40; x + 2 == 42").is_ok());
    }

    #[test]
    fn eval_is_not_available() {
        let err = compile("eval(\"1\")").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("eval"), "{}", err.message);
    }

    #[test]
    fn compile_with_limits_applies_expr_depth() {
        let deep = format!("{}1{}", "(".repeat(12), ")".repeat(12));
        let limits = ScriptLimits { max_expr_depth: 8, ..ScriptLimits::default() };
        assert!(compile(&deep).is_ok());
        assert!(compile_with_limits(&deep, &limits).is_err());
    }
}
