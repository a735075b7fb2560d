//! The flags every state command shares, flattened into each: where the
//! state is (`--plan`, `--state`), `--json`, and for the commands that take
//! a lease `--lock-timeout` / `--lock-message`.

use std::path::PathBuf;
use std::time::Duration;

use crate::session::LockWait;
use crate::state::StateLocation;

#[derive(Debug, Clone, clap::Args)]
pub struct StateArgs {
    /// Only consider runs of this plan (also locates the state beside it).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// The state store: a SQLite file or a postgres:// URL [default: the
    /// nearest .deploy/state.db].
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    pub state: Option<String>,
    /// Print JSON (docs/events.md, docs/state.md).
    #[arg(long)]
    pub json: bool,
}

impl StateArgs {
    /// `--state`, else beside `--plan`, else the nearest `.deploy/state.db`.
    pub fn location(&self) -> StateLocation {
        StateLocation::discover(self.state.as_deref(), self.plan.as_deref())
    }
}

/// `--state` and `--json` of the commands that name their plan as FILE.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanStateArgs {
    /// The state store: a SQLite file or a postgres:// URL [default: .deploy/state.db beside the plan].
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    pub state: Option<String>,
    /// Print newline-delimited JSON events (docs/events.md) instead of the terminal view.
    #[arg(long)]
    pub json: bool,
}

impl PlanStateArgs {
    pub fn location(&self, plan: &std::path::Path) -> StateLocation {
        StateLocation::for_plan(self.state.as_deref(), plan)
    }
}

/// `--yes`, `--approve`, `--as`, `--max-parallel`: who answers approvals and
/// how much runs at once, shared by `run`, `resume` and `simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApprovalArgs {
    /// Approve every `approve` gate (and protected environment).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Approve the gate (or protected stage) NAME (repeatable).
    #[arg(long = "approve", value_name = "NAME")]
    pub approve: Vec<String>,
    /// Who approves (recorded; must be in a gate's `by` list when it has one).
    #[arg(long = "as", value_name = "NAME", env = "DEPLOY_USER")]
    pub approver: Option<String>,
    /// How many commands (a stage on one host) run at once [default: the
    /// pipeline's `max_parallel`, else 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_parallel: Option<u32>,
}

impl ApprovalArgs {
    /// The answers these flags give; `interactive`: ask on the terminal
    /// when neither `--yes` nor `--approve` answers.
    pub fn approvals(&self, interactive: bool) -> crate::engine::Approvals {
        crate::engine::Approvals {
            all: self.yes,
            gates: self.approve.clone(),
            approver: crate::session::approver_name(self.approver.clone()),
            interactive,
            recorded: Vec::new(),
        }
    }

    /// `--max-parallel`, else the plan's `max_parallel`, else the default.
    pub fn max_parallel(&self, plan: &crate::check::model::Plan) -> usize {
        self.max_parallel
            .map(|n| n as usize)
            .or(plan.pipeline.max_parallel)
            .unwrap_or(crate::engine::DEFAULT_MAX_PARALLEL)
            .max(1)
    }
}

/// `--lock-timeout`, `--lock-message`: shared by the commands that run.
#[derive(Debug, Clone, clap::Args)]
pub struct LockWaitArgs {
    /// Wait up to D (e.g. 30s, 5m) for a lease someone else holds, instead of failing at once.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Why this run holds the lock (shown to anyone who finds it locked).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub lock_message: String,
}

impl LockWaitArgs {
    pub fn wait(&self) -> LockWait {
        LockWait { timeout: self.lock_timeout.unwrap_or_default(), message: self.lock_message.clone() }
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    Some(text.trim())
        .filter(|text| !text.is_empty())
        .and_then(crate::duration::parse_duration)
        .ok_or_else(|| format!("`{text}` is not a duration: write it as in a plan (500ms, 30s, 5m, 1h30m, 2d)"))
}

/// `--env ENV` and `--limit PATTERN`, the flags of `run`, `plan` and
/// `simulate`: parsed here, applied by the one library implementation
/// (`check::selection`), which marks what is left out as skipped and names
/// an unknown environment or host in the same words for every command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectionArgs {
    /// Run only the stages that target ENV (repeatable), with the untargeted
    /// stages and gates around them; the others are skipped.
    #[arg(long = "env", value_name = "ENV")]
    pub environments: Vec<String>,
    /// Run only on these hosts: Ansible host patterns, comma-separated
    /// (`web-1,db-*`, a group, `web[0:2]`, `web:&prod`, `!web-3`, `@file`).
    #[arg(long = "limit", value_name = "PATTERN")]
    pub limit: Vec<String>,
}

impl SelectionArgs {
    pub fn selection(&self) -> crate::check::selection::Selection {
        crate::check::selection::Selection::from_args(&self.environments, &self.limit)
    }
}
