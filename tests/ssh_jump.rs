//! A jump host (`ssh { jump = "..." }`) gets the environment's key,
//! known_hosts and host-key policy, and a failed hop is named with the whole
//! of its ssh error — not the `Connection closed by UNKNOWN port 65535`
//! the target's connection reports. Real sshd hosts; skipped, saying why,
//! when not run as root.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use common::{Output, Test};
use fleet::Fleet;

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

fn plan(fleet: &Fleet, known_hosts: &str) -> String {
    let dir = fleet.path().display();
    format!(
        "pipeline \"jump\" {{ description = \"through a bastion\" }}\n\
         environment production {{\n  transport = ssh\n  hosts = [\"{target}\"]\n  ssh {{\n    user = \"root\"\n    \
         identity = \"{dir}/id_ed25519\"\n    known_hosts = \"{known_hosts}\"\n    jump = \"root@{bastion}\"\n    \
         connect_timeout = 5s\n    dir = \"/srv\"\n  }}\n}}\n\
         stage ship {{\n  target = production\n  run \"echo through > jumped\"\n  rollback {{ run \"true\" }}\n}}\n",
        target = fleet.host("web-2").address,
        bastion = fleet.host("web-1").address,
    )
}

#[test]
fn the_jump_host_uses_the_environments_key_and_known_hosts() {
    let Some(fleet) = Fleet::start(2) else { return };
    let known_hosts = fleet.path().join("known_hosts").display().to_string();
    let test = Test::new().env("HOME", "/nonexistent").plan(&plan(&fleet, &known_hosts));
    ok(&test.run_with(&["run", "release.deploy"]));
    assert_eq!(fleet.read("web-2", "jumped"), "through\n");
}

#[test]
fn a_failed_jump_host_is_named_with_its_whole_error() {
    let Some(fleet) = Fleet::start(2) else { return };
    // A known_hosts without the bastion's key: the hop is refused.
    let all = std::fs::read_to_string(fleet.path().join("known_hosts")).unwrap();
    let bastion = fleet.host("web-1").address.clone();
    let without: String =
        all.lines().filter(|l| !l.starts_with(&format!("{bastion} "))).map(|l| format!("{l}\n")).collect();
    let partial = fleet.path().join("known_hosts_without_bastion");
    std::fs::write(&partial, without).unwrap();
    let test = Test::new().env("HOME", "/nonexistent").plan(&plan(&fleet, &partial.display().to_string()));
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    let said = format!("{}{}", output.stdout, output.stderr);
    assert!(said.contains(&format!("jump host root@{bastion} failed:")), "{said}");
    assert!(said.contains("Host key verification failed."), "{said}");
    assert_eq!(fleet.read("web-2", "jumped"), "");
}
