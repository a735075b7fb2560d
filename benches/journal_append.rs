//! Journal append throughput, events per second, through the real
//! JournalSink (serialisation, node-run rows, the group-committing writer
//! thread) into SQLite and, when DEPLOY_TEST_POSTGRES is set, PostgreSQL.
//! Prints numbers; asserts nothing about time.
//!
//!     cargo bench --bench journal_append [-- EVENTS]

use std::time::Instant;

use deploy::engine::EventSink;
use deploy::record::event::{Event, EventData, NodeStatus, Stream, SCHEMA_VERSION};
use deploy::state::journal::{JournalHealth, JournalSink, NodeIndex};
use deploy::state::{StateLocation, StateStore};

fn events(count: usize) -> Vec<Event> {
    let time = "2024-01-01T00:00:00.000Z".to_string();
    (0..count)
        .map(|seq| {
            let node = format!("stage{}", seq / 10);
            let data = match seq % 10 {
                0 => EventData::NodeStarted {
                    node,
                    kind: "stage".into(),
                    host: Some("web-1".into()),
                    attempt: Some(1),
                    hosts: Vec::new(),
                },
                9 => EventData::NodeFinished {
                    node,
                    host: Some("web-1".into()),
                    status: NodeStatus::Succeeded,
                    duration_ms: 12,
                    attempt: Some(1),
                    exit_code: Some(0),
                    error: None,
                },
                _ => EventData::StepOutput {
                    node,
                    host: Some("web-1".into()),
                    stream: Stream::Stdout,
                    line: format!("line {seq}: installing release 2024.05.01-{seq} on web-1"),
                    rollback: false,
                    hook: None,
                },
            };
            Event { schema: SCHEMA_VERSION, seq: seq as u64, time: time.clone(), simulated: false, data }
        })
        .collect()
}

fn open(location: &StateLocation) -> Box<dyn StateStore> {
    match deploy::state::open(location, true) {
        Ok(Some(store)) => store,
        Ok(None) => panic!("no store"),
        Err(error) => panic!("{error}"),
    }
}

fn measure(name: &str, location: &StateLocation, events: &[Event]) {
    let run_id = format!("bench-{}-{}", std::process::id(), name);
    let health = JournalHealth::default();
    let mut sink = JournalSink::start(open(location), &run_id, 0, NodeIndex::default(), health.clone());
    let started = Instant::now();
    for event in events {
        sink.handle(event);
    }
    sink.close();
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(error) = health.error() {
        panic!("{name}: {error}");
    }
    let stored = open(location).journal(&run_id).map(|journal| journal.len()).unwrap_or(0);
    assert_eq!(stored, events.len(), "{name}: every event is stored");
    println!("{name}: {} events in {elapsed:.3}s = {:.0} events/s", events.len(), events.len() as f64 / elapsed);
}

fn main() {
    let count = std::env::args().skip(1).find_map(|arg| arg.parse::<usize>().ok()).unwrap_or(200_000);
    let events = events(count);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sqlite = StateLocation::Sqlite(dir.path().join("state.db"));
    for round in 1..=3 {
        measure(&format!("sqlite round {round}"), &sqlite, &events);
    }
    match std::env::var("DEPLOY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let postgres = StateLocation::Postgres(url);
            for round in 1..=3 {
                measure(&format!("postgres round {round}"), &postgres, &events);
            }
        }
        _ => println!("postgres: skipped (set DEPLOY_TEST_POSTGRES, e.g. from tests/support/postgres.sh)"),
    }
}
