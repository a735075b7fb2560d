//! The names a Rhai snippet uses that may be the plan's: variables (params,
//! secrets, template arguments) and the keys of `env.KEY`, with their
//! offsets in the snippet. Words in comments and strings are not names
//! (the code inside a backtick string's `${...}` is); neither are property
//! names after `.` (other than `env.`), module paths (`http::get`) nor the
//! keys of a map literal (`#{ key: value }`).

/// One name used in a snippet.
#[derive(Debug, PartialEq, Eq)]
pub struct RhaiName<'s> {
    /// Byte offset in the snippet.
    pub offset: usize,
    pub word: &'s str,
    /// The `KEY` of `env.KEY`.
    pub env_key: bool,
}

/// The names `source` uses, in order.
pub fn names(source: &str) -> Vec<RhaiName<'_>> {
    let mut scanner = Scanner { source, bytes: source.as_bytes(), pos: 0, names: Vec::new() };
    scanner.code(None);
    scanner.names
}

struct Scanner<'s> {
    source: &'s str,
    bytes: &'s [u8],
    pos: usize,
    names: Vec<RhaiName<'s>>,
}

impl<'s> Scanner<'s> {
    /// Code up to the end, or up to the `}` that closes an interpolation
    /// (`depth` counts the braces opened inside it).
    fn code(&mut self, mut depth: Option<usize>) {
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                    while self.bytes.get(self.pos).is_some_and(|b| *b != b'\n') {
                        self.pos += 1;
                    }
                }
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'*') => {
                    self.pos =
                        self.source[self.pos + 2..].find("*/").map_or(self.bytes.len(), |i| self.pos + 2 + i + 2);
                }
                b'"' | b'\'' => self.quoted(byte),
                b'`' => self.backtick(),
                b'{' => {
                    depth = depth.map(|d| d + 1);
                    self.pos += 1;
                }
                b'}' => {
                    self.pos += 1;
                    match depth {
                        Some(0) => return,
                        Some(d) => depth = Some(d - 1),
                        None => {}
                    }
                }
                b if b.is_ascii_alphabetic() || b == b'_' => self.word(),
                b if b.is_ascii_digit() => {
                    while self
                        .bytes
                        .get(self.pos)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
                    {
                        self.pos += 1;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    fn quoted(&mut self, quote: u8) {
        self.pos += 1;
        while let Some(&byte) = self.bytes.get(self.pos) {
            self.pos += 1;
            match byte {
                b'\\' => self.pos += 1,
                b if b == quote => return,
                _ => {}
            }
        }
    }

    /// A backtick string: text, and code inside `${...}`.
    fn backtick(&mut self) {
        self.pos += 1;
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b'`' => {
                    self.pos += 1;
                    return;
                }
                b'$' if self.bytes.get(self.pos + 1) == Some(&b'{') => {
                    self.pos += 2;
                    self.code(Some(0));
                }
                _ => self.pos += 1,
            }
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            self.pos += 1;
        }
        let word = &self.source[start..self.pos];
        let before = self.source[..start].trim_end();
        let after = self.source[self.pos..].trim_start();
        let property = before.ends_with('.') && !before.ends_with("..");
        let module = before.ends_with("::") || after.starts_with("::");
        let key = after.starts_with(':') && !after.starts_with("::");
        if property {
            // `env.KEY`: the key is a name of the plan's; other properties are not.
            let object = before[..before.len() - 1].trim_end();
            let object_start = object.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
            let before_object = object[..object_start].trim_end();
            if &object[object_start..] == "env" && !before_object.ends_with('.') && !before_object.ends_with("::") {
                self.names.push(RhaiName { offset: start, word, env_key: true });
            }
            return;
        }
        if module || key || crate::check::script_words::is_rhai_word(word) {
            return;
        }
        self.names.push(RhaiName { offset: start, word, env_key: false });
    }
}

/// The Rhai name or module path (`http::get`) around `offset` of
/// `source`, as its byte range (a cursor right after it is on it).
pub fn path_at(source: &str, offset: usize) -> Option<(usize, usize)> {
    let bytes = source.as_bytes();
    let offset = offset.min(bytes.len());
    let part = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut start = offset;
    while start > 0 && part(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && part(bytes[end]) {
        end += 1;
    }
    let word = source.get(start..end)?;
    let start = start + (word.len() - word.trim_start_matches(':').len());
    let end = end - (word.len() - word.trim_end_matches(':').len());
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(source: &str) -> Vec<(&str, bool)> {
        names(source).into_iter().map(|n| (n.word, n.env_key)).collect()
    }

    #[test]
    fn paths_around_an_offset() {
        let source = "let r = http::get(x);";
        assert_eq!(path_at(source, 10), Some((8, 17)));
        assert_eq!(path_at(source, 17), Some((8, 17)));
        assert_eq!(path_at(source, 7), None);
    }

    #[test]
    fn finds_variables_and_env_keys_outside_strings_and_comments() {
        let source = "let r = http::get(env.url + \"/x\" + region); // region\n#{ version: version, n: r.status } `a ${replicas + 1} b`";
        assert_eq!(
            words(source),
            [
                ("r", false),
                ("env", false),
                ("url", true),
                ("region", false),
                ("version", false),
                ("r", false),
                ("replicas", false)
            ]
        );
    }
}
