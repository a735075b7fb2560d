//! The runner's heartbeat: a thread with its own connection that refreshes
//! the run's leases and its deployment row every interval, from before the
//! first stage until after the rollback and the last event are written.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::StateStore;
use crate::record::warning::{WarningKind, Warnings};

pub struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Heartbeat {
    pub fn start(mut store: Box<dyn StateStore>, run_id: &str, interval: Duration, warnings: Warnings) -> Heartbeat {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let run_id = run_id.to_string();
        let handle = std::thread::Builder::new()
            .name("deploy-heartbeat".into())
            .spawn(move || {
                let (lock, condvar) = &*signal;
                let mut warned = false;
                loop {
                    let Ok(stopped) = lock.lock() else { return };
                    let Ok((stopped, _)) = condvar.wait_timeout_while(stopped, interval, |stopped| !*stopped) else {
                        return;
                    };
                    if *stopped {
                        return;
                    }
                    drop(stopped);
                    match store.heartbeat(&run_id, super::now_ms()) {
                        Ok(0) if !warned => {
                            warned = true;
                            warnings.warn(
                                WarningKind::Lease,
                                "this run no longer holds its lease \
                                 (released with `deploy lock release --force`?)",
                            );
                        }
                        Ok(_) => {}
                        Err(error) if !warned => {
                            warned = true;
                            warnings.warn(WarningKind::Heartbeat, format!("heartbeat failed: {error}"));
                        }
                        Err(_) => {}
                    }
                }
            })
            .ok();
        Heartbeat { stop, handle }
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let (lock, condvar) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        condvar.notify_all();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.halt();
    }
}
