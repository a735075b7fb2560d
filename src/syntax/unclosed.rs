//! What a file that does not parse most likely got wrong about its
//! delimiters, found by one pass over the text that knows strings (and their
//! `${}`), Rhai snippets and comments: a `/*` never closed, a `//` inside a
//! `${}`, a bracket closed by the wrong one (`needs = [build` and then `}`),
//! or a block still open at the end of the file. Said at the opening
//! delimiter, which is where the mistake is, instead of listing what the
//! parser expected where it gave up.

use super::lexer::{Lexer, PieceKind, TokenKind};
use super::span::{FileId, LineIndex, Span};
use crate::diagnostic::{Code, Diagnostic};

/// The delimiter mistake of `text`, if it has one.
pub(super) fn delimiter_problem(file: FileId, text: &str, lines: &LineIndex) -> Option<Diagnostic> {
    delimiter_problem_in(file, &mut Lexer::new(text), lines, 0, text.len())
}

/// The delimiter mistake of the tokens that start in `from..limit` (an
/// item that does not parse): a bracket still open at `limit` is one the
/// item never closed. `lines` is the text's line index: an item's lines are
/// named without counting those of the text before it.
pub(super) fn delimiter_problem_in(
    file: FileId,
    lexer: &mut Lexer,
    lines: &LineIndex,
    from: usize,
    limit: usize,
) -> Option<Diagnostic> {
    let text = lexer.text();
    let bytes = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut at = from;
    while at < limit.min(text.len()) {
        let token = lexer.token(at);
        at = token.span.end;
        match token.kind {
            TokenKind::BlockComment { terminated: false } => {
                return Some(
                    Diagnostic::new(Code::Syntax, "unterminated comment")
                        .at(file, Span::new(token.span.start, token.span.start + 2), "this comment is never closed")
                        .with_help("a `/*` comment ends with `*/`"),
                )
            }
            TokenKind::String { terminated } => {
                if let Some(problem) = comment_in_interpolation(file, lexer, token.span.start) {
                    return Some(problem);
                }
                // A string ends on its line: one that does not is left to
                // the parser's message.
                if !terminated {
                    return None;
                }
            }
            TokenKind::Rhai { terminated: false, .. } => return None,
            TokenKind::Punct => match bytes[token.span.start] {
                open_byte @ (b'{' | b'[' | b'(') => open.push((open_byte, token.span.start)),
                close @ (b'}' | b']' | b')') => match open.pop() {
                    Some((opener, _)) if closer_of(opener) == close => {}
                    Some((opener, position)) => {
                        return Some(wrong_close(file, text, lines, opener, position, token.span.start))
                    }
                    // One closer too many: the parser's own message says where.
                    None => return None,
                },
                _ => {}
            },
            _ => {}
        }
    }
    let (opener, position) = open.pop()?;
    let closer = closer_of(opener) as char;
    if opener == b'{' {
        if let Some((line, item)) = next_item_after(text, lines, position) {
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
    // An item's own scan ends where the next item starts, not the file.
    let help = match next_item_after(text, lines, position).filter(|_| limit < text.len()) {
        Some((line, item)) => {
            format!("add `{closer}` where it ends, before line {line}, where `{item}` starts the next item")
        }
        None => format!("add `{closer}` where it ends; the file ends before it"),
    };
    Some(Diagnostic::new(Code::Syntax, message).at(file, Span::new(position, position + 1), label).with_help(help))
}

/// The first line after `from` that starts (in its first column) with an
/// item keyword: where a block left open was most likely meant to end.
fn next_item_after(text: &str, lines: &LineIndex, from: usize) -> Option<(usize, String)> {
    let next_line = lines.line(from) + 1;
    let rest = text.get(lines.line_start(next_line, text)..).unwrap_or_default();
    rest.lines().enumerate().find_map(|(index, line)| {
        let word: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        (super::KEYWORDS.contains(&word.as_str()) && word != "as").then(|| {
            let rest: String = line[word.len()..].split_whitespace().next().unwrap_or("").chars().take(40).collect();
            (next_line + index + 1, format!("{word} {rest}").trim().to_string())
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

/// `opener` at `position` closed by another kind of bracket at `close_at`.
fn wrong_close(
    file: FileId,
    text: &str,
    lines: &LineIndex,
    opener: u8,
    position: usize,
    close_at: usize,
) -> Diagnostic {
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
        .with_help(format!("close it with `{wanted}` before the `{found}` on line {}", lines.line(close_at) + 1))
}

/// A `//` inside a `${` of the string whose quote is at `start` (where it
/// is not trivia of an interpolation that closes, it makes the `${` one
/// that does not): the comment runs to the end of the line.
fn comment_in_interpolation(file: FileId, lexer: &mut Lexer, start: usize) -> Option<Diagnostic> {
    let text = lexer.text();
    lexer.string_pieces(start).filter(|(kind, _)| *kind == PieceKind::Text).find_map(|(_, piece)| {
        let written = &text[piece.start..piece.end];
        let comment = written.match_indices("${").find_map(|(dollar, _)| {
            let inside = &written[dollar..];
            let inside = &inside[..inside.find('}').unwrap_or(inside.len())];
            inside.find("//").map(|at| piece.start + dollar + at)
        })?;
        Some(
            Diagnostic::new(Code::Syntax, "`//` starts a comment inside `${}`")
                .at(file, Span::new(comment, comment + 2), "a comment to the end of the line")
                .with_help(
                    "`${}` holds a name (`${version}`, `${host.role}`); compute anything else in a \
                     `script` step or a Rhai snippet, or put the `//` outside the `${}`",
                ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<(String, usize)> {
        delimiter_problem(FileId(0), text, &LineIndex::of(text))
            .map(|d| (d.message.clone(), d.primary.map_or(0, |label| label.span.start)))
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
