//! `deploy watch`: continuous deployment of a git branch. The watcher
//! fetches the branch with the system `git` ([`git`]), deploys each new
//! commit's plan from a worktree through [`crate::session`] ([`deploy`]),
//! coalesces commits that arrive during a run, never retries a bad commit,
//! holds the queue while a run is paused ([`hold`]), and resumes a crashed
//! run when it starts. A webhook ([`crate::server::hooks`]) or a signal
//! wakes it through [`control::WatchControl`].

pub mod config;
pub mod control;
pub mod deploy;
pub mod git;
pub mod hold;
pub mod service;
pub mod watcher;

pub use config::{WatchConfig, WatchFlags};
pub use control::WatchControl;
pub use service::{serve_and_watch, Server, WatchEnd};
pub use watcher::Watcher;
