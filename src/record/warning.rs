//! Warnings from outside the engine's own tasks (the heartbeat, the journal
//! writer, the signal listener) into the run's one event stream. Until the
//! run's bus starts they wait; once it has closed they are kept for the
//! session to pass on, so none is lost and none is printed from below the
//! front end.

use std::sync::{Arc, Mutex};

use super::bus::Bus;
use super::event::EventData;

pub use super::event::WarningKind;

/// What a host whose failure its stage tolerated (`max_failures`) is
/// warned with, in the run's summary and in `deploy status`.
pub fn tolerated_failure(host: &str, version: &str) -> String {
    format!("{host} failed (tolerated): {version} may be broken there")
}

/// One warning: what it is about, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

impl Warning {
    pub fn event(self) -> EventData {
        EventData::Warning { kind: self.kind, message: self.message }
    }
}

#[derive(Default)]
struct Relay {
    bus: Option<Bus>,
    /// Before the bus started, or after it closed.
    waiting: Vec<Warning>,
}

/// The sending side; cheap to clone, shared by whatever may warn during a run.
#[derive(Clone, Default)]
pub struct Warnings {
    relay: Arc<Mutex<Relay>>,
    /// The first journal write that failed: the run can no longer record
    /// what it does, so it changes no further host.
    unrecorded: Arc<Mutex<Option<String>>>,
    /// How far the journal has written the run's events.
    written: super::written::Written,
}

impl Warnings {
    pub fn warn(&self, kind: WarningKind, message: impl Into<String>) {
        let warning = Warning { kind, message: message.into() };
        if kind == WarningKind::Journal {
            if let Ok(mut unrecorded) = self.unrecorded.lock() {
                unrecorded.get_or_insert_with(|| warning.message.clone());
            }
        }
        let Ok(mut relay) = self.relay.lock() else { return };
        match &relay.bus {
            Some(bus) => bus.emit(warning.event()),
            None => relay.waiting.push(warning),
        }
    }

    /// How far the journal has written the run's events.
    pub fn written(&self) -> &super::written::Written {
        &self.written
    }

    /// Why the run's state cannot be written (the first journal write that
    /// failed), if it cannot.
    pub fn unrecorded(&self) -> Option<String> {
        self.unrecorded.lock().ok().and_then(|unrecorded| unrecorded.clone())
    }

    /// From now on warnings are events on `bus`; the waiting ones go first.
    pub fn attach(&self, bus: &Bus) {
        let Ok(mut relay) = self.relay.lock() else { return };
        for warning in std::mem::take(&mut relay.waiting) {
            bus.emit(warning.event());
        }
        relay.bus = Some(bus.clone());
    }

    /// The bus is about to close: warnings wait again, for [`Warnings::take`].
    pub fn detach(&self) {
        if let Ok(mut relay) = self.relay.lock() {
            relay.bus = None;
        }
    }

    /// The warnings no bus carried.
    pub fn take(&self) -> Vec<Warning> {
        self.relay.lock().map(|mut relay| std::mem::take(&mut relay.waiting)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::bus::EventSink;
    use crate::record::event::Event;
    use crate::record::redact::Redactor;

    #[derive(Clone, Default)]
    struct Kinds(Arc<Mutex<Vec<WarningKind>>>);

    impl EventSink for Kinds {
        fn handle(&mut self, event: &Event) {
            if let EventData::Warning { kind, .. } = &event.data {
                self.0.lock().unwrap().push(*kind);
            }
        }
    }

    #[test]
    fn warnings_before_the_bus_wait_and_after_it_are_kept() {
        let warnings = Warnings::default();
        warnings.warn(WarningKind::Signals, "no Ctrl-C");
        let seen = Kinds::default();
        let (bus, worker) = Bus::start(Redactor::new(Vec::<&str>::new()), vec![Box::new(seen.clone())]);
        warnings.attach(&bus);
        warnings.warn(WarningKind::Heartbeat, "heartbeat failed");
        warnings.detach();
        warnings.warn(WarningKind::Journal, "journal full");
        bus.close();
        worker.join();
        assert_eq!(*seen.0.lock().unwrap(), vec![WarningKind::Signals, WarningKind::Heartbeat]);
        let late: Vec<WarningKind> = warnings.take().into_iter().map(|warning| warning.kind).collect();
        assert_eq!(late, vec![WarningKind::Journal]);
    }
}
