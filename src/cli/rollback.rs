//! `deploy rollback FILE [--env E] [--limit PATTERN] [--to VERSION] [--with-gates] [--dry-run]`
//! — returns every selected host to its own previous version, or undoes an
//! unfinished run (see [`crate::session::rollback`] for which and how). Nothing to roll back to is an error (exit 1),
//! never a silent success.

use std::path::PathBuf;

use super::flags::{LockWaitArgs, PlanStateArgs};
use super::report::{self, CliReporter};
use super::ExitCode;
use crate::engine::Approvals;
use crate::session::rollback::RollbackPreview;
use crate::session::{Interrupts, RollbackRequest};

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The plan file (its rollback blocks are run).
    file: PathBuf,
    /// The environment to roll back [default: the one the plan deploys to last].
    #[arg(long = "env", value_name = "ENV")]
    environment: Option<String>,
    /// Only these hosts (Ansible host patterns: `web-1,db-*`, a group,
    /// `web:&prod`, `!web-3`, `@file`); each goes back to its own previous version.
    #[arg(long, value_name = "PATTERN")]
    limit: Vec<String>,
    /// Roll back to this version instead of each host's previous one (on
    /// every host that had it; on every host when none had it).
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
    /// Also evaluate, after the rollback, the gates that verify the undone
    /// stages (their `analysis`/`verify`/`monitor` gates and the check gates
    /// that need them). Without it no gate, pause or analysis runs.
    #[arg(long)]
    with_gates: bool,
    /// Override a param: NAME=VALUE (repeatable) [default: the undone run's params].
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Say what would be undone — per host, from which version to which —
    /// and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Approve every `approve` gate met with --with-gates.
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    state: PlanStateArgs,
    #[command(flatten)]
    lock: LockWaitArgs,
}

pub fn run(args: RollbackArgs) -> ExitCode {
    let json = args.state.json;
    let request = RollbackRequest {
        run_id: crate::engine::context::new_run_id(),
        location: args.state.location(&args.file),
        file: args.file,
        environment: args.environment,
        to: args.to,
        with_gates: args.with_gates,
        sets: args.sets,
        approvals: Approvals {
            all: args.yes,
            approver: crate::session::approver_name(None),
            interactive: std::io::IsTerminal::is_terminal(&std::io::stdin()),
            ..Approvals::default()
        },
        lock: args.lock.wait(),
        views: vec![report::view(args.state.json)],
        interrupts: Interrupts::Signals,
    };
    let limit = crate::check::selection::Selection::from_args(&[], &args.limit).limit;
    if args.dry_run {
        return match crate::session::rollback::prepare_limited(request, &limit, &CliReporter) {
            Ok(prepared) if json => super::output::print_json(&prepared.preview()),
            Ok(prepared) => {
                print!("{}", render_preview(&prepared.preview()));
                ExitCode::Success
            }
            Err(error) => report::error_as(error, json),
        };
    }
    match crate::session::rollback::rollback_limited(request, &limit, &CliReporter) {
        Ok(end) => report::exit_of(end, json),
        Err(error) => report::error_as(error, json),
    }
}

/// What `--dry-run` prints: per host where it goes, then the units in the order they would be undone.
fn render_preview(preview: &RollbackPreview) -> String {
    let version = |version: &str| if version.is_empty() { "(nothing)".to_string() } else { version.to_string() };
    let mut out = if preview.hosts.is_empty() {
        format!(
            "would roll back run {} of `{}` (version {}) to {}\n",
            preview.undoes,
            preview.pipeline,
            preview.from_version,
            version(&preview.to_version)
        )
    } else {
        let mut text = format!("would roll back {} host(s) of `{}`:\n", preview.hosts.len(), preview.pipeline);
        for host in &preview.hosts {
            text.push_str(&format!(
                "  {} {}: {} → {} (undoing run {})\n",
                host.environment,
                host.host,
                version(&host.from),
                version(&host.to),
                host.run
            ));
        }
        text
    };
    out.push_str("units, undone last to first:\n");
    for unit in &preview.units {
        out.push_str(&format!("  {unit}\n"));
    }
    if preview.with_gates {
        out.push_str("then the gates that verify them (--with-gates)\n");
    }
    out
}
