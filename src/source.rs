//! Byte spans into a source file, and the files themselves.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Which loaded file a span belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A loaded source file: the plan, an imported module, or an embedded stdlib module.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Where the text came from (`std/http` for embedded modules).
    pub path: PathBuf,
    /// How the file is named in diagnostics.
    pub name: String,
    pub text: Arc<str>,
    /// Where its lines start, found the first time it is asked for.
    lines: OnceLock<LineIndex>,
}

impl SourceFile {
    /// Where the text's lines start: what converts many offsets (every
    /// diagnostic of a file with thousands) in linear time overall.
    pub fn line_index(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::of(&self.text))
    }
}

/// Every file loaded for one plan, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: &Path, name: String, text: Arc<str>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile { path: path.to_path_buf(), name, text, lines: OnceLock::new() });
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(index, file)| (FileId(index as u32), file))
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|file| file.path == path).map(|index| FileId(index as u32))
    }
}

/// A 1-based line and column (columns count characters, a tab counts as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

/// The line and column of a byte offset. Offsets past the end or inside a
/// multibyte character are clamped to the nearest character boundary before.
pub fn line_column(text: &str, byte: usize) -> LineColumn {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &text[..byte];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = text[line_start..byte].chars().count() + 1;
    LineColumn { line, column, byte }
}

/// Where each line of a text starts, found once: an offset's line is a
/// binary search away and its column a count over its own line, where
/// [`line_column`] scans the text from its start for every offset.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    /// The offset just after each `\n`, after a 0 for the first line.
    line_starts: Vec<usize>,
    /// Each `\r` not followed by `\n`: a line break to some renderers.
    lone_returns: Vec<usize>,
}

impl LineIndex {
    pub fn of(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut lone_returns = Vec::new();
        for (index, byte) in bytes.iter().enumerate() {
            match byte {
                b'\n' => line_starts.push(index + 1),
                b'\r' if bytes.get(index + 1) != Some(&b'\n') => lone_returns.push(index),
                _ => {}
            }
        }
        LineIndex { line_starts, lone_returns }
    }

    /// The 0-based line holding `byte` (the last line past the end).
    pub fn line(&self, byte: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= byte).saturating_sub(1)
    }

    /// Where the 0-based `line` starts; the text's length past its last line.
    pub fn line_start(&self, line: usize, text: &str) -> usize {
        self.line_starts.get(line).copied().unwrap_or(text.len()).min(text.len())
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The lone `\r`s before `byte`.
    pub fn lone_returns_before(&self, byte: usize) -> usize {
        self.lone_returns.partition_point(|&at| at < byte)
    }

    /// What [`line_column`] says of `byte` in `text` (the text this index is of).
    pub fn line_column(&self, text: &str, byte: usize) -> LineColumn {
        let mut byte = byte.min(text.len());
        while !text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = self.line(byte);
        let line_start = self.line_start(line, text).min(byte);
        let column = text.get(line_start..byte).map_or(0, |before| before.chars().count()) + 1;
        LineColumn { line: line + 1, column, byte }
    }
}

/// The byte offset of a 1-based line and character column, clamped to the text.
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for _ in 1..line.max(1) {
        match text[offset..].find('\n') {
            Some(index) => offset += index + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[offset..];
    let line_end = line_text.find('\n').unwrap_or(line_text.len());
    let chars = line_text[..line_end].char_indices();
    for (count, (index, _)) in chars.enumerate() {
        if count + 1 == column.max(1) {
            return offset + index;
        }
    }
    offset + line_end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "a\n\té = x";
        assert_eq!(line_column(text, 2).column, 1);
        assert_eq!(line_column(text, 3).column, 2);
        // `=` comes after tab (1 byte), é (2 bytes) and a space.
        let eq = text.find('=').unwrap_or_default();
        assert_eq!(line_column(text, eq), LineColumn { line: 2, column: 4, byte: eq });
        assert_eq!(byte_offset(text, 2, 4), eq);
    }

    #[test]
    fn the_index_says_what_line_column_says() {
        let text = "a\n\té = x\r\nlast\rline\n\n";
        let index = LineIndex::of(text);
        for byte in 0..text.len() + 3 {
            assert_eq!(index.line_column(text, byte), line_column(text, byte), "at {byte}");
        }
        assert_eq!(index.lone_returns_before(text.len()), 1);
        assert_eq!(index.line_count(), 5);
    }

    #[test]
    fn offsets_are_clamped() {
        assert_eq!(line_column("ab", 99).byte, 2);
        assert_eq!(byte_offset("ab\ncd", 9, 9), 5);
    }
}
