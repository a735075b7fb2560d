//! What the watcher's loop shares with the server and the signal handler:
//! wake-ups (a webhook, a signal), the stop flag, the interrupt of the run
//! going on, and what it is doing now (for `/api/status`).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::session::InterruptHandle;
use crate::state::WatcherRecord;

#[derive(Default)]
struct Flags {
    woken: bool,
    stopping: bool,
    /// Interrupts sent to the run going on.
    interrupts_sent: u32,
}

#[derive(Default)]
pub struct WatchControl {
    flags: Mutex<Flags>,
    wake: Condvar,
    branch: String,
    run: Mutex<Option<InterruptHandle>>,
    status: Mutex<Option<WatcherRecord>>,
    /// The plan of the deployed commit, for the API's rollbacks.
    pub plan: Option<crate::server::PlanPath>,
}

impl WatchControl {
    pub fn new(branch: &str, plan: Option<crate::server::PlanPath>) -> Arc<WatchControl> {
        Arc::new(WatchControl { branch: branch.to_string(), plan, ..WatchControl::default() })
    }

    /// Sleeps up to `timeout`, or until woken or stopping. Clears the wake-up.
    pub fn sleep(&self, timeout: Duration) {
        let Ok(flags) = self.flags.lock() else { return };
        let Ok((mut flags, _)) = self.wake.wait_timeout_while(flags, timeout, |flags| !flags.woken && !flags.stopping)
        else {
            return;
        };
        flags.woken = false;
    }

    pub fn wake_now(&self) {
        if let Ok(mut flags) = self.flags.lock() {
            flags.woken = true;
        }
        self.wake.notify_all();
    }

    pub fn is_stopping(&self) -> bool {
        self.flags.lock().map(|flags| flags.stopping).unwrap_or(true)
    }

    /// A SIGTERM/SIGINT: stop polling; the first one lets the run reach a
    /// safe point, a second one stops it at once.
    pub fn stop(&self) {
        let run = self.run.lock().ok().and_then(|run| run.clone());
        if let Ok(mut flags) = self.flags.lock() {
            flags.stopping = true;
            if let Some(run) = run {
                run.interrupt();
                flags.interrupts_sent += 1;
            }
        }
        self.wake.notify_all();
    }

    /// Whether a run of the watcher had to be interrupted.
    pub fn interrupted_a_run(&self) -> bool {
        self.flags.lock().map(|flags| flags.interrupts_sent > 0).unwrap_or(false)
    }

    /// The run going on (`None` when it ended). A stop that came first
    /// interrupts it at once.
    pub fn set_run(&self, run: Option<InterruptHandle>) {
        if let (Some(run), true) = (&run, self.is_stopping()) {
            run.interrupt();
            if let Ok(mut flags) = self.flags.lock() {
                flags.interrupts_sent += 1;
            }
        }
        if let Ok(mut current) = self.run.lock() {
            *current = run;
        }
    }

    pub fn set_status(&self, record: WatcherRecord) {
        if let Ok(mut status) = self.status.lock() {
            *status = Some(record);
        }
    }
}

impl crate::server::PushTarget for WatchControl {
    fn branch(&self) -> String {
        self.branch.clone()
    }

    fn wake(&self, _commit: Option<String>) {
        self.wake_now();
    }

    fn status(&self) -> serde_json::Value {
        let status = self.status.lock().ok().and_then(|status| status.clone());
        serde_json::to_value(status).unwrap_or(serde_json::Value::Null)
    }
}
