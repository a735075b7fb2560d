//! Literal values: durations, escapes, numbers (shared by the parser and
//! the tests that hold it to the reference grammar).

use std::time::Duration;

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

/// `1h30m` → 5400 s. `None` on overflow.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut digits = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let amount: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                Duration::from_millis(amount)
            }
            ('s', _) => Duration::from_secs(amount),
            ('m', _) => Duration::from_secs(amount.checked_mul(60)?),
            ('h', _) => Duration::from_secs(amount.checked_mul(3600)?),
            ('d', _) => Duration::from_secs(amount.checked_mul(86_400)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
    }
    if !digits.is_empty() || total > Duration::from_secs(86_400 * 365 * 500) {
        return None;
    }
    Some(total)
}

/// A number, duration or percent too large to hold.
pub fn out_of_range(file: FileId, at: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::InvalidValue, format!("this {what} is out of range"))
        .at(file, at, format!("{what} too large"))
        .with_help("numbers are 64-bit integers; durations may be at most about 500 years")
}
