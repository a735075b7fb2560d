//! For the tests of `deploy watch` and `deploy serve`: git repositories
//! (a bare origin and a clone that pushes), the real binary as a background
//! process (killed on drop), bounded waits and HTTP with ureq.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs git in `dir`, panicking with its stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A bare `origin.git` and a clone `work/` of it, in `root`.
pub struct Repo {
    pub origin: PathBuf,
    pub work: PathBuf,
}

impl Repo {
    pub fn new(root: &Path) -> Repo {
        let origin = root.join("origin.git");
        let work = root.join("work");
        git(root, &["init", "--quiet", "--bare", "--initial-branch=main", "origin.git"]);
        git(root, &["init", "--quiet", "--initial-branch=main", "work"]);
        git(&work, &["remote", "add", "origin", &origin.display().to_string()]);
        Repo { origin, work }
    }

    /// Writes the files, commits them with `subject` and pushes; the new hash.
    pub fn commit(&self, files: &[(&str, &str)], subject: &str) -> String {
        for (name, contents) in files {
            let path = self.work.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
            }
            std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {name}: {e}"));
        }
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "--allow-empty", "-m", subject]);
        git(&self.work, &["push", "--quiet", "origin", "HEAD:main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Removes a file in the next commit (not pushed until [`Repo::commit`]).
    pub fn remove(&self, name: &str) {
        git(&self.work, &["rm", "--quiet", name]);
    }
}

/// The binary in the background, stdout and stderr in files; killed on drop.
pub struct Background {
    child: Option<Child>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Background {
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Background {
        let stdout = dir.join(format!("bg-{}.out", std::process::id()));
        let stderr = dir.join(format!("bg-{}.err", std::process::id()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_deploy"));
        command
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("DEPLOY_STATE")
            .env_remove("DEPLOY_PATH")
            .env_remove("DEPLOY_LEASE_TTL_MS")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap_or_else(|e| panic!("create: {e}")))
            .stderr(std::fs::File::create(&stderr).unwrap_or_else(|e| panic!("create: {e}")));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("spawn deploy: {e}"));
        Background { child: Some(child), stdout, stderr }
    }

    pub fn out(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn err(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn logs(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.out(), self.err())
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|child| child.id() as i32).unwrap_or(0)
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child this guard still owns.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits up to `timeout` for the process to exit; its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let started = Instant::now();
        let child = self.child.as_mut()?;
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The address after `deploy: serving http://` on stderr.
    pub fn address(&self) -> String {
        let mut found = String::new();
        wait_until(Duration::from_secs(20), "the server to listen", || {
            let err = self.err();
            match err.split("serving http://").nth(1).and_then(|rest| rest.split('/').next()) {
                Some(address) => {
                    found = address.to_string();
                    true
                }
                None => false,
            }
        });
        found
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `done` every 25 ms up to `timeout`; panics with `what` if it never holds.
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// An HTTP answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    match result {
        Ok(response) => Answer { status: response.status(), body: response.into_string().unwrap_or_default() },
        Err(ureq::Error::Status(status, response)) => {
            Answer { status, body: response.into_string().unwrap_or_default() }
        }
        Err(error) => panic!("HTTP: {error}"),
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build()
}

pub fn get(url: &str) -> Answer {
    answer(agent().get(url).call())
}

pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut request = agent().request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    answer(request.send_string(body))
}

pub fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    request("POST", url, headers, body)
}

/// The hex HMAC-SHA256 of `body` (GitHub's `X-Hub-Signature-256`).
pub fn github_signature(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("hmac: {e}"));
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// `deploy history --json` of the state at `state`.
pub fn history(dir: &Path, state: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["history", "--json", "--limit", "100", "--state", &state.display().to_string()])
        .current_dir(dir)
        .env_remove("DEPLOY_STATE")
        .output()
        .unwrap_or_else(|e| panic!("deploy history: {e}"));
    serde_json::from_slice(&output.stdout).unwrap_or_default()
}
