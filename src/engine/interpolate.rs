//! `${...}` interpolation: which names a string can use and what they hold.
//!
//! A name is looked up in this order: the node's template arguments, the
//! built-ins (`host`, `version`, `previous_version`, `stage`, `attempt`,
//! `pipeline`, `env.name`, `env.KEY`), the params, the secrets. In `run`
//! commands every value is shell-quoted unless written `${raw(name)}`.

use crate::check::model::{EnvironmentDef, Expr, NodeDef, Plan, StringTemplate, TemplatePart, Value};
use crate::inputs::ResolvedInputs;
use crate::shell_quote::push_shell_quoted;

/// Everything a string or script can see at one point of a run.
#[derive(Clone, Copy)]
pub struct ValuesInScope<'a> {
    pub plan: &'a Plan,
    pub inputs: &'a ResolvedInputs,
    pub node: Option<&'a NodeDef>,
    /// The environment of the node: its target, or the one it inherits.
    pub environment: Option<&'a EnvironmentDef>,
    pub host: Option<&'a str>,
    /// The host's own version (a per-host rollback), over the inputs' `version`.
    pub version: Option<&'a str>,
    pub previous_version: &'a str,
    pub attempt: u32,
    /// Show secrets as `***` (for `deploy plan`) instead of their values.
    pub mask_secrets: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    /// Every value shell-quoted, except `${raw(...)}`.
    Shell,
    /// Values inserted as they are (messages, URLs, template arguments).
    None,
}

impl<'a> ValuesInScope<'a> {
    /// The value of `path`, or `None` when nothing of that name exists here.
    pub fn lookup(&self, path: &[String]) -> Option<Value> {
        let first = path.first()?.as_str();
        if let Some(node) = self.node {
            if let Some((_, expr)) = node.bindings.iter().find(|(name, _)| name == first) {
                // A binding is evaluated where the node was declared: params,
                // secrets and built-ins, but not the bindings themselves.
                let outer = ValuesInScope { node: None, ..*self };
                let value = outer.eval(expr)?;
                return if path.len() == 1 { Some(value) } else { None };
            }
        }
        if path.len() == 1 {
            match first {
                "host" => return self.host.map(|h| Value::String(h.to_string())),
                "version" => {
                    return Some(Value::String(self.version.map_or_else(|| self.inputs.version(), str::to_string)))
                }
                "previous_version" => return Some(Value::String(self.previous_version.to_string())),
                "stage" => return self.node.map(|n| Value::String(n.name.clone())),
                "attempt" => return Some(Value::Int(i64::from(self.attempt))),
                "pipeline" => return Some(Value::String(self.plan.pipeline.name.clone())),
                "commit" => return Some(Value::String(self.inputs.commit())),
                _ => {}
            }
        }
        if first == "host" && path.len() == 2 {
            return self.host_value(&path[1]);
        }
        if first == "env" {
            let environment = self.environment?;
            return match path.get(1).map(String::as_str) {
                Some("name") if path.len() == 2 => Some(Value::String(environment.name.clone())),
                Some(key) if path.len() == 2 => {
                    let (_, expr) = environment.vars.iter().find(|(name, _)| name == key)?;
                    let outer = ValuesInScope { node: None, ..*self };
                    outer.eval(expr)
                }
                _ => None,
            };
        }
        if path.len() != 1 {
            return None;
        }
        if let Some(value) = self.inputs.param(first) {
            return Some(value.clone());
        }
        let environment = self.environment.map(|environment| environment.name.as_str());
        if let Some(secret) = self.inputs.secret_in(environment, first) {
            return Some(Value::String(if self.mask_secrets { "***".to_string() } else { secret.to_string() }));
        }
        None
    }

    /// Evaluates a template argument or environment variable.
    pub fn eval(&self, expr: &Expr) -> Option<Value> {
        match expr {
            Expr::Literal(value) => Some(value.clone()),
            Expr::Text(template) => self.render(template, Quoting::None).ok().map(Value::String),
            Expr::Ref(path) => self.lookup(path),
            Expr::Env { var, default } => match std::env::var(var) {
                Ok(value) => Some(Value::String(value)),
                Err(_) => default.as_ref().and_then(|d| self.eval(d)),
            },
            Expr::List(items) => items.iter().map(|item| self.eval(item)).collect::<Option<Vec<_>>>().map(Value::List),
        }
    }

    /// Renders a string; the error names the first unknown variable.
    pub fn render(&self, template: &StringTemplate, quoting: Quoting) -> Result<String, String> {
        let mut out = String::with_capacity(64);
        for part in &template.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::Var { path, raw } => {
                    let value = self.lookup(path).ok_or_else(|| format!("`{}` has no value here", path.join(".")))?;
                    let shell = quoting == Quoting::Shell && !raw;
                    // A string (most values) is borrowed, not copied, and
                    // quoted straight into the command.
                    let text: std::borrow::Cow<str> = match &value {
                        Value::String(text) => text.into(),
                        // In a shell command a list is one word per line:
                        // `for x in $list` still splits it, and a module can
                        // read items that hold spaces (an env file's
                        // `KEY=two words`) with IFS set to a newline.
                        Value::List(items) if shell => {
                            items.iter().map(Value::to_text).collect::<Vec<_>>().join("\n").into()
                        }
                        _ => value.to_text().into(),
                    };
                    if shell {
                        push_shell_quoted(&mut out, &text);
                    } else {
                        out.push_str(&text);
                    }
                }
            }
        }
        Ok(out)
    }
}

impl ValuesInScope<'_> {
    /// `${host.KEY}`: the current host's own value, else the environment's
    /// var of that name; `name` and `address` always exist.
    fn host_value(&self, key: &str) -> Option<Value> {
        let name = self.host?;
        let environment = self.environment?;
        let host = environment.host(name);
        match key {
            "name" => return Some(Value::String(name.to_string())),
            "address" => {
                let address = host.and_then(|h| h.address.clone()).unwrap_or_else(|| name.to_string());
                return Some(Value::String(address));
            }
            _ => {}
        }
        let outer = ValuesInScope { node: None, ..*self };
        if let Some((_, expr)) = host.and_then(|h| h.vars.iter().find(|(k, _)| k == key)) {
            return outer.eval(expr);
        }
        let (_, expr) = environment.vars.iter().find(|(k, _)| k == key)?;
        outer.eval(expr)
    }
}
