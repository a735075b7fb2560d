//! The Rhai sandbox: engine setup, limits, host API.

mod limits;

pub use limits::ScriptLimits;

/// A Rhai error with a position inside the script source, when Rhai gives one.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Compiles a script with a raw engine.
pub fn compile(source: &str) -> Result<rhai::AST, ScriptError> {
    let engine = rhai::Engine::new_raw();
    engine.compile(source).map_err(|error| {
        let position = error.position();
        ScriptError { message: error.err_type().to_string(), line: position.line(), column: position.position() }
    })
}
