//! What a file that does not parse most likely got wrong about its
//! delimiters, found by one pass over the text that knows strings (and their
//! `${}`), Rhai snippets and comments: a `/*` never closed, a `//` inside a
//! `${}`, a bracket closed by the wrong one (`needs = [build` and then `}`),
//! or a block still open at the end of the file. Said at the opening
//! delimiter, which is where the mistake is, instead of listing what the
//! parser expected where it gave up.

use super::span::{FileId, Span};
use crate::diagnostic::{Code, Diagnostic};

/// The delimiter mistake of `text`, if it has one.
pub(super) fn delimiter_problem(file: FileId, text: &str) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'/' if bytes.get(at + 1) == Some(&b'/') => at = line_end(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => match text[at + 2..].find("*/") {
                Some(end) => at += 2 + end + 2,
                None => {
                    return Some(
                        Diagnostic::new(Code::Syntax, "unterminated comment")
                            .at(file, Span::new(at, at + 2), "this comment is never closed")
                            .with_help("a `/*` comment ends with `*/`"),
                    )
                }
            },
            b'"' => match string_end(file, text, at) {
                Ok(end) => at = end,
                Err(problem) => return problem.map(|diagnostic| *diagnostic),
            },
            b'`' if text[at..].starts_with("```") => match text[at + 3..].find("```") {
                Some(end) => at += 3 + end + 3,
                None => return None,
            },
            b'`' => match text[at + 1..].find(['`', '\n']) {
                Some(end) if bytes[at + 1 + end] == b'`' => at += 1 + end + 1,
                _ => return None,
            },
            open_byte @ (b'{' | b'[' | b'(') => {
                open.push((open_byte, at));
                at += 1;
            }
            close @ (b'}' | b']' | b')') => {
                match open.pop() {
                    Some((opener, _)) if closer_of(opener) == close => {}
                    Some((opener, position)) => return Some(wrong_close(file, text, opener, position, at)),
                    // One closer too many: the parser's own message says where.
                    None => return None,
                }
                at += 1;
            }
            _ => at += 1,
        }
    }
    let (opener, position) = open.pop()?;
    let closer = closer_of(opener) as char;
    if opener == b'{' {
        if let Some((line, item)) = next_item_after(text, position) {
            return Some(
                Diagnostic::new(Code::Syntax, "this block is not closed")
                    .at(file, Span::new(position, position + 1), "this `{` has no matching `}`")
                    .with_help(format!("add `}}` before line {line}, where `{item}` starts the next item")),
            );
        }
    }
    let (message, label) = match opener {
        b'{' => ("this block is not closed", format!("this `{{` has no matching `{closer}`")),
        b'[' => ("missing `]`", format!("this `[` has no matching `{closer}`")),
        _ => ("missing `)`", format!("this `(` has no matching `{closer}`")),
    };
    Some(
        Diagnostic::new(Code::Syntax, message)
            .at(file, Span::new(position, position + 1), label)
            .with_help(format!("add `{closer}` where it ends; the file ends before it")),
    )
}

/// The first line after `from` that starts (in its first column) with an
/// item keyword: where a block left open was most likely meant to end.
fn next_item_after(text: &str, from: usize) -> Option<(usize, String)> {
    let first_line = line_of(text, from);
    text.lines().enumerate().skip(first_line).find_map(|(index, line)| {
        let word: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        (super::KEYWORDS.contains(&word.as_str()) && word != "as").then(|| {
            let rest: String = line[word.len()..].split_whitespace().next().unwrap_or("").chars().take(40).collect();
            (index + 1, format!("{word} {rest}").trim().to_string())
        })
    })
}

fn closer_of(opener: u8) -> u8 {
    match opener {
        b'{' => b'}',
        b'[' => b']',
        _ => b')',
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| from + i)
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// `opener` at `position` closed by another kind of bracket at `close_at`.
fn wrong_close(file: FileId, text: &str, opener: u8, position: usize, close_at: usize) -> Diagnostic {
    let wanted = closer_of(opener) as char;
    let found = text.as_bytes()[close_at] as char;
    let message = match opener {
        b'[' => "missing `]`".to_string(),
        b'(' => "missing `)`".to_string(),
        _ => "this block is not closed".to_string(),
    };
    Diagnostic::new(Code::Syntax, message)
        .at(file, Span::new(position, position + 1), format!("this `{}` is not closed", opener as char))
        .with_secondary(file, Span::new(close_at, close_at + 1), format!("`{found}` found here first"))
        .with_help(format!("close it with `{wanted}` before the `{found}` on line {}", line_of(text, close_at)))
}

/// The end of the string starting at `start` (just past its closing quote),
/// or the problem of a `//` inside one of its `${}`. A string ends on its
/// line: one that does not is left to the parser's message.
fn string_end(file: FileId, text: &str, start: usize) -> Result<usize, Option<Box<Diagnostic>>> {
    let bytes = text.as_bytes();
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => return Ok(at + 1),
            b'\n' => return Err(None),
            b'\\' => at += 2,
            b'$' if bytes.get(at + 1) == Some(&b'{') => {
                let close =
                    bytes[at..].iter().position(|b| matches!(b, b'}' | b'\n' | b'"')).map_or(bytes.len(), |i| at + i);
                if let Some(comment) = text[at..close].find("//") {
                    let comment = at + comment;
                    return Err(Some(Box::new(
                        Diagnostic::new(Code::Syntax, "`//` starts a comment inside `${}`")
                            .at(file, Span::new(comment, comment + 2), "a comment to the end of the line")
                            .with_help(
                                "`${}` holds a name (`${version}`, `${host.role}`); compute anything else in a \
                                 `script` step or a Rhai snippet, or put the `//` outside the `${}`",
                            ),
                    )));
                }
                at = close;
            }
            _ => at += 1,
        }
    }
    Err(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<(String, usize)> {
        delimiter_problem(FileId(0), text).map(|d| (d.message.clone(), d.primary.map_or(0, |label| label.span.start)))
    }

    #[test]
    fn each_delimiter_mistake_is_said_at_its_opening() {
        assert_eq!(problem("/* open\nstage a { run \"x\" }\n"), Some(("unterminated comment".into(), 0)));
        let missing_bracket = "stage a { run \"x\" }\nstage b {\n  needs = [a\n  run \"y\"\n}\n";
        assert_eq!(problem(missing_bracket), Some(("missing `]`".into(), missing_bracket.find('[').unwrap_or(0))));
        let open_block = "stage a {\n  run \"x\"\n\nstage b { run \"y\" }\n";
        assert_eq!(problem(open_block), Some(("this block is not closed".into(), 8)));
        let comment = "stage a { run \"echo ${v // c}\" }\n";
        assert_eq!(
            problem(comment),
            Some(("`//` starts a comment inside `${}`".into(), comment.find("//").unwrap_or(0)))
        );
    }

    #[test]
    fn delimiters_in_strings_comments_and_rhai_do_not_count() {
        for text in [
            "stage a { run \"echo { [ (\" }\n",
            "// { [\nstage a { run \"x\" }\n",
            "/* { */ stage a { run \"x\" }\n",
            "stage a { when = `x == \"}\"`  run \"x\" }\n",
            "stage a { script ```rhai\nlet m = #{ a: [1, 2] };\n```\n}\n",
            "stage a { run \"http://host/${v}\" }\n",
        ] {
            assert_eq!(problem(text), None, "{text}");
        }
    }
}
