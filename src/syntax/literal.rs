//! Literal values: durations, escapes, numbers (shared by the parser and
//! the tests that hold it to the reference grammar).

use super::span::{FileId, Span};
use crate::diagnostic::{Code, Diagnostic};

pub fn decode_escape(text: &str) -> Option<char> {
    match text {
        "\\n" => Some('\n'),
        "\\t" => Some('\t'),
        "\\r" => Some('\r'),
        "\\\"" => Some('"'),
        "\\\\" => Some('\\'),
        "\\$" => Some('$'),
        _ => {
            let hex = text.strip_prefix("\\u{")?.strip_suffix('}')?;
            char::from_u32(u32::from_str_radix(hex, 16).ok()?)
        }
    }
}

/// A number, duration or percent too large to hold.
pub fn out_of_range(file: FileId, at: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::InvalidValue, format!("this {what} is out of range"))
        .at(file, at, format!("{what} too large"))
        .with_help("numbers are 64-bit integers; durations may be at most about 500 years")
}
