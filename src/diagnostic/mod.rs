//! One diagnostic type for the whole program: the CLI renders it with miette,
//! `--format json` serialises it, the language server converts it. Diagnostics
//! are data with spans until they are rendered, at the edge of the program.

mod codes;
mod render;

pub use codes::{catalogue_markdown, Code, ALL_CODES};
pub use render::{render_json, render_terminal, JsonReport, RenderStyle};

use crate::source::{FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a file, with what to say about it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> Self {
        Label { file, span, message: shown(message.into()) }
    }
}

/// `text` with its control characters other than newline and tab written
/// as escapes (`\0`, `\u{1b}`): a NUL or an escape sequence from the input
/// must not reach the terminal (or the editor) as itself.
pub fn shown(text: String) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\0' => out.push_str("\\0"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; absent only for problems outside any file
    /// (a plan that cannot be read, a bad `--set`).
    pub primary: Option<Label>,
    /// Other places involved: the first definition of a duplicate, each edge of a cycle.
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: shown(message.into()),
            primary: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn at(mut self, file: FileId, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(Label::new(file, span, label));
        self
    }

    pub fn with_secondary(mut self, file: FileId, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label::new(file, span, label));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(shown(help.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics collected while working through a plan: all of them are
/// reported, not just the first.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Warnings become errors (`--strict`).
    pub fn make_strict(&mut self) {
        for item in &mut self.items {
            item.severity = Severity::Error;
        }
    }

    /// Sorted by file and position, duplicates removed, so output is stable.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|d| {
            let place = d.primary.as_ref().map(|l| (l.file, l.span.start, l.span.end));
            (place, d.code)
        });
        self.items.dedup();
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The closest candidate to a misspelt name, for "did you mean" (the
/// first of the closest). Asked once per unknown name of a plan with
/// thousands of names, so a candidate is dropped as soon as it cannot be
/// close enough: by its length, then row by row of the distance.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name: Vec<char> = name.chars().collect();
    let limit = (name.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    let mut candidate_chars: Vec<char> = Vec::new();
    let mut rows = DistanceRows::default();
    for candidate in candidates {
        // Closer than the best so far, or not worth computing.
        let wanted = best.map_or(limit, |(distance, _)| distance.saturating_sub(1));
        let length = candidate.chars().count();
        if length.abs_diff(name.len()) > wanted {
            continue;
        }
        candidate_chars.clear();
        candidate_chars.extend(candidate.chars());
        if let Some(distance) = rows.distance_within(&name, &candidate_chars, wanted) {
            best = Some((distance, candidate));
            if distance == 0 {
                break;
            }
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// The rows of an edit distance, kept between candidates.
#[derive(Default)]
struct DistanceRows {
    before_last: Vec<usize>,
    last: Vec<usize>,
    current: Vec<usize>,
}

impl DistanceRows {
    /// The optimal string alignment distance of `a` and `b` (insertions,
    /// deletions, substitutions and transpositions of neighbours each cost
    /// one) when it is at most `limit`.
    fn distance_within(&mut self, a: &[char], b: &[char], limit: usize) -> Option<usize> {
        let width = b.len() + 1;
        self.before_last.clear();
        self.before_last.resize(width, usize::MAX);
        self.last.clear();
        self.last.extend(0..width);
        let mut last_min = 0;
        for i in 1..=a.len() {
            self.current.clear();
            self.current.push(i);
            let mut row_min = i;
            for j in 1..width {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (self.last[j] + 1).min(self.current[j - 1] + 1).min(self.last[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(self.before_last[j - 2].saturating_add(1));
                }
                self.current.push(best);
                row_min = row_min.min(best);
            }
            // Every later cell comes from this row, the one before (plus a
            // transposition) or its own line's start, all past the limit.
            if row_min > limit && last_min > limit && i > limit {
                return None;
            }
            std::mem::swap(&mut self.before_last, &mut self.last);
            std::mem::swap(&mut self.last, &mut self.current);
            last_min = row_min;
        }
        self.last.get(b.len()).copied().filter(|distance| *distance <= limit)
    }
}

/// Optimal string alignment distance, without a limit (what
/// [`DistanceRows::distance_within`] is held to).
#[cfg(test)]
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best =
                (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("biuld", ["build", "deploy"]), Some("build"));
        assert_eq!(did_you_mean("xyz", ["build", "deploy"]), None);
    }

    /// The same answer as the distance of every candidate, the first of
    /// the closest, on random names over a small alphabet.
    #[test]
    fn pruning_changes_no_suggestion() {
        let mut seed = 11u64;
        let mut next = move |bound: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % bound
        };
        let word = |next: &mut dyn FnMut(usize) -> usize| -> String {
            (0..next(10)).map(|_| ['a', 'b', 'c', 'é'][next(4)]).collect()
        };
        for _ in 0..3_000 {
            let name = word(&mut next);
            let candidates: Vec<String> = (0..next(8)).map(|_| word(&mut next)).collect();
            let limit = (name.chars().count() / 3).max(1);
            let expected = candidates
                .iter()
                .map(|candidate| (edit_distance(&name, candidate), candidate.as_str()))
                .filter(|(distance, _)| *distance <= limit)
                .min_by_key(|(distance, _)| *distance)
                .map(|(_, candidate)| candidate);
            assert_eq!(did_you_mean(&name, candidates.iter().map(String::as_str)), expected, "{name} {candidates:?}");
        }
    }
}
