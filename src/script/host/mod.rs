//! The host API scripts can call.
//!
//! Global functions:
//! * `log(msg)` — a line to the run's log (level info), like `print`.
//! * `sleep(ms)` — pause; an error if it would pass the evaluation's deadline.
//! * `env_var(name)` — an environment variable of the runner, or `()` when unset.
//! * `redact(value)` — the value as text, every secret replaced by `***`.
//! * `fail(msg)`, `inconclusive(msg)`, `no_data(msg)` — end the script with that outcome.
//!
//! Modules: `http::` ([`http`]), `metrics::` ([`metrics`]), `json::` ([`json`]), `semver::` ([`semver`]).

pub mod http;
pub mod json;
pub mod metrics;
pub mod semver;

use super::outcome::Thrown;
use super::{runtime, LogSink, ScriptLimits};
use rhai::{Dynamic, Engine, EvalAltResult, FuncRegistration, ImmutableString, NativeCallContext, FLOAT, INT};
use std::sync::Arc;
use std::time::Duration;

/// The modules scripts call into (`http::get`, ...).
pub(crate) const MODULE_NAMES: [&str; 4] = ["http", "metrics", "json", "semver"];

type HostResult<T> = Result<T, Box<EvalAltResult>>;

/// Register every host function and module on `engine`.
pub(crate) fn register(engine: &mut Engine, limits: &ScriptLimits, log: LogSink) {
    let client = Arc::new(http::Client::new(limits));

    engine.register_static_module("http", http::module(client.clone()).into());
    engine.register_static_module("metrics", metrics::module(client).into());
    engine.register_static_module("json", json::module().into());
    engine.register_static_module("semver", semver::module().into());

    FuncRegistration::new("log")
        .with_volatility(true)
        .register_into_engine(engine, move |message: Dynamic| runtime::emit(&log, "info", &to_text(&message)));

    // These replace Rhai's own `sleep(seconds)`, which ignores the deadline.
    FuncRegistration::new("sleep").with_volatility(true).register_into_engine(engine, sleep);
    FuncRegistration::new("sleep").with_volatility(true).register_into_engine(engine, sleep_float);

    FuncRegistration::new("env_var").with_volatility(true).register_into_engine(engine, env_var);

    // `redact(value)`: the value as text with every secret replaced by `***`, for text that
    // leaves the sandbox other than through the log (a webhook message, a request body).
    FuncRegistration::new("redact")
        .with_volatility(true)
        .register_into_engine(engine, |value: Dynamic| -> ImmutableString {
            runtime::redact(&to_text(&value)).into_owned().into()
        });

    for (name, kind, default) in [
        ("fail", Thrown::Fail, "check failed"),
        ("inconclusive", Thrown::Inconclusive, "inconclusive"),
        ("no_data", Thrown::NoData, "no data"),
    ] {
        FuncRegistration::new(name)
            .with_volatility(true)
            .register_into_engine(engine, move |message: Dynamic| -> HostResult<Dynamic> {
                Err(kind.error(to_text(&message)))
            });
        FuncRegistration::new(name)
            .with_volatility(true)
            .register_into_engine(engine, move || -> HostResult<Dynamic> { Err(kind.error(default)) });
    }
}

/// `sleep(ms)`: pause the script; an error if it would pass the evaluation's deadline.
fn sleep(ms: INT) -> HostResult<()> {
    let millis = u64::try_from(ms).map_err(|_| format!("sleep({ms}): the duration must not be negative"))?;
    sleep_for(&ms.to_string(), Duration::from_millis(millis))
}

/// `sleep(ms)` with a fractional number of milliseconds.
fn sleep_float(ms: FLOAT) -> HostResult<()> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(format!("sleep({ms}): the duration must be a positive number of milliseconds").into());
    }
    sleep_for(&ms.to_string(), Duration::from_secs_f64((ms / 1000.0).min(1e12)))
}

fn sleep_for(shown: &str, wanted: Duration) -> HostResult<()> {
    if let Some(left) = runtime::remaining() {
        if wanted > left {
            return Err(format!(
                "sleep({shown}) would exceed the script's deadline ({} left)",
                crate::duration::format_duration(left)
            )
            .into());
        }
    }
    std::thread::sleep(wanted);
    Ok(())
}

/// `env_var(name)`: the runner's environment variable `name`, or `()` when it is unset.
fn env_var(name: ImmutableString) -> Dynamic {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Dynamic::UNIT;
    }
    match std::env::var_os(name.as_str()) {
        Some(value) => Dynamic::from(value.to_string_lossy().into_owned()),
        None => Dynamic::UNIT,
    }
}

/// A host error at the position of the call (Rhai leaves errors of `module::fn(...)` calls
/// without one).
pub(crate) fn at_call(ctx: &NativeCallContext, err: impl Into<Box<EvalAltResult>>) -> Box<EvalAltResult> {
    let mut err: Box<EvalAltResult> = err.into();
    if err.position().is_none() {
        err.set_position(ctx.call_position());
    }
    err
}

/// A value as message text: strings as they are, `()` as nothing, anything else displayed.
pub(crate) fn to_text(value: &Dynamic) -> String {
    if value.is_unit() {
        String::new()
    } else if let Ok(text) = value.as_immutable_string_ref() {
        text.to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::script::{compile, null_sink, Sandbox, ScriptLimits, ScriptOutcome, ScriptVariables};
    use std::time::{Duration, Instant};

    fn eval(source: &str) -> Result<rhai::Dynamic, ScriptOutcome> {
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());
        sb.eval(&compile(source).expect("compiles"), &ScriptVariables::new())
    }

    #[test]
    fn env_var_reads_or_unit() {
        // PATH is set in any test environment.
        assert_eq!(eval("type_of(env_var(\"PATH\"))").map(|v| v.to_string()), Ok("string".into()));
        assert_eq!(eval("env_var(\"DEPLOY_SURELY_UNSET_VAR_42\") == ()").map(|v| v.to_string()), Ok("true".into()));
        assert_eq!(eval("env_var(\"\") == ()").map(|v| v.to_string()), Ok("true".into()));
        assert_eq!(eval("env_var(\"A=B\") == ()").map(|v| v.to_string()), Ok("true".into()));
    }

    #[test]
    fn sleep_within_and_beyond_deadline() {
        let start = Instant::now();
        assert!(eval("sleep(30); true").is_ok());
        assert!(start.elapsed() >= Duration::from_millis(30));
        let limits = ScriptLimits { timeout: Duration::from_millis(100), ..ScriptLimits::default() };
        let sb = Sandbox::new(limits, null_sink());
        let start = Instant::now();
        let out = sb.check(&compile("sleep(60);\nsleep(60); true").expect("compiles"), &ScriptVariables::new());
        assert!(start.elapsed() < Duration::from_millis(100));
        match out {
            ScriptOutcome::Error(e) => {
                assert!(e.message.starts_with("sleep(60) would exceed the script's deadline"), "{}", e.message);
                assert_eq!(e.line, Some(2));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(eval("sleep(-1)"), Err(ScriptOutcome::Error(_))));
        // A float is milliseconds too, and bounded the same way.
        let start = Instant::now();
        assert!(eval("sleep(20.5); true").is_ok());
        assert!(start.elapsed() >= Duration::from_millis(20));
        let out = sb.check(&compile("sleep(1.5e9)").expect("compiles"), &ScriptVariables::new());
        assert!(matches!(out, ScriptOutcome::Error(_)), "{out:?}");
    }

    #[test]
    fn outcome_functions_accept_any_value() {
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());
        let out = sb.check(&compile("fail(42)").expect("compiles"), &ScriptVariables::new());
        assert_eq!(out, ScriptOutcome::Fail("42".into()));
        let out = sb.check(&compile("no_data()").expect("compiles"), &ScriptVariables::new());
        assert_eq!(out, ScriptOutcome::NoData("no data".into()));
        // A script may catch them.
        let out = sb.check(
            &compile(
                "let caught = false; try { no_data(\"x\") } catch (e) { caught = e.__outcome == \"no_data\"; } caught",
            )
            .expect("compiles"),
            &ScriptVariables::new(),
        );
        assert_eq!(out, ScriptOutcome::Pass);
    }
}
