//! What an evaluation decided, and the error values `fail()`/`inconclusive()`/`no_data()` throw.

use super::ScriptError;
use rhai::{Dynamic, EvalAltResult, Map, Position};

/// What a script evaluation decided. A check script returning true → Pass, false → Fail,
/// calling fail(msg) → Fail(msg), inconclusive(msg) → Inconclusive, no_data(msg) → NoData;
/// any other runtime error (including limits, deadline) → Error.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptOutcome {
    Pass,
    Fail(String),
    Inconclusive(String),
    NoData(String),
    Error(ScriptError),
}

impl ScriptOutcome {
    /// `Pass`/`Fail`/`Inconclusive`/`NoData`/`Error`, for logs and state.
    pub fn kind(&self) -> &'static str {
        match self {
            ScriptOutcome::Pass => "pass",
            ScriptOutcome::Fail(_) => "fail",
            ScriptOutcome::Inconclusive(_) => "inconclusive",
            ScriptOutcome::NoData(_) => "no_data",
            ScriptOutcome::Error(_) => "error",
        }
    }

    /// The message of a non-pass outcome (the error's message for `Error`).
    pub fn message(&self) -> Option<&str> {
        match self {
            ScriptOutcome::Pass => None,
            ScriptOutcome::Fail(m) | ScriptOutcome::Inconclusive(m) | ScriptOutcome::NoData(m) => Some(m),
            ScriptOutcome::Error(e) => Some(&e.message),
        }
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, ScriptOutcome::Pass)
    }
}

impl std::fmt::Display for ScriptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptOutcome::Pass => f.write_str("pass"),
            ScriptOutcome::Fail(m) => write!(f, "fail: {m}"),
            ScriptOutcome::Inconclusive(m) => write!(f, "inconclusive: {m}"),
            ScriptOutcome::NoData(m) => write!(f, "no data: {m}"),
            ScriptOutcome::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// Key of the map thrown by `fail`/`inconclusive`/`no_data`.
pub(crate) const OUTCOME_KEY: &str = "__outcome";
const MESSAGE_KEY: &str = "message";

/// The outcomes a script can end with by calling a host function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Thrown {
    Fail,
    Inconclusive,
    NoData,
}

impl Thrown {
    fn name(self) -> &'static str {
        match self {
            Thrown::Fail => "fail",
            Thrown::Inconclusive => "inconclusive",
            Thrown::NoData => "no_data",
        }
    }

    /// The runtime error that ends the script with this outcome (`#{__outcome: "fail", message: ...}`).
    pub(crate) fn error(self, message: impl Into<String>) -> Box<EvalAltResult> {
        let mut map = Map::new();
        map.insert(OUTCOME_KEY.into(), Dynamic::from(self.name()));
        map.insert(MESSAGE_KEY.into(), Dynamic::from(message.into()));
        Box::new(EvalAltResult::ErrorRuntime(Dynamic::from_map(map), Position::NONE))
    }
}

/// Recognize a value thrown by `fail`/`inconclusive`/`no_data` (or an equivalent `throw #{...}`).
pub(crate) fn recognize(value: &Dynamic) -> Option<(Thrown, String)> {
    let map = value.as_map_ref().ok()?;
    let kind = map.get(OUTCOME_KEY)?.clone().into_immutable_string().ok()?;
    let kind = match kind.as_str() {
        "fail" => Thrown::Fail,
        "inconclusive" => Thrown::Inconclusive,
        "no_data" => Thrown::NoData,
        _ => return None,
    };
    let message = match map.get(MESSAGE_KEY) {
        Some(m) if m.is_string() => m.clone().into_string().unwrap_or_default(),
        Some(m) if !m.is_unit() => m.to_string(),
        _ => String::new(),
    };
    Some((kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thrown_values_round_trip() {
        for kind in [Thrown::Fail, Thrown::Inconclusive, Thrown::NoData] {
            let err = kind.error("why");
            let EvalAltResult::ErrorRuntime(value, _) = *err else {
                panic!("not a runtime error");
            };
            assert_eq!(recognize(&value), Some((kind, "why".to_string())));
        }
        assert_eq!(recognize(&Dynamic::from("fail")), None);
        assert_eq!(recognize(&Dynamic::from_map(Map::new())), None);
    }

    #[test]
    fn outcome_accessors() {
        assert_eq!(ScriptOutcome::Pass.kind(), "pass");
        assert_eq!(ScriptOutcome::NoData("x".into()).message(), Some("x"));
        assert_eq!(ScriptOutcome::Fail("x".into()).to_string(), "fail: x");
    }
}
