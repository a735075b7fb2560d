//! A syntax error inside a string that holds shell parameter expansion
//! (`${VAR:-x}`, `${#VAR}`) or arithmetic (`$(( ))`): the string's `${`
//! starts an interpolation, so the hint shows the escape that hands the text
//! to the shell as it is.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::lexer::{Lexer, PieceKind, TokenKind, Tokens};
use crate::syntax::span::{FileId, SourceMap};

/// Adds the escape hint to syntax errors on a line with shell expansion.
pub fn add_escape_hints(sources: &SourceMap, diagnostics: &mut [Diagnostic]) {
    let mut lexed: Vec<(FileId, Tokens)> = Vec::new();
    for diagnostic in diagnostics.iter_mut().filter(|d| d.code == Code::Syntax) {
        let Some(primary) = &diagnostic.primary else { continue };
        let Some(file) = sources.get(primary.file) else { continue };
        let index = match lexed.iter().position(|(id, _)| *id == primary.file) {
            Some(index) => index,
            None => {
                lexed.push((primary.file, Tokens::of(&file.text)));
                lexed.len() - 1
            }
        };
        if let Some(hint) = escape_hint(&file.text, &lexed[index].1, primary.span.start) {
            diagnostic.help = Some(hint);
        }
    }
}

/// The hint for the first shell expansion in the text of a string on the
/// line holding `offset`, if one holds one.
pub fn escape_hint(text: &str, tokens: &Tokens, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text.get(offset..)?.find('\n').map_or(text.len(), |i| offset + i);
    let mut lexer = Lexer::new(text);
    tokens.as_slice()[tokens.index_at(line_start)..]
        .iter()
        .take_while(|token| token.span.start < line_end)
        .filter(|token| matches!(token.kind, TokenKind::String { .. }))
        .find_map(|token| {
            let mut pieces = lexer.string_pieces(token.span.start);
            pieces.find_map(|(kind, piece)| {
                (kind == PieceKind::Text).then(|| shell_expansion(&text[piece.start..piece.end])).flatten()
            })
        })
}

/// The hint for the first shell expansion in `written`, the text of a
/// string (its escapes and interpolations are other pieces).
fn shell_expansion(written: &str) -> Option<String> {
    if let Some(start) = written.find("$((") {
        let end = written[start..].find("))").map_or(written.len(), |i| start + i + 2);
        let expansion = &written[start..end];
        return Some(format!(
            "`{expansion}` is shell arithmetic; `$` starts an interpolation here, so write `\\{expansion}` \
             to pass it to the shell as it is"
        ));
    }
    written.match_indices("${").find_map(|(start, _)| {
        let close = written[start..].find('}')?;
        let inside = &written[start + 2..start + close];
        let shell = inside.starts_with('#') || [":-", ":=", ":+", ":?", "%", "/"].iter().any(|s| inside.contains(s));
        let expansion = &written[start..=start + close];
        shell.then(|| {
            format!(
                "`{expansion}` is shell parameter expansion, not an interpolation of the plan: \
                 write `\\{expansion}` so the shell sees it as it is"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::syntax::lexer::Tokens;

    fn escape_hint(line: &str) -> Option<String> {
        let text = format!("stage a {{\n{line}\n}}\n");
        super::escape_hint(&text, &Tokens::of(&text), text.find("run").unwrap_or(0))
    }

    #[test]
    fn names_the_escape() {
        let hint = escape_hint(r#"  run "echo ${PORT:-8080}""#).unwrap_or_default();
        assert!(hint.contains(r"`\${PORT:-8080}`"), "{hint}");
        let hint = escape_hint(r#"  run "echo $((1 + 2))""#).unwrap_or_default();
        assert!(hint.contains(r"`\$((1 + 2))`"), "{hint}");
        assert_eq!(escape_hint(r#"run "echo ${version}""#), None);
        assert_eq!(escape_hint(r#"run "echo \${A:-b} ${c""#), None);
        // Outside a string, or in a comment, it is no shell expansion.
        assert_eq!(escape_hint(r#"run "x" // ${A:-b}"#), None);
    }
}
