//! #27: a run whose state writes fail (the disk of its SQLite store is full)
//! stops before it changes the next host, says why, and exits non-zero: it
//! cannot record what it would do. The store lives on a small tmpfs this
//! test mounts (as root; skipped, saying why, otherwise) and unmounts even
//! when it fails; a step on the second host fills it. A host's start is
//! written before anything is done on it (write-ahead), so every changed
//! host is in the journal.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Test;

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            if std::env::var_os("CI").is_some() {
                panic!("the full-disk test needs root under CI (it mounts a tmpfs)");
            }
            eprintln!("skipped: the full-disk test needs root (it mounts a tmpfs)");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "deploy-full-disk-test"])
            .arg(dir)
            .status()
            .unwrap_or_else(|e| panic!("mount: {e}"));
        assert!(status.success(), "mount -t tmpfs failed");
        Some(Tmpfs { dir: dir.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

const PLAN: &str = r#"
pipeline "shop" {}
param version: string = "v1"
environment production { hosts = ["h1", "h2", "h3", "h4"] }
stage ship {
  target = production
  strategy rolling { batch = 1 }
  run "if [ ${host} = h2 ] && [ ! -e filled ]; then touch filled; dd if=/dev/zero of=\"$FILL\" bs=64k 2>/dev/null; seq 1 20000; fi; echo ${version} > on-${host}"
  rollback { run "echo ${previous_version} > on-${host}" }
}
"#;

#[test]
fn a_run_that_cannot_write_its_state_stops_before_the_next_host() {
    let test = Test::new().plan(PLAN);
    let mount = test.path().join("state");
    let Some(_tmpfs) = Tmpfs::mount(&mount, "4m") else { return };
    let state = mount.join("state.db");
    let fill = mount.join("fill");
    let test = test.env("DEPLOY_STATE", &state.to_string_lossy()).env("FILL", &fill.to_string_lossy());
    let ran = test.run_with(&["run", "release.deploy"]);
    let on = |host: &str| std::fs::read_to_string(test.path().join(format!("on-{host}"))).unwrap_or_default();
    // The step's 20,000 lines (what overflows the journal) are left out.
    let all: String = format!("{}{}", ran.stdout, ran.stderr)
        .lines()
        .filter(|line| !line.starts_with("[ship h2] "))
        .map(|line| format!("{line}\n"))
        .collect();
    println!("exit {}\n{all}", ran.code);
    assert_ne!(ran.code, 0, "the run went on without its state: {all}");
    assert!(matches!(ran.code, 1 | 3), "{all}");
    assert!(all.contains("the state cannot be written"), "{all}");
    assert_eq!(on("h1"), "v1\n", "{all}");
    assert_eq!(on("h2"), "v1\n", "the host in flight finishes: {all}");
    // Where the disk runs out depends on what SQLite still finds room for:
    // the first write that fails is h3's start (h3 is not touched) or a
    // later event of h3 (h3 ran: its start was written first). Either way
    // no host after it is changed.
    let stop = ["h3", "h4"].into_iter().find(|host| all.contains(&format!("stopped before {host}")));
    let Some(stop) = stop else { panic!("no \"stopped before h3/h4\": {all}") };
    assert_eq!(on("h4"), "", "h4 was changed after the state could not be written: {all}");
    if stop == "h3" {
        assert_eq!(on("h3"), "", "h3 was changed after the state could not be written: {all}");
    }
    let changed: Vec<&str> = ["h1", "h2", "h3", "h4"].into_iter().filter(|host| !on(host).is_empty()).collect();
    // With room again, the state is readable and the run can be resumed.
    std::fs::remove_file(&fill).unwrap_or_else(|e| panic!("rm fill: {e}"));
    // Write-ahead: every host that was changed has its start in the journal
    // (read with room again: a reader of a full disk may not see the WAL).
    let logs = test.run_with(&["logs", "--json"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    let started: Vec<String> = logs
        .events()
        .iter()
        .filter(|event| event["type"] == "node_started" && event["node"] == "ship")
        .filter_map(|event| event["host"].as_str().map(str::to_string))
        .collect();
    for host in ["h1", "h2", "h3", "h4"] {
        if changed.contains(&host) {
            assert!(
                started.iter().any(|known| known == host),
                "{host} was changed, its start not journaled: {started:?}"
            );
        }
    }
    let resumed = test.run_with(&["resume"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    for host in ["h1", "h2", "h3", "h4"] {
        assert_eq!(on(host), "v1\n", "{host} after the resume");
    }
}
