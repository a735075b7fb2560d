//! Compiling embedded Rhai at check time, with errors mapped to the line and
//! column of the `.deploy` file.

use std::sync::Arc;

use super::model::Script;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::Rhai;
use crate::syntax::span::{byte_offset, FileId, Span};

/// Compiles every snippet of a plan with the sandbox's parse-time limits
/// (from the pipeline's `limits { ... }`).
pub struct ScriptCompiler {
    engine: rhai::Engine,
    /// Names declared like Rhai keywords, already reported at their
    /// declaration: a snippet using one fails for that reason only.
    keyword_names: Vec<String>,
}

impl ScriptCompiler {
    pub fn new(limits: &crate::script::ScriptLimits) -> Self {
        ScriptCompiler { engine: crate::script::compiler(limits), keyword_names: Vec::new() }
    }

    pub fn reported(mut self, keyword_names: Vec<String>) -> Self {
        self.keyword_names = keyword_names;
        self
    }

    /// Compiles a snippet once; the AST is reused for every host and retry.
    pub fn compile(&self, file: FileId, rhai: &Rhai, diagnostics: &mut Vec<Diagnostic>) -> Option<Script> {
        let mut found = Vec::new();
        let script = compile(&self.engine, file, rhai, &mut found);
        let explained = || self.keyword_names.iter().any(|name| super::script_words::mentions_word(&rhai.source, name));
        if !found.is_empty() && !explained() {
            diagnostics.extend(found);
        }
        script
    }
}

fn compile(engine: &rhai::Engine, file: FileId, rhai: &Rhai, diagnostics: &mut Vec<Diagnostic>) -> Option<Script> {
    if rhai.source.trim().is_empty() {
        diagnostics.push(
            Diagnostic::new(Code::ScriptSyntax, "empty Rhai snippet")
                .at(file, rhai.span, "nothing to evaluate")
                .with_help("write an expression, for example `http::get(url).status == 200`"),
        );
        return None;
    }
    match crate::script::compile_on(engine, &rhai.source) {
        Ok(ast) => Some(Script {
            source: Arc::from(rhai.source.as_str()),
            ast: Arc::new(ast),
            file,
            source_start: rhai.source_start,
        }),
        Err(error) => {
            let at = match (error.line, error.column) {
                (Some(line), Some(column)) => rhai.source_start + byte_offset(&rhai.source, line, column),
                (Some(line), None) => rhai.source_start + byte_offset(&rhai.source, line, 1),
                _ => rhai.source_start,
            };
            let end = (at + 1).min(rhai.span.end.max(at));
            diagnostics.push(
                Diagnostic::new(Code::ScriptSyntax, format!("Rhai: {}", error.message))
                    .at(file, Span::new(at, end), "here")
                    .with_help("scripts are compiled when the plan is checked; see docs/scripting.md"),
            );
            None
        }
    }
}
