//! Transports: where a step's command runs. The executor only knows the
//! [`Transport`] trait; this issue ships [`LocalTransport`] (this machine,
//! with `${host}` bound), and an SSH transport can implement the same trait
//! without touching the executor.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::process::{run_shell, ProcessGroups};
pub use super::process::{CommandSpec, ExitInfo, OutputSink};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The command could not be run at all (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot start `sh` on {host}: {source}")]
    Spawn {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot reach {host}: {message}")]
    Unreachable { host: String, message: String },
}

/// Runs shell commands on a host.
pub trait Transport: Send + Sync {
    /// A short name for messages (`local`, `ssh`).
    fn name(&self) -> &str;

    /// Runs `command` on `host`, streaming each output line to `output`.
    /// When `cancel` fires, the command and everything it started must be
    /// stopped (the result then has `cancelled = true`).
    fn run<'a>(
        &'a self,
        host: &'a str,
        command: CommandSpec,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<ExitInfo, TransportError>>;

    /// Kills everything still running at once (a second Ctrl-C).
    fn kill_all(&self);
}

/// Runs every command on this machine, whatever the host. `${host}` and
/// `DEPLOY_HOST` still name the host, so scripts can act per host (the
/// examples keep one directory per host).
#[derive(Clone, Debug)]
pub struct LocalTransport {
    /// SIGTERM → SIGKILL grace period.
    pub kill_grace: Duration,
    groups: ProcessGroups,
}

impl LocalTransport {
    pub fn new(kill_grace: Duration) -> LocalTransport {
        LocalTransport { kill_grace, groups: ProcessGroups::default() }
    }

    /// Process groups still running (for tests).
    pub fn running_groups(&self) -> usize {
        self.groups.len()
    }
}

impl Transport for LocalTransport {
    fn name(&self) -> &str {
        "local"
    }

    fn run<'a>(
        &'a self,
        host: &'a str,
        command: CommandSpec,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<ExitInfo, TransportError>> {
        Box::pin(async move {
            run_shell(command, output, cancel, self.kill_grace, &self.groups)
                .await
                .map_err(|source| TransportError::Spawn { host: host.to_string(), source })
        })
    }

    fn kill_all(&self) {
        self.groups.kill_all();
    }
}
