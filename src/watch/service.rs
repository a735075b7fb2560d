//! The watcher as a process: its loop, the HTTP server beside it when
//! `--listen` asks for one, and the signals that stop both. SIGTERM, SIGINT
//! and SIGHUP stop fetching; a run going on gets the interrupt `deploy run`
//! gets from Ctrl-C (it stops starting work and ends per the pipeline's
//! `on_failure`; a second signal stops it at once); the server's runs are
//! interrupted the same way, and the lock is released.

use std::sync::Arc;
use std::time::Duration;

use super::{WatchControl, Watcher};
use crate::server::{ActiveRuns, AppState, ServerConfig};

/// How the watcher ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchEnd {
    /// Stopped between runs.
    Stopped,
    /// A run (the watcher's or the server's) had to be interrupted.
    Interrupted,
}

/// Runs `watcher` until a signal stops it, with `server` (started with the
/// same `runs`) beside it; then interrupts what still runs and waits for it.
pub fn serve_and_watch(
    watcher: Watcher,
    control: Arc<WatchControl>,
    runs: ActiveRuns,
    server: Option<Server>,
) -> WatchEnd {
    let signals = listen_for_stop(control.clone(), runs.clone());
    watcher.run();
    let interrupted = control.interrupted_a_run() | runs.interrupt_all();
    runs.wait_all();
    if let Some(server) = server {
        server.stop();
    }
    drop(signals);
    eprintln!("deploy: the watcher stopped");
    if interrupted {
        WatchEnd::Interrupted
    } else {
        WatchEnd::Stopped
    }
}

/// The HTTP server beside the watcher, on a runtime of its own.
pub struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    state: AppState,
}

impl Server {
    /// Binds `listen` and serves `config` (sharing `runs` with the watcher).
    pub fn start(listen: &str, config: ServerConfig, runs: ActiveRuns) -> Result<Server, String> {
        let state = AppState::new(config, runs);
        let runtime = crate::server::runtime()?;
        let listener = runtime.block_on(crate::server::bind(listen))?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        eprintln!("deploy: serving http://{address}/api/status");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let streams = state.clone();
        let thread = std::thread::Builder::new()
            .name("deploy-server".into())
            .spawn(move || {
                let served = runtime.block_on(crate::server::serve(listener, state, async move {
                    let _ = stopped.await;
                }));
                if let Err(error) = served {
                    eprintln!("deploy: error: the server stopped: {error}");
                }
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(|error| format!("cannot start the server: {error}"))?;
        Ok(Server { stop, thread, state: streams })
    }

    /// Ends the open event streams (which would keep it serving), then stops.
    fn stop(self) {
        self.state.end_streams();
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Each SIGTERM/SIGINT/SIGHUP stops the watcher (and interrupts its run,
/// and the server's); a thread with a small runtime of its own listens.
fn listen_for_stop(control: Arc<WatchControl>, runs: ActiveRuns) -> Option<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let (ready, listening) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("deploy-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                let signals = crate::session::runtime::listen_for_signals();
                let _ = ready.send(());
                let Some(mut signals) = signals else {
                    eprintln!("deploy: warning: {}", crate::session::runtime::NO_SIGNALS);
                    return;
                };
                while signals.recv().await.is_some() {
                    eprintln!("deploy: stopping the watcher");
                    control.stop();
                    runs.interrupt_all();
                }
            });
        })
        .ok()?;
    // The handlers are installed before the watcher starts.
    let _ = listening.recv_timeout(Duration::from_secs(2));
    Some(thread)
}
