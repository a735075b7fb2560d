//! Resolving a plan's inputs for `plan` and `run`: param defaults, `--set`
//! overrides (parsed by the param's type), `env("VAR")` reads and secrets
//! (`file(...)` read, `command(...)` run). This is the run's business, not
//! the checker's: `deploy check` never calls it, so checking a plan reads no
//! environment variable or secret and runs nothing.

mod secret_read;

use crate::check::model::{Expr, Plan, Type, Value};
use crate::check::parse_set_value;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};

/// The values a run works with. Secrets hold their real values: only the
/// engine sees them, every output goes through redaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResolvedInputs {
    pub params: Vec<(String, Value)>,
    pub secrets: Vec<(String, String)>,
    /// `secrets { ... }` of environments: (environment, name, value).
    pub environment_secrets: Vec<(String, String, String)>,
    /// Warnings found while reading (a secret file others can read).
    pub warnings: Vec<Diagnostic>,
}

/// Which secrets to read, and how.
#[derive(Clone, Debug, Default)]
pub struct SecretReading {
    /// Read `file(...)` and run `command(...)` secrets; a preview does not,
    /// and shows them as `***`.
    pub sources: bool,
    /// The environments the run touches; `None`: all. Another environment's
    /// `secrets { ... }` are not read.
    pub environments: Option<Vec<String>>,
}

impl ResolvedInputs {
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The secret `name` as a node in `environment` sees it: the
    /// environment's own, else the plan-wide one.
    pub fn secret_in(&self, environment: Option<&str>, name: &str) -> Option<&str> {
        environment
            .and_then(|env| {
                self.environment_secrets.iter().find(|(e, n, _)| e == env && n == name).map(|(_, _, v)| v.as_str())
            })
            .or_else(|| self.secret(name))
    }

    /// The secrets a node in `environment` sees, by name.
    pub fn secrets_in(&self, environment: Option<&str>) -> Vec<(&str, &str)> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (env, name, value) in &self.environment_secrets {
            if Some(env.as_str()) == environment {
                seen.push((name, value));
            }
        }
        for (name, value) in &self.secrets {
            if !seen.iter().any(|(n, _)| n == name) {
                seen.push((name, value));
            }
        }
        seen
    }

    /// Every secret value, whatever its environment: what redaction masks.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|(_, v)| v.as_str()).chain(self.environment_secrets.iter().map(|(_, _, v)| v.as_str()))
    }

    /// Every secret name (for records that show them as `***`).
    pub fn secret_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.secrets.iter().map(|(n, _)| n.clone()).collect();
        for (_, name, _) in &self.environment_secrets {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// The deployed version: the param `version` when the plan declares one.
    pub fn version(&self) -> String {
        self.param("version").map(Value::to_text).unwrap_or_else(|| "unversioned".to_string())
    }

    /// `${commit}`: the full hash of the commit a run deploys (`deploy
    /// watch`), else `""`.
    pub fn commit(&self) -> String {
        self.param("commit").map(Value::to_text).unwrap_or_default()
    }

    /// Binds `name` (a built-in such as `version` or `commit`) for a run.
    pub fn bind(&mut self, name: &str, value: &str) {
        let value = Value::String(value.to_string());
        match self.params.iter_mut().find(|(param, _)| param == name) {
            Some((_, slot)) => *slot = value,
            None => self.params.push((name.to_string(), value)),
        }
    }
}

/// Resolves params and secrets. `sets` are `--set NAME=VALUE` pairs;
/// `read_env` reads an environment variable (injected so tests need not
/// touch the process); only the secrets `reading` asks for are read.
pub fn resolve_inputs_with(
    plan: &Plan,
    sets: &[(String, String)],
    read_env: &dyn Fn(&str) -> Option<String>,
    reading: &SecretReading,
) -> Result<ResolvedInputs, Vec<Diagnostic>> {
    let mut errors = unknown_sets(plan, sets);
    let mut inputs = ResolvedInputs::default();
    for param in &plan.params {
        let set = sets.iter().rev().find(|(name, _)| name == &param.name);
        let value = param_value(param, set, read_env, &mut errors);
        if let Some(value) = value {
            inputs.params.push((param.name.clone(), value));
        }
    }
    for secret in &plan.secrets {
        if let (Some(env), Some(wanted)) = (&secret.environment, &reading.environments) {
            if !wanted.contains(env) {
                continue;
            }
        }
        match read_secret(plan, secret, read_env, reading, &mut inputs.warnings) {
            Ok(value) => match &secret.environment {
                Some(env) => inputs.environment_secrets.push((env.clone(), secret.name.clone(), value)),
                None => inputs.secrets.push((secret.name.clone(), value)),
            },
            Err((code, problem, help)) => errors.push(
                Diagnostic::new(code, format!("secret `{}`: {problem}", secret.name))
                    .at(secret.location.file, secret.location.span, "declared here")
                    .with_help(help),
            ),
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        errors.append(&mut inputs.warnings);
        Err(errors)
    }
}

/// `--set` names that are not params of the plan.
fn unknown_sets(plan: &Plan, sets: &[(String, String)]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for (name, _) in sets {
        if !plan.params.iter().any(|p| &p.name == name) {
            let mut diagnostic =
                Diagnostic::new(Code::InvalidSet, format!("`--set {name}`: the plan has no param `{name}`"));
            let names = plan.params.iter().map(|p| p.name.as_str());
            diagnostic = match did_you_mean(name, names) {
                Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
                None => diagnostic.with_help(format!(
                    "declared params: {}",
                    plan.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                )),
            };
            errors.push(diagnostic);
        }
    }
    errors
}

/// A param's value: the last `--set` of it, else its default.
fn param_value(
    param: &crate::check::model::ParamDef,
    set: Option<&(String, String)>,
    read_env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Value> {
    match (set, &param.default) {
        (Some((_, text)), _) => match parse_set_value(text, &param.ty) {
            Ok(value) => Some(value),
            Err(problem) => {
                errors.push(
                    Diagnostic::new(Code::TypeMismatch, format!("`--set {}={text}`: {problem}", param.name))
                        .with_secondary(
                            param.location.file,
                            param.location.span,
                            format!("`{}` is declared as {}", param.name, param.ty),
                        )
                        .with_help(format!("give a value of type {}", param.ty)),
                );
                None
            }
        },
        (None, Some(default)) => match eval_input(default, &param.ty, read_env) {
            Ok(value) => Some(value),
            Err(problem) => {
                errors.push(
                    Diagnostic::new(Code::MissingValue, format!("param `{}`: {problem}", param.name))
                        .at(param.location.file, param.location.span, "declared here")
                        .with_help(format!("set the variable or pass `--set {}=VALUE`", param.name)),
                );
                None
            }
        },
        (None, None) => {
            errors.push(
                Diagnostic::new(Code::MissingValue, format!("param `{}` has no default and was not set", param.name))
                    .at(param.location.file, param.location.span, "declared without default")
                    .with_help(format!("pass `--set {}=VALUE`", param.name)),
            );
            None
        }
    }
}

/// A secret's value from its source: the problem, its code and a help line when it cannot be read.
fn read_secret(
    plan: &Plan,
    secret: &crate::check::model::SecretDef,
    read_env: &dyn Fn(&str) -> Option<String>,
    reading: &SecretReading,
    warnings: &mut Vec<Diagnostic>,
) -> Result<String, (Code, String, &'static str)> {
    use crate::check::model::SecretSource;
    use secret_read::{read_secret_file, run_secret_command};
    match &secret.source {
        SecretSource::Value(expr) => {
            eval_input(expr, &Type::String, read_env).map(|value| value.to_text()).map_err(|problem| {
                (Code::MissingValue, problem, "export the variable before running; secrets are never stored")
            })
        }
        _ if !reading.sources => Ok("***".to_string()),
        SecretSource::File(path) => {
            let (text, warning) = read_secret_file(&plan.base_dir, path)
                .map_err(|problem| (Code::SecretUnavailable, problem, "the path is relative to the plan file"))?;
            if let Some(warning) = warning {
                warnings.push(
                    Diagnostic::new(Code::SecretFileReadable, format!("secret `{}`: {warning}", secret.name)).at(
                        secret.location.file,
                        secret.location.span,
                        "read from this file",
                    ),
                );
            }
            Ok(text)
        }
        SecretSource::Command { command, timeout } => {
            run_secret_command(&plan.base_dir, command, *timeout).map_err(|problem| {
                (
                    Code::SecretUnavailable,
                    problem,
                    "run the command by hand to see why; nothing was run, nothing changed",
                )
            })
        }
    }
}

/// Evaluates a param default or secret: literals and `env()` only.
fn eval_input(expr: &Expr, ty: &Type, read_env: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    match expr {
        Expr::Literal(value) => Ok(value.clone()),
        Expr::Env { var, default } => match read_env(var) {
            Some(text) => {
                parse_set_value(&text, ty).map_err(|problem| format!("environment variable {var}: {problem}"))
            }
            None => match default {
                Some(default) => eval_input(default, ty, read_env),
                None => Err(format!("environment variable {var} is not set")),
            },
        },
        Expr::List(items) => {
            let inner = match ty {
                Type::List(inner) => inner.as_ref(),
                other => other,
            };
            items.iter().map(|item| eval_input(item, inner, read_env)).collect::<Result<Vec<_>, _>>().map(Value::List)
        }
        Expr::Text(template) => {
            // Checked to hold no interpolation; keep the text.
            let text: String = template
                .parts
                .iter()
                .map(|part| match part {
                    crate::check::model::TemplatePart::Text(text) => text.clone(),
                    crate::check::model::TemplatePart::Var { path, .. } => format!("${{{}}}", path.join(".")),
                })
                .collect();
            Ok(Value::String(text))
        }
        Expr::Ref(path) => Err(format!("`{}` cannot be used in a param default", path.join("."))),
    }
}
