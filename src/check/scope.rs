//! The names visible inside a plan's values: params, secrets, built-ins,
//! template parameters and `env.KEY`.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::syntax::span::{FileId, Span};

use super::model::{Type, Value};
use super::values::{NameInfo, NameScope};

/// Built-in names every string and script can use.
pub const BUILTINS: &[(&str, Type)] = &[
    ("host", Type::String),
    ("version", Type::String),
    ("previous_version", Type::String),
    ("stage", Type::String),
    ("attempt", Type::Int),
    ("pipeline", Type::String),
    ("commit", Type::String),
];

/// A use of `env.KEY` whose check waits until every node is lowered.
#[derive(Clone, Debug)]
pub struct EnvUse {
    pub key: String,
    /// `host.KEY` (a value of the host, or the environment's var) rather than `env.KEY`.
    pub on_host: bool,
    pub file: FileId,
    pub span: Span,
}

/// What `env.` refers to at one place.
#[derive(Clone, Copy, Debug, Default)]
pub enum EnvContext<'a> {
    /// No environment (values of the plan itself, like an environment's vars).
    #[default]
    None,
    /// Not known yet: a node's environment may come from the nodes it
    /// needs. Uses are recorded here and checked after all nodes.
    Deferred(&'a RefCell<Vec<EnvUse>>),
}

/// Names of the plan: params and secrets with their types and known values.
#[derive(Clone, Debug, Default)]
pub struct PlanNames {
    pub params: BTreeMap<String, (Type, Option<Value>)>,
    pub secrets: Vec<String>,
}

/// A scope: the plan's names or a template's parameters, plus built-ins and `env.`.
pub struct NamesInScope<'a> {
    pub plan: Option<&'a PlanNames>,
    pub template_params: Option<&'a BTreeMap<String, (Type, Option<Value>)>>,
    pub env: EnvContext<'a>,
    /// Built-ins are not available in param defaults and secrets.
    pub builtins: bool,
}

impl NameScope for NamesInScope<'_> {
    fn resolve(&self, path: &[String]) -> Result<NameInfo, String> {
        let Some(first) = path.first() else {
            return Err("empty name".into());
        };
        if first == "env" && self.builtins {
            if path.len() != 2 {
                return Err("write `env.name` or `env.KEY` for a var of the environment".into());
            }
            return match &self.env {
                EnvContext::None => Err("`env.` is only known inside a stage or gate".into()),
                EnvContext::Deferred(_) => Ok(NameInfo::EnvVar),
            };
        }
        if first == "host" && path.len() == 2 && self.builtins {
            return match &self.env {
                EnvContext::None => Err("`host.` is only known inside a stage or gate".into()),
                EnvContext::Deferred(_) => Ok(NameInfo::EnvVar),
            };
        }
        if path.len() != 1 {
            return Err("only `env.KEY` and `host.KEY` names have a dot".into());
        }
        if let Some(params) = self.template_params {
            if let Some((ty, value)) = params.get(first) {
                return Ok(NameInfo::Typed(ty.clone(), value.clone()));
            }
        }
        if let Some(plan) = self.plan {
            if let Some((ty, value)) = plan.params.get(first) {
                return Ok(NameInfo::Typed(ty.clone(), value.clone()));
            }
            if plan.secrets.contains(first) {
                return Ok(NameInfo::Typed(Type::String, None));
            }
        }
        if self.builtins {
            if let Some((_, ty)) = BUILTINS.iter().find(|(name, _)| name == first) {
                return Ok(NameInfo::Typed(ty.clone(), None));
            }
        }
        if self.template_params.is_some() {
            Err("templates see their own parameters and the built-ins, not the plan's params".into())
        } else if self.builtins {
            Err("not a param, secret or built-in".into())
        } else {
            Err("param defaults and secrets can only use literals and env(\"VAR\")".into())
        }
    }

    fn note_env_use(&self, key: &str, on_host: bool, file: FileId, span: Span) {
        if let EnvContext::Deferred(uses) = &self.env {
            uses.borrow_mut().push(EnvUse { key: key.to_string(), on_host, file, span });
        }
    }

    fn candidates(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(params) = self.template_params {
            names.extend(params.keys().cloned());
        }
        if let Some(plan) = self.plan {
            names.extend(plan.params.keys().cloned());
            names.extend(plan.secrets.iter().cloned());
        }
        if self.builtins {
            names.extend(BUILTINS.iter().map(|(n, _)| n.to_string()));
        }
        names.sort();
        names.dedup();
        names
    }
}
