//! `host.KEY` in scripts: `host` stays a string (the host's name, so
//! `host == "web-1"` and `"on " + host` keep working), and reading a
//! property of it looks the name up among the hosts of the evaluation's
//! environment: `host.role`, `host.http_port`, `host.address`, and the same
//! on any host name (`hosts.filter(|h| h.role == "primary")`).
//!
//! Rhai resolves a property through a getter registered under its name, so
//! the sandbox registers one getter on strings for every key the plan's
//! hosts and environments have ([`register`]); the values of the hosts come
//! with each evaluation ([`super::ScriptVariables::set_hosts`]) and are
//! found through a thread-local set around it (like its deadline).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

/// Every host of an environment by name, with its values: `name`,
/// `address`, its own vars and the environment's (its own first).
pub type HostTable = HashMap<String, Map>;

thread_local! {
    static HOSTS: RefCell<Option<Arc<HostTable>>> = const { RefCell::new(None) };
}

/// Puts `hosts` in place for an evaluation on this thread; the previous
/// table comes back when the returned guard is dropped.
pub(crate) fn enter(hosts: Option<&Arc<HostTable>>) -> Option<Option<Arc<HostTable>>> {
    let hosts = hosts?.clone();
    HOSTS.with(|cell| cell.try_borrow_mut().ok().map(|mut slot| slot.replace(hosts)))
}

pub(crate) fn leave(previous: Option<Arc<HostTable>>) {
    HOSTS.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = previous;
        }
    });
}

/// The keys every host has, whatever the plan: its name and its address.
pub const BUILT_IN_KEYS: [&str; 2] = ["name", "address"];

/// Registers a getter on strings for each of `keys` (and the built-in ones).
pub(crate) fn register(engine: &mut Engine, keys: &[String]) {
    let mut all: Vec<String> = BUILT_IN_KEYS.iter().map(|key| key.to_string()).collect();
    all.extend(keys.iter().cloned());
    all.sort();
    all.dedup();
    for key in all {
        let name = key.clone();
        engine.register_get(&key, move |host: &mut ImmutableString| value_of(host, &name));
    }
}

fn value_of(host: &str, key: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    let found = HOSTS.with(|cell| {
        let slot = cell.try_borrow().ok()?;
        let table = slot.as_ref()?;
        Some(table.get(host).map(|values| values.get(key).cloned()))
    });
    let message = match found {
        Some(Some(Some(value))) => return Ok(value),
        Some(Some(None)) => format!("host `{host}` has no `{key}`"),
        Some(None) => format!("`{host}` is not a host of this environment, so it has no `{key}`"),
        None => format!("`{key}` of `{host}`: only a host's name has values here (in a step, check or hook that runs with an environment)"),
    };
    Err(Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(message), Position::NONE)))
}
