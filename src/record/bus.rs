//! The event bus: numbers events, masks secrets once, and hands every event,
//! in order, to each consumer (terminal view, `--json`, journal) on one
//! dedicated thread so that slow output never blocks the executor.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use super::event::{Event, EventData, SCHEMA_VERSION};
use super::redact::Redactor;

/// A consumer of the event stream.
pub trait EventSink: Send {
    fn handle(&mut self, event: &Event);
    /// Called once after the last event.
    fn close(&mut self) {}
}

/// The sending side; cheap to clone, shared by every task of a run.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Mutex<BusInner>>,
    redactor: Arc<Redactor>,
    clock: EventClock,
}

/// Where a run's times come from: the wall clock, or the virtual clock of a
/// simulated run (its start on the wall clock plus the virtual time since).
#[derive(Clone, Copy, Debug, Default)]
pub enum EventClock {
    #[default]
    Wall,
    Simulated {
        origin: chrono::DateTime<chrono::Utc>,
        started: tokio::time::Instant,
    },
}

impl EventClock {
    /// A virtual clock starting now.
    pub fn simulated() -> EventClock {
        EventClock::Simulated { origin: chrono::Utc::now(), started: tokio::time::Instant::now() }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            EventClock::Wall => chrono::Utc::now(),
            EventClock::Simulated { origin, started } => {
                *origin + chrono::Duration::from_std(started.elapsed()).unwrap_or_default()
            }
        }
    }

    pub fn is_simulated(&self) -> bool {
        matches!(self, EventClock::Simulated { .. })
    }
}

struct BusInner {
    seq: u64,
    sender: Option<mpsc::Sender<Event>>,
}

/// Joins the consumer thread once the bus is closed.
pub struct BusWorker {
    handle: Option<JoinHandle<()>>,
}

impl Bus {
    /// Starts the consumer thread with `sinks`.
    pub fn start(redactor: Redactor, sinks: Vec<Box<dyn EventSink>>) -> (Bus, BusWorker) {
        Bus::start_with_clock(redactor, sinks, EventClock::Wall)
    }

    /// [`Bus::start`] with the times (and the `simulated` mark) of `clock`.
    pub fn start_with_clock(
        redactor: Redactor,
        mut sinks: Vec<Box<dyn EventSink>>,
        clock: EventClock,
    ) -> (Bus, BusWorker) {
        let (sender, receiver) = mpsc::channel::<Event>();
        let handle = std::thread::Builder::new()
            .name("deploy-events".into())
            .spawn(move || {
                for event in receiver {
                    for sink in &mut sinks {
                        sink.handle(&event);
                    }
                }
                for sink in &mut sinks {
                    sink.close();
                }
            })
            .ok();
        let bus = Bus {
            inner: Arc::new(Mutex::new(BusInner { seq: 0, sender: Some(sender) })),
            redactor: Arc::new(redactor),
            clock,
        };
        (bus, BusWorker { handle })
    }

    /// Numbers, timestamps and masks an event, then queues it for the consumers.
    pub fn emit(&self, data: EventData) {
        let data = self.mask(data);
        let Ok(mut inner) = self.inner.lock() else { return };
        let seq = inner.seq;
        inner.seq += 1;
        let time = self.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let simulated = self.clock.is_simulated();
        if let Some(sender) = &inner.sender {
            let _ = sender.send(Event { schema: SCHEMA_VERSION, seq, time, simulated, data });
        }
    }

    /// How many events were emitted so far (the next event's number).
    pub fn emitted(&self) -> u64 {
        self.inner.lock().map(|inner| inner.seq).unwrap_or(0)
    }

    /// Now, on the run's clock (virtual in a simulation).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Masks secrets in text that does not travel as an event (e.g. stderr notes).
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// No more events: the consumer thread drains the queue and ends.
    pub fn close(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.sender = None;
        }
    }

    fn mask(&self, data: EventData) -> EventData {
        if self.redactor.is_empty() {
            return data;
        }
        match data {
            // The hot path: one line of child output.
            EventData::StepOutput { node, host, stream, mut line, rollback, hook } => {
                self.redactor.redact_in_place(&mut line);
                EventData::StepOutput { node, host, stream, line, rollback, hook }
            }
            other => {
                // Every other event: mask every string it holds.
                let Ok(mut value) = serde_json::to_value(&other) else { return other };
                self.redactor.redact_json(&mut value);
                serde_json::from_value(value)
                    .unwrap_or(EventData::warning("an event was dropped because it could not be redacted"))
            }
        }
    }
}

impl BusWorker {
    /// Waits until every queued event was consumed.
    pub fn join(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// A sink that keeps every event (tests, summaries).
#[derive(Clone, Default)]
pub struct EventLog {
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl EventSink for EventLog {
    fn handle(&mut self, event: &Event) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}

impl EventLog {
    pub fn snapshot(&self) -> Vec<Event> {
        self.events.lock().map(|events| events.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_masks_events() {
        let log = EventLog::default();
        let (bus, worker) = Bus::start(Redactor::new(["hunter2"]), vec![Box::new(log.clone())]);
        bus.emit(EventData::warning("pw hunter2"));
        bus.emit(EventData::NodeSkipped { node: "a".into(), reason: "hunter2".into() });
        bus.close();
        worker.join();
        let events = log.snapshot();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].seq, 0);
        assert_eq!(events[1].seq, 1);
        assert_eq!(events[0].data, EventData::warning("pw ***"));
        assert_eq!(events[1].data, EventData::NodeSkipped { node: "a".into(), reason: "***".into() });
    }
}
