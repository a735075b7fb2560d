//! The two transitions that start work on a recorded run, each one atomic
//! compare-and-set so that of many requests at once (in one process or on
//! many machines) exactly one wins: a paused or crashed run becoming
//! `running` again ([`resume_deployment`]), and a rollback of a run
//! starting ([`start_rollback`]). The loser learns which run won.

use std::time::Duration;

use super::error::StateResult;
use super::lease::{liveness, Liveness};
use super::records::{Deployment, Holder};
use super::sql::{transaction, SqlConnection, SqlValue};

/// Who got to start the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    Won,
    /// Someone else did first: the run that is going on (or went on) now.
    Lost {
        winner: String,
    },
}

/// `seen` (read before the caller took its lease) becomes `running` under
/// `holder`, unless it changed since: another resume (which counts one more
/// part) or a rollback (which sets `undone_by`) came first.
pub fn resume_deployment(
    connection: &mut dyn SqlConnection,
    seen: &Deployment,
    holder: &Holder,
    now: i64,
) -> StateResult<Claim> {
    transaction(connection, |connection| {
        let changed = connection.execute(
            "UPDATE deployments SET status = 'running', machine = $1, pid = $2, pid_start = $3, \
             heartbeat_at = $4, ended_at = NULL, exit_code = NULL, parts = parts + 1 \
             WHERE run_id = $5 AND parts = $6 AND undone_by IS NULL \
             AND (status IN ('paused', 'crashed', 'aborted', 'interrupted') \
             OR (status = 'running' AND machine = $7 AND pid = $8 AND pid_start = $9))",
            &[
                (&holder.machine).into(),
                holder.pid.into(),
                (&holder.pid_start).into(),
                now.into(),
                (&seen.run_id).into(),
                seen.parts.into(),
                (&seen.machine).into(),
                seen.pid.into(),
                (&seen.pid_start).into(),
            ],
        )?;
        if changed == 1 {
            return Ok(Claim::Won);
        }
        // Undone since: the rollback is the winner; else another resume of the run.
        let rows = connection.query("SELECT undone_by FROM deployments WHERE run_id = $1", &[(&seen.run_id).into()])?;
        let undone_by = rows.first().map(|row| row.opt_text(0)).transpose()?.flatten();
        Ok(Claim::Lost { winner: undone_by.unwrap_or_else(|| seen.run_id.clone()) })
    })
}

/// Inserts the row of a rollback (`insert`, `values`) of the run it undoes,
/// unless that run was undone since or another live rollback of it is
/// going on. `me` judges whether the other rollback's process lives.
pub fn start_rollback(
    connection: &mut dyn SqlConnection,
    rollback: &Deployment,
    insert: &str,
    values: &[SqlValue],
    me: &Holder,
    ttl: Duration,
) -> StateResult<Claim> {
    let Some(undone) = rollback.undoes.clone() else {
        return transaction(connection, |connection| connection.execute(insert, values).map(|_| Claim::Won));
    };
    transaction(connection, |connection| {
        // Two rollbacks of one run queue here (PostgreSQL); SQLite's write
        // transaction is exclusive already.
        connection.lock_key(&format!("deploy-undo:{undone}"))?;
        let rows = connection.query("SELECT undone_by FROM deployments WHERE run_id = $1", &[(&undone).into()])?;
        if let Some(winner) = rows.first().map(|row| row.opt_text(0)).transpose()?.flatten() {
            return Ok(Claim::Lost { winner });
        }
        let others = connection.query(
            "SELECT run_id, machine, pid, pid_start, heartbeat_at FROM deployments \
             WHERE undoes = $1 AND kind = 'rollback' AND status = 'running' AND run_id <> $2 \
             ORDER BY started_at",
            &[(&undone).into(), (&rollback.run_id).into()],
        )?;
        for row in &others {
            let alive = liveness(&row.text(1)?, row.int(2)?, &row.text(3)?, row.int(4)?, me, rollback.started_at, ttl);
            if alive == Liveness::Alive {
                return Ok(Claim::Lost { winner: row.text(0)? });
            }
        }
        connection.execute(insert, values)?;
        Ok(Claim::Won)
    })
}
