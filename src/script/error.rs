//! Script errors with positions inside the script source.

use std::fmt;

/// A Rhai error with a position inside the script source (1-based line/column, chars), when Rhai gives one.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl ScriptError {
    /// An error without a position.
    pub fn new(message: impl Into<String>) -> ScriptError {
        ScriptError { message: message.into(), line: None, column: None }
    }

    /// An error at a Rhai position (`Position::NONE` gives no line/column).
    pub fn at(message: impl Into<String>, position: rhai::Position) -> ScriptError {
        ScriptError { message: message.into(), line: position.line(), column: position.position() }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " (line {line}, column {column})"),
            (Some(line), None) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ScriptError {}

impl From<rhai::ParseError> for ScriptError {
    fn from(err: rhai::ParseError) -> ScriptError {
        ScriptError::at(err.err_type().to_string(), err.position())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_position() {
        let err = ScriptError { message: "boom".into(), line: Some(3), column: Some(5) };
        assert_eq!(err.to_string(), "boom (line 3, column 5)");
        assert_eq!(ScriptError::new("x").to_string(), "x");
    }
}
