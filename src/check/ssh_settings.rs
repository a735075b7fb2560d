//! Where an environment's hosts are reached: the transport word, the
//! `ssh { ... }` settings, and each host's SSH destination.

use std::path::PathBuf;
use std::time::Duration;

/// `transport = local | ssh` on an environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Every command runs on this machine, with `${host}` bound.
    #[default]
    Local,
    /// Every host is an SSH destination.
    Ssh,
}

impl TransportKind {
    pub fn word(self) -> &'static str {
        match self {
            TransportKind::Local => "local",
            TransportKind::Ssh => "ssh",
        }
    }
}

/// `strict_host_keys = yes | accept-new`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrictHostKeys {
    /// Unknown and changed keys are refused.
    #[default]
    Yes,
    /// Unknown keys are added to known_hosts; changed keys are refused.
    AcceptNew,
}

impl StrictHostKeys {
    /// The value of OpenSSH's `StrictHostKeyChecking`.
    pub fn word(self) -> &'static str {
        match self {
            StrictHostKeys::Yes => "yes",
            StrictHostKeys::AcceptNew => "accept-new",
        }
    }
}

/// The `ssh { ... }` block of an environment; paths are resolved against
/// the plan's directory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SshSettings {
    /// A client config file, passed as `-F`.
    pub config: Option<PathBuf>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity: Option<PathBuf>,
    /// `ProxyJump`.
    pub jump: Option<String>,
    pub known_hosts: Option<PathBuf>,
    pub strict_host_keys: StrictHostKeys,
    pub connect_timeout: Option<Duration>,
    /// The remote working directory; the login directory when unset.
    pub dir: Option<String>,
    /// `become = true`: steps, uploads, kills and rollbacks run as
    /// `become_user` through `sudo -n` (no password prompt, no tty), or
    /// `su` from a root login ([`BecomeMethod`]).
    pub become_root: bool,
    /// `become_user` (root when unset).
    pub become_user: Option<String>,
    /// `become_method = sudo | su`.
    pub become_method: BecomeMethod,
}

/// How `become` changes user on the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BecomeMethod {
    /// `sudo -n -H -u USER`: never prompts; a NOPASSWD sudoers rule.
    #[default]
    Sudo,
    /// `su -s /bin/sh USER`, only from a root login: without a tty su
    /// would read a password from the step's stdin, so any other login
    /// user is refused before su runs.
    Su,
}

impl BecomeMethod {
    pub fn word(self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "sudo",
            BecomeMethod::Su => "su",
        }
    }

    /// What the host needs for this method, said after a refusal.
    pub fn needs(self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "become runs `sudo -n`: the login user needs a NOPASSWD sudoers rule",
            BecomeMethod::Su => "become_method = su runs `su` without a tty: the login user must be root",
        }
    }
}

/// The shell program of `become_method = su` (`$1` the user, `$2` the command).
const SU_BECOME: &str = "if [ \"$(id -u)\" -ne 0 ]; then echo \"su: the login user $(id -un) is not root, and su without a tty would ask for a password\" >&2; exit 1; fi; exec su -s /bin/sh \"$1\" -c \"$2\"";

impl SshSettings {
    /// `command` as it runs on the host: through `sudo -n -u USER` under
    /// `become`, else as it is. The command travels as one quoted word;
    /// whatever it reads (a step, a secret) still comes on stdin.
    pub fn wrap_become(&self, command: String) -> String {
        if !self.become_root {
            return command;
        }
        let user = crate::shell_quote::shell_quote(self.become_user.as_deref().unwrap_or("root"));
        let command = crate::shell_quote::shell_quote(&command);
        match self.become_method {
            BecomeMethod::Sudo => format!("sudo -n -H -u {user} -- sh -c {command}"),
            // One simple command, like sudo's: a login that is not root is
            // refused before su could read a password from stdin.
            BecomeMethod::Su => {
                format!("sh -c {} become-su {user} {command}", crate::shell_quote::shell_quote(SU_BECOME))
            }
        }
    }
}

/// The keys an `ssh { ... }` block accepts.
pub const SSH_KEYS: &[&str] = &[
    "config",
    "user",
    "port",
    "identity",
    "jump",
    "known_hosts",
    "strict_host_keys",
    "connect_timeout",
    "dir",
    "become",
    "become_user",
    "become_method",
];

/// An SSH destination: `[user@]host[:port]` (IPv6 in brackets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Destination {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// This host's own key (an inventory's `ansible_ssh_private_key_file`),
    /// over the `ssh { identity }` of its environment.
    pub identity: Option<PathBuf>,
    /// More `ssh` arguments for this host (`ansible_ssh_common_args`).
    pub args: Vec<String>,
}

impl Destination {
    /// Parses `[user@]host[:port]`; `Err` says what is wrong.
    pub fn parse(text: &str) -> Result<Destination, String> {
        let text = text.trim();
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
            Some(_) => return Err(format!("`{text}` has an empty user before `@`")),
            None => (None, text),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let Some((host, after)) = inner.split_once(']') else {
                return Err(format!("`{text}` opens `[` without closing it"));
            };
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("`{text}` has text after `]`")),
            }
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace()) || host.starts_with('-') {
            return Err(format!("`{text}` does not name a host"));
        }
        let port = match port {
            Some(port) => Some(parse_port(port).map_err(|problem| format!("`{text}`: {problem}"))?),
            None => None,
        };
        Ok(Destination { user, host: host.to_string(), port, ..Destination::default() })
    }

    /// `user@host:port` as written back for messages.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if let Some(user) = &self.user {
            out.push_str(user);
            out.push('@');
        }
        if self.host.contains(':') {
            out.push_str(&format!("[{}]", self.host));
        } else {
            out.push_str(&self.host);
        }
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        out
    }
}

/// A TCP port: 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(port) if (1..=65535).contains(&port) => Ok(port as u16),
        _ => Err(format!("`{text}` is not a port (1 to 65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        let d = Destination::parse("deploy@10.0.0.1:2222").unwrap();
        assert_eq!((d.user.as_deref(), d.host.as_str(), d.port), (Some("deploy"), "10.0.0.1", Some(2222)));
        let d = Destination::parse("[::1]:22").unwrap();
        assert_eq!((d.host.as_str(), d.port), ("::1", Some(22)));
        assert_eq!(Destination::parse("web-1").unwrap().display(), "web-1");
        assert!(Destination::parse("web:0").is_err());
        assert!(Destination::parse("web:99999").is_err());
        assert!(Destination::parse("@web").is_err());
        assert!(Destination::parse("-oProxyCommand=x").is_err());
    }
}
