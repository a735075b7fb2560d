//! The runs this process started for the API (a resume after an approval,
//! a rollback), each on a thread of its own with an interrupt handle, so a
//! shutdown can stop them at a safe point and wait for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::reporter::StderrReporter;
use crate::session::{InterruptHandle, Interrupts, Reporter, RunEnd, SessionResult};

struct Running {
    interrupt: InterruptHandle,
    thread: JoinHandle<()>,
}

#[derive(Clone, Default)]
pub struct ActiveRuns {
    running: Arc<Mutex<HashMap<String, Running>>>,
}

impl ActiveRuns {
    /// Runs `work` on a new thread; its interrupts come from [`ActiveRuns::interrupt_all`].
    pub fn spawn<W>(&self, run_id: &str, work: W) -> std::io::Result<()>
    where
        W: FnOnce(Interrupts, &StderrReporter) -> SessionResult<RunEnd> + Send + 'static,
    {
        let (interrupt, interrupts) = Interrupts::channel();
        let id = run_id.to_string();
        let registry = self.running.clone();
        // Held while the thread starts, so it cannot remove itself before it is added.
        let mut running = self.running.lock().map_err(|_| std::io::Error::other("the run registry is poisoned"))?;
        let thread = std::thread::Builder::new().name(format!("deploy-run-{run_id}")).spawn(move || {
            let reporter = StderrReporter;
            match work(interrupts, &reporter) {
                Ok(end) => {
                    let status = crate::state::DeploymentStatus::from_run(end.report.status);
                    reporter.notice(&format!("run {} ended: {}", end.run_id, status.as_str()));
                    for problem in end.problems {
                        reporter.notice(&format!("error: {}", problem.message));
                    }
                }
                Err(error) => reporter.notice(&format!("error: run {id}: {}", error.message)),
            }
            if let Ok(mut running) = registry.lock() {
                running.remove(&id);
            }
        })?;
        running.insert(run_id.to_string(), Running { interrupt, thread });
        Ok(())
    }

    /// The ids of the runs going on now.
    pub fn ids(&self) -> Vec<String> {
        self.running.lock().map(|running| running.keys().cloned().collect()).unwrap_or_default()
    }

    /// Asks every run to stop at a safe point; whether any was running.
    pub fn interrupt_all(&self) -> bool {
        let Ok(running) = self.running.lock() else { return false };
        for run in running.values() {
            run.interrupt.interrupt();
        }
        !running.is_empty()
    }

    /// Waits for every run to end.
    pub fn wait_all(&self) {
        let threads: Vec<JoinHandle<()>> = match self.running.lock() {
            Ok(mut running) => running.drain().map(|(_, run)| run.thread).collect(),
            Err(_) => Vec::new(),
        };
        for thread in threads {
            let _ = thread.join();
        }
    }
}
