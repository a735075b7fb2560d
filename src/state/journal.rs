//! The journal: one more consumer of the engine's event stream. Every event
//! (already redacted by the bus) is appended to the store, with the node-run
//! rows it implies, by a writer thread that commits whatever has queued up
//! in one transaction (group commit): many events per transaction when the
//! engine is busy, a few milliseconds of delay when it is not. A killed
//! runner loses at most the batch being written; what was committed stays.
//!
//! Seqs in the journal continue across resumes: a resumed run's events are
//! numbered after the events already journaled for the same run.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::records::{JournalEntry, NodeRun, NodeRunChange};
use super::StateStore;
use crate::graph::ExecutionGraph;
use crate::record::event::{Event, EventData};
use crate::record::warning::{WarningKind, Warnings};
use crate::record::EventSink;

/// The most events one transaction takes.
pub const MAX_BATCH: usize = 4096;

/// What the journal needs to know of the plan: each node's kind, and the
/// batch (1-based) each host of a targeted stage runs in.
#[derive(Clone, Debug, Default)]
pub struct NodeIndex {
    kinds: HashMap<String, String>,
    batches: HashMap<(String, String), i64>,
}

impl NodeIndex {
    pub fn of(graph: &ExecutionGraph) -> NodeIndex {
        let plan = &graph.plan;
        let mut index = NodeIndex::default();
        for node in &plan.nodes {
            index.kinds.insert(node.name.clone(), node.kind.word().to_string());
            if let Some(target) = node.target {
                let hosts = &plan.environment(target).hosts;
                for (number, range) in
                    crate::graph::batches::batch_ranges(&node.strategy, hosts).into_iter().enumerate()
                {
                    for host in &hosts[range] {
                        index.batches.insert((node.name.clone(), host.clone()), number as i64 + 1);
                    }
                }
            }
        }
        index
    }

    fn kind(&self, node: &str) -> String {
        self.kinds.get(node).cloned().unwrap_or_else(|| "stage".to_string())
    }

    fn batch(&self, node: &str, host: &str) -> Option<i64> {
        self.batches.get(&(node.to_string(), host.to_string())).copied()
    }
}

/// Parses the journal's events, skipping (and counting) any that do not parse.
pub fn read_events(entries: &[JournalEntry]) -> (Vec<Event>, usize) {
    let mut events = Vec::with_capacity(entries.len());
    let mut unreadable = 0;
    for entry in entries {
        match serde_json::from_str::<Event>(&entry.event) {
            Ok(event) => events.push(event),
            Err(_) => unreadable += 1,
        }
    }
    (events, unreadable)
}

fn millis_of(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time).map(|time| time.timestamp_millis()).unwrap_or_else(|_| super::now_ms())
}

/// What `event` changes in `node_runs`.
pub fn node_run_change(run_id: &str, event: &Event, index: &NodeIndex) -> Option<NodeRunChange> {
    let at = millis_of(&event.time);
    match &event.data {
        EventData::NodeStarted { node, kind, host, attempt, .. } => {
            let host = host.clone().unwrap_or_default();
            Some(NodeRunChange::Started {
                batch: index.batch(node, &host),
                node: node.clone(),
                host,
                kind: kind.clone(),
                attempt: attempt.map(i64::from),
                at,
            })
        }
        EventData::NodeFinished { node, host, status, duration_ms, attempt, exit_code, error } => {
            let host = host.clone().unwrap_or_default();
            let duration = i64::try_from(*duration_ms).unwrap_or(i64::MAX);
            Some(NodeRunChange::Finished(NodeRun {
                run_id: run_id.to_string(),
                kind: index.kind(node),
                batch: index.batch(node, &host),
                node: node.clone(),
                host,
                attempt: attempt.map(i64::from),
                status: serde_json::to_value(status)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_string))
                    .unwrap_or_else(|| status.word().to_string()),
                started_at: Some(at.saturating_sub(duration)),
                ended_at: Some(at),
                duration_ms: Some(duration),
                exit_code: exit_code.map(i64::from),
                error: error.clone(),
            }))
        }
        EventData::NodeSkipped { node, .. } => {
            Some(NodeRunChange::Skipped { node: node.clone(), kind: index.kind(node), at })
        }
        _ => None,
    }
}

/// The event as the journal stores it: its JSON with the journal's seq.
pub fn journal_entry(event: &Event, seq: u64) -> JournalEntry {
    let mut numbered = event.clone();
    numbered.seq = seq;
    let event = serde_json::to_string(&numbered).unwrap_or_default();
    JournalEntry { seq, kind: event_type(&event).to_string(), event }
}

/// The `type` of a serialised event (docs/events.md): the first `"type"`
/// field, which the tag puts before the event's own fields.
fn event_type(json: &str) -> &str {
    const TAG: &str = "\"type\":\"";
    json.find(TAG)
        .map(|start| &json[start + TAG.len()..])
        .and_then(|rest| rest.find('"').map(|end| &rest[..end]))
        .unwrap_or("unknown")
}

struct Pending {
    /// The event's number on the bus (before the journal's own numbering).
    bus_seq: u64,
    entry: JournalEntry,
    change: Option<NodeRunChange>,
}

/// Whether every event reached the store; shared with the command that ran.
/// The first failure is also a warning in the run's event stream.
#[derive(Clone, Default)]
pub struct JournalHealth {
    error: Arc<Mutex<Option<String>>>,
    warnings: Warnings,
}

impl JournalHealth {
    /// Health that warns through `warnings` when a write fails.
    pub fn warning_through(warnings: Warnings) -> JournalHealth {
        JournalHealth { error: Arc::default(), warnings }
    }

    /// The first write that failed, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|error| error.clone())
    }

    fn fail(&self, message: String) {
        if let Ok(mut error) = self.error.lock() {
            if error.is_none() {
                self.warnings.warn(WarningKind::Journal, format!("the journal cannot be written: {message}"));
                *error = Some(message);
            }
        }
        // After the warning: whoever waits then finds the run unrecorded.
        self.warnings.written().break_off();
    }
}

/// The journal as an [`EventSink`]. Put it first among the sinks.
pub struct JournalSink {
    run_id: String,
    base_seq: u64,
    index: NodeIndex,
    sender: Option<mpsc::Sender<Pending>>,
    writer: Option<JoinHandle<()>>,
}

impl JournalSink {
    /// Starts the writer thread on `store` (a connection of its own).
    /// `base_seq`: the journal seq of the run's first event in this process.
    pub fn start(
        mut store: Box<dyn StateStore>,
        run_id: &str,
        base_seq: u64,
        index: NodeIndex,
        health: JournalHealth,
    ) -> JournalSink {
        let (sender, receiver) = mpsc::channel::<Pending>();
        health.warnings.written().track();
        let writer_run = run_id.to_string();
        let writer = std::thread::Builder::new()
            .name("deploy-journal".into())
            .spawn(move || {
                // How far this run's events moved past seqs another writer took.
                let mut shift = 0;
                while let Ok(first) = receiver.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match receiver.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    write_batch(store.as_mut(), &writer_run, batch, &health, &mut shift);
                }
            })
            .ok();
        JournalSink { run_id: run_id.to_string(), base_seq, index, sender: Some(sender), writer }
    }
}

fn write_batch(store: &mut dyn StateStore, run_id: &str, batch: Vec<Pending>, health: &JournalHealth, shift: &mut u64) {
    let mut entries = Vec::with_capacity(batch.len());
    let mut changes = Vec::new();
    let upto = batch.iter().map(|pending| pending.bus_seq + 1).max().unwrap_or(0);
    for pending in batch {
        entries.push(renumbered(pending.entry, *shift));
        changes.extend(pending.change);
    }
    // A failed write is retried once (a busy SQLite file, a dropped connection).
    let mut result = store.append_journal(run_id, &entries, &changes);
    if result.is_err() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        // Another writer may have taken these seqs while the run went on (an
        // action journaled into a running run, such as `deploy lock release
        // --force`): this run's events move on past them instead of being lost.
        let first = entries.first().map_or(0, |entry| entry.seq);
        if let Ok(next) = store.next_seq(run_id) {
            if next > first {
                let more = next - first;
                *shift += more;
                entries = entries.into_iter().map(|entry| renumbered(entry, more)).collect();
            }
        }
        result = store.append_journal(run_id, &entries, &changes);
    }
    match result {
        Ok(()) => health.warnings.written().advance(upto),
        Err(error) => health.fail(error.to_string()),
    }
}

/// `entry` moved `by` seqs on (its JSON's `seq` too).
fn renumbered(entry: JournalEntry, by: u64) -> JournalEntry {
    if by == 0 {
        return entry;
    }
    match serde_json::from_str::<Event>(&entry.event) {
        Ok(event) => journal_entry(&event, entry.seq + by),
        Err(_) => JournalEntry { seq: entry.seq + by, ..entry },
    }
}

impl EventSink for JournalSink {
    fn handle(&mut self, event: &Event) {
        let entry = journal_entry(event, self.base_seq + event.seq);
        let change = node_run_change(&self.run_id, event, &self.index);
        if let Some(sender) = &self.sender {
            let _ = sender.send(Pending { bus_seq: event.seq, entry, change });
        }
    }

    /// Waits until every event is written.
    fn close(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for JournalSink {
    fn drop(&mut self) {
        self.close();
    }
}
