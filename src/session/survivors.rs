//! Before a crashed run goes on (`deploy resume`) or is undone (`deploy
//! rollback`): the step processes its killed runner left running are ended
//! — SIGTERM to each process group, the kill grace period, then SIGKILL —
//! and each ending is journaled (`process_reaped`). Only then does anything
//! run, so a step never runs twice at once. Groups recorded on another
//! machine cannot be ended from here: a warning names them.

use std::time::Duration;

use super::error::{SessionError, SessionResult};
use super::reporter::Reporter;
use crate::check::model::Plan;
use crate::engine::survivors::{end_group, GroupEnding, Survivor};
use crate::record::event::{Event, EventData, SCHEMA_VERSION};
use crate::state::StateStore;

/// Ends a group on an SSH host of `plan` over a connection of its own:
/// `terminated`, `killed` or `gone`.
fn end_remote(plan: &Plan, survivor: &Survivor, grace: Duration) -> Result<String, String> {
    use crate::check::model::TransportKind;
    use crate::engine::transport::{SshHost, SshTransport};
    let host = survivor.host.as_deref().unwrap_or_default();
    let environment = plan
        .environments
        .iter()
        .filter(|environment| environment.transport == TransportKind::Ssh)
        .find(|environment| environment.hosts.iter().chain(&environment.limited_out).any(|name| name == host))
        .ok_or_else(|| format!("{host} is no SSH host of this plan"))?;
    let target = SshHost {
        name: host.to_string(),
        destination: environment.destination(host),
        settings: environment.ssh.clone(),
    };
    let transport = SshTransport::new(vec![target], 1, grace);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("no runtime: {error}"))?;
    runtime.block_on(async {
        let ended = transport.end_left_group(host, survivor.pgid, survivor.watcher).await;
        crate::engine::transport::Transport::close(&transport).await;
        ended.map_err(|error| error.to_string())
    })
}

/// Ends the step processes of the crashed runs whose leases `guard` took
/// over (a new `deploy run` after a `kill -9`), so an old step cannot go on
/// changing hosts under the new run.
pub fn end_survivors_of_taken_over(
    guard: &mut super::lease::LeaseGuard,
    plan: &Plan,
    grace: Duration,
    reporter: &dyn Reporter,
) -> SessionResult<()> {
    for run_id in guard.taken_over().to_vec() {
        let (events, _) = crate::state::journal::read_events(&guard.store().journal(&run_id)?);
        let survivors = crate::engine::survivors::survivors(&events);
        end_survivors(guard.store(), &run_id, &survivors, plan, grace, reporter)?;
    }
    Ok(())
}

/// Ends every survivor on this machine, and every one on an SSH host of
/// `plan` over SSH, and journals each ending.
pub fn end_survivors(
    store: &mut dyn StateStore,
    run_id: &str,
    survivors: &[Survivor],
    plan: &Plan,
    grace: Duration,
    reporter: &dyn Reporter,
) -> SessionResult<()> {
    let mut entries = Vec::new();
    let mut seq = store.next_seq(run_id)?;
    for survivor in survivors {
        let place = survivor.host.as_deref().map(|host| format!(" on {host}")).unwrap_or_default();
        let what = format!("process group {} of {} step {}{place}", survivor.pgid, survivor.node, survivor.step);
        let how = if survivor.remote {
            match end_remote(plan, survivor, grace) {
                Ok(how) => how,
                // Not reachable (or no longer in the plan): it cannot be
                // changed from here either, and its lifeline ends it once
                // its SSH connection is gone. Said, not fatal: a host that
                // is gone for good must not block every later run.
                Err(why) => {
                    reporter.notice(&format!(
                        "warning: {what}, started by the crashed runner, could not be ended: {why}; its lifeline \
                         ends it within the kill grace once its SSH connection is gone — make sure it ended \
                         (kill -TERM -- -{}) before this run changes that host",
                        survivor.pgid
                    ));
                    continue;
                }
            }
        } else if survivor.members.is_none() {
            reporter.notice(&format!(
                "warning: {what} was started on machine {} and cannot be checked from here; \
                 make sure it ended before this run goes on",
                survivor.machine
            ));
            continue;
        } else {
            let ending = end_group(survivor.pgid, grace);
            if ending == GroupEnding::Stuck {
                return Err(SessionError::refused(format!(
                    "{what}, left running by the crashed runner, does not end even after SIGKILL; nothing was run"
                )));
            }
            ending.word().to_string()
        };
        if how == "gone" {
            reporter.notice(&format!("{what}, started by the crashed runner, had ended already"));
        } else {
            reporter.notice(&format!("{what} was left running by the crashed runner: {how} it"));
        }
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
                how,
            },
        };
        entries.push(crate::state::journal::journal_entry(&event, seq));
        seq += 1;
    }
    store.append_journal(run_id, &entries, &[])?;
    Ok(())
}
