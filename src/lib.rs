//! deploy: a language and a runner for software deployments.
//!
//! The data flows one way: [`syntax`] (text → tree) → [`check`] (tree →
//! checked model + diagnostics) → [`graph`] (model → execution graph) →
//! [`engine`] (walks the graph, runs steps through [`script`] and
//! transports) → [`state`] (history, locks, journal). [`session`] starts, resumes and
//! rolls back runs the one way every front end uses; [`simulate`] runs the
//! same engine over simulated parts. [`cli`] is a thin front
//! end over that pipeline.

pub mod canonical;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod engine;
pub mod exit_code;
pub mod fmt;
pub mod graph;
pub mod lsp;
pub mod script;
pub mod server;
pub mod session;
pub mod simulate;
pub mod source;
pub mod state;
pub mod stdlib;
pub mod syntax;
pub mod watch;
