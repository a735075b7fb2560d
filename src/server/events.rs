//! `GET /api/runs/{id}/events`: a run's events as Server-Sent Events, the
//! same JSON objects `--json` prints (numbered by the journal). The
//! recorded ones come first; while the run is running, new ones follow as
//! the journal receives them — whichever process runs it — and the stream
//! ends with an `end` event carrying the run's status.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use tokio::sync::mpsc;

use super::api::{blocking, find_run, open};
use super::error::ApiResult;
use super::AppState;
use crate::session::liveness::effective_status;
use crate::state::{DeploymentStatus, Holder, StateStore};

/// How often a running run's journal is read for new events.
const POLL: Duration = Duration::from_millis(50);

pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let lookup = state.clone();
    let run_id = id.clone();
    let store = blocking(move || {
        let mut store = open(&lookup)?;
        find_run(store.as_mut(), &run_id)?;
        Ok(store)
    })
    .await?;
    let (sender, receiver) = mpsc::channel::<Event>(256);
    // The store is synchronous: a thread of its own follows the journal,
    // and stops when the client goes away or the run ends.
    let _ = std::thread::Builder::new().name("deploy-sse".into()).spawn(move || follow(store, &id, &sender));
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Sends the journal of `run_id` from the start, then what is added while
/// the run runs, then `end`.
fn follow(mut store: Box<dyn StateStore>, run_id: &str, sender: &mpsc::Sender<Event>) {
    let me = Holder::current("");
    let mut next_seq = 0u64;
    loop {
        // Read the status before the journal: events written before a run
        // ends are all in the journal by the time its row says it ended.
        let status = match store.deployment(run_id) {
            Ok(Some(deployment)) => effective_status(&deployment, &me),
            _ => return,
        };
        let Ok(entries) = store.journal(run_id) else { return };
        let start = next_seq;
        for entry in entries.into_iter().filter(|entry| entry.seq >= start) {
            next_seq = entry.seq + 1;
            let event = Event::default().id(entry.seq.to_string()).data(entry.event);
            if sender.blocking_send(event).is_err() {
                return;
            }
        }
        if status != DeploymentStatus::Running {
            let end = serde_json::json!({ "run_id": run_id, "status": status.as_str() }).to_string();
            let _ = sender.blocking_send(Event::default().event("end").data(end));
            return;
        }
        if sender.is_closed() {
            return;
        }
        std::thread::sleep(POLL);
    }
}
