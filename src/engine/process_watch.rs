//! Who hears that a step's local shell started and ended. The step that
//! runs a command puts a [`ProcessWatch`] around the transport call (a
//! task-local value, so the transports keep their signature); the process
//! layer tells it each process group it spawns and when its shell ended.
//! The step turns that into `process_started` / `process_ended` events,
//! which the journal records as they happen.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static WATCH: ProcessWatch;
}

/// What the process layer reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessNotice {
    /// A shell was spawned as the leader of its own process group.
    Started { pid: u32 },
    /// That shell ended (and, when cancelled, its group was killed).
    Ended { pid: u32 },
    /// A step's shell started on an SSH host as the leader of group `pgid`
    /// (`watcher`: the watcher of its lifeline).
    RemoteStarted { pgid: u32, watcher: Option<u32> },
    /// That remote group's shell ended, or its connection is gone.
    RemoteEnded { pgid: u32 },
}

/// The receiver of [`ProcessNotice`]s for the commands run inside [`watched`].
#[derive(Clone)]
pub struct ProcessWatch {
    notify: Arc<dyn Fn(ProcessNotice) + Send + Sync>,
}

impl ProcessWatch {
    pub fn new(notify: impl Fn(ProcessNotice) + Send + Sync + 'static) -> ProcessWatch {
        ProcessWatch { notify: Arc::new(notify) }
    }

    /// Tells this watch (from a task that does not carry it, such as an output reader).
    pub fn tell(&self, notice: ProcessNotice) {
        (self.notify)(notice);
    }
}

/// The current task's watch, to hand to the tasks it spawns.
pub fn current() -> Option<ProcessWatch> {
    WATCH.try_with(ProcessWatch::clone).ok()
}

/// Runs `future` with `watch` hearing about every local process it spawns.
pub async fn watched<F: Future>(watch: ProcessWatch, future: F) -> F::Output {
    WATCH.scope(watch, future).await
}

/// Tells the current task's watch, if there is one.
pub fn notify(notice: ProcessNotice) {
    let _ = WATCH.try_with(|watch| (watch.notify)(notice));
}
