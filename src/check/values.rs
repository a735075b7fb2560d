//! Typing values: AST values → model values and expressions, `--set` text →
//! values, and the type errors in between.

use super::model::{Type, Value};
use crate::syntax::parse_duration;

/// Parses a `--set` or environment value by the param's type. Lists are
/// comma-separated.
pub fn parse_set_value(text: &str, ty: &Type) -> Result<Value, String> {
    let text_trimmed = text.trim();
    match ty {
        Type::String => Ok(Value::String(text.to_string())),
        Type::Int => text_trimmed.parse::<i64>().map(Value::Int).map_err(|_| format!("`{text}` is not an integer")),
        Type::Bool => match text_trimmed {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not a boolean (true or false)")),
        },
        Type::Duration => parse_duration(text_trimmed)
            .filter(|_| !text_trimmed.is_empty() && text_trimmed.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(Value::Duration)
            .ok_or_else(|| format!("`{text}` is not a duration like 30s, 5m or 1h30m")),
        Type::Percent => {
            let number = text_trimmed.strip_suffix('%').unwrap_or(text_trimmed);
            match number.parse::<f64>() {
                Ok(percent) if (0.0..=100.0).contains(&percent) => Ok(Value::Percent(percent)),
                _ => Err(format!("`{text}` is not a percent between 0% and 100%")),
            }
        }
        Type::List(inner) => {
            if text_trimmed.is_empty() {
                return Ok(Value::List(Vec::new()));
            }
            text.split(',')
                .map(|item| parse_set_value(item.trim(), inner))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List)
        }
    }
}
