//! The variables a script sees.

use rhai::{Dynamic, Map, Scope};

/// Tag carried by context values that hold secrets: their text is redacted (`***`) from
/// everything a script prints and from outcome/error messages.
pub(crate) const SECRET_TAG: i16 = 0x5EC;

/// The variables a script sees. Built by the engine per host/attempt.
///
/// The usual variables are `version`, `previous_version`, `host`, `env` (a map with `name` and the
/// environment's vars), `stage`, `attempt`, `pipeline`, the params by name, the secrets by name
/// (see [`ScriptVariables::set_secret`]) and template arguments by name.
#[derive(Clone, Default)]
pub struct ScriptVariables {
    pub variables: Vec<(String, rhai::Dynamic)>,
    /// The hosts of the environment with their values, for `host.KEY`
    /// (see `host_values.rs`).
    pub hosts: Option<std::sync::Arc<super::HostTable>>,
}

impl ScriptVariables {
    pub fn new() -> ScriptVariables {
        ScriptVariables::default()
    }

    /// Set a variable, replacing an earlier one of the same name.
    pub fn set(&mut self, name: &str, value: Dynamic) {
        match self.variables.iter_mut().find(|(n, _)| n == name) {
            Some((_, slot)) => *slot = value,
            None => self.variables.push((name.to_string(), value)),
        }
    }

    /// The hosts whose values `host.KEY` (and `NAME.KEY` of any host's name) reads.
    pub fn set_hosts(&mut self, hosts: std::sync::Arc<super::HostTable>) {
        self.hosts = Some(hosts);
    }

    /// Builder form of [`ScriptVariables::set`].
    pub fn with(mut self, name: &str, value: impl Into<Dynamic>) -> ScriptVariables {
        self.set(name, value.into());
        self
    }

    pub fn set_str(&mut self, name: &str, value: &str) {
        self.set(name, Dynamic::from(value.to_string()));
    }

    pub fn set_int(&mut self, name: &str, value: i64) {
        self.set(name, Dynamic::from_int(value));
    }

    pub fn set_bool(&mut self, name: &str, value: bool) {
        self.set(name, Dynamic::from_bool(value));
    }

    pub fn set_float(&mut self, name: &str, value: f64) {
        self.set(name, Dynamic::from_float(value));
    }

    /// A list of strings (becomes a Rhai array).
    pub fn set_list<S: AsRef<str>>(&mut self, name: &str, items: impl IntoIterator<Item = S>) {
        let array: rhai::Array = items.into_iter().map(|s| Dynamic::from(s.as_ref().to_string())).collect();
        self.set(name, Dynamic::from_array(array));
    }

    /// A map variable (`name.key` in scripts).
    pub fn set_map<K: AsRef<str>>(&mut self, name: &str, entries: impl IntoIterator<Item = (K, Dynamic)>) {
        let map: Map = entries.into_iter().map(|(k, v)| (k.as_ref().into(), v)).collect();
        self.set(name, Dynamic::from_map(map));
    }

    /// `env`: a map holding `name` (the environment's name) and the environment's vars
    /// (`env.name`, `env.region`...). A var called `name` does not replace the name.
    pub fn set_env<K: AsRef<str>>(&mut self, env_name: &str, vars: impl IntoIterator<Item = (K, Dynamic)>) {
        let mut map: Map = vars.into_iter().map(|(k, v)| (k.as_ref().into(), v)).collect();
        map.insert("name".into(), Dynamic::from(env_name.to_string()));
        self.set("env", Dynamic::from_map(map));
    }

    /// A secret: a string variable whose text is replaced by `***` wherever the script prints it
    /// (print/debug/log) and in fail/inconclusive/no_data and error messages.
    pub fn set_secret(&mut self, name: &str, value: &str) {
        let mut value = Dynamic::from(value.to_string());
        value.set_tag(SECRET_TAG.into());
        self.set(name, value);
    }

    /// Several secrets at once, e.g. from `(name, value)` pairs.
    pub fn set_secrets<'a>(&mut self, secrets: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in secrets {
            self.set_secret(name, value);
        }
    }

    /// The value of a variable.
    pub fn get(&self, name: &str) -> Option<&Dynamic> {
        self.variables.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether `name` was set with [`ScriptVariables::set_secret`].
    pub fn is_secret(&self, name: &str) -> bool {
        self.get(name).is_some_and(is_secret)
    }

    /// The scope of one evaluation (clones the values).
    pub(crate) fn to_scope(&self) -> Scope<'static> {
        let mut scope = Scope::with_capacity(self.variables.len());
        for (name, value) in &self.variables {
            scope.push_dynamic(name.as_str(), value.clone());
        }
        scope
    }

    /// The secret texts of this context.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = rhai::ImmutableString> + '_ {
        self.variables
            .iter()
            .filter(|(_, v)| is_secret(v))
            .filter_map(|(_, v)| v.clone().into_immutable_string().ok())
            .filter(|s| !s.is_empty())
    }
}

fn is_secret(value: &Dynamic) -> bool {
    value.tag() == i32::from(SECRET_TAG) && value.is_string()
}

impl std::fmt::Debug for ScriptVariables {
    /// Secrets are shown as `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.variables {
            if is_secret(value) {
                map.entry(name, &"***");
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces() {
        let mut ctx = ScriptVariables::new();
        ctx.set_str("host", "a");
        ctx.set_str("host", "b");
        ctx.set_int("attempt", 2);
        assert_eq!(ctx.variables.len(), 2);
        assert_eq!(ctx.get("host").map(|v| v.to_string()), Some("b".to_string()));
    }

    #[test]
    fn secrets_are_tagged_and_hidden_from_debug() {
        let mut ctx = ScriptVariables::new();
        ctx.set_secrets([("token", "s3cr3t")]);
        ctx.set_str("host", "web-1");
        assert!(ctx.is_secret("token"));
        assert!(!ctx.is_secret("host"));
        assert_eq!(ctx.secrets().map(|s| s.to_string()).collect::<Vec<_>>(), vec!["s3cr3t"]);
        let shown = format!("{ctx:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn env_map_has_name_and_vars() {
        let mut ctx = ScriptVariables::new();
        ctx.set_env("prod", [("region", Dynamic::from("eu")), ("name", Dynamic::from("x"))]);
        let env = ctx.get("env").and_then(|v| v.as_map_ref().ok().map(|m| m.clone())).unwrap_or_default();
        assert_eq!(env.get("name").map(|v| v.to_string()), Some("prod".into()));
        assert_eq!(env.get("region").map(|v| v.to_string()), Some("eu".into()));
    }
}
