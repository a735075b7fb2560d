//! Rendering diagnostics: graphical (miette) for people, JSON for machines.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use super::{Diagnostic, Label, Severity};
use crate::source::{line_column, LineColumn, SourceMap};

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
    for diagnostic in diagnostics {
        let shown = Shown::from_diagnostic(diagnostic, sources);
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
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Shown>,
}

impl Shown {
    fn from_diagnostic(diagnostic: &Diagnostic, sources: &SourceMap) -> Shown {
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
        shown.source = Some(NamedSource::new(&file.name, printable(&file.text)));
        shown.labels.push(labeled(primary, &file.text, true));
        let line_of = |offset: usize| file.text[..offset.min(file.text.len())].matches('\n').count();
        let primary_line = line_of(primary.span.start);
        for label in &diagnostic.secondary {
            // A label near the primary one shares its snippet; a far one gets
            // a snippet of its own rather than every line in between.
            let near = line_of(label.span.start).abs_diff(primary_line) <= MAX_SNIPPET_GAP;
            if label.file == primary.file && near {
                shown.labels.push(labeled(label, &file.text, false));
            } else if let Some(other) = sources.get(label.file) {
                let other_name = if label.file == primary.file { &file.name } else { &other.name };
                shown.related.push(Shown {
                    message: label.message.clone(),
                    code: None,
                    severity: miette::Severity::Advice,
                    help: None,
                    source: Some(NamedSource::new(other_name, printable(&other.text))),
                    labels: vec![labeled(label, &other.text, true)],
                    related: Vec::new(),
                });
            }
        }
        shown
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
    Some(JsonRange {
        file: file.name.clone(),
        start: line_column(&file.text, label.span.start),
        end: line_column(&file.text, label.span.end),
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
