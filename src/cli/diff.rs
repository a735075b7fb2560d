//! `deploy diff OLD.deploy NEW.deploy`: what changed between two plan files,
//! in the language's terms (the same changes `deploy plan` shows against
//! what is deployed), for code review.

use std::path::PathBuf;

use super::output::print_diagnostics;
use super::plan::PlanFormat;
use super::ExitCode;
use crate::canonical::diff::{describe, diff};
use crate::canonical::{canonical, CanonicalPlan};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The plan before.
    old: PathBuf,
    /// The plan after.
    new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: PlanFormat,
}

/// Checks a plan file; its canonical form, or `None` (diagnostics printed).
fn load(path: &std::path::Path) -> Option<CanonicalPlan> {
    let checked = crate::check::check_file(path);
    let failed = checked.diagnostics.has_errors();
    if failed {
        print_diagnostics(&checked.diagnostics.into_sorted(), &checked.sources);
        return None;
    }
    checked.plan.as_ref().map(canonical)
}

pub fn run(args: DiffArgs) -> ExitCode {
    let (Some(old), Some(new)) = (load(&args.old), load(&args.new)) else {
        return ExitCode::Usage;
    };
    let changes = diff(&old, &new);
    match args.format {
        PlanFormat::Json => {
            let document = serde_json::json!({
                "old": args.old.display().to_string(),
                "new": args.new.display().to_string(),
                "changes": changes,
            });
            super::output::print_text(&format!("{}\n", serde_json::to_string_pretty(&document).unwrap_or_default()));
        }
        PlanFormat::Human if changes.is_empty() => super::output::print_text("no changes\n"),
        PlanFormat::Human => {
            let lines: String = changes.iter().map(|change| format!("{}\n", describe(change))).collect();
            super::output::print_text(&lines);
        }
    }
    ExitCode::Success
}
