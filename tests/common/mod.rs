//! A small builder for driving the real `deploy` binary, in the style of
//! just's `Test`: write files into a temporary directory, run a command
//! there, look at what it printed and how it exited.

#![allow(dead_code)]

pub mod backend;
pub mod background;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    current_dir: Option<PathBuf>,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Output {
    /// Every `--json` event line, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_deploy")
}

impl Test {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        Test { dir, args: Vec::new(), env: Vec::new(), current_dir: None }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file below the test directory.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// Writes `release.deploy`.
    pub fn plan(self, contents: &str) -> Self {
        self.file("release.deploy", contents)
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs in `dir` instead of the test directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The command, ready to spawn (for tests that kill it or run it concurrently).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .current_dir(self.current_dir.as_deref().unwrap_or(self.dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("DEPLOY_PATH")
            .env_remove("DEPLOY_STATE")
            .env_remove("DEPLOY_MACHINE_ID")
            .env_remove("DEPLOY_LEASE_TTL_MS")
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.run_with(&args)
    }

    /// Runs with these arguments instead of the builder's.
    pub fn run_with(&self, args: &[&str]) -> Output {
        let mut command = Command::new(binary());
        command
            .args(args)
            .current_dir(self.current_dir.as_deref().unwrap_or(self.dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("DEPLOY_PATH")
            .env_remove("DEPLOY_STATE")
            .env_remove("DEPLOY_MACHINE_ID")
            .env_remove("DEPLOY_LEASE_TTL_MS")
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let output = command.output().unwrap_or_else(|e| panic!("run deploy: {e}"));
        Output {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code().unwrap_or(-1),
        }
    }
}

/// The repository root (for fixtures and examples).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
pub mod lsp_client;
