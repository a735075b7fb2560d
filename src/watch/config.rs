//! What a watcher follows: the repository, the branch, how often it polls,
//! where the plan is inside the repository, and where its own files and
//! the state are. Flags win over the plan's `watch { ... }` block, which
//! wins over the defaults (branch `main`, every 1m).

use crate::session::error::{SessionError, SessionResult};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::check::model::WatchTrigger;
use crate::state::StateLocation;

pub const DEFAULT_BRANCH: &str = "main";
pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// What `git fetch` fetches from: a path or a URL.
    pub repo: String,
    pub branch: String,
    pub every: Duration,
    /// The plan's path inside the repository.
    pub plan_in_repo: PathBuf,
    /// `.deploy/watch/`: the cache repository and the worktrees.
    pub work_dir: PathBuf,
    pub state: StateLocation,
    /// `--set NAME=VALUE` for every run.
    pub sets: Vec<String>,
}

/// What the command line gave.
#[derive(Clone, Debug, Default)]
pub struct WatchFlags {
    pub file: PathBuf,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub every: Option<Duration>,
    pub state: Option<String>,
    pub sets: Vec<String>,
}

/// A path that exists is made absolute (the cache repository lives elsewhere).
fn absolute_remote(repo: &str) -> String {
    let path = Path::new(repo);
    if path.exists() {
        if let Ok(absolute) = std::fs::canonicalize(path) {
            return absolute.display().to_string();
        }
    }
    repo.to_string()
}

impl WatchConfig {
    /// `trigger`: the plan's `watch` block, when FILE could be read here.
    pub fn resolve(flags: WatchFlags, trigger: Option<&WatchTrigger>) -> SessionResult<WatchConfig> {
        let trigger = trigger.cloned().unwrap_or_default();
        let repo_flag = flags.repo.clone().or(trigger.repo.clone());
        let (repo, plan_in_repo, base) = match repo_flag {
            Some(repo) => {
                if flags.file.is_absolute() {
                    return Err(SessionError::usage(format!(
                        "with --repo, FILE is the plan's path inside the repository, not {}",
                        flags.file.display()
                    )));
                }
                (absolute_remote(&repo), flags.file.clone(), PathBuf::from("."))
            }
            None => {
                let top = super::git::toplevel(&flags.file)?;
                let file = std::fs::canonicalize(&flags.file)
                    .map_err(|error| SessionError::usage(format!("cannot read {}: {error}", flags.file.display())))?;
                let inside = file
                    .strip_prefix(&top)
                    .map_err(|_| SessionError::usage(format!("{} is not inside {}", file.display(), top.display())))?
                    .to_path_buf();
                let base = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
                (top.display().to_string(), inside, base)
            }
        };
        let state = match flags.state.as_deref().filter(|text| !text.trim().is_empty()) {
            Some(text) => StateLocation::parse(text),
            None => StateLocation::Sqlite(base.join(".deploy").join("state.db")),
        };
        let branch = flags.branch.or(trigger.branch).unwrap_or_else(|| DEFAULT_BRANCH.to_string());
        if branch.trim().is_empty() || branch.starts_with('-') || branch.contains("..") {
            return Err(SessionError::usage(format!("`{branch}` is not a branch name")));
        }
        Ok(WatchConfig {
            repo,
            branch,
            every: flags.every.or(trigger.every).unwrap_or(DEFAULT_EVERY).max(Duration::from_millis(100)),
            plan_in_repo,
            work_dir: base.join(".deploy").join("watch"),
            state,
            sets: flags.sets,
        })
    }
}
