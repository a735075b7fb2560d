//! A syntax error inside a string that holds shell parameter expansion
//! (`${VAR:-x}`, `${#VAR}`) or arithmetic (`$(( ))`): the string's `${`
//! starts an interpolation, so the hint shows the escape that hands the text
//! to the shell as it is.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::span::SourceMap;

/// Adds the escape hint to syntax errors on a line with shell expansion.
pub fn add_escape_hints(sources: &SourceMap, diagnostics: &mut [Diagnostic]) {
    for diagnostic in diagnostics.iter_mut().filter(|d| d.code == Code::Syntax) {
        let Some(primary) = &diagnostic.primary else { continue };
        let Some(file) = sources.get(primary.file) else { continue };
        let Some(line) = line_at(&file.text, primary.span.start) else { continue };
        if let Some(hint) = escape_hint(line) {
            diagnostic.help = Some(hint);
        }
    }
}

fn line_at(text: &str, offset: usize) -> Option<&str> {
    let offset = offset.min(text.len());
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let end = text.get(offset..)?.find('\n').map_or(text.len(), |i| offset + i);
    text.get(start..end)
}

/// The hint for the first shell expansion on `line`, if it holds one.
pub fn escape_hint(line: &str) -> Option<String> {
    if let Some(start) = line.find("$((") {
        let end = line[start..].find("))").map_or(line.len(), |i| start + i + 2);
        let written = &line[start..end];
        return Some(format!(
            "`{written}` is shell arithmetic; `$` starts an interpolation here, so write `\\{written}` \
             to pass it to the shell as it is"
        ));
    }
    let mut from = 0;
    while let Some(found) = line[from..].find("${") {
        let start = from + found;
        let Some(close) = line[start..].find('}') else { break };
        let inside = &line[start + 2..start + close];
        let shell = inside.starts_with('#')
            || inside.contains(":-")
            || inside.contains(":=")
            || inside.contains(":+")
            || inside.contains(":?")
            || inside.contains('%')
            || inside.contains('/');
        let escaped = start > 0 && line.as_bytes()[start - 1] == b'\\';
        if shell && !escaped {
            let written = &line[start..=start + close];
            return Some(format!(
                "`{written}` is shell parameter expansion, not an interpolation of the plan: \
                 write `\\{written}` so the shell sees it as it is"
            ));
        }
        from = start + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::escape_hint;

    #[test]
    fn names_the_escape() {
        let hint = escape_hint(r#"  run "echo ${PORT:-8080}""#).unwrap_or_default();
        assert!(hint.contains(r"`\${PORT:-8080}`"), "{hint}");
        let hint = escape_hint(r#"  run "echo $((1 + 2))""#).unwrap_or_default();
        assert!(hint.contains(r"`\$((1 + 2))`"), "{hint}");
        assert_eq!(escape_hint(r#"run "echo ${version}""#), None);
        assert_eq!(escape_hint(r#"run "echo \${A:-b} ${c""#), None);
    }
}
