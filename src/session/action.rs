//! Actions taken on a run from outside it — an approval, a rejection, a
//! resume, a rollback, a released lock — journaled as `action` events with
//! the identity that took them, numbered after the run's last event.
//!
//! Only a run that is not running is acted on this way (paused, crashed or
//! finished), so no journal writer of its own numbers events at the same time.

use super::error::SessionResult;
use crate::record::event::{Event, EventData, SCHEMA_VERSION};
use crate::state::StateStore;

/// One action, as the journal records it.
pub struct Action<'a> {
    /// `approve`, `reject`, `resume`, `rollback`, `release_lock`.
    pub action: &'a str,
    pub by: &'a str,
    pub node: Option<&'a str>,
    pub message: String,
}

/// Appends the action to the journal of `run_id`.
pub fn record(store: &mut dyn StateStore, run_id: &str, action: Action<'_>) -> SessionResult<()> {
    let seq = store.next_seq(run_id)?;
    let event = Event {
        schema: SCHEMA_VERSION,
        seq,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        simulated: false,
        data: EventData::Action {
            action: action.action.to_string(),
            by: action.by.to_string(),
            node: action.node.map(str::to_string),
            message: action.message,
        },
    };
    let entry = crate::state::journal::journal_entry(&event, seq);
    store.append_journal(run_id, &[entry], &[])?;
    Ok(())
}
