//! Rendering diagnostics: graphical (miette) for people, JSON for machines.

use std::fmt;

use std::collections::HashMap;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode,
    SourceSpan, SpanContents,
};
use serde::Serialize;

use super::{Diagnostic, Label, Severity};
use crate::source::{FileId, LineColumn, LineIndex, SourceMap};

/// How a terminal report looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderStyle {
    /// Colour and unicode, for a terminal.
    Colour,
    /// No colour, ASCII art: for pipes, CI logs and `NO_COLOR`.
    Plain,
}

impl RenderStyle {
    /// Colour on a terminal unless `NO_COLOR` is set.
    pub fn detect(is_terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        if is_terminal && !no_color {
            RenderStyle::Colour
        } else {
            RenderStyle::Plain
        }
    }
}

/// Labels further apart than this many lines are shown in separate snippets.
const MAX_SNIPPET_GAP: usize = 6;

/// Renders every diagnostic as a miette report, one after another.
pub fn render_terminal(diagnostics: &[Diagnostic], sources: &SourceMap, style: RenderStyle) -> String {
    let theme = match style {
        RenderStyle::Colour => GraphicalTheme::unicode(),
        RenderStyle::Plain => GraphicalTheme::none(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    let mut snippets = SnippetSources::default();
    for diagnostic in diagnostics {
        let shown = Shown::from_diagnostic(diagnostic, sources, &mut snippets);
        if handler.render_report(&mut out, &shown).is_err() {
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
        out.push('\n');
    }
    out
}

/// A diagnostic in the shape miette renders: the source of its primary
/// label, the labels in that file, and one related report per other file.
#[derive(Debug)]
struct Shown {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<Snippets>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Shown>,
}

impl Shown {
    fn from_diagnostic(diagnostic: &Diagnostic, sources: &SourceMap, snippets: &mut SnippetSources) -> Shown {
        let severity = match diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let mut shown = Shown {
            message: diagnostic.message.clone(),
            code: Some(diagnostic.code.as_str().to_string()),
            severity,
            help: diagnostic.help.clone(),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        let Some(primary) = &diagnostic.primary else {
            return shown;
        };
        let Some(file) = sources.get(primary.file) else {
            return shown;
        };
        shown.source = Some(NamedSource::new(&file.name, snippets.of(primary.file, sources)));
        shown.labels.push(labeled(primary, &file.text, true));
        let lines = file.line_index();
        let primary_line = lines.line(primary.span.start);
        for label in &diagnostic.secondary {
            // A label near the primary one shares its snippet; a far one gets
            // a snippet of its own rather than every line in between.
            let near = lines.line(label.span.start).abs_diff(primary_line) <= MAX_SNIPPET_GAP;
            if label.file == primary.file && near {
                shown.labels.push(labeled(label, &file.text, false));
            } else if let Some(other) = sources.get(label.file) {
                let other_name = if label.file == primary.file { &file.name } else { &other.name };
                shown.related.push(Shown {
                    message: label.message.clone(),
                    code: None,
                    severity: miette::Severity::Advice,
                    help: None,
                    source: Some(NamedSource::new(other_name, snippets.of(label.file, sources))),
                    labels: vec![labeled(label, &other.text, true)],
                    related: Vec::new(),
                });
            }
        }
        shown
    }
}

/// Each file's text as the terminal is shown it (see [`printable`]) with
/// its line index, made once per file however many diagnostics it has.
#[derive(Default)]
struct SnippetSources {
    by_file: HashMap<FileId, Snippets>,
}

impl SnippetSources {
    fn of(&mut self, file: FileId, sources: &SourceMap) -> Snippets {
        self.by_file
            .entry(file)
            .or_insert_with(|| match sources.get(file) {
                Some(source) => {
                    Snippets { text: Arc::from(printable(&source.text)), lines: Arc::new(source.line_index().clone()) }
                }
                None => Snippets { text: Arc::from(""), lines: Arc::new(LineIndex::of("")) },
            })
            .clone()
    }
}

/// A file's text for miette, which reads a snippet by scanning the text
/// from its start: here only the lines around the snippet are scanned, so
/// a file with thousands of diagnostics renders in linear time. What miette
/// is given is the same as from the whole text, positions included.
#[derive(Clone, Debug)]
struct Snippets {
    text: Arc<str>,
    /// `text` has the lines of the source (`printable` keeps every byte).
    lines: Arc<LineIndex>,
}

impl SourceCode for Snippets {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text: &str = &self.text;
        let span_end = span.offset().saturating_add(span.len());
        if span_end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        // Whole lines from before the context to past it (a lone `\r`,
        // a line break to miette, only makes lines shorter).
        let first_line = self.lines.line(span.offset()).saturating_sub(context_lines_before + 1);
        let last_line = self.lines.line(span_end).saturating_add(context_lines_after + 2);
        let window_start = self.lines.line_start(first_line, text);
        let window_end = self.lines.line_start(last_line, text);
        let window = text.as_bytes().get(window_start..window_end).ok_or(MietteError::OutOfBounds)?;
        let inner = SourceSpan::new((span.offset() - window_start).into(), span.len());
        let contents = window.read_span(&inner, context_lines_before, context_lines_after)?;
        let lines_before = first_line + self.lines.lone_returns_before(window_start);
        let at = SourceSpan::new((contents.span().offset() + window_start).into(), contents.span().len());
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            at,
            contents.line() + lines_before,
            contents.column(),
            contents.line_count() + lines_before,
        )))
    }
}

/// A label whose span is visible: an empty span at the end of the text is
/// widened to the last character, so "expected `}`" at end of input shows.
fn labeled(label: &Label, text: &str, primary: bool) -> LabeledSpan {
    let mut start = label.span.start.min(text.len());
    let mut end = label.span.end.min(text.len()).max(start);
    if start == end && start == text.len() && start > 0 {
        start = text.trim_end().len().saturating_sub(1);
        while start > 0 && !text.is_char_boundary(start) {
            start -= 1;
        }
        end = text.trim_end().len().max(start);
    }
    let message = Some(label.message.clone()).filter(|m| !m.is_empty());
    if primary {
        LabeledSpan::new_primary_with_span(message, (start, end - start))
    } else {
        LabeledSpan::new_with_span(message, (start, end - start))
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {}

impl miette::Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.as_ref().map(|code| Box::new(code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|source| source as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
        }
    }
}

/// The `--format json` report, shaped like `terraform validate -json`.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub format_version: &'static str,
    pub valid: bool,
    pub error_count: usize,
    pub warning_count: usize,
    pub diagnostics: Vec<JsonDiagnostic>,
}

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub range: Option<JsonRange>,
    pub related: Vec<JsonRelated>,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated {
    pub message: String,
    pub range: JsonRange,
}

#[derive(Debug, Serialize)]
pub struct JsonRange {
    pub file: String,
    pub start: LineColumn,
    pub end: LineColumn,
}

fn json_range(label: &Label, sources: &SourceMap) -> Option<JsonRange> {
    let file = sources.get(label.file)?;
    let lines = file.line_index();
    Some(JsonRange {
        file: file.name.clone(),
        start: lines.line_column(&file.text, label.span.start),
        end: lines.line_column(&file.text, label.span.end),
    })
}

pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> JsonReport {
    let error_count = diagnostics.iter().filter(|d| d.is_error()).count();
    JsonReport {
        format_version: "1.0",
        valid: error_count == 0,
        error_count,
        warning_count: diagnostics.len() - error_count,
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity,
                summary: d.code.title(),
                message: d.message.clone(),
                help: d.help.clone(),
                range: d.primary.as_ref().and_then(|l| json_range(l, sources)),
                related: d
                    .secondary
                    .iter()
                    .filter_map(|l| Some(JsonRelated { message: l.message.clone(), range: json_range(l, sources)? }))
                    .collect(),
            })
            .collect(),
    }
}

/// The source as the terminal may be shown it: ASCII control characters
/// other than newline, tab and carriage return (a NUL, an escape sequence)
/// become `?`, byte for byte, so spans still point where they did.
fn printable(text: &str) -> String {
    let control = |c: char| c.is_ascii_control() && !matches!(c, '\n' | '\t' | '\r');
    if !text.chars().any(control) {
        return text.to_string();
    }
    text.chars().map(|c| if control(c) { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What miette reads of a span is the same from [`Snippets`] as from
    /// the whole text: lines, columns and the merging of nearby labels.
    #[test]
    fn snippets_read_what_the_whole_text_gives() {
        let text = "stage a {\r\n\ttimeout = 5x\r\n}\nstage b { run \"é\" }\rold mac line\n\n\nstage c {\n  x = 1\n}\n"
            .repeat(3);
        let text = text.as_str();
        let snippets = Snippets { text: Arc::from(text), lines: Arc::new(LineIndex::of(text)) };
        let whole = text.to_string();
        for start in 0..=text.len() {
            for length in [0, 1, 3, 12, 40] {
                let span = SourceSpan::new(start.into(), length.min(text.len() - start));
                for context in 0..4 {
                    let expected = whole.read_span(&span, context, context);
                    let got = snippets.read_span(&span, context, context);
                    match (expected, got) {
                        (Ok(expected), Ok(got)) => {
                            let at = format!("span {start}+{length}, context {context}");
                            assert_eq!(expected.data(), got.data(), "{at}");
                            assert_eq!(expected.span(), got.span(), "{at}");
                            assert_eq!(expected.line(), got.line(), "{at}");
                            assert_eq!(expected.column(), got.column(), "{at}");
                            assert_eq!(expected.line_count(), got.line_count(), "{at}");
                        }
                        (Err(_), Err(_)) => {}
                        (expected, got) => {
                            panic!("span {start}+{length}: {:?} vs {:?}", expected.is_ok(), got.is_ok())
                        }
                    }
                }
            }
        }
    }
}
