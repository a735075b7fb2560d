//! Hosts that look like SSH destinations (`user@host`, `host:22`, an IP
//! address) in an environment on the local transport: their steps would run
//! on this machine, which is rarely what the author meant.

use std::net::IpAddr;

use super::model::Plan;
use crate::diagnostic::{Code, Diagnostic};

/// W0010 for each host (or host `address`) that looks remote.
pub fn check(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    for environment in plan.environments.iter().filter(|e| e.transport == crate::check::model::TransportKind::Local) {
        for host in &environment.host_defs {
            let written = host.address.as_deref().unwrap_or(&host.name);
            let Some(why) = looks_remote(written).or_else(|| looks_remote(&host.name)) else { continue };
            diagnostics.push(
                Diagnostic::new(
                    Code::RemoteHostOnLocalTransport,
                    format!(
                        "host `{}` of environment `{}` looks like an SSH destination ({why}), but runs on the \
                         local transport: its steps run on this machine",
                        host.name, environment.name
                    ),
                )
                .at(host.location.file, host.location.span, "runs locally")
                .with_secondary(environment.location.file, environment.location.span, "on the local transport")
                .with_help("use plain names for hosts of a local environment, or run it over SSH; `deploy check --strict` makes this an error"),
            );
        }
    }
}

/// Why `host` looks like a remote destination, if it does.
pub fn looks_remote(host: &str) -> Option<&'static str> {
    if host.contains('@') {
        return Some("user@host");
    }
    if host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return Some("an IP address");
    }
    if let Some((name, port)) = host.rsplit_once(':') {
        if !name.is_empty() && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
            return Some("host:port");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::looks_remote;

    #[test]
    fn destinations() {
        assert!(looks_remote("deploy@web-1").is_some());
        assert!(looks_remote("web-1:22").is_some());
        assert!(looks_remote("10.0.0.5").is_some());
        assert!(looks_remote("::1").is_some());
        assert!(looks_remote("web-1").is_none());
        assert!(looks_remote("localhost").is_none());
    }
}
