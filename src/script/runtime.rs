//! Per-evaluation state, kept per thread: the wall-clock deadline and the secrets to redact.
//!
//! An evaluation runs entirely on the thread that called the sandbox (Rhai is synchronous), so a
//! thread-local set around each evaluation is private to it, even when many threads share one
//! `Sandbox`. The guard restores the previous state, so nested evaluations are fine too.

use super::{LogSink, ScriptLog, ScriptVariables};
use rhai::ImmutableString;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static SECRETS: RefCell<Vec<ImmutableString>> = const { RefCell::new(Vec::new()) };
    /// Where this evaluation's output goes instead of the sandbox's sink.
    static LOG: RefCell<Option<LogSink>> = const { RefCell::new(None) };
}

/// Restores the thread's previous evaluation state when dropped.
pub(crate) struct EvalGuard {
    previous_deadline: Option<Instant>,
    previous_secrets: Option<usize>,
    previous_log: Option<Option<LogSink>>,
    previous_hosts: Option<Option<std::sync::Arc<super::HostTable>>>,
}

/// Start an evaluation: deadline = now + `timeout` (zero = no deadline; never later than an
/// enclosing evaluation's), secrets = the context's secret values, output to `log` if given.
pub(crate) fn enter(timeout: Duration, context: &ScriptVariables, log: Option<&LogSink>) -> EvalGuard {
    let own = if timeout.is_zero() { None } else { Instant::now().checked_add(timeout) };
    let previous_deadline = DEADLINE.with(|cell| {
        let previous = cell.get();
        let deadline = match (previous, own) {
            (Some(p), Some(o)) => Some(p.min(o)),
            (p, o) => p.or(o),
        };
        cell.set(deadline);
        previous
    });
    let previous_secrets = SECRETS.with(|cell| {
        let mut secrets = cell.try_borrow_mut().ok()?;
        let before = secrets.len();
        secrets.extend(context.secrets());
        // Longest first, so a secret that contains another one is redacted whole.
        secrets[before..].sort_by_key(|s| std::cmp::Reverse(s.len()));
        Some(before)
    });
    let previous_log =
        log.and_then(|log| LOG.with(|cell| cell.try_borrow_mut().ok().map(|mut slot| slot.replace(log.clone()))));
    let previous_hosts = super::host_values::enter(context.hosts.as_ref());
    EvalGuard { previous_deadline, previous_secrets, previous_log, previous_hosts }
}

impl Drop for EvalGuard {
    fn drop(&mut self) {
        DEADLINE.with(|cell| cell.set(self.previous_deadline));
        if let Some(previous) = self.previous_hosts.take() {
            super::host_values::leave(previous);
        }
        if let Some(previous) = self.previous_log.take() {
            LOG.with(|cell| {
                if let Ok(mut slot) = cell.try_borrow_mut() {
                    *slot = previous;
                }
            });
        }
        if let Some(before) = self.previous_secrets {
            SECRETS.with(|cell| {
                if let Ok(mut secrets) = cell.try_borrow_mut() {
                    secrets.truncate(before);
                }
            });
        }
    }
}

/// Send a line the script printed to the evaluation's sink, or else to `default`, with secrets
/// redacted.
pub(crate) fn emit(default: &LogSink, level: &'static str, text: &str) {
    let line = ScriptLog { level, message: redact(text).into_owned() };
    let own = LOG.with(|cell| cell.try_borrow().ok().and_then(|slot| slot.clone()));
    match own {
        Some(sink) => sink(line),
        None => default(line),
    }
}

/// The current evaluation's deadline, if any.
pub(crate) fn deadline() -> Option<Instant> {
    DEADLINE.with(Cell::get)
}

/// Time left before the deadline: `None` when there is no deadline, zero once it has passed.
pub(crate) fn remaining() -> Option<Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}

/// Whether the current evaluation's deadline has passed.
pub(crate) fn expired() -> bool {
    deadline().is_some_and(|d| Instant::now() >= d)
}

/// `text` with every secret of the current evaluation replaced by `***`.
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    SECRETS.with(|cell| {
        let Ok(secrets) = cell.try_borrow() else {
            return Cow::Borrowed(text);
        };
        let mut out = Cow::Borrowed(text);
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), "***"));
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_sets_and_restores() {
        assert!(deadline().is_none());
        let mut ctx = ScriptVariables::new();
        ctx.set_secret("a", "abc");
        ctx.set_secret("b", "abcdef");
        {
            let _g = enter(Duration::from_secs(5), &ctx, None);
            assert!(remaining().is_some_and(|r| r <= Duration::from_secs(5) && r > Duration::from_secs(4)));
            assert!(!expired());
            assert_eq!(redact("x abcdef y abc"), "x *** y ***");
            {
                let _inner = enter(Duration::from_secs(60), &ScriptVariables::new(), None);
                assert!(remaining().is_some_and(|r| r <= Duration::from_secs(5)), "inner never extends");
            }
            assert_eq!(redact("abc"), "***");
        }
        assert!(deadline().is_none());
        assert_eq!(redact("abc"), "abc");
        let _none = enter(Duration::ZERO, &ctx, None);
        assert!(deadline().is_none());
    }
}
