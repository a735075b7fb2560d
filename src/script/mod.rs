//! The Rhai sandbox: engine setup, limits, host API.

mod limits;

pub use limits::ScriptLimits;
