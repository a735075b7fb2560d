//! `watch { branch = "main"  every = 1m  repo = "..." }` in the pipeline
//! block: how `deploy watch FILE` follows the repository when no flag says
//! otherwise (flags override each entry).

use super::lowering::{check_duplicate_entries, unknown_entry};
use super::model::{Type, Value, WatchTrigger};
use super::values::Typer;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{Entry, NamedBlock};

pub const WATCH_KEYS: &[&str] = &["branch", "every", "repo"];

/// The shortest poll interval a plan may ask for.
const MIN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads the block; what is wrong is reported and left at its default.
pub fn lower_watch(typer: &mut Typer, block: &NamedBlock) -> WatchTrigger {
    let file = typer.file;
    check_duplicate_entries(file, &block.body.entries, typer.diagnostics);
    let mut trigger = WatchTrigger::default();
    for entry in &block.body.entries {
        let Entry::Attribute(attribute) = entry else {
            typer.diagnostics.push(unknown_entry(file, entry, "`watch`", WATCH_KEYS));
            continue;
        };
        match attribute.name.name.as_str() {
            "branch" | "repo" => {
                let Some(Value::String(text)) = typer.constant(&attribute.value, &Type::String) else { continue };
                if text.trim().is_empty() || text.starts_with('-') {
                    typer.diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("`{}` must name a branch or repository", attribute.name.name),
                        )
                        .at(file, attribute.value.span, "not a name"),
                    );
                } else if attribute.name.name == "branch" {
                    trigger.branch = Some(text);
                } else {
                    trigger.repo = Some(text);
                }
            }
            "every" => {
                let Some(Value::Duration(every)) = typer.constant(&attribute.value, &Type::Duration) else { continue };
                if every < MIN_EVERY {
                    typer.diagnostics.push(
                        Diagnostic::new(Code::InvalidValue, "`every` must be at least 1s")
                            .at(file, attribute.value.span, "too short")
                            .with_help("webhooks (`deploy watch --webhook-secret-file`) make polling a fallback"),
                    );
                } else {
                    trigger.every = Some(every);
                }
            }
            _ => typer.diagnostics.push(unknown_entry(file, entry, "`watch`", WATCH_KEYS)),
        }
    }
    trigger
}
