//! Opening the connection to one host: the OpenSSH options an environment's
//! `ssh { ... }` block sets, and the reasons a connection fails, in words
//! that name the host and the cause.

use std::num::NonZeroUsize;
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};

use crate::check::model::{Destination, EnvironmentDef, SshSettings, StrictHostKeys};

/// How long opening a connection may take when `connect_timeout` is unset.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keep-alive probes: a dead connection fails its step after about three
/// of these instead of hanging.
pub const SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// A master left behind by a killed `deploy` exits after this long idle.
const CONTROL_PERSIST_SECS: usize = 300;

/// One host of an SSH environment: its name in the plan and how to reach it.
#[derive(Clone, Debug)]
pub struct SshHost {
    pub name: String,
    pub destination: Destination,
    pub settings: SshSettings,
}

impl SshHost {
    /// Every host of `environment`.
    pub fn of(environment: &EnvironmentDef) -> Vec<SshHost> {
        environment
            .hosts
            .iter()
            .map(|host| SshHost {
                name: host.clone(),
                destination: environment.destination(host),
                settings: environment.ssh.clone(),
            })
            .collect()
    }

    /// The destination as `ssh` takes it (user and port are options).
    fn address(&self) -> String {
        if self.destination.host.contains(':') {
            format!("[{}]", self.destination.host)
        } else {
            self.destination.host.clone()
        }
    }

    fn builder(&self) -> SessionBuilder {
        let settings = &self.settings;
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(match settings.strict_host_keys {
                StrictHostKeys::Yes => KnownHosts::Strict,
                StrictHostKeys::AcceptNew => KnownHosts::Add,
            })
            .connect_timeout(settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .server_alive_interval(SERVER_ALIVE_INTERVAL)
            .control_directory(std::env::temp_dir())
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(CONTROL_PERSIST_SECS).unwrap_or(NonZeroUsize::MIN),
            ));
        if let Some(user) = self.destination.user.clone().or_else(|| settings.user.clone()) {
            builder.user(user);
        }
        if let Some(port) = self.destination.port.or(settings.port) {
            builder.port(port);
        }
        if let Some(identity) = &settings.identity {
            builder.keyfile(identity);
        }
        if let Some(config) = &settings.config {
            builder.config_file(config);
        }
        if let Some(jump) = &settings.jump {
            builder.jump_hosts([jump]);
        }
        if let Some(known_hosts) = &settings.known_hosts {
            builder.user_known_hosts_file(known_hosts);
        }
        builder
    }

    /// Opens the ControlMaster connection; `Err` says why in words.
    pub async fn connect(&self) -> Result<Session, String> {
        let builder = self.builder();
        let address = self.address();
        let connecting = builder.connect_mux(&address);
        let limit = self.settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT) + Duration::from_secs(5);
        match tokio::time::timeout(limit, connecting).await {
            Ok(Ok(session)) => Ok(session),
            Ok(Err(error)) => Err(self.explain(&error)),
            Err(_) => Err(format!("ssh: connect to host {}: Connection timed out", self.destination.display())),
        }
    }

    /// Turns what `ssh` logged into one line naming the host and the cause.
    fn explain(&self, error: &openssh::Error) -> String {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text = cause.to_string();
            source = cause.source();
        }
        explain_log(&self.name, &text)
    }
}

/// The cause in `log` (what `ssh` printed), said about `host`.
pub fn explain_log(host: &str, log: &str) -> String {
    if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || log.contains("Offending") {
        return format!("host key for {host} does not match known_hosts (refusing to connect)");
    }
    if log.contains("Host key verification failed") || log.contains("host key is known for") {
        return format!("host key for {host} is not in known_hosts (strict_host_keys = yes)");
    }
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('@') && !line.starts_with("Warning: Permanently added"))
        .collect();
    let line = lines.last().copied().unwrap_or("the connection failed");
    if line.contains("Permission denied") {
        return format!("{host} refused the key: {line}");
    }
    if line.starts_with("ssh:") {
        line.to_string()
    } else {
        format!("ssh: {line}")
    }
}

#[cfg(test)]
mod tests {
    use super::explain_log;

    #[test]
    fn causes_name_the_host() {
        assert_eq!(
            explain_log("web-3", "ssh: connect to host 10.0.0.13 port 22: Connection timed out"),
            "ssh: connect to host 10.0.0.13 port 22: Connection timed out"
        );
        let changed =
            "@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.";
        assert_eq!(
            explain_log("web-2", changed),
            "host key for web-2 does not match known_hosts (refusing to connect)"
        );
        assert!(explain_log("web-1", "deploy@web-1: Permission denied (publickey).").contains("refused the key"));
    }
}
