//! Typing values: syntax values → model values and expressions, `--set`
//! text → values, and the type errors in between.

use super::model::Location;
use super::model::{Expr, StringTemplate, TemplatePart, Type, Value};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::duration::parse_duration;
use crate::syntax::ast::{self, StringPart, ValueKind};
use crate::syntax::span::{FileId, Span};

/// What a name in a value or `${...}` stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum NameInfo {
    /// A param, secret, template parameter or built-in, with its type and,
    /// when known before the run, its value.
    Typed(Type, Option<Value>),
    /// `env.KEY`: an environment variable, known only at run time.
    EnvVar,
}

/// The names visible at one place of a plan.
pub trait NameScope {
    fn resolve(&self, path: &[String]) -> Result<NameInfo, String>;
    /// Records a use of `env.KEY` that resolved, for checks made later.
    /// `on_host`: a `host.KEY` use rather than `env.KEY`.
    fn note_env_use(&self, _key: &str, _on_host: bool, _file: FileId, _span: Span) {}
    /// Names to suggest for a misspelling.
    fn candidates(&self) -> Vec<String>;
}

/// Converts values, collecting diagnostics.
pub struct Typer<'a> {
    pub file: FileId,
    pub scope: &'a dyn NameScope,
    pub diagnostics: &'a mut Vec<Diagnostic>,
}

impl Typer<'_> {
    fn error(&mut self, code: Code, at: &ast::Value, message: String, label: &str) {
        let diagnostic = Diagnostic::new(code, message).at(self.file, at.span, label);
        self.diagnostics.push(diagnostic);
    }

    fn mismatch(&mut self, value: &ast::Value, ty: &Type) {
        let found = value.kind.describe();
        let diagnostic = Diagnostic::new(Code::TypeMismatch, format!("expected {}, found {found}", type_words(ty)))
            .at(self.file, value.span, format!("this is {found}"))
            .with_help(type_help(ty));
        self.diagnostics.push(diagnostic);
    }

    /// A name whose type is not the one wanted here.
    fn name_mismatch(&mut self, value: &ast::Value, path: &ast::Path, ty: &Type, found: &Type) {
        let diagnostic = Diagnostic::new(
            Code::TypeMismatch,
            format!("expected {}, but `{}` is {}", type_words(ty), path.dotted(), type_words(found)),
        )
        .at(self.file, value.span, format!("this is {found}"))
        .with_help(type_help(ty));
        self.diagnostics.push(diagnostic);
    }

    /// Resolves a name, reporting unknown names with a suggestion.
    pub fn resolve(&mut self, path: &ast::Path) -> Option<NameInfo> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.name.to_string()).collect();
        match self.scope.resolve(&segments) {
            Ok(NameInfo::EnvVar) => {
                if let Some(key) = segments.get(1) {
                    let on_host = segments.first().is_some_and(|first| first == "host");
                    self.scope.note_env_use(key, on_host, self.file, path.span);
                }
                Some(NameInfo::EnvVar)
            }
            Ok(info) => Some(info),
            Err(why) => {
                let dotted = path.dotted();
                let candidates = self.scope.candidates();
                let mut diagnostic = Diagnostic::new(Code::UnknownName, format!("unknown name `{dotted}`: {why}")).at(
                    self.file,
                    path.span,
                    "not defined here",
                );
                if let Some(close) = did_you_mean(&dotted, candidates.iter().map(String::as_str)) {
                    diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
                } else if !candidates.is_empty() {
                    diagnostic = diagnostic.with_help(format!("names here: {}", candidates.join(", ")));
                }
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    /// A string template, with every `${...}` checked.
    pub fn template(&mut self, string: &ast::StringLit) -> StringTemplate {
        let mut parts = Vec::with_capacity(string.parts.len());
        for part in &string.parts {
            match part {
                StringPart::Text(text) => parts.push(TemplatePart::Text(text.clone())),
                StringPart::Interpolation { path, raw, .. } => {
                    self.resolve(path);
                    let names = path.segments.iter().map(|s| s.name.to_string()).collect();
                    parts.push(TemplatePart::Var { path: names, raw: *raw });
                }
            }
        }
        StringTemplate { parts, location: Location { file: self.file, span: string.span } }
    }

    /// A value evaluated at run time (template arguments, environment vars).
    pub fn expr(&mut self, value: &ast::Value, ty: &Type) -> Option<Expr> {
        match (&value.kind, ty) {
            (ValueKind::String(string), Type::String) => {
                if string.as_plain().is_some() {
                    Some(Expr::Literal(Value::String(string.as_plain().unwrap_or_default())))
                } else {
                    Some(Expr::Text(self.template(string)))
                }
            }
            (ValueKind::Path(path), _) => {
                let info = self.resolve(path)?;
                match info {
                    NameInfo::Typed(found, _) if &found == ty || *ty == Type::String => {
                        Some(Expr::Ref(path.segments.iter().map(|s| s.name.to_string()).collect()))
                    }
                    NameInfo::EnvVar => Some(Expr::Ref(path.segments.iter().map(|s| s.name.to_string()).collect())),
                    NameInfo::Typed(found, _) => {
                        self.name_mismatch(value, path, ty, &found);
                        None
                    }
                }
            }
            (ValueKind::Call { name, args }, _) => self.env_call(value, name, args, ty),
            (ValueKind::List(items), Type::List(inner)) => {
                let mut out = Vec::new();
                for item in items {
                    out.push(self.expr(item, inner)?);
                }
                Some(Expr::List(out))
            }
            _ => self.constant(value, ty).map(Expr::Literal),
        }
    }

    fn env_call(&mut self, value: &ast::Value, name: &ast::Ident, args: &[ast::Value], ty: &Type) -> Option<Expr> {
        if name.name != "env" {
            self.diagnostics.push(
                Diagnostic::new(Code::UnknownFunction, format!("unknown function `{}`", name.name))
                    .at(self.file, name.span, "not a function")
                    .with_help(
                        "plan values may call `env(\"VAR\")` or `env(\"VAR\", default)`; use a Rhai snippet for more",
                    ),
            );
            return None;
        }
        let var = match args.first().map(|a| &a.kind) {
            Some(ValueKind::String(s)) if s.as_plain().is_some() => s.as_plain().unwrap_or_default(),
            _ => {
                self.error(
                    Code::TypeMismatch,
                    value,
                    "`env` takes the name of an environment variable as a plain string".into(),
                    "expected env(\"VAR\")",
                );
                return None;
            }
        };
        if args.len() > 2 {
            self.error(Code::InvalidValue, value, "`env` takes at most two arguments".into(), "too many arguments");
            return None;
        }
        let default = match args.get(1) {
            Some(default) => Some(Box::new(self.expr(default, ty)?)),
            None => None,
        };
        Some(Expr::Env { var, default })
    }

    /// A value that must be known when the plan is checked: literals, and
    /// names whose value is known (template arguments, param defaults, `--set`).
    pub fn constant(&mut self, value: &ast::Value, ty: &Type) -> Option<Value> {
        match (&value.kind, ty) {
            (ValueKind::String(string), Type::String) => match string.as_plain() {
                Some(text) => Some(Value::String(text)),
                None => {
                    self.error(
                        Code::InvalidValue,
                        value,
                        "this string must be known before the run, so it cannot use `${...}`".into(),
                        "interpolation not allowed here",
                    );
                    None
                }
            },
            (ValueKind::Int(number), Type::Int) => Some(Value::Int(*number)),
            (ValueKind::Bool(flag), Type::Bool) => Some(Value::Bool(*flag)),
            (ValueKind::Duration(duration), Type::Duration) => Some(Value::Duration(*duration)),
            (ValueKind::Percent(percent), Type::Percent) => {
                if (0.0..=100.0).contains(percent) {
                    Some(Value::Percent(*percent))
                } else {
                    self.error(
                        Code::InvalidValue,
                        value,
                        "a percent must be between 0% and 100%".into(),
                        "out of range",
                    );
                    None
                }
            }
            (ValueKind::List(items), Type::List(inner)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match self.constant(item, inner) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(out))
            }
            (ValueKind::Path(path), _) => self.constant_name(value, path, ty),
            (ValueKind::Call { name, args }, _) if name.name == "env" => self.constant_env(value, name, args, ty),
            (ValueKind::Call { .. }, _) => {
                self.expr(value, ty);
                None
            }
            _ => {
                self.mismatch(value, ty);
                None
            }
        }
    }

    /// A name in a constant: its value when known before the run.
    fn constant_name(&mut self, value: &ast::Value, path: &ast::Path, ty: &Type) -> Option<Value> {
        match self.resolve(path)? {
            NameInfo::Typed(found, known) if &found == ty => {
                // Unknown until the run (a param without default): the
                // caller keeps its own default; `deploy run` resolves it.
                known
            }
            NameInfo::Typed(found, _) => {
                self.name_mismatch(value, path, ty, &found);
                None
            }
            NameInfo::EnvVar => {
                self.error(
                    Code::InvalidValue,
                    value,
                    format!("`{}` is known only at run time; this value must be known before", path.dotted()),
                    "not a constant",
                );
                None
            }
        }
    }

    /// `env("VAR", default)` in a constant: read now.
    fn constant_env(&mut self, value: &ast::Value, name: &ast::Ident, args: &[ast::Value], ty: &Type) -> Option<Value> {
        let expr = self.env_call(value, name, args, ty)?;
        match expr {
            Expr::Env { var, default } => match std::env::var(&var) {
                Ok(text) => match parse_set_value(&text, ty) {
                    Ok(v) => Some(v),
                    Err(problem) => {
                        self.error(
                            Code::TypeMismatch,
                            value,
                            format!("environment variable {var}: {problem}"),
                            "wrong type",
                        );
                        None
                    }
                },
                Err(_) => match default.as_deref() {
                    Some(Expr::Literal(v)) => Some(v.clone()),
                    _ => None,
                },
            },
            _ => None,
        }
    }

    /// A word from a fixed set (`on_failure = rollback`).
    pub fn word(&mut self, value: &ast::Value, allowed: &[&str]) -> Option<String> {
        let word = match &value.kind {
            ValueKind::Path(path) if path.segments.len() == 1 => path.dotted(),
            _ => {
                let diagnostic = Diagnostic::new(
                    Code::TypeMismatch,
                    format!("expected one of {}, found {}", allowed.join(", "), value.kind.describe()),
                )
                .at(self.file, value.span, "expected a word")
                .with_help(format!("write one of: {}", allowed.join(", ")));
                self.diagnostics.push(diagnostic);
                return None;
            }
        };
        if allowed.contains(&word.as_str()) {
            return Some(word);
        }
        let mut diagnostic = Diagnostic::new(
            Code::InvalidValue,
            format!("`{word}` is not one of {}", allowed.join(", ")),
        )
        .at(self.file, value.span, "not allowed here");
        diagnostic = match did_you_mean(&word, allowed.iter().copied()) {
            Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
            None => diagnostic.with_help(format!("write one of: {}", allowed.join(", "))),
        };
        self.diagnostics.push(diagnostic);
        None
    }
}

pub fn type_words(ty: &Type) -> String {
    match ty {
        Type::String => "a string".into(),
        Type::Int => "an integer".into(),
        Type::Bool => "a boolean".into(),
        Type::Duration => "a duration".into(),
        Type::Percent => "a percent".into(),
        Type::List(inner) => {
            format!("a list of {}", type_words(inner).trim_start_matches("a ").trim_start_matches("an "))
        }
    }
}

fn type_help(ty: &Type) -> String {
    match ty {
        Type::String => "strings are written in double quotes: \"text ${name}\"".into(),
        Type::Int => "write a whole number, like 3".into(),
        Type::Bool => "write true or false".into(),
        Type::Duration => "write a duration like 500ms, 30s, 5m, 1h30m or 1d".into(),
        Type::Percent => "write a percent like 25%".into(),
        Type::List(inner) => format!("write a list in brackets: [{}]", example(inner)),
    }
}

fn example(ty: &Type) -> &'static str {
    match ty {
        Type::String => "\"a\", \"b\"",
        Type::Int => "1, 2",
        Type::Bool => "true, false",
        Type::Duration => "10s, 1m",
        Type::Percent => "10%, 50%, 100%",
        Type::List(_) => "[...]",
    }
}

/// A syntax type → model type, or the problem in words.
pub fn lower_type(ty: &ast::TypeExpr) -> Result<Type, String> {
    match &ty.kind {
        ast::TypeExprKind::List(inner) => lower_type(inner).map(|t| Type::List(Box::new(t))),
        ast::TypeExprKind::Named(name) => match name.as_str() {
            "string" => Ok(Type::String),
            "int" => Ok(Type::Int),
            "bool" => Ok(Type::Bool),
            "duration" => Ok(Type::Duration),
            "percent" => Ok(Type::Percent),
            other => Err(other.to_string()),
        },
    }
}

pub const TYPE_NAMES: &[&str] = &["string", "int", "bool", "duration", "percent", "list"];

/// The spellings a `--set` or environment value of a bool may take.
pub const BOOL_SPELLINGS: &str = "true/false, yes/no, on/off, 1/0";

/// Parses a `--set` or environment value by the param's type. Lists are
/// comma-separated.
pub fn parse_set_value(text: &str, ty: &Type) -> Result<Value, String> {
    let text_trimmed = text.trim();
    match ty {
        Type::String => Ok(Value::String(text.to_string())),
        Type::Int => text_trimmed.parse::<i64>().map(Value::Int).map_err(|_| format!("`{text}` is not an integer")),
        Type::Bool => match text_trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not a boolean: write one of {BOOL_SPELLINGS} (any case)")),
        },
        Type::Duration => parse_duration(text_trimmed)
            .filter(|_| text_trimmed.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(Value::Duration)
            .ok_or_else(|| format!("`{text}` is not a duration like 30s, 5m or 1h30m")),
        Type::Percent => {
            let number = text_trimmed.strip_suffix('%').unwrap_or(text_trimmed);
            match number.parse::<f64>() {
                Ok(percent) if (0.0..=100.0).contains(&percent) => Ok(Value::Percent(percent)),
                _ => Err(format!("`{text}` is not a percent between 0% and 100%")),
            }
        }
        Type::List(inner) => {
            if text_trimmed.is_empty() {
                return Ok(Value::List(Vec::new()));
            }
            text.split(',')
                .map(|item| parse_set_value(item.trim(), inner))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List)
        }
    }
}

/// The type a var's value is written in (vars are untyped).
pub fn infer_type(value: &ast::Value) -> Type {
    use ast::ValueKind::*;
    match &value.kind {
        Int(_) => Type::Int,
        Bool(_) => Type::Bool,
        Duration(_) => Type::Duration,
        Percent(_) => Type::Percent,
        List(items) => Type::List(Box::new(items.first().map(infer_type).unwrap_or(Type::String))),
        _ => Type::String,
    }
}
