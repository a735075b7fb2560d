//! Transports: where a step's command runs and where an `upload` copies to.
//! The executor only knows the [`Transport`] trait: [`LocalTransport`]
//! (this machine, with `${host}` bound) and [`SshTransport`] (every host an
//! SSH destination, one ControlMaster connection per host and run).

mod direct_exec;
mod kex_preference;
mod local;
mod local_upload;
mod master_lifeline;
mod remote_script;
mod ssh;
mod ssh_connect;
mod tar_stream;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use tokio_util::sync::CancellationToken;

pub use super::process::{CommandSpec, ExitInfo, OutputSink};
pub use local::LocalTransport;
pub use ssh::{Reachability, SshTransport};
pub use ssh_connect::SshHost;

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
    #[error("connection to {host} lost: {message}")]
    ConnectionLost { host: String, message: String },
    #[error("upload to {host} failed: {message}")]
    Upload { host: String, message: String },
    /// `become`: sudo (or su) would not run the step (it asked for a
    /// password, no sudoers rule allows it, a login that is not root for
    /// su); nothing of the step ran.
    #[error("cannot become {user} on {host}: {message} ({needs})")]
    Become { host: String, user: String, message: String, needs: &'static str },
}

/// `upload "local" to "remote"`, rendered for one host.
#[derive(Clone, Debug)]
pub struct UploadSpec {
    /// The file or tree to copy, relative to `cwd` (the plan's directory).
    pub local: PathBuf,
    /// Where it goes: relative to the host's working directory; a trailing
    /// `/` puts it inside that directory under its own name.
    pub remote: String,
    /// This machine's working directory (the plan's directory).
    pub cwd: PathBuf,
    /// A stage's `become`, over its environment's (`None`: the environment's).
    pub become_root: Option<bool>,
}

impl UploadSpec {
    /// The local path, resolved against `cwd`.
    pub fn source(&self) -> PathBuf {
        self.cwd.join(&self.local)
    }

    /// The target path as written, with a trailing `/` completed by the
    /// source's file name.
    pub fn target(&self) -> String {
        if self.remote.ends_with('/') {
            let name = self.local.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            format!("{}{name}", self.remote)
        } else {
            self.remote.clone()
        }
    }
}

/// Runs shell commands on a host and copies files to it.
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

    /// Copies a file or tree to `host`, atomically (written beside the
    /// target, then renamed), keeping modes. On this machine by default.
    fn upload<'a>(
        &'a self,
        host: &'a str,
        upload: UploadSpec,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            let copy = tokio::task::spawn_blocking(move || local_upload::copy(&upload));
            tokio::select! {
                result = copy => match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(message)) => Err(TransportError::Upload { host: host.to_string(), message }),
                    Err(error) => Err(TransportError::Upload { host: host.to_string(), message: error.to_string() }),
                },
                () = cancel.cancelled() => Err(TransportError::Upload { host: host.to_string(), message: "cancelled".into() }),
            }
        })
    }

    /// Kills everything still running at once (a second Ctrl-C).
    fn kill_all(&self);

    /// Ends what the transport keeps open (connections) at the end of a run.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
