//! What a run records, below both the engine that produces it and the
//! state that keeps it: the events of a run ([`event`]) on their stream
//! ([`bus`], with secrets masked by [`redact`]), the warnings from outside
//! the engine's tasks ([`warning`]), how far the journal has written them
//! ([`written`]), how a run's status maps to an exit
//! code ([`run_status`]), and who ran a step process ([`process_identity`]). Engine and state are siblings that both
//! read this; the session joins them.

pub(crate) mod bus;
pub mod event;
pub(crate) mod process_identity;
pub(crate) mod redact;
pub(crate) mod run_status;
pub(crate) mod warning;
pub(crate) mod written;

pub use bus::{Bus, EventSink};
