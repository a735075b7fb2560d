//! Compiling embedded Rhai at check time, with errors mapped to the line and
//! column of the `.deploy` file.

use std::sync::Arc;

use super::model::Script;
use super::values::{NameScope, Typer};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::Rhai;
use crate::syntax::span::{byte_offset, FileId, Span};

/// Compiles every snippet of a plan with the sandbox's parse-time limits
/// (from the pipeline's `limits { ... }`).
pub struct ScriptCompiler {
    engine: rhai::Engine,
    /// The same parser with strict variables: what a snippet reads.
    strict: rhai::Engine,
    /// Names declared like Rhai keywords, already reported at their
    /// declaration: a snippet using one fails for that reason only.
    keyword_names: Vec<String>,
}

impl ScriptCompiler {
    pub fn new(limits: &crate::script::ScriptLimits) -> Self {
        ScriptCompiler {
            engine: crate::script::compiler(limits),
            strict: crate::script::strict_parser(limits),
            keyword_names: Vec::new(),
        }
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

/// Names a script sees besides the plan's params, secrets and built-ins
/// (docs/scripting.md "What a script sees"): `env`, a check's `gate`,
/// `hosts` and `role`, a step's `rollback` and `approved`, a hook's `hook`,
/// `status`, `failed_node` and `error`. Every snippet may read them (the
/// engine leaves out the ones a place does not set: a runtime error there).
pub const SCRIPT_NAMES: &[&str] =
    &["env", "gate", "hosts", "role", "rollback", "approved", "hook", "status", "failed_node", "error"];

impl ScriptCompiler {
    /// [`ScriptCompiler::compile`], then every variable the snippet reads
    /// from outside itself must be a name in `typer`'s scope (params,
    /// secrets, template parameters, built-ins) or one of [`SCRIPT_NAMES`]:
    /// a typo is found before anything runs, not after work has been done.
    pub fn compile_in(&self, typer: &mut Typer, rhai: &Rhai) -> Option<Script> {
        let script = self.compile(typer.file, rhai, typer.diagnostics)?;
        if !self.keyword_names.iter().any(|name| super::script_words::mentions_word(&rhai.source, name)) {
            unknown_reads(&self.strict, typer, &script);
        }
        Some(script)
    }
}

fn unknown_reads(strict: &rhai::Engine, typer: &mut Typer, script: &Script) {
    let Some(reads) = crate::script::free_variables(strict, &script.source) else { return };
    for read in reads {
        let path = [read.name.clone()];
        if read.name == "host" {
            host_keys_read(typer, script);
        }
        if SCRIPT_NAMES.contains(&read.name.as_str()) || typer.scope.resolve(&path).is_ok() {
            continue;
        }
        typer.diagnostics.push(unknown_read(typer.scope, typer.file, script, &read));
    }
}

/// `host.KEY` in a snippet is checked like `${host.KEY}`: once the node's
/// environment is known, every host must have KEY (or the environment a
/// var of that name).
fn host_keys_read(typer: &mut Typer, script: &Script) {
    for property in crate::script::properties_of(&script.ast, &script.source, "host") {
        let path = ["host".to_string(), property.name.clone()];
        if typer.scope.resolve(&path).is_ok() {
            let at = script.source_start + property.offset;
            typer.scope.note_env_use(&property.name, true, typer.file, Span::new(at, at + property.name.len()));
        }
    }
}

fn unknown_read(
    scope: &dyn NameScope,
    file: FileId,
    script: &Script,
    read: &crate::script::FreeVariable,
) -> Diagnostic {
    let at = script.source_start + read.offset;
    let why = scope.resolve(std::slice::from_ref(&read.name)).err().unwrap_or_default();
    let mut candidates = scope.candidates();
    candidates.extend(SCRIPT_NAMES.iter().map(|name| name.to_string()));
    candidates.sort();
    candidates.dedup();
    let mut diagnostic = Diagnostic::new(Code::UnknownName, format!("unknown name `{}` in Rhai: {why}", read.name)).at(
        file,
        Span::new(at, at + read.name.len()),
        "not defined here",
    );
    if let Some(close) = did_you_mean(&read.name, candidates.iter().map(String::as_str)) {
        diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
    } else {
        diagnostic = diagnostic
            .with_help(format!("a script sees {}; declare a `let` before using a local", candidates.join(", ")));
    }
    diagnostic
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
