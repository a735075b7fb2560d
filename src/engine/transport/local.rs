//! The local transport: every command runs on this machine, whatever the
//! host. `${host}` and `DEPLOY_HOST` still name the host, so scripts can act
//! per host (the examples keep one directory per host).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::super::process::{run_shell, ProcessGroups};
use super::{BoxFuture, CommandSpec, ExitInfo, OutputSink, Transport, TransportError};

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
