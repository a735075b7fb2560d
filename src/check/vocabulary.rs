//! The words the checker accepts in each place, one list each: the checker
//! reads them to accept a word (and to say which it expected), the language
//! server to complete and explain them. A word added here is accepted and
//! completed at once; nothing else keeps its own copy.

pub use super::node::{
    strategy_attributes, GATE_ATTRIBUTES, INSTANCE_ATTRIBUTES, POLICIES, STAGE_ATTRIBUTES, STRATEGIES,
};
pub use super::secret_source::SECRET_FUNCTIONS as SECRET_SOURCES;
pub use super::ssh_settings::SSH_KEYS;
pub use super::watch::WATCH_KEYS;
pub use crate::syntax::KEYWORDS as ITEM_KEYWORDS;

/// The entries of the `pipeline { }` block.
pub const PIPELINE_ENTRIES: &[&str] =
    &["description", "on_failure", "lock", "max_parallel", "step_timeout", "limits", "on", "watch"];
/// The keys of `limits { }` (the script sandbox's).
pub const LIMIT_KEYS: &[&str] =
    &["operations", "call_depth", "expr_depth", "string_size", "array_size", "map_size", "timeout"];
/// The entries of an `environment { }` block.
pub const ENVIRONMENT_ENTRIES: &[&str] =
    &["hosts", "vars", "protect", "description", "transport", "ssh", "secrets", "probe"];
/// The keys of `protect { }`.
pub const PROTECT_KEYS: &[&str] = &["approval", "window", "by"];
/// `on_failure` of the pipeline (a stage's also takes `continue`: [`POLICIES`]).
pub const PIPELINE_POLICIES: &[&str] = &["rollback", "pause", "abort"];
/// `lock = pipeline | environment`.
pub const LOCK_SCOPES: &[&str] = &["pipeline", "environment"];
/// `protect { approval = required | optional }`.
pub const APPROVAL: &[&str] = &["required", "optional"];
/// `transport = local | ssh`.
pub const TRANSPORTS: &[&str] = &["local", "ssh"];
/// The words `strict_host_keys` allows, as OpenSSH spells them.
pub const STRICT_HOST_KEYS: &[&str] = &["yes", "accept-new"];
/// `timeout = none`, `step_timeout = none`: unbounded on purpose.
pub const NO_TIMEOUT: &[&str] = &["none"];
/// `upload "LOCAL" to "REMOTE"`.
pub const UPLOAD_TO: &[&str] = &["to"];
/// `hosts = inventory("FILE", "GROUP")`.
pub const HOST_SOURCES: &[&str] = &["inventory"];
/// The events a stage's hooks run on (`on start { }`).
pub const HOOK_EVENTS_STAGE: &[&str] = &["start", "success", "failure"];
/// The events the pipeline's hooks run on.
pub const HOOK_EVENTS_PIPELINE: &[&str] = &["start", "success", "failure", "rollback", "paused"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::HookEvent;

    #[test]
    fn hook_words_are_the_model_s_events() {
        let words = |events: &[HookEvent]| events.iter().map(|event| event.word()).collect::<Vec<_>>();
        assert_eq!(words(HookEvent::STAGE), HOOK_EVENTS_STAGE);
        assert_eq!(words(HookEvent::PIPELINE), HOOK_EVENTS_PIPELINE);
    }
}
