//! The runtime a run's engine runs on, and where its interrupts come from.

use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::error::{SessionError, SessionErrorKind, SessionResult};
use crate::engine::RunReport;
use crate::graph::ExecutionGraph;
use crate::record::warning::{WarningKind, Warnings};

/// Who may interrupt a run: this process's SIGINT/SIGTERM (a command run by
/// a person), or the front end that started it (a watcher that got the
/// signal itself, a server shutting down).
pub enum Interrupts {
    Signals,
    Channel(UnboundedReceiver<()>),
}

impl Interrupts {
    /// An interrupt source and the handle that fires it: one message is
    /// the first Ctrl-C (stop at a safe point), a second stops at once.
    pub fn channel() -> (InterruptHandle, Interrupts) {
        let (sender, receiver) = unbounded_channel();
        (InterruptHandle { sender }, Interrupts::Channel(receiver))
    }

    fn receiver(self, warnings: &Warnings) -> UnboundedReceiver<()> {
        match self {
            Interrupts::Signals => listen_for_signals_warning(warnings),
            Interrupts::Channel(receiver) => receiver,
        }
    }
}

/// Interrupts a run started with [`Interrupts::channel`].
#[derive(Clone)]
pub struct InterruptHandle {
    sender: UnboundedSender<()>,
}

impl InterruptHandle {
    pub fn interrupt(&self) {
        let _ = self.sender.send(());
    }
}

/// What it means when SIGINT, SIGTERM and SIGHUP cannot be listened for.
pub const NO_SIGNALS: &str = "cannot listen for Ctrl-C; it will stop deploy without rolling back";

/// One message per SIGINT, SIGTERM or SIGHUP delivered to this process: a
/// closed terminal (or `systemctl reload`-style hangup) stops a run like
/// Ctrl-C does, at a safe point with its rollback, instead of killing it.
/// SIGHUP is left alone when it is ignored already (`nohup`). `None` when
/// the signals cannot be listened for (Ctrl-C then stops deploy at once).
pub fn listen_for_signals() -> Option<UnboundedReceiver<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (sender, receiver) = unbounded_channel();
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        return None;
    };
    let mut hangup = if hangup_ignored() { None } else { signal(SignalKind::hangup()).ok() };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
                Some(()) = async { match hangup.as_mut() { Some(hangup) => hangup.recv().await, None => None } } => {}
            }
            if sender.send(()).is_err() {
                break;
            }
        }
    });
    Some(receiver)
}

/// Whether SIGHUP is ignored (`nohup deploy …`).
fn hangup_ignored() -> bool {
    // SAFETY: sigaction with a null new action only reads the current one
    // into `current`, which is a valid, zeroed struct.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut current) == 0 && current.sa_sigaction == libc::SIG_IGN
    }
}

/// [`listen_for_signals`]; when it cannot, says so through `warnings` and
/// gives a receiver nothing is sent on.
fn listen_for_signals_warning(warnings: &Warnings) -> UnboundedReceiver<()> {
    listen_for_signals().unwrap_or_else(|| {
        warnings.warn(WarningKind::Signals, NO_SIGNALS);
        unbounded_channel().1
    })
}

/// Starts a multi-threaded runtime of its own and runs the engine future in
/// it, with `interrupts` delivered to it. Its own runtime, so that a run can
/// be started from any thread, a server's included.
pub fn block_on<F, Fut>(
    graph: &ExecutionGraph,
    interrupts: Interrupts,
    warnings: &Warnings,
    engine: F,
) -> SessionResult<RunReport>
where
    F: FnOnce(UnboundedReceiver<()>) -> Fut,
    Fut: std::future::Future<Output = RunReport>,
{
    // Scripts run on the blocking pool's threads; with this much stack they
    // run right there instead of on a helper thread of the sandbox.
    let stack = crate::script::required_stack_size(&graph.plan.pipeline.script_limits);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(stack).build().map_err(|error| {
            SessionError::new(SessionErrorKind::Runtime, format!("cannot start the runtime: {error}"))
        })?;
    let warnings = warnings.clone();
    let report = runtime.block_on(async move { engine(interrupts.receiver(&warnings)).await });
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(report)
}
