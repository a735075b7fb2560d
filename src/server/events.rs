//! `GET /api/runs/{id}/events`: a run's events as Server-Sent Events, the
//! same JSON objects `--json` prints (numbered by the journal). The
//! recorded ones come first; while the run is running, new ones follow as
//! the journal receives them — whichever process runs it — and the stream
//! ends with an `end` event carrying the run's status.
//!
//! Each stream is a task of the async runtime (its store reads go to the
//! blocking pool, one short read per poll, at most
//! [`super::STREAM_READS`] of them at once), not a thread of its own, and
//! at most `--max-streams` are open at once: beyond, 429.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use tokio::sync::{mpsc, Semaphore};

use super::api::{blocking, find_run, open};
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::session::liveness::effective_status;
use crate::state::{DeploymentStatus, Holder, JournalEntry, StateStore};

/// How often a running run's journal is read for new events.
const POLL: Duration = Duration::from_millis(50);

/// Open streams at once unless `--max-streams` says otherwise.
pub const DEFAULT_MAX_STREAMS: u32 = 64;

pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let slot = state.stream_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "{} event streams are open, the most this server serves at once (--max-streams); retry later",
                state.config.max_streams
            ),
        )
    })?;
    let lookup = state.clone();
    let run_id = id.clone();
    let (store, id) = blocking(move || {
        let mut store = open(&lookup)?;
        let run_id = find_run(store.as_mut(), &run_id)?.run_id;
        Ok((store, run_id))
    })
    .await?;
    let (sender, receiver) = mpsc::channel::<Event>(256);
    // Ends when the client goes away or the run ends.
    tokio::spawn(follow(state.stream_reads.clone(), store, id, sender));
    // The slot is held as long as the stream is.
    let events = futures_util::stream::unfold((receiver, slot), |(mut receiver, slot)| async move {
        receiver.recv().await.map(|event| (Ok(event), (receiver, slot)))
    });
    // A stopping server ends the stream (the client reconnects to the next one).
    let events = futures_util::StreamExt::take_until(events, state.streams.clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// The run's status, then its journal from `from` on, read on the blocking pool.
async fn read(
    reads: &Semaphore,
    store: Box<dyn StateStore>,
    run_id: &str,
    me: &Holder,
    from: u64,
) -> Option<(Box<dyn StateStore>, DeploymentStatus, Vec<JournalEntry>)> {
    let run_id = run_id.to_string();
    let me = me.clone();
    let _permit = reads.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let mut store = store;
        // Read the status before the journal: events written before a run
        // ends are all in the journal by the time its row says it ended.
        let status = match store.deployment(&run_id) {
            Ok(Some(deployment)) => effective_status(&deployment, &me),
            _ => return None,
        };
        let entries = store.journal(&run_id).ok()?.into_iter().filter(|entry| entry.seq >= from).collect();
        Some((store, status, entries))
    })
    .await
    .ok()
    .flatten()
}

/// Sends the journal of `run_id` from the start, then what is added while
/// the run runs, then `end`.
async fn follow(reads: Arc<Semaphore>, mut store: Box<dyn StateStore>, run_id: String, sender: mpsc::Sender<Event>) {
    let me = Holder::current("");
    let mut next_seq = 0u64;
    loop {
        let Some((back, status, entries)) = read(&reads, store, &run_id, &me, next_seq).await else { return };
        store = back;
        for entry in entries {
            next_seq = entry.seq + 1;
            let event = Event::default().id(entry.seq.to_string()).data(entry.event);
            if sender.send(event).await.is_err() {
                return;
            }
        }
        if status != DeploymentStatus::Running {
            let end = serde_json::json!({ "run_id": run_id, "status": status.as_str() }).to_string();
            let _ = sender.send(Event::default().event("end").data(end)).await;
            return;
        }
        tokio::select! {
            () = sender.closed() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
