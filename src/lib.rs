//! deploy: a language and a runner for software deployments.
//!
//! The data flows one way: [`syntax`] (text → tree) → [`check`] (tree →
//! checked model + diagnostics) → [`graph`] (model → execution graph) →
//! `engine` (walks the graph, runs steps through [`script`] and
//! transports, emitting [`record`] events) and, beside it, [`state`]
//! (history, locks, journal: it keeps those events). `session` starts,
//! resumes and rolls back runs the one way every front end uses; `simulate`
//! runs the same engine over simulated parts. `cli` is a thin front end over
//! that pipeline.
//!
//! # The library API
//!
//! What this crate exports is what the `deploy` binary, the integration
//! tests, the benchmarks and the fuzz targets use:
//!
//! - [`main`]: the `deploy` command line (the binary only calls it).
//! - [`syntax`]: `parse`, `parse_tolerant`, `parse_outline`, `parse_body`,
//!   the syntax tree (`ast`), spans (`span`) and literals (`literal`).
//! - [`check`]: `check_source` (text → checked plan + diagnostics) and the
//!   checked model (`model`).
//! - [`diagnostic`]: `Diagnostic`, `Code`, `ALL_CODES`, the renderers and the
//!   catalogue behind docs/diagnostics.md.
//! - [`graph`]: `ExecutionGraph` and its DOT/Mermaid renderings.
//! - [`record`]: what a run records (`event`, `EventSink`, `failure`),
//!   below both engine and state.
//! - [`engine`]: the script runner (`script_runner`).
//! - [`script`]: the Rhai sandbox (`ScriptVariables`, log sinks).
//! - [`state`]: opening a store (`open`, `StateLocation`, `StateStore`) and
//!   the journal.
//! - [`duration`]: the one parser and formatter of durations (`1h30m`).
//! - [`fmt`]: `format_source`; [`lsp`]: the language server's settings;
//!   [`stdlib`]: the standard modules and their docs.
//!
//! Everything else — the CLI's commands, `session`, `simulate`, `server`,
//! `watch`, `canonical`, `exit_code` — is internal to the crate.

pub(crate) mod canonical;
pub mod check;
pub(crate) mod cli;
pub mod diagnostic;
pub mod duration;
pub mod engine;
pub(crate) mod exit_code;
pub mod fmt;
pub mod graph;
pub(crate) mod inputs;
pub mod lsp;
pub(crate) mod process_group;
pub mod record;
pub(crate) mod remote;
pub mod script;
pub(crate) mod server;
pub(crate) mod session;
pub(crate) mod shell_quote;
pub(crate) mod simulate;
pub mod source;
pub mod state;
pub mod stdlib;
pub mod syntax;
pub(crate) mod watch;

pub use cli::main;
