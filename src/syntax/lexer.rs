//! The one lexer of the language: where each kind of token that starts at a
//! byte offset ends. The parser asks it for the token it expects next (the
//! grammar is context-sensitive: a string's text, a Rhai snippet and a
//! duration are tokens only where they may stand); the tree builder asks it
//! for the trivia between the parser's tokens. Names follow the one
//! identifier rule of [`super::ident`].

use super::ident::{ident_end, is_ident_char, is_ident_start, KEYWORDS};
use super::kind::SyntaxKind;

const BOM: &[u8] = "\u{FEFF}".as_bytes();

/// The trivia token at `pos` (whitespace, one newline, a comment) and its
/// end; `None` when none starts there (an unterminated `/*` is none).
pub(crate) fn trivia(bytes: &[u8], pos: usize) -> Option<(SyntaxKind, usize)> {
    let rest = &bytes[pos..];
    match *rest.first()? {
        b'\n' => Some((SyntaxKind::NEWLINE, pos + 1)),
        b' ' | b'\t' | b'\r' | 0xEF if !rest.starts_with(&[0xEF]) || rest.starts_with(BOM) => {
            let mut end = pos;
            loop {
                match bytes.get(end) {
                    Some(b' ' | b'\t' | b'\r') => end += 1,
                    Some(0xEF) if bytes[end..].starts_with(BOM) => end += BOM.len(),
                    _ => break,
                }
            }
            Some((SyntaxKind::WHITESPACE, end))
        }
        b'/' if rest.starts_with(b"//") => {
            let end = rest.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| pos + i);
            let kind = if rest.starts_with(b"///") { SyntaxKind::DOC_COMMENT } else { SyntaxKind::COMMENT };
            Some((kind, end))
        }
        b'/' if rest.starts_with(b"/*") => {
            let close = rest[2..].windows(2).position(|w| w == b"*/")?;
            Some((SyntaxKind::COMMENT, pos + 2 + close + 2))
        }
        _ => None,
    }
}

/// The end of the trivia from `pos` on (what the grammar skips between tokens).
pub(crate) fn skip_trivia(bytes: &[u8], mut pos: usize) -> usize {
    while let Some((_, end)) = trivia(bytes, pos) {
        pos = end;
    }
    pos
}

/// Cuts `from..to` into trivia tokens and runs of text that does not parse
/// (up to the next trivia), so that any text has a place in the tree.
pub(crate) fn gap_tokens(bytes: &[u8], from: usize, to: usize, mut emit: impl FnMut(SyntaxKind, usize, usize)) {
    let mut pos = from;
    while pos < to {
        if let Some((kind, end)) = trivia(bytes, pos).filter(|&(_, end)| end <= to) {
            emit(kind, pos, end);
            pos = end;
            continue;
        }
        let mut end = pos + 1;
        while end < to && trivia(bytes, end).is_none() {
            end += 1;
        }
        // Keep tokens on character boundaries.
        while end < to && (bytes[end] & 0xC0) == 0x80 {
            end += 1;
        }
        emit(SyntaxKind::ERROR_TOKEN, pos, end);
        pos = end;
    }
}

/// The end of the name at `pos` that is not an item keyword.
pub(crate) fn name(text: &str, pos: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.get(pos).copied().is_some_and(is_ident_start) {
        return None;
    }
    let end = ident_end(bytes, pos);
    (!KEYWORDS.contains(&&text[pos..end])).then_some(end)
}

/// The end of the type name at `pos` (any word, keywords included).
pub(crate) fn type_name(bytes: &[u8], pos: usize) -> Option<usize> {
    bytes.get(pos).copied().is_some_and(is_ident_start).then(|| ident_end(bytes, pos))
}

/// `kw = @{ "word" ~ !ident_char }` at `pos`.
pub(crate) fn keyword(bytes: &[u8], pos: usize, word: &str) -> Option<usize> {
    let end = pos + word.len();
    (bytes[pos..].starts_with(word.as_bytes()) && !bytes.get(end).copied().is_some_and(is_ident_char)).then_some(end)
}

fn digits(bytes: &[u8], from: usize) -> usize {
    let mut end = from;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    end
}

/// `duration = @{ (ASCII_DIGIT+ ~ ("ms" | "s" | "m" | "h" | "d"))+ ~ !ident_char }`
pub(crate) fn duration(bytes: &[u8], start: usize) -> Option<usize> {
    let mut end = start;
    loop {
        let number_end = digits(bytes, end);
        if number_end == end {
            break;
        }
        let unit = &bytes[number_end..];
        let unit_len = if unit.starts_with(b"ms") {
            2
        } else if matches!(unit.first(), Some(b's' | b'm' | b'h' | b'd')) {
            1
        } else {
            0
        };
        if unit_len == 0 {
            break;
        }
        end = number_end + unit_len;
    }
    (end != start && !bytes.get(end).copied().is_some_and(is_ident_char)).then_some(end)
}

/// `percent = @{ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+)? ~ "%" }`: the end, `%` included.
pub(crate) fn percent(bytes: &[u8], start: usize) -> Option<usize> {
    let mut end = digits(bytes, start);
    if end == start {
        return None;
    }
    if bytes.get(end) == Some(&b'.') {
        let fraction_end = digits(bytes, end + 1);
        if fraction_end > end + 1 {
            end = fraction_end;
        }
    }
    (bytes.get(end) == Some(&b'%')).then_some(end + 1)
}

/// `number = @{ "-"? ~ ASCII_DIGIT+ ~ !(ident_char | ".") }`
pub(crate) fn integer(bytes: &[u8], start: usize) -> Option<usize> {
    let sign = usize::from(bytes.get(start) == Some(&b'-'));
    let end = digits(bytes, start + sign);
    let followed = bytes.get(end).copied().is_some_and(|b| is_ident_char(b) || b == b'.');
    (end != start + sign && !followed).then_some(end)
}

/// A string's plain text from `pos`: up to the next quote, backslash, `${` or newline.
pub(crate) fn string_text(bytes: &[u8], pos: usize) -> usize {
    let mut end = pos;
    while end < bytes.len() {
        match bytes[end] {
            b'"' | b'\\' | b'\n' => break,
            b'$' if bytes.get(end + 1) == Some(&b'{') => break,
            _ => end += 1,
        }
    }
    end
}

/// The length of the escape whose backslash comes just before `rest`:
/// `escape = @{ "\\" ~ ("\"" | "\\" | "n" | "t" | "r" | "$" | ("u{" ~ ASCII_HEX_DIGIT{1, 6} ~ "}")) }`.
pub(crate) fn escape_len(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b'"' | b'\\' | b'n' | b't' | b'r' | b'$' => Some(2),
        b'u' if rest.get(1) == Some(&b'{') => {
            let hex = rest[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if hex == 0 || rest.get(2 + hex.min(6)) != Some(&b'}') {
                return None;
            }
            Some(4 + hex.min(6))
        }
        _ => None,
    }
}

/// The length of a fence's opening at `pos` (```` ``` ```` or ```` ```rhai ```` before a
/// blank or newline), if one starts there.
pub(crate) fn fence_open(bytes: &[u8], pos: usize) -> Option<usize> {
    if !bytes[pos..].starts_with(b"```") {
        return None;
    }
    let tag = &bytes[pos + 3..];
    let tagged = tag.starts_with(b"rhai") && matches!(tag.get(4), Some(b'\n' | b'\r' | b' '));
    Some(if tagged { 7 } else { 3 })
}

/// The end of an inline snippet's source from `pos` (after the opening
/// backtick): the next backtick, if it comes before a newline.
pub(crate) fn inline_rhai(bytes: &[u8], pos: usize) -> Result<usize, usize> {
    let mut end = pos;
    while end < bytes.len() && bytes[end] != b'`' && bytes[end] != b'\n' {
        end += 1;
    }
    if bytes.get(end) == Some(&b'`') {
        Ok(end)
    } else {
        Err(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps(text: &str) -> Vec<(SyntaxKind, &str)> {
        let mut out = Vec::new();
        gap_tokens(text.as_bytes(), 0, text.len(), |kind, start, end| out.push((kind, &text[start..end])));
        out
    }

    #[test]
    fn trivia_and_text_that_does_not_parse() {
        use SyntaxKind::*;
        let text = "\u{FEFF} \t// c\n/// doc\n/* b\n */x é/*";
        assert_eq!(
            gaps(text),
            vec![
                (WHITESPACE, "\u{FEFF} \t"),
                (COMMENT, "// c"),
                (NEWLINE, "\n"),
                (DOC_COMMENT, "/// doc"),
                (NEWLINE, "\n"),
                (COMMENT, "/* b\n */"),
                (ERROR_TOKEN, "x"),
                (WHITESPACE, " "),
                (ERROR_TOKEN, "é/*"),
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(duration(b"1h30m ", 0), Some(5));
        assert_eq!(duration(b"10sx", 0), None);
        assert_eq!(percent(b"12.5%", 0), Some(5));
        assert_eq!(integer(b"-12,", 0), Some(3));
        assert_eq!(integer(b"1.5", 0), None);
    }
}
