//! After `kill -9` of `deploy`, nothing of its run stays on any machine:
//! its ControlMaster processes (which detach themselves) end, their
//! `.ssh-connection*` directories go, and the remote step they carried
//! is stopped on the host. Real sshd hosts (tests/support/fleet.sh);
//! skipped, saying why, when not run as root.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use common::Test;
use fleet::Fleet;

/// The command lines of the processes that contain `marker` (the hosts
/// share this machine's process table).
fn processes(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        let line = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !zombie && line.contains(marker) {
            out.push(line);
        }
    }
    out
}

#[test]
fn kill_9_of_deploy_leaves_no_master_and_no_remote_step() {
    let Some(fleet) = Fleet::start(1) else { return };
    let address = fleet.host("web-1").address.clone();
    let plan = format!(
        "pipeline \"lifeline\" {{ description = \"kill -9\" }}\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{}\", \"web\")\n  {}\n}}\n\
         stage ship {{\n  target = production\n  run \"echo up > started; sleep 4719\"\n  rollback {{ run \"true\" }}\n}}\n",
        fleet.inventory(),
        fleet.ssh_block()
    );
    let test = Test::new().plan(&plan);
    let mut command = test.command(&["run", "release.deploy"]);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let waited = Instant::now();
    while fleet.read("web-1", "started").is_empty() && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fleet.read("web-1", "started"), "up\n", "the step never started");
    let masters: Vec<String> = processes(&address)
        .into_iter()
        .filter(|line| line.contains(".ssh-connection") && line.contains(" -M"))
        .collect();
    assert_eq!(masters.len(), 1, "{masters:?}");
    let socket_dir = masters[0]
        .split_whitespace()
        .find(|word| word.contains(".ssh-connection"))
        .and_then(|word| std::path::Path::new(word).parent().map(|p| p.to_path_buf()))
        .unwrap();
    assert!(socket_dir.exists());
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let killed = Instant::now();
    let gone = || {
        processes("sleep 4719").is_empty()
            && !processes(&address).iter().any(|line| line.contains(".ssh-connection"))
            && !socket_dir.exists()
    };
    while !gone() && killed.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(processes("sleep 4719").is_empty(), "the remote step outlived deploy");
    let left: Vec<String> = processes(&address).into_iter().filter(|line| line.contains(".ssh-connection")).collect();
    assert!(left.is_empty(), "masters left: {left:?}");
    assert!(!socket_dir.exists(), "{} left behind", socket_dir.display());
    assert!(killed.elapsed() < Duration::from_secs(10), "took {:?}", killed.elapsed());
}

/// A connection whose master died between two stages (killed here; on a
/// real machine: an OOM kill, a laptop's suspend) is opened again for the
/// next step: nothing of that step had run, so the run goes on.
#[test]
fn a_master_killed_between_stages_is_opened_again() {
    let Some(fleet) = Fleet::start(1) else { return };
    let address = fleet.host("web-1").address.clone();
    let master = format!("ssh-connection.* -M .*{}$", address.replace('.', "[.]"));
    let plan = format!(
        "pipeline \"lifeline\" {{ description = \"a dead master\" }}\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"web\")\n  {ssh}\n}}\n\
         stage one {{\n  target = production\n  run \"echo one > one\"\n  rollback {{ run \"true\" }}\n}}\n\
         stage cut {{\n  needs = [one]\n  run \"pkill -KILL -f -- '{master}'; while pgrep -f -- '{master}' >/dev/null; do sleep 0.05; done; echo gone > killed\"\n  rollback {{ run \"true\" }}\n}}\n\
         stage two {{\n  needs = [cut]\n  target = production\n  run \"echo two > two\"\n  rollback {{ run \"true\" }}\n}}\n",
        inventory = fleet.inventory(),
        ssh = fleet.ssh_block(),
    );
    let test = Test::new().plan(&plan);
    let output = test.run_with(&["run", "release.deploy"]);
    let said = format!("{}{}", output.stdout, output.stderr);
    assert_eq!(output.code, 0, "{said}");
    assert_eq!(std::fs::read_to_string(test.path().join("killed")).unwrap_or_default(), "gone\n", "{said}");
    assert_eq!(fleet.read("web-1", "one"), "one\n");
    assert_eq!(fleet.read("web-1", "two"), "two\n", "{said}");
    let left: Vec<String> = processes(&address).into_iter().filter(|line| line.contains(".ssh-connection")).collect();
    assert!(left.is_empty(), "masters left: {left:?}");
}
