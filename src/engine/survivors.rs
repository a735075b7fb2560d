//! Step processes that outlived their runner. Every local shell a step
//! starts is journaled (`process_started`, `process_ended`); after a
//! `kill -9` of the runner, the groups started and never ended that still
//! have live members are its survivors. `deploy status` lists them and
//! `deploy resume` ends them before it runs anything, so a step never runs
//! twice at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::context::RunContext;
use super::process_watch::{ProcessNotice, ProcessWatch};
use crate::record::event::{Event, EventData};
use crate::record::process_identity::{machine_id, process_start};

/// How often a group being ended is looked at.
const POLL: Duration = Duration::from_millis(20);

/// How long a SIGKILLed group may take to disappear.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// The watch of one `run` step: each shell it starts and ends becomes an event.
pub fn step_watch(ctx: &Arc<RunContext>, node: &str, host: Option<&str>, step: usize, rollback: bool) -> ProcessWatch {
    let bus = ctx.log.bus.clone();
    let node = node.to_string();
    let host = host.map(str::to_string);
    let machine = machine_id();
    ProcessWatch::new(move |notice| match notice {
        ProcessNotice::Started { pid } => bus.emit(EventData::ProcessStarted {
            node: node.clone(),
            host: host.clone(),
            step,
            pid,
            pgid: pid,
            pid_start: process_start(i64::from(pid)).unwrap_or_default(),
            machine: machine.clone(),
            rollback,
            remote: false,
            watcher: None,
        }),
        ProcessNotice::Ended { pid } => {
            bus.emit(EventData::ProcessEnded { node: node.clone(), host: host.clone(), pid })
        }
        ProcessNotice::RemoteStarted { pgid, watcher } => bus.emit(EventData::ProcessStarted {
            node: node.clone(),
            host: host.clone(),
            step,
            pid: pgid,
            pgid,
            pid_start: String::new(),
            machine: format!("ssh:{}", host.as_deref().unwrap_or("local")),
            rollback,
            remote: true,
            watcher,
        }),
        ProcessNotice::RemoteEnded { pgid } => {
            bus.emit(EventData::ProcessEnded { node: node.clone(), host: host.clone(), pid: pgid })
        }
    })
}

/// A process group a run started and never saw end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Survivor {
    pub node: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub step: usize,
    pub pid: u32,
    pub pgid: u32,
    pub pid_start: String,
    pub machine: String,
    /// When it started (the event's time).
    pub started: String,
    pub rollback: bool,
    /// It runs on the SSH host `host`: ended over SSH, not looked at from here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub remote: bool,
    #[serde(skip)]
    pub watcher: Option<u32>,
    /// Live processes of the group on this machine; `None` when it runs on
    /// another machine, where it cannot be looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<u32>>,
}

/// The groups of `events` that started and did not end, and that still run
/// (on this machine) or cannot be checked (on another machine).
pub fn survivors(events: &[Event]) -> Vec<Survivor> {
    let mut open: Vec<Survivor> = Vec::new();
    for event in events {
        match &event.data {
            EventData::ProcessStarted {
                node,
                host,
                step,
                pid,
                pgid,
                pid_start,
                machine,
                rollback,
                remote,
                watcher,
            } => {
                open.retain(|survivor| survivor.pid != *pid || survivor.machine != *machine);
                open.push(Survivor {
                    node: node.clone(),
                    host: host.clone(),
                    step: *step,
                    pid: *pid,
                    pgid: *pgid,
                    pid_start: pid_start.clone(),
                    machine: machine.clone(),
                    started: event.time.clone(),
                    rollback: *rollback,
                    remote: *remote,
                    watcher: *watcher,
                    members: None,
                });
            }
            // Hosts in network namespaces of one machine share its pids: a
            // group is named by its host and pid.
            EventData::ProcessEnded { pid, host, .. } => {
                open.retain(|survivor| survivor.pid != *pid || survivor.host != *host)
            }
            EventData::ProcessReaped { pgid, host, .. } => {
                open.retain(|survivor| survivor.pgid != *pgid || survivor.host != *host)
            }
            _ => {}
        }
    }
    let here = machine_id();
    open.into_iter()
        .filter_map(|mut survivor| {
            if survivor.machine != here {
                return Some(survivor);
            }
            let members = live_members(&survivor)?;
            survivor.members = Some(members);
            Some(survivor)
        })
        .collect()
}

/// The live processes of the survivor's group, or `None` when none is left
/// (or its pid now leads a group of some other process).
fn live_members(survivor: &Survivor) -> Option<Vec<u32>> {
    if let Some(start) = process_start(i64::from(survivor.pid)) {
        if !survivor.pid_start.is_empty() && !start.is_empty() && start != survivor.pid_start {
            return None;
        }
    }
    let members = group_members(survivor.pgid);
    (!members.is_empty()).then_some(members)
}

/// Processes in group `pgid` that have not exited (zombies do not count).
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // After the command name in parentheses: state, ppid, pgrp, ...
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let live = fields.first().is_some_and(|state| *state != "Z" && *state != "X");
        if live && fields.get(2).and_then(|group| group.parse::<u32>().ok()) == Some(pgid) {
            members.push(pid);
        }
    }
    members
}

/// How [`end_group`] ended a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupEnding {
    /// Gone within the grace period after SIGTERM.
    Terminated,
    /// Still there after the grace period: SIGKILLed.
    Killed,
    /// Still there even after SIGKILL (another user's process, a stuck disk).
    Stuck,
}

impl GroupEnding {
    pub fn word(self) -> &'static str {
        match self {
            GroupEnding::Terminated => "terminated",
            GroupEnding::Killed => "killed",
            GroupEnding::Stuck => "still running",
        }
    }
}

/// SIGTERM to the group, up to `grace` for it to end, then SIGKILL.
pub fn end_group(pgid: u32, grace: Duration) -> GroupEnding {
    let Ok(group) = i32::try_from(pgid) else { return GroupEnding::Stuck };
    if group <= 1 {
        return GroupEnding::Stuck;
    }
    signal_group(group, libc::SIGTERM);
    if wait_gone(pgid, grace) {
        return GroupEnding::Terminated;
    }
    signal_group(group, libc::SIGKILL);
    if wait_gone(pgid, AFTER_KILL) {
        GroupEnding::Killed
    } else {
        GroupEnding::Stuck
    }
}

fn signal_group(group: i32, signal: i32) {
    crate::process_group::signal(i64::from(group), signal);
}

fn wait_gone(pgid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if group_members(pgid).is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn a_group_that_ignores_sigterm_is_killed() {
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' TERM; sleep 30 & wait")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!group_members(pgid).is_empty());
        assert_eq!(end_group(pgid, Duration::from_millis(200)), GroupEnding::Killed);
        let _ = child.wait();
        assert!(group_members(pgid).is_empty());
    }

    #[test]
    fn a_group_that_obeys_sigterm_is_terminated() {
        let mut child = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let pgid = child.id();
        let reaper = std::thread::spawn(move || child.wait());
        assert_eq!(end_group(pgid, Duration::from_secs(2)), GroupEnding::Terminated);
        let _ = reaper.join();
    }
}
