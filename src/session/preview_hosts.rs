//! The environments part of a run's preview: each host's transport and
//! where it is reached.

use serde::Serialize;

use crate::check::model::{Plan, TransportKind};

#[derive(Debug, Serialize)]
pub struct EnvironmentPreview {
    pub name: String,
    pub transport: TransportKind,
    pub hosts: Vec<HostPreview>,
}

#[derive(Debug, Serialize)]
pub struct HostPreview {
    pub host: String,
    /// `user@address:port` under ssh; `this machine` under local.
    pub destination: String,
}

pub fn environments(plan: &Plan) -> Vec<EnvironmentPreview> {
    plan.environments
        .iter()
        .map(|environment| EnvironmentPreview {
            name: environment.name.clone(),
            transport: environment.transport,
            hosts: environment
                .hosts
                .iter()
                .map(|host| HostPreview {
                    host: host.clone(),
                    destination: match environment.transport {
                        TransportKind::Ssh => ssh_destination(plan, &environment.name, host),
                        TransportKind::Local => "this machine".to_string(),
                    },
                })
                .collect(),
        })
        .collect()
}

/// The destination with the `ssh { user port }` defaults filled in.
fn ssh_destination(plan: &Plan, environment: &str, host: &str) -> String {
    let Some(environment) = plan.environment_named(environment) else { return host.to_string() };
    let mut destination = environment.destination(host);
    if destination.user.is_none() {
        destination.user = environment.ssh.user.clone();
    }
    if destination.port.is_none() {
        destination.port = environment.ssh.port;
    }
    let mut text = format!("ssh://{}", destination.display());
    if let Some(jump) = &environment.ssh.jump {
        text.push_str(&format!(" via {jump}"));
    }
    text
}
