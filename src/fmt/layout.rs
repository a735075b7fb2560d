//! Lines of a block (or a multi-line list): entries, own-line comments and
//! blank lines, written out with `=` aligned over runs of attributes.

/// One line (or, for an entry, one or more lines) of a sequence.
#[derive(Debug)]
pub enum Line {
    Blank,
    Comment(String),
    Entry(Piece),
}

/// A rendered entry: `text` starts without indentation; lines after the
/// first carry their own. `align` is where padding goes to line up `=`.
#[derive(Debug)]
pub struct Piece {
    pub text: String,
    pub align: Option<usize>,
    pub trailing: Vec<String>,
}

impl Piece {
    pub fn plain(text: String) -> Self {
        Piece { text, align: None, trailing: Vec::new() }
    }
}

pub const INDENT: &str = "  ";

pub fn indent(level: usize) -> String {
    INDENT.repeat(level)
}

/// Adds a blank line unless the lines are empty or already end with one.
pub fn push_blank(lines: &mut Vec<Line>) {
    if !lines.is_empty() && !matches!(lines.last(), Some(Line::Blank)) {
        lines.push(Line::Blank);
    }
}

/// Writes the lines at `level`, each entry followed by `separator` (`,` in
/// lists), every line ending in a newline. Runs of one-line entries with an
/// `align` point are padded so that their `=` line up.
pub fn write_lines(lines: &[Line], level: usize, separator: &str) -> String {
    let widths = alignment(lines);
    let prefix = indent(level);
    let mut out = String::new();
    for (line, width) in lines.iter().zip(widths) {
        match line {
            Line::Blank => out.push('\n'),
            Line::Comment(text) => {
                out.push_str(&prefix);
                out.push_str(text);
                out.push('\n');
            }
            Line::Entry(piece) => {
                out.push_str(&prefix);
                match (piece.align, width) {
                    (Some(at), Some(width)) if at <= piece.text.len() => {
                        out.push_str(&piece.text[..at]);
                        out.push_str(&" ".repeat(width.saturating_sub(at)));
                        out.push_str(&piece.text[at..]);
                    }
                    _ => out.push_str(&piece.text),
                }
                out.push_str(separator);
                for comment in &piece.trailing {
                    out.push(' ');
                    out.push_str(comment);
                }
                out.push('\n');
            }
        }
    }
    out
}

/// For each line, the width its alignment point is padded to.
fn alignment(lines: &[Line]) -> Vec<Option<usize>> {
    let alignable = |line: &Line| match line {
        Line::Entry(piece) if !piece.text.contains('\n') => piece.align,
        _ => None,
    };
    let mut widths = vec![None; lines.len()];
    let mut start = 0;
    while start < lines.len() {
        if alignable(&lines[start]).is_none() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && alignable(&lines[end]).is_some() {
            end += 1;
        }
        let width = lines[start..end].iter().filter_map(alignable).max();
        for slot in &mut widths[start..end] {
            *slot = width;
        }
        start = end;
    }
    widths
}
