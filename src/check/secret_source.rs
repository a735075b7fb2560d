//! `secret NAME = ...` values: `env("VAR")`, `file("path")` or
//! `command("pass show db/prod")` (optionally `command("...", 10s)`), plan-wide
//! or in an environment's `secrets { ... }` block.

use super::model::{SecretSource, Type, Value, DEFAULT_SECRET_COMMAND_TIMEOUT};
use super::values::Typer;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{self, ValueKind};

/// The functions a secret's value may call.
pub const SECRET_FUNCTIONS: &[&str] = &["env", "file", "command"];

/// Types a secret's value; `None` after reporting a problem.
pub fn lower_secret_source(typer: &mut Typer, value: &ast::Value) -> Option<SecretSource> {
    let ValueKind::Call { name, args } = &value.kind else {
        return typer.expr(value, &Type::String).map(SecretSource::Value);
    };
    match name.name.as_str() {
        "file" => {
            let path = plain_argument(typer, value, args, "file", "file(\"secrets/db.txt\")", 1)?;
            Some(SecretSource::File(path))
        }
        "command" => {
            let command = plain_argument(typer, value, args, "command", "command(\"pass show db/prod\")", 2)?;
            let timeout = match args.get(1) {
                Some(limit) => match typer.constant(limit, &Type::Duration)? {
                    Value::Duration(duration) if !duration.is_zero() => duration,
                    _ => {
                        push(typer, Code::InvalidValue, limit, "a secret command's timeout must be above zero");
                        return None;
                    }
                },
                None => DEFAULT_SECRET_COMMAND_TIMEOUT,
            };
            Some(SecretSource::Command { command, timeout })
        }
        "env" => typer.expr(value, &Type::String).map(SecretSource::Value),
        other => {
            typer.diagnostics.push(
                Diagnostic::new(Code::UnknownFunction, format!("unknown function `{other}`"))
                    .at(typer.file, name.span, "not a function")
                    .with_help("a secret reads env(\"VAR\"), file(\"path\") or command(\"shell command\")"),
            );
            None
        }
    }
}

/// The first argument as a plain, non-empty string; at most `max` arguments.
fn plain_argument(
    typer: &mut Typer,
    value: &ast::Value,
    args: &[ast::Value],
    function: &str,
    example: &str,
    max: usize,
) -> Option<String> {
    if args.is_empty() || args.len() > max {
        push(
            typer,
            Code::InvalidValue,
            value,
            &format!("write `{example}`: `{function}` takes {max} argument(s) at most, the first a string"),
        );
        return None;
    }
    match args.first().map(|a| &a.kind) {
        Some(ValueKind::String(text)) => match text.as_plain() {
            Some(plain) if !plain.trim().is_empty() => Some(plain),
            _ => {
                push(
                    typer,
                    Code::InvalidValue,
                    value,
                    &format!("`{function}` takes a plain, non-empty string: `{example}`"),
                );
                None
            }
        },
        _ => {
            push(typer, Code::TypeMismatch, value, &format!("`{function}` takes a string: `{example}`"));
            None
        }
    }
}

fn push(typer: &mut Typer, code: Code, at: &ast::Value, message: &str) {
    typer.diagnostics.push(Diagnostic::new(code, message.to_string()).at(typer.file, at.span, "this value"));
}
