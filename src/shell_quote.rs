//! Quoting a value for a POSIX shell, shared by interpolation, the remote
//! transport and the redactor (which masks a secret's quoted form too).

/// Quotes a value for `sh`: left bare when it holds only safe characters,
/// otherwise wrapped in single quotes.
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | '%' | '+' | ',')
        });
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
