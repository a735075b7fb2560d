//! Reusable helper threads with big stacks, for evaluations whose caller's stack is too small
//! (see [`crate::script::required_stack_size`]).

use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

type Job = Box<dyn FnOnce() + Send>;

/// Idle threads kept for reuse; more are started when more evaluations run at once.
const MAX_IDLE: usize = 64;

/// A pool of threads with `stack_size` stacks. Threads end when the pool is dropped.
pub(crate) struct Helpers {
    stack_size: usize,
    idle: Mutex<Vec<Sender<Job>>>,
}

impl Helpers {
    pub(crate) fn new(stack_size: usize) -> Helpers {
        Helpers { stack_size, idle: Mutex::new(Vec::new()) }
    }

    /// Run `work` on a helper thread and wait for its result.
    pub(crate) fn run<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Result<R, String> {
        let (result_tx, result_rx) = channel();
        let mut job: Job = Box::new(move || {
            let _ = result_tx.send(work());
        });
        // An idle thread, or a new one; a thread that went away gives the job back.
        let worker = loop {
            let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let worker = match idle {
                Some(worker) => worker,
                None => self.spawn()?,
            };
            match worker.send(job) {
                Ok(()) => break worker,
                Err(returned) => job = returned.0,
            }
        };
        let result = result_rx.recv().map_err(|_| "the script evaluation thread stopped unexpectedly".to_string())?;
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(worker);
            }
        }
        Ok(result)
    }

    fn spawn(&self) -> Result<Sender<Job>, String> {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("deploy-script".to_string())
            .stack_size(self.stack_size)
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .map_err(|e| format!("could not start a thread to evaluate the script: {e}"))?;
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_reuses_threads() {
        let helpers = Helpers::new(4 << 20);
        let first = helpers.run(|| std::thread::current().id());
        let second = helpers.run(|| std::thread::current().id());
        assert!(first.is_ok());
        assert_eq!(first, second, "the idle thread is reused");
        assert_ne!(first, Ok(std::thread::current().id()));
        assert_eq!(helpers.run(|| 6 * 7), Ok(42));
    }

    #[test]
    fn a_panicking_job_is_an_error_and_the_pool_recovers() {
        let helpers = Helpers::new(4 << 20);
        let out: Result<(), String> = helpers.run(|| panic!("boom"));
        assert!(out.is_err());
        assert_eq!(helpers.run(|| 1), Ok(1));
    }
}
