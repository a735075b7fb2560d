//! The system `git`, as the watcher uses it: a bare cache repository of its
//! own under `.deploy/watch/`, fetched from the watched repository (a path
//! or a URL), and one detached worktree per deployed commit. Every call has
//! a deadline and never prompts for credentials.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::remote::git::Unfinished;

use crate::session::SessionError;

/// What git could not do, as a [`SessionError`] with the code `git`.
pub type GitResult<T> = Result<T, SessionError>;

fn git_failure(message: String) -> SessionError {
    SessionError::runtime(message).with_code("git")
}

/// How long one git command may take (a fetch over a slow network included).
const DEADLINE: Duration = Duration::from_secs(120);

/// A commit as the deployment records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub hash: String,
    /// `Name <email>`.
    pub author: String,
    pub subject: String,
    /// Seconds since the epoch.
    pub time: i64,
}

pub struct Git {
    /// The bare cache repository.
    git_dir: PathBuf,
}

/// Runs git with `args`; its stdout, or an error with its stderr.
fn run_git(git_dir: Option<&Path>, args: &[&str]) -> GitResult<String> {
    let mut command = Command::new("git");
    if let Some(dir) = git_dir {
        command.arg("--git-dir").arg(dir);
    }
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    let (status, stdout, stderr) = match crate::remote::git::bounded(command, DEADLINE) {
        Ok(ended) => ended,
        Err(Unfinished::Spawn(error)) => return Err(git_failure(format!("cannot run git: {error}"))),
        Err(Unfinished::Wait(error)) => return Err(git_failure(format!("git {}: {error}", args.join(" ")))),
        Err(Unfinished::TimedOut) => {
            return Err(git_failure(format!("git {} took longer than {}s", args.join(" "), DEADLINE.as_secs())))
        }
    };
    if status.success() {
        Ok(stdout.trim_end().to_string())
    } else {
        let message = stderr.lines().rfind(|line| !line.trim().is_empty()).unwrap_or("failed").trim();
        Err(git_failure(format!("git {}: {message}", args.first().copied().unwrap_or(""))))
    }
}

/// The top of the work tree that holds `path`.
pub fn toplevel(path: &Path) -> GitResult<PathBuf> {
    let dir = if path.is_dir() { path.to_path_buf() } else { path.parent().unwrap_or(Path::new(".")).to_path_buf() };
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let text = run_git(None, &["-C", &dir.display().to_string(), "rev-parse", "--show-toplevel"]).map_err(|_| {
        git_failure(format!("{} is not in a git repository (name one with --repo PATH|URL)", path.display()))
    })?;
    Ok(PathBuf::from(text))
}

impl Git {
    /// Opens (or creates) the cache at `git_dir` with `remote` as `origin`.
    pub fn open(git_dir: &Path, remote: &str) -> GitResult<Git> {
        if !git_dir.join("HEAD").is_file() {
            std::fs::create_dir_all(git_dir)
                .map_err(|error| git_failure(format!("cannot create {}: {error}", git_dir.display())))?;
            run_git(None, &["init", "--quiet", "--bare", &git_dir.display().to_string()])?;
        }
        let git = Git { git_dir: git_dir.to_path_buf() };
        if git.git(&["remote", "get-url", "origin"]).is_ok() {
            git.git(&["remote", "set-url", "origin", remote])?;
        } else {
            git.git(&["remote", "add", "origin", remote])?;
        }
        Ok(git)
    }

    fn git(&self, args: &[&str]) -> GitResult<String> {
        run_git(Some(&self.git_dir), args)
    }

    fn tracking_ref(branch: &str) -> String {
        format!("refs/watch/{branch}")
    }

    /// Fetches `branch` (force: a rewritten history replaces the old one).
    pub fn fetch(&self, branch: &str) -> GitResult<()> {
        let refspec = format!("+refs/heads/{branch}:{}", Git::tracking_ref(branch));
        self.git(&["fetch", "--quiet", "--no-tags", "origin", &refspec]).map(|_| ())
    }

    /// The fetched head of `branch`, if it was ever fetched.
    pub fn head(&self, branch: &str) -> Option<String> {
        self.git(&["rev-parse", "--verify", "--quiet", &format!("{}^{{commit}}", Git::tracking_ref(branch))]).ok()
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        self.git(&["merge-base", "--is-ancestor", ancestor, descendant]).is_ok()
    }

    /// The commits on the first-parent line of `head` after `since`
    /// (all of them, at most `limit`, without `since`), newest first.
    pub fn first_parents(&self, head: &str, since: Option<&str>, limit: usize) -> GitResult<Vec<String>> {
        let count = format!("--max-count={limit}");
        let range = match since {
            Some(since) => format!("{since}..{head}"),
            None => head.to_string(),
        };
        let text = self.git(&["rev-list", "--first-parent", &count, &range])?;
        Ok(text.lines().map(str::to_string).collect())
    }

    pub fn info(&self, hash: &str) -> GitResult<CommitInfo> {
        let text = self.git(&["log", "-1", "--format=%H%x00%an <%ae>%x00%s%x00%ct", hash])?;
        let mut parts = text.split('\0');
        let (Some(full), Some(author), Some(subject), Some(time)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(git_failure(format!("git log of {hash}: unexpected output")));
        };
        Ok(CommitInfo {
            hash: full.to_string(),
            author: author.to_string(),
            subject: subject.to_string(),
            time: time.trim().parse().unwrap_or(0),
        })
    }

    /// Checks `hash` out, detached, at `path` (replacing what was there).
    pub fn add_worktree(&self, path: &Path, hash: &str) -> GitResult<()> {
        if path.exists() {
            self.remove_worktree(path);
        }
        let _ = self.git(&["worktree", "prune"]);
        self.git(&["worktree", "add", "--quiet", "--detach", "--force", &path.display().to_string(), hash]).map(|_| ())
    }

    pub fn remove_worktree(&self, path: &Path) {
        if self.git(&["worktree", "remove", "--force", &path.display().to_string()]).is_err() {
            let _ = std::fs::remove_dir_all(path);
            let _ = self.git(&["worktree", "prune"]);
        }
    }
}
