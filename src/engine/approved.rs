//! The approvals already decided when a step's script runs: `approved`, a
//! map from each gate whose approval `--yes`, `--approve` or `deploy
//! approve` answered to its approver. std/notify's approval notice uses it
//! to say "approved by …" instead of "waiting".

use rhai::{Dynamic, Map};

use super::context::RunContext;

/// `#{ gate: approver }` for every gate whose approval is decided and whose
/// approver may approve it.
pub fn decided(ctx: &RunContext) -> Dynamic {
    let approvals = &ctx.run.options.approvals;
    let mut map = Map::new();
    for node in &ctx.plan().nodes {
        let Some(approval) = node.gate.as_ref().and_then(|gate| gate.approve.as_ref()) else { continue };
        if !approvals.approves(&node.name) {
            continue;
        }
        let approver = approvals.approver_for(&node.name, &approval.by);
        if approval.by.is_empty() || approval.by.iter().any(|name| name == approver) {
            map.insert(node.name.as_str().into(), Dynamic::from(approver.to_string()));
        }
    }
    Dynamic::from_map(map)
}
