//! Leases: who runs what now. A lease names its holder (user@host, the
//! machine, pid and the pid's start time, the run) and a heartbeat. A
//! holder is presumed alive unless it is provably dead: on this machine
//! its process is gone (or the pid now belongs to another process); on
//! another machine its heartbeat is older than the TTL.

use std::time::Duration;

use super::records::Holder;

/// A holder on another machine is presumed dead after this long without a heartbeat.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The lease TTL: `DEPLOY_LEASE_TTL_MS`, else [`DEFAULT_TTL`].
pub fn ttl() -> Duration {
    std::env::var("DEPLOY_LEASE_TTL_MS")
        .ok()
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_TTL, Duration::from_millis)
}

/// How often the runner refreshes its leases: a fifth of the TTL.
pub fn heartbeat_interval(ttl: Duration) -> Duration {
    (ttl / 5).max(Duration::from_millis(20))
}

/// Whether a holder is provably gone, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Dead(String),
}

/// Judges the holder `(machine, pid, pid_start, heartbeat_at)` from `me`'s point of view.
pub fn liveness(
    machine: &str,
    pid: i64,
    pid_start: &str,
    heartbeat_at: i64,
    me: &Holder,
    now: i64,
    ttl: Duration,
) -> Liveness {
    if machine == me.machine {
        if pid == me.pid && pid_start == me.pid_start {
            return Liveness::Alive;
        }
        return match process_start(pid) {
            None => Liveness::Dead(format!("its process {pid} on this machine is gone")),
            Some(start) if !pid_start.is_empty() && start != pid_start => {
                Liveness::Dead(format!("its process {pid} on this machine is gone (the pid was reused)"))
            }
            Some(_) => Liveness::Alive,
        };
    }
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let silent = now.saturating_sub(heartbeat_at);
    if silent > ttl_ms {
        let seconds = |ms: i64| ms as f64 / 1000.0;
        Liveness::Dead(format!("no heartbeat for {:.1}s (TTL {:.1}s)", seconds(silent), seconds(ttl_ms)))
    } else {
        Liveness::Alive
    }
}

impl Holder {
    /// This process, running `run_id`.
    pub fn current(run_id: &str) -> Holder {
        let pid = i64::from(std::process::id());
        Holder {
            run_id: run_id.to_string(),
            owner: format!("{}@{}", user_name(), host_name()),
            machine: machine_id(),
            pid,
            pid_start: process_start(pid).unwrap_or_default(),
        }
    }
}

/// `DEPLOY_USER`, `USER`, `LOGNAME`, else `unknown`.
pub fn user_name() -> String {
    ["DEPLOY_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

pub use crate::record::process_identity::{host_name, machine_id, process_start};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_bogus_one_is_not() {
        let me = Holder::current("r1");
        assert!(process_start(me.pid).is_some());
        assert_eq!(liveness(&me.machine, me.pid, &me.pid_start, 0, &me, 0, DEFAULT_TTL), Liveness::Alive);
        assert!(matches!(liveness(&me.machine, 999_999_999, "1", 0, &me, 0, DEFAULT_TTL), Liveness::Dead(_)));
    }

    #[test]
    fn another_machine_is_judged_by_its_heartbeat() {
        let me = Holder::current("r1");
        let ttl = Duration::from_secs(30);
        assert_eq!(liveness("elsewhere", 1, "", 1_000, &me, 20_000, ttl), Liveness::Alive);
        assert!(matches!(liveness("elsewhere", 1, "", 1_000, &me, 40_000, ttl), Liveness::Dead(_)));
    }
}
