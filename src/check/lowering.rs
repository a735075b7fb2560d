//! What the lowering passes share: the [`Lowering`] state (the loaded
//! files, the names and environments found so far, the diagnostics), and
//! the checks every block gets (an entry given twice, an entry it does not
//! accept, a `window`).

use std::collections::HashMap;

use super::loader::Loaded;
use super::model::*;
use super::scope::PlanNames;
use super::values::Typer;
use super::window::Window;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{self, Entry};
use crate::syntax::span::{FileId, Span};

/// Everything the lowering passes share.
pub struct Lowering<'a> {
    pub loaded: &'a Loaded,
    pub diagnostics: Vec<Diagnostic>,
    pub names: PlanNames,
    pub environments: Vec<EnvironmentDef>,
    /// `secrets { ... }` of every environment.
    pub environment_secrets: Vec<SecretDef>,
    pub pipeline: PipelineSettings,
    /// How many more names "did you mean" may compare an unknown stage or
    /// gate name with (see [`SUGGESTION_BUDGET`]).
    pub suggestions_left: usize,
}

/// The names "did you mean" compares unknown stage and gate names with, in
/// all, per check: each unknown name is compared with every node's name,
/// so 10,000 misspelt names in a plan of 10,000 stages took 41 s (a debug
/// build). Past it, an unknown name gets the help without a suggestion; a
/// plan with fewer than a thousand nodes gets a thousand suggestions.
pub const SUGGESTION_BUDGET: usize = 1_000_000;

impl Lowering<'_> {
    /// Whether one more suggestion among `candidates` names fits the budget (and takes its share).
    pub fn may_suggest_among(&mut self, candidates: usize) -> bool {
        match self.suggestions_left.checked_sub(candidates) {
            Some(left) => {
                self.suggestions_left = left;
                true
            }
            None => false,
        }
    }
}

impl Lowering<'_> {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// E0101: `name`, of a `what`, was first defined at `first`.
pub fn defined_twice(what: &str, file: FileId, name: &ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(Code::DuplicateName, format!("{what} `{}` is defined twice", name.name))
        .at(file, name.span, "defined again here")
        .with_secondary(file, first, "first defined here")
        .with_help("give each a distinct name, or remove one")
}

/// Reports an attribute given twice in one block.
pub fn check_duplicate_entries(file: FileId, entries: &[Entry], diagnostics: &mut Vec<Diagnostic>) {
    // Keys borrow the names: a block of a stage has a handful of entries,
    // and a plan hundreds of thousands of blocks (a `HashMap` of owned keys
    // per block was an allocation per entry). Blocks and hooks have keys of
    // their own (`name {}`, `on event`); the rest share attributes' names.
    let mut seen = SeenKeys::default();
    for entry in entries {
        let key = match entry {
            Entry::Attribute(a) => (0, a.name.name.as_str()),
            Entry::Block(b) => (1, b.name.name.as_str()),
            Entry::Rollback(_) => (0, "rollback"),
            Entry::Strategy(_) => (0, "strategy"),
            Entry::Approve(_) => (0, "approve"),
            Entry::Check(_) => (0, "check"),
            Entry::Hook(h) => (2, h.event.name.as_str()),
            Entry::Run(_) | Entry::Script(_) | Entry::Upload(_) => continue,
        };
        if let Some(first) = seen.first(key, entry.keyword_span()) {
            diagnostics.push(
                Diagnostic::new(Code::DuplicateAttribute, format!("`{}` is given twice", entry.keyword()))
                    .at(file, entry.keyword_span(), "given again here")
                    .with_secondary(file, first, "first given here")
                    .with_help("keep one of them"),
            );
        }
    }
}

/// The entries of one block seen so far: a short list while the block is
/// short, a hash map past that (a block of thousands of entries stays linear).
#[derive(Default)]
struct SeenKeys<'a> {
    few: Vec<((u8, &'a str), Span)>,
    many: HashMap<(u8, &'a str), Span>,
}

impl<'a> SeenKeys<'a> {
    const FEW: usize = 16;

    /// Where `key` was first seen; `None` (and remembered at `span`) when this is the first time.
    fn first(&mut self, key: (u8, &'a str), span: Span) -> Option<Span> {
        if self.many.is_empty() {
            if let Some((_, first)) = self.few.iter().find(|(seen, _)| *seen == key) {
                return Some(*first);
            }
            if self.few.len() < Self::FEW {
                self.few.push((key, span));
                return None;
            }
            self.many.extend(self.few.drain(..));
        }
        match self.many.get(&key) {
            Some(first) => Some(*first),
            None => {
                self.many.insert(key, span);
                None
            }
        }
    }
}

/// Reports an entry that this block does not accept.
pub fn unknown_entry(file: FileId, entry: &Entry, what: &str, accepted: &[&str]) -> Diagnostic {
    let word = entry.keyword();
    let mut diagnostic = Diagnostic::new(Code::UnknownAttribute, format!("{what} has no `{word}`")).at(
        file,
        entry.keyword_span(),
        "not accepted here",
    );
    diagnostic = match did_you_mean(word, accepted.iter().copied()) {
        Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
        None => diagnostic.with_help(format!("{what} accepts: {}", accepted.join(", "))),
    };
    diagnostic
}

/// Parses a `window = "..."` value.
pub fn window(typer: &mut Typer, value: &ast::Value) -> Option<Window> {
    let Value::String(text) = typer.constant(value, &Type::String)? else { return None };
    match Window::parse(&text) {
        Ok(window) => Some(window),
        Err(problem) => {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidWindow, format!("invalid window: {problem}"))
                    .at(typer.file, value.span, "this window")
                    .with_help("write days, a time range and a zone: \"Mon-Fri 08:00-17:00 UTC\""),
            );
            None
        }
    }
}
