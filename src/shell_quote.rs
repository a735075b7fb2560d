//! Quoting a value for a POSIX shell, shared by interpolation, the remote
//! transport and the redactor (which masks a secret's quoted form too).

/// Quotes a value for `sh`: left bare when it holds only safe characters,
/// otherwise wrapped in single quotes.
pub fn shell_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_shell_quoted(&mut out, text);
    out
}

/// [`shell_quote`] appended to `out`.
pub fn push_shell_quoted(out: &mut String, text: &str) {
    let safe = !text.is_empty()
        && text.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b'@' | b'%' | b'+' | b',')
        });
    if safe {
        out.push_str(text);
        return;
    }
    out.push('\'');
    for (index, piece) in text.split('\'').enumerate() {
        if index > 0 {
            out.push_str("'\\''");
        }
        out.push_str(piece);
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("v1.2.3"), "v1.2.3");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's; rm -rf /"), "'it'\\''s; rm -rf /'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn quotes_what_the_shell_would_split_or_expand() {
        assert_eq!(shell_quote("web-1.example:8080"), "web-1.example:8080");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's $HOME"), "'it'\\''s $HOME'");
        assert_eq!(shell_quote("''"), "''\\'''\\'''");
        assert_eq!(shell_quote("ü"), "'ü'");
    }
}
