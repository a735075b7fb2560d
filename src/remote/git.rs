//! The system `git`, as Go and Terraform use it: the user's credentials,
//! SSH configuration and agent, credential helpers and proxies all apply,
//! and nothing of git is reimplemented. Git never prompts (a missing
//! credential is an error) and every call is bounded in time.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one git call may take (a fetch of a large repository included).
const GIT_TIMEOUT: Duration = Duration::from_secs(300);

fn git() -> Command {
    let mut command = Command::new("git");
    command.env("GIT_TERMINAL_PROMPT", "0").env("GIT_ASKPASS", "true").env("LC_ALL", "C");
    command
}

/// How a bounded command ended, when it did not finish.
#[derive(Debug)]
pub enum Unfinished {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It could not be waited for.
    Wait(std::io::Error),
    /// It ran past the deadline and was killed.
    TimedOut,
}

/// Runs `command` (its stdout and stderr piped) until it exits or `deadline`
/// passes (then it is killed). Both pipes are read while it runs, so a
/// command that says much never blocks on a full pipe. Its status, stdout and
/// (at most 64 KiB of) stderr.
pub fn bounded(
    mut command: Command,
    deadline: Duration,
) -> Result<(std::process::ExitStatus, String, String), Unfinished> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(Unfinished::Spawn)?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_end(&mut text);
        }
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.take(64 * 1024).read_to_end(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Unfinished::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) => return Err(Unfinished::Wait(error)),
        }
    };
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    Ok((status, stdout, stderr))
}

/// Runs git with `args` (in `dir` when given); its stdout, or its whole stderr as the error.
pub fn run(dir: Option<&Path>, args: &[&str]) -> Result<String, String> {
    let mut command = git();
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let (status, stdout, stderr) = match bounded(command, GIT_TIMEOUT) {
        Ok(ended) => ended,
        Err(Unfinished::Spawn(error)) => return Err(format!("cannot run git: {error}")),
        Err(Unfinished::Wait(error)) => return Err(format!("cannot wait for git: {error}")),
        Err(Unfinished::TimedOut) => {
            return Err(format!("git {} did not finish within {}s", args.join(" "), GIT_TIMEOUT.as_secs()))
        }
    };
    let stderr = stderr.trim().to_string();
    if status.success() {
        Ok(stdout)
    } else {
        let what = if stderr.is_empty() { format!("git exited with {status}") } else { stderr };
        Err(what)
    }
}

/// The tags and branches of the repository at `url`: `(name, commit)`,
/// tags as `refs/tags/NAME` (an annotated tag by the commit it points to).
pub fn remote_refs(url: &str) -> Result<Vec<(String, String)>, String> {
    let listing = run(None, &["ls-remote", "--tags", "--heads", "--", url])
        .map_err(|error| format!("cannot list the refs of {url}: {error}"))?;
    let mut refs: Vec<(String, String)> = Vec::new();
    for line in listing.lines() {
        let Some((commit, name)) = line.split_once('\t') else { continue };
        if let Some(tag) = name.strip_suffix("^{}") {
            // The peeled commit of an annotated tag replaces the tag object.
            match refs.iter_mut().find(|(existing, _)| existing == tag) {
                Some(entry) => entry.1 = commit.to_string(),
                None => refs.push((tag.to_string(), commit.to_string())),
            }
        } else if !refs.iter().any(|(existing, _)| existing == name) {
            refs.push((name.to_string(), commit.to_string()));
        }
    }
    Ok(refs)
}

/// Whether `text` is a full commit id.
pub fn is_commit(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A commit as messages show it: its first 12 digits.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// Makes sure the bare repository `mirror` holds `commit` of `url`,
/// fetching its branches and tags (and the commit itself) when it does not.
pub fn fetch_commit(mirror: &Path, url: &str, commit: &str) -> Result<(), String> {
    let has = |mirror: &Path| run(Some(mirror), &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_ok();
    if mirror.join("HEAD").is_file() && has(mirror) {
        return Ok(());
    }
    fetch_all(mirror, url)?;
    if has(mirror) {
        return Ok(());
    }
    // A commit no branch or tag reaches any more: ask for it by id.
    let _ = run(Some(mirror), &["fetch", "--quiet", "--", url, commit]);
    if has(mirror) {
        Ok(())
    } else {
        Err(format!("{url} has no commit {commit}"))
    }
}

/// Fetches every branch and tag of `url` into the bare repository `mirror`
/// (created when missing).
pub fn fetch_all(mirror: &Path, url: &str) -> Result<(), String> {
    if !mirror.join("HEAD").is_file() {
        std::fs::create_dir_all(mirror).map_err(|error| format!("cannot create {}: {error}", mirror.display()))?;
        run(Some(mirror), &["init", "--quiet", "--bare"])?;
    }
    run(Some(mirror), &["fetch", "--quiet", "--force", "--tags", "--", url, "+refs/heads/*:refs/heads/*"])
        .map(|_| ())
        .map_err(|error| format!("cannot fetch {url}: {error}"))
}

/// Writes the tree of `commit` (from the bare repository `mirror`) into `dir`.
pub fn extract(mirror: &Path, commit: &str, dir: &Path) -> Result<(), String> {
    let mut archive = git()
        .current_dir(mirror)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .args(["archive", "--format=tar", commit])
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run git archive: {error}"))?;
    let Some(tar_input) = archive.stdout.take() else {
        return Err("git archive gave no output".into());
    };
    let unpacked = Command::new("tar")
        .args(["-x", "--no-same-owner", "--no-same-permissions", "-C"])
        .arg(dir)
        .stdin(tar_input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|error| format!("cannot run tar: {error}"))?;
    let archived = archive.wait().map_err(|error| format!("cannot wait for git archive: {error}"))?;
    if !archived.success() {
        return Err(format!("git archive {commit} failed ({archived})"));
    }
    if !unpacked.status.success() {
        return Err(format!("cannot unpack {commit}: {}", String::from_utf8_lossy(&unpacked.stderr).trim()));
    }
    Ok(())
}
