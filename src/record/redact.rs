//! Redaction: every secret value, and its shell-quoted form, becomes `***`
//! in every line deploy writes. Applied once, at the bus, before any consumer
//! (terminal, `--json`, journal) sees an event — child output included.

use crate::shell_quote::shell_quote;

pub const MASK: &str = "***";

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    needles: Vec<String>,
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut needles: Vec<String> = Vec::new();
        for secret in secrets {
            if secret.is_empty() {
                continue;
            }
            needles.push(secret.to_string());
            let quoted = shell_quote(secret);
            if quoted != secret {
                needles.push(quoted);
                // The body of the quoted form, as a shell echoes it inside quotes.
                needles.push(secret.replace('\'', "'\\''"));
            }
            // A multi-line secret cannot arrive whole in one line of output:
            // mask each of its lines.
            if secret.contains('\n') {
                needles.extend(secret.lines().filter(|line| !line.trim().is_empty()).map(str::to_string));
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Redactor { needles }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        self.redact_in_place(&mut out);
        out
    }

    pub fn redact_in_place(&self, text: &mut String) {
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                *text = text.replace(needle.as_str(), MASK);
            }
        }
    }

    /// Masks every string inside a JSON value.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => self.redact_in_place(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|item| self.redact_json(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Redactor;

    #[test]
    fn masks_plain_and_quoted_forms() {
        let redactor = Redactor::new(["s3cr3t", "with space", ""]);
        assert_eq!(redactor.redact("token=s3cr3t!"), "token=***!");
        assert_eq!(redactor.redact("echo 'with space'"), "echo ***");
        assert_eq!(redactor.redact("with space"), "***");
        assert_eq!(redactor.redact("nothing here"), "nothing here");
    }

    #[test]
    fn longest_secret_first() {
        let redactor = Redactor::new(["abc", "abcdef"]);
        assert_eq!(redactor.redact("xabcdefx abc"), "x***x ***");
    }

    #[test]
    fn empty_redactor_is_identity() {
        assert!(Redactor::new(Vec::<&str>::new()).is_empty());
    }
}
