//! The names visible inside a plan's values: params, secrets, built-ins,
//! template parameters and `env.KEY`.

use std::collections::BTreeMap;

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
];

/// What `env.` refers to at one place.
#[derive(Clone, Debug, Default)]
pub enum EnvContext {
    /// No environment: the node has no target and needs no stage with one.
    #[default]
    None,
    /// The keys of the environment's vars.
    Known { name: String, keys: Vec<String> },
}

/// Names of the plan: params and secrets with their types and known values.
#[derive(Clone, Debug, Default)]
pub struct PlanNames {
    pub params: BTreeMap<String, (Type, Option<Value>)>,
    pub secrets: Vec<String>,
}

/// A scope: the plan's names or a template's parameters, plus built-ins and `env.`.
pub struct Scope<'a> {
    pub plan: Option<&'a PlanNames>,
    pub template_params: Option<&'a BTreeMap<String, (Type, Option<Value>)>>,
    pub env: EnvContext,
    /// Built-ins are not available in param defaults and secrets.
    pub builtins: bool,
}

impl NameScope for Scope<'_> {
    fn resolve(&self, path: &[String]) -> Result<NameInfo, String> {
        let Some(first) = path.first() else {
            return Err("empty name".into());
        };
        if first == "env" && self.builtins {
            let key = match path {
                [_, key] => key,
                _ => return Err("write `env.name` or `env.KEY` for a var of the environment".into()),
            };
            return match &self.env {
                EnvContext::None => {
                    Err("this node has no environment; give it `target = ENV` or make it need a stage that has one"
                        .into())
                }
                EnvContext::Known { name, keys } => {
                    if key == "name" || keys.contains(key) {
                        Ok(NameInfo::EnvVar)
                    } else {
                        Err(format!("environment `{name}` has no var `{key}`"))
                    }
                }
            };
        }
        if path.len() != 1 {
            return Err("only `env.KEY` names have a dot".into());
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
            if let EnvContext::Known { keys, .. } = &self.env {
                names.push("env.name".into());
                names.extend(keys.iter().map(|k| format!("env.{k}")));
            }
        }
        names.sort();
        names.dedup();
        names
    }
}
