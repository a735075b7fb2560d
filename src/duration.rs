//! Durations as the language writes them (`1h30m`, `10s`, `500ms`): the one
//! parser (plan values, `--set`, command-line flags) and the one formatter
//! (plans, previews, messages, logs). A leaf every layer may use.

use std::time::Duration;

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

/// A duration as the language writes it: `1h30m`, `10s`, `500ms`.
pub fn format_duration(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000u128), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_formatted_parses_back() {
        for text in ["0s", "500ms", "10s", "1m", "1h30m", "2d3h4m5s6ms"] {
            let parsed = parse_duration(text).unwrap_or_else(|| panic!("{text} parses"));
            assert_eq!(format_duration(parsed), text);
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        for bad in ["5", "1.5s", "5sec", "-5s", "s", "1h 30m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
