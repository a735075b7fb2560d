//! Opening the connection to one host: the OpenSSH options an environment's
//! `ssh { ... }` block sets, and the reasons a connection fails, in words
//! that name the host and the cause.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use openssh::Session;

use super::kex_preference;

use crate::check::model::{Destination, EnvironmentDef, SshSettings, StrictHostKeys};

/// How long opening a connection may take when `connect_timeout` is unset.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keep-alive probes: a dead connection fails its step after about three
/// of these instead of hanging.
pub const SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// A master left behind by a killed `deploy` exits after this long idle.
const CONTROL_PERSIST_SECS: u64 = 300;

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

    /// The client options every `ssh` for this host gets: those of the
    /// `ssh { ... }` block, the connect timeout and the keep-alives.
    fn options(&self) -> Vec<OsString> {
        let settings = &self.settings;
        let mut options: Vec<OsString> = Vec::new();
        let mut option = |text: String| options.extend([OsString::from("-o"), OsString::from(text)]);
        option(format!(
            "StrictHostKeyChecking={}",
            match settings.strict_host_keys {
                StrictHostKeys::Yes => "yes",
                StrictHostKeys::AcceptNew => "accept-new",
            }
        ));
        let timeout = settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        option(format!("ConnectTimeout={}", timeout.as_secs().max(1)));
        option(format!("ServerAliveInterval={}", SERVER_ALIVE_INTERVAL.as_secs()));
        if let Some(known_hosts) = &settings.known_hosts {
            let mut text = OsString::from("UserKnownHostsFile=");
            text.push(known_hosts);
            options.extend([OsString::from("-o"), text]);
        }
        if let Some(user) = self.destination.user.clone().or_else(|| settings.user.clone()) {
            options.extend([OsString::from("-l"), OsString::from(user)]);
        }
        if let Some(port) = self.destination.port.or(settings.port) {
            options.extend([OsString::from("-p"), OsString::from(port.to_string())]);
        }
        if let Some(identity) = self.destination.identity.as_ref().or(settings.identity.as_ref()) {
            options.extend([OsString::from("-o"), OsString::from("IdentitiesOnly=yes"), OsString::from("-i")]);
            options.push(identity.into());
        }
        if let Some(config) = &settings.config {
            options.extend([OsString::from("-F"), config.into()]);
        }
        if let Some(jump) = &settings.jump {
            match self.jump_command(jump) {
                Some(command) => options.extend([OsString::from("-o"), OsString::from(command)]),
                None => options.extend([OsString::from("-J"), OsString::from(jump)]),
            }
        }
        options.extend(self.destination.args.iter().map(OsString::from));
        options
    }

    /// One jump host without a client config: a `ProxyCommand` that gives
    /// the hop the environment's key, known_hosts and host-key policy (a
    /// plain `-J` would use none of them). A chain (`a,b`) or a client
    /// config (which may say otherwise for the hop) keeps `-J`.
    fn jump_command(&self, jump: &str) -> Option<String> {
        let settings = &self.settings;
        if jump.contains(',') || settings.config.is_some() {
            return None;
        }
        let hop = crate::check::model::Destination::parse(jump).ok()?;
        let quote = |text: &str| crate::shell_quote::shell_quote(text);
        let mut words = vec!["ssh".to_string(), "-o".into(), "BatchMode=yes".into()];
        words.push("-o".into());
        words.push(format!("StrictHostKeyChecking={}", settings.strict_host_keys.word()));
        let timeout = settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        words.push("-o".into());
        words.push(format!("ConnectTimeout={}", timeout.as_secs().max(1)));
        if let Some(known_hosts) = &settings.known_hosts {
            words.push("-o".into());
            words.push(quote(&format!("UserKnownHostsFile={}", known_hosts.display())));
        }
        if let Some(identity) = self.destination.identity.as_ref().or(settings.identity.as_ref()) {
            words.extend([
                "-o".into(),
                "IdentitiesOnly=yes".into(),
                "-i".into(),
                quote(&identity.display().to_string()),
            ]);
        }
        if let Some(user) = &hop.user {
            words.extend(["-l".into(), quote(user)]);
        }
        if let Some(port) = hop.port {
            words.extend(["-p".into(), port.to_string()]);
        }
        words.extend(["-W".into(), "%h:%p".into(), "--".into(), quote(&hop.host)]);
        Some(format!("ProxyCommand={}", words.join(" ")))
    }

    /// Opens the ControlMaster connection; `Err` says why in words.
    pub async fn connect(&self, scanned: &kex_preference::ConfigScan) -> Result<Session, String> {
        let limit = self.settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT) + Duration::from_secs(5);
        match tokio::time::timeout(limit, self.launch_master(scanned)).await {
            Ok(result) => result,
            Err(_) => Err(format!("ssh: connect to host {}: Connection timed out", self.destination.display())),
        }
    }

    /// Starts `ssh -M -f -N` with its control socket and log in a fresh
    /// private directory; once it has forked, the connection is up and
    /// authenticated, and the session talks to it over the socket.
    async fn launch_master(&self, scanned: &kex_preference::ConfigScan) -> Result<Session, String> {
        let address = self.address();
        let mut options = self.options();
        if let Some(kex) = kex_preference::preferred(&options, &address, scanned).await {
            options.extend([OsString::from("-o"), OsString::from(format!("KexAlgorithms={kex}"))]);
        }
        let dir = control_directory()?;
        let log = dir.path().join("log");
        // What a jump host's own ssh says goes to the master's stderr, not
        // to its log: kept, so a failed hop is named with its whole error.
        let hop_log = dir.path().join("jump-log");
        // ssh sends a ProxyCommand's stderr to /dev/null under a
        // ControlMaster: the hop's own ssh writes its words to the file.
        for option in options.iter_mut() {
            if option.to_string_lossy().starts_with("ProxyCommand=") {
                option.push(format!(" 2>>{}", crate::shell_quote::shell_quote(&hop_log.display().to_string())));
            }
        }
        let hop_stderr = match &self.settings.jump {
            Some(_) => std::fs::File::create(&hop_log).map(Stdio::from).unwrap_or_else(|_| Stdio::null()),
            None => Stdio::null(),
        };
        let status = tokio::process::Command::new("ssh")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(hop_stderr)
            .arg("-E")
            .arg(&log)
            .arg("-S")
            .arg(dir.path().join("master"))
            .args(["-M", "-f", "-N", "-o"])
            .arg(format!("ControlPersist={CONTROL_PERSIST_SECS}s"))
            .args(["-o", "BatchMode=yes"])
            .args(&options)
            .arg("--")
            .arg(&address)
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|error| format!("cannot start ssh: {error}"))?;
        if !status.success() {
            let logged = std::fs::read_to_string(&log).unwrap_or_default();
            let hop = std::fs::read_to_string(&hop_log).unwrap_or_default();
            return Err(match &self.settings.jump {
                // Through a jump host the last line is the target's
                // `Connection closed by UNKNOWN port 65535`: the cause is
                // what the hop said before it, so all of it is given.
                Some(jump) => {
                    let whole: Vec<&str> = hop
                        .lines()
                        .chain(logged.lines())
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
                        .collect();
                    format!("jump host {jump} failed: {}", whole.join(" / "))
                }
                None => explain_log(&self.name, &logged),
            });
        }
        super::master_lifeline::watch(&dir.path().join("master"));
        Ok(Session::new_native_mux(dir))
    }
}

/// A fresh private directory (0700) for one master's control socket and
/// log. It is made in memory when the machine has a place for it —
/// `$XDG_RUNTIME_DIR`, else `/dev/shm` — and in the temporary directory
/// otherwise: a run makes and removes one per host, and on a disk file
/// system (ext4 without a journal, as on many VMs) each new inode is
/// looked for past every one removed in the last minute. The path stays
/// short, as a socket's must (108 bytes).
fn control_directory() -> Result<tempfile::TempDir, String> {
    let in_memory = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .into_iter()
        .chain([std::path::PathBuf::from("/dev/shm")]);
    for base in in_memory {
        if base.is_dir() {
            if let Ok(dir) = tempfile::Builder::new().prefix(".ssh-connection").tempdir_in(&base) {
                return Ok(dir);
            }
        }
    }
    tempfile::Builder::new()
        .prefix(".ssh-connection")
        .tempdir_in(std::env::temp_dir())
        .map_err(|error| format!("cannot make a control directory: {error}"))
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
