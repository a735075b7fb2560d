//! Before a crashed run goes on (`deploy resume`) or is undone (`deploy
//! rollback`): the step processes its killed runner left running are ended
//! — SIGTERM to each process group, the kill grace period, then SIGKILL —
//! and each ending is journaled (`process_reaped`). Only then does anything
//! run, so a step never runs twice at once. Groups recorded on another
//! machine cannot be ended from here: a warning names them.

use std::time::Duration;

use super::error::{SessionError, SessionResult};
use super::reporter::Reporter;
use crate::engine::survivors::{end_group, GroupEnding, Survivor};
use crate::record::event::{Event, EventData, SCHEMA_VERSION};
use crate::state::StateStore;

/// Ends the step processes of the crashed runs whose leases `guard` took
/// over (a new `deploy run` after a `kill -9`), so an old step cannot go on
/// changing hosts under the new run.
pub fn end_survivors_of_taken_over(
    guard: &mut super::lease::LeaseGuard,
    grace: Duration,
    reporter: &dyn Reporter,
) -> SessionResult<()> {
    for run_id in guard.taken_over().to_vec() {
        let (events, _) = crate::state::journal::read_events(&guard.store().journal(&run_id)?);
        let survivors = crate::engine::survivors::survivors(&events);
        end_survivors(guard.store(), &run_id, &survivors, grace, reporter)?;
    }
    Ok(())
}

/// Ends every survivor on this machine and journals each ending.
pub fn end_survivors(
    store: &mut dyn StateStore,
    run_id: &str,
    survivors: &[Survivor],
    grace: Duration,
    reporter: &dyn Reporter,
) -> SessionResult<()> {
    let mut entries = Vec::new();
    let mut seq = store.next_seq(run_id)?;
    for survivor in survivors {
        let place = survivor.host.as_deref().map(|host| format!(" on {host}")).unwrap_or_default();
        let what = format!("process group {} of {} step {}{place}", survivor.pgid, survivor.node, survivor.step);
        if survivor.members.is_none() {
            reporter.notice(&format!(
                "warning: {what} was started on machine {} and cannot be checked from here; \
                 make sure it ended before this run goes on",
                survivor.machine
            ));
            continue;
        }
        let ending = end_group(survivor.pgid, grace);
        if ending == GroupEnding::Stuck {
            return Err(SessionError::refused(format!(
                "{what}, left running by the crashed runner, does not end even after SIGKILL; nothing was run"
            )));
        }
        reporter.notice(&format!("{what} was left running by the crashed runner: {} it", ending.word()));
        let event = Event {
            schema: SCHEMA_VERSION,
            seq,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            simulated: false,
            data: EventData::ProcessReaped {
                node: survivor.node.clone(),
                host: survivor.host.clone(),
                step: survivor.step,
                pgid: survivor.pgid,
                how: ending.word().to_string(),
            },
        };
        entries.push(crate::state::journal::journal_entry(&event, seq));
        seq += 1;
    }
    store.append_journal(run_id, &entries, &[])?;
    Ok(())
}
