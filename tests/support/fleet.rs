//! Real SSH hosts for integration tests: [`Fleet::start`] runs
//! `tests/support/fleet.sh up` (network namespaces, one sshd each, own
//! host keys, own /srv) and its `Drop` tears everything down, also when
//! the test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Fleet {
    /// The key, known_hosts, inventory.ini, ssh_config and the hosts' dirs.
    pub dir: tempfile::TempDir,
    pub hosts: Vec<FleetHost>,
}

pub struct FleetHost {
    pub name: String,
    pub address: String,
    /// What the host sees as /srv.
    pub srv: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fleet.sh")
}

impl Fleet {
    /// `count` hosts, or `None` (with the reason printed) when this machine
    /// cannot run them: not root, or sshd/ip missing.
    pub fn start(count: usize) -> Option<Fleet> {
        Fleet::start_with(count, false, None)
    }

    /// [`Fleet::start`] where every host is also a Docker host (its own
    /// dockerd, /var/run/docker.sock and data root below the fleet's
    /// directory), with a registry on the bridge at `registry_port` and a
    /// `builder` dockerd for this machine (fleet.sh, FLEET_DOCKER=1); see
    /// tests/support/docker.rs.
    pub fn start_with_docker(count: usize, registry_port: u16) -> Option<Fleet> {
        Fleet::start_with(count, false, Some(registry_port))
    }

    /// [`Fleet::start`] with login users `deployer` (passwordless sudo) and
    /// `asker` (sudo asks for a password) on every host (fleet.sh, FLEET_BECOME=1).
    pub fn start_with_become(count: usize) -> Option<Fleet> {
        Fleet::start_with(count, true, None)
    }

    fn start_with(count: usize, become_users: bool, docker: Option<u16>) -> Option<Fleet> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: SSH fleet tests need root (network namespaces)");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("fleet").tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let seed = std::process::id().wrapping_mul(7).wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed) * 13);
        let output = Command::new("sh")
            .env("FLEET_BECOME", if become_users { "1" } else { "0" })
            .env("FLEET_DOCKER", if docker.is_some() { "1" } else { "0" })
            .env("FLEET_REGISTRY_PORT", docker.unwrap_or(5000).to_string())
            .arg(script())
            .args(["up", &dir.path().to_string_lossy(), &count.to_string(), &seed.to_string()])
            .output()
            .unwrap_or_else(|e| panic!("fleet.sh: {e}"));
        if output.status.code() == Some(77) {
            eprintln!("skipped: {}", String::from_utf8_lossy(&output.stderr).trim());
            return None;
        }
        let mut fleet = Fleet { dir, hosts: Vec::new() };
        assert!(output.status.success(), "fleet.sh up failed: {}", String::from_utf8_lossy(&output.stderr));
        let listing = std::fs::read_to_string(fleet.path().join("hosts")).unwrap_or_default();
        fleet.hosts = listing
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                Some(FleetHost {
                    name: words.next()?.to_string(),
                    address: words.next()?.to_string(),
                    srv: PathBuf::from(words.next()?),
                })
            })
            .collect();
        Some(fleet)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn host(&self, name: &str) -> &FleetHost {
        self.hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("no host {name}"))
    }

    /// A file below a host's /srv, or "" when it does not exist.
    pub fn read(&self, host: &str, path: &str) -> String {
        std::fs::read_to_string(self.host(host).srv.join(path)).unwrap_or_default()
    }

    /// The `ssh { ... }` block that reaches these hosts from a plan in `plan_dir`.
    pub fn ssh_block(&self) -> String {
        let dir = self.path().display();
        format!(
            "ssh {{\n    user = \"root\"\n    identity = \"{dir}/id_ed25519\"\n    known_hosts = \"{dir}/known_hosts\"\n    connect_timeout = 3s\n    dir = \"/srv\"\n  }}"
        )
    }

    /// The network namespace and the bridge-side veth of `host` (from the
    /// state file `fleet.sh up` keeps), for tests that cut a host off.
    pub fn netns_and_veth(&self, host: &str) -> (String, String) {
        let number = host.rsplit('-').next().unwrap_or_default();
        let state = std::fs::read_to_string(self.path().join("state")).unwrap_or_default();
        let find = |kind: &str, prefix: &str| {
            state
                .lines()
                .filter_map(|line| line.strip_prefix(kind))
                .find(|name| name.starts_with(prefix) && name.ends_with(&format!("-{number}")))
                .unwrap_or_else(|| panic!("no {kind}for {host} in {state}"))
                .to_string()
        };
        (find("netns ", "dfn"), find("link ", "dfv"))
    }

    /// Kills every sshd process of `host` (the listener and the sessions),
    /// as if sshd crashed or the host rebooted its daemon.
    pub fn kill_sshd(&self, host: &str) {
        let (netns, _) = self.netns_and_veth(host);
        let pids = Command::new("ip").args(["netns", "pids", &netns]).output().map(|o| o.stdout).unwrap_or_default();
        for pid in String::from_utf8_lossy(&pids).split_whitespace() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.starts_with("sshd") {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }

    /// Takes `host`'s link down: its packets are dropped from now on.
    pub fn cut_link(&self, host: &str) {
        let (_, veth) = self.netns_and_veth(host);
        let status = Command::new("ip").args(["link", "set", &veth, "down"]).status();
        assert!(status.is_ok_and(|s| s.success()), "ip link set {veth} down");
    }

    /// The inventory file's path.
    pub fn inventory(&self) -> String {
        self.path().join("inventory.ini").display().to_string()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = Command::new("sh").arg(script()).args(["down", &self.dir.path().to_string_lossy()]).status();
    }
}
