//! `--token-file`: one `TOKEN IDENTITY` pair per line (`#` comments and
//! blank lines are skipped). A request's bearer token names who makes it;
//! the identity is what approvals record and gates' `by` lists name.

use std::path::Path;

use subtle::ConstantTimeEq;

#[derive(Clone, Debug, Default)]
pub struct Tokens {
    pairs: Vec<(Vec<u8>, String)>,
}

impl Tokens {
    /// Reads the file; an error names the line that is wrong.
    pub fn read(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the token file {}: {error}", path.display()))?;
        Tokens::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut pairs = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(token), Some(identity), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!("line {}: expected `TOKEN IDENTITY`", index + 1));
            };
            if token.len() < 16 {
                return Err(format!("line {}: the token is shorter than 16 characters", index + 1));
            }
            pairs.push((token.as_bytes().to_vec(), identity.to_string()));
        }
        Ok(Tokens { pairs })
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Who `token` belongs to. Every token is compared, each in constant time.
    pub fn identity(&self, token: &str) -> Option<&str> {
        let mut found = None;
        for (known, identity) in &self.pairs {
            if bool::from(known.as_slice().ct_eq(token.as_bytes())) {
                found = Some(identity.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_to_identities() {
        let tokens = Tokens::parse("# ops\n0123456789abcdef alice\n\nfedcba9876543210 bob\n").unwrap();
        assert_eq!(tokens.identity("0123456789abcdef"), Some("alice"));
        assert_eq!(tokens.identity("fedcba9876543210"), Some("bob"));
        assert_eq!(tokens.identity("0123456789abcdeX"), None);
        assert_eq!(tokens.identity(""), None);
    }

    #[test]
    fn a_bad_line_is_named() {
        assert_eq!(Tokens::parse("0123456789abcdef\n").unwrap_err(), "line 1: expected `TOKEN IDENTITY`");
        assert!(Tokens::parse("short alice\n").unwrap_err().contains("shorter"));
    }
}
