//! How far a run's events are in its journal: the journal writer says up to
//! which event of the bus it has committed, and the engine waits for it
//! before it changes the next host, so that nothing is done on a host that
//! the state has not recorded first — and a store that cannot be written
//! stops the run before that host, not some hosts later.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// The longest a host waits for the journal before the run takes the state
/// for one that cannot be written.
pub const LONGEST_WAIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Progress {
    /// A journal writes this run's events (not in a simulation or a test
    /// without a store): only then is there anything to wait for.
    tracked: bool,
    /// Every event of the bus numbered below this is committed.
    upto: u64,
    /// A write failed: waiting no longer makes sense.
    broken: bool,
}

/// Shared by the journal writer (which advances it) and the engine (which
/// waits on it); cheap to clone.
#[derive(Clone, Default)]
pub struct Written {
    progress: Arc<Mutex<Progress>>,
    changed: Arc<Notify>,
}

/// Why a wait for the journal ended without it.
#[derive(Debug, PartialEq, Eq)]
pub enum NotWritten {
    /// A write failed (the warning that says why was given).
    Broken,
    /// The journal did not answer within [`LONGEST_WAIT`].
    TooSlow,
}

impl Written {
    /// A journal writes the events from now on.
    pub fn track(&self) {
        self.update(|progress| progress.tracked = true);
    }

    /// Every event numbered below `upto` is committed.
    pub fn advance(&self, upto: u64) {
        self.update(|progress| progress.upto = progress.upto.max(upto));
    }

    /// A write failed; whoever waits stops waiting.
    pub fn break_off(&self) {
        self.update(|progress| progress.broken = true);
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        if let Ok(mut progress) = self.progress.lock() {
            change(&mut progress);
        }
        self.changed.notify_waiters();
    }

    /// Waits until every event numbered below `upto` is committed; at once
    /// when no journal writes this run's events.
    pub async fn wait_for(&self, upto: u64) -> Result<(), NotWritten> {
        let waited = tokio::time::timeout(LONGEST_WAIT, async {
            loop {
                // Registered before the look, so an advance between the
                // look and the wait is not missed.
                let changed = self.changed.notified();
                match self.progress.lock() {
                    Ok(progress) if !progress.tracked || progress.upto >= upto => return Ok(()),
                    Ok(progress) if progress.broken => return Err(NotWritten::Broken),
                    Ok(_) => {}
                    Err(_) => return Ok(()),
                }
                changed.await;
            }
        })
        .await;
        waited.unwrap_or(Err(NotWritten::TooSlow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn without_a_journal_nothing_is_waited_for() {
        let written = Written::default();
        assert_eq!(runtime().block_on(written.wait_for(10)), Ok(()));
    }

    #[test]
    fn a_wait_ends_when_the_writer_reaches_it_or_breaks_off() {
        let rt = runtime();
        let written = Written::default();
        written.track();
        written.advance(3);
        assert_eq!(rt.block_on(written.wait_for(3)), Ok(()));
        let writer = written.clone();
        let waited = rt.block_on(async move {
            let wait = tokio::spawn({
                let written = written.clone();
                async move { written.wait_for(5).await }
            });
            tokio::task::yield_now().await;
            writer.advance(5);
            wait.await.unwrap()
        });
        assert_eq!(waited, Ok(()));
        let written = Written::default();
        written.track();
        written.break_off();
        assert_eq!(rt.block_on(written.wait_for(1)), Err(NotWritten::Broken));
    }
}
