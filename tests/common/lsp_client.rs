//! A small JSON-RPC client that drives `deploy lsp` over stdio, for the
//! language server's integration test and benchmark. Every frame the server
//! writes must be a protocol message: anything else on stdout fails the read.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct LspClient {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Result<Value, String>>,
    /// Notifications and requests from the server not yet looked at.
    pub backlog: Vec<Value>,
    next_id: i64,
}

/// Long enough for a slow CI machine; only there so that a broken server fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(30);

impl LspClient {
    pub fn start(binary: &str, current_dir: &std::path::Path) -> LspClient {
        LspClient::start_with_env(binary, current_dir, &[])
    }

    /// Like [`LspClient::start`], with these environment variables set.
    pub fn start_with_env(binary: &str, current_dir: &std::path::Path, env: &[(&str, &str)]) -> LspClient {
        let mut child = Command::new(binary)
            .arg("lsp")
            .current_dir(current_dir)
            .env_remove("DEPLOY_PATH")
            // The server's cache (read-only copies of the stdlib) stays in the test's directory.
            .env("XDG_CACHE_HOME", current_dir.join(".cache"))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn deploy lsp: {e}"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let message = read_frame(&mut reader);
                let stop = message.is_err();
                if sender.send(message).is_err() || stop {
                    return;
                }
            }
        });
        LspClient { child, stdin, messages, backlog: Vec::new(), next_id: 1 }
    }

    pub fn send(&mut self, message: &Value) {
        self.send_raw(&message.to_string());
    }

    pub fn send_raw(&mut self, body: &str) {
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.stdin.write_all(frame.as_bytes()).unwrap_or_else(|e| panic!("write to server: {e}"));
        self.stdin.flush().unwrap_or_else(|e| panic!("flush: {e}"));
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and waits for its response (the whole response object).
    pub fn request_full(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait_for(|message| message.get("id") == Some(&json!(id)) && message.get("method").is_none())
    }

    /// Sends a request and returns its result (panics on an error response).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_full(method, params);
        if let Some(error) = response.get("error") {
            panic!("{method} failed: {error}");
        }
        response.get("result").cloned().unwrap_or(Value::Null)
    }

    fn next_message(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(Ok(message)) => message,
            Ok(Err(problem)) => panic!("bad output from the server: {problem}"),
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server within {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// The first message (backlog first) for which `wanted` holds.
    pub fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(index);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let message = self.next_message(deadline);
            if wanted(&message) {
                return message;
            }
            self.backlog.push(message);
        }
    }

    /// The next publishDiagnostics for `uri` for which `wanted` holds.
    pub fn diagnostics_for(&mut self, uri: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(|m| {
            m.get("method") == Some(&json!("textDocument/publishDiagnostics"))
                && m["params"]["uri"] == json!(uri)
                && wanted(&m["params"])
        })["params"]
            .clone()
    }

    /// Opens `text` as version 1 of `uri` and returns the diagnostics the
    /// server publishes for that version.
    pub fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "deploy", "version": 1, "text": text } }),
        );
        self.diagnostics_for(uri, |p| p["version"] == json!(1))
    }

    pub fn initialize(&mut self, root: &str) -> Value {
        let result = self.request("initialize", json!({ "processId": null, "rootUri": root, "capabilities": {} }));
        self.notify("initialized", json!({}));
        result
    }

    pub fn shutdown(mut self) -> Option<i32> {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }
}

fn read_frame(reader: &mut impl BufRead) -> Result<Value, String> {
    let mut length = None;
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("end of output".into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                length = Some(value.trim().parse::<usize>().map_err(|e| e.to_string())?)
            }
            Some((name, _)) if name.eq_ignore_ascii_case("content-type") => {}
            _ => return Err(format!("not a protocol header: {line:?}")),
        }
    }
    let length = length.ok_or("a frame without Content-Length")?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))
}

/// The LSP position of the `nth` (0-based) `needle` in `text` (ASCII text:
/// a character is a byte).
pub fn position_of(text: &str, needle: &str, nth: usize) -> Value {
    let offset = text.match_indices(needle).nth(nth).map(|(i, _)| i).unwrap_or_else(|| panic!("no {needle}"));
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let character = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": character })
}

pub fn file_uri(path: &std::path::Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", path.display())
}
