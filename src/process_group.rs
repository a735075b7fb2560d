//! Signalling a process group: the one place deploy sends a signal to the
//! processes it started (steps, survivors of a crashed run, secret commands).
//! A leaf every layer may use.

/// Sends `signal` to process group `pgid` (0 only asks whether it exists);
/// true when it was delivered. Groups 0 and 1 — this process's own group
/// and init's — are never signalled, whatever a caller computed.
pub fn signal(pgid: i64, signal: i32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return false };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg only sends a signal; a group that is gone yields ESRCH.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_signals_its_own_group_or_init() {
        assert!(!super::signal(0, 0));
        assert!(!super::signal(1, 0));
        assert!(!super::signal(-5, 0));
        assert!(!super::signal(i64::MAX, 0));
    }
}
