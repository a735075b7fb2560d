//! The environments part of `deploy plan`, for people: each host's
//! transport and where it is reached (the data: session/preview_hosts.rs).

use crate::session::preview_hosts::EnvironmentPreview;

pub fn render(environments: &[EnvironmentPreview], out: &mut String) {
    if environments.is_empty() {
        return;
    }
    out.push_str("\nEnvironments\n");
    for environment in environments {
        out.push_str(&format!("  {} ({})\n", environment.name, environment.transport.word()));
        for host in &environment.hosts {
            out.push_str(&format!("    {} → {}\n", host.host, host.destination));
        }
    }
}
