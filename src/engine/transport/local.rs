//! The local transport: every command runs on this machine, whatever the
//! host. `${host}` and `DEPLOY_HOST` still name the host, so scripts can act
//! per host (the examples keep one directory per host). A command with no
//! shell syntax is executed directly, without `sh -c` (as make does); see
//! [`direct_argv`].

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::super::process::{run_program, ProcessGroups};
use super::direct_exec::direct_argv;
use super::{BoxFuture, CommandSpec, ExitInfo, OutputSink, Transport, TransportError};

#[derive(Clone, Debug)]
pub struct LocalTransport {
    /// SIGTERM → SIGKILL grace period.
    pub kill_grace: Duration,
    groups: ProcessGroups,
    /// Whether commands without shell syntax skip `sh -c`
    /// (`DEPLOY_DIRECT_EXEC=0` turns it off).
    direct_exec: bool,
}

impl LocalTransport {
    pub fn new(kill_grace: Duration) -> LocalTransport {
        let direct_exec = std::env::var("DEPLOY_DIRECT_EXEC").as_deref() != Ok("0");
        LocalTransport { kill_grace, groups: ProcessGroups::default(), direct_exec }
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
            let argv = if self.direct_exec { direct_argv(&command.command) } else { None };
            run_program(argv, command, output, cancel, self.kill_grace, &self.groups)
                .await
                .map_err(|source| TransportError::Spawn { host: host.to_string(), source })
        })
    }

    fn kill_all(&self) {
        self.groups.kill_all();
    }
}
