//! Reading `file(...)` and `command(...)` secrets when a run starts. The
//! value is returned, never printed: a failing command is reported with its
//! exit status and the last line of its stderr, not its stdout.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A file's text with one trailing newline (`\n` or `\r\n`) trimmed, and
/// whether others than its owner may read it.
pub fn read_secret_file(base_dir: &Path, written: &str) -> Result<(String, Option<String>), String> {
    let path = base_dir.join(written);
    let mut text = crate::check::loader::read_to_string_limited(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok((text, readable_by_others(&path)))
}

/// A warning when the file's mode lets its group or everyone read it.
fn readable_by_others(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then(|| {
        format!(
            "secret file {} can be read by others (mode {mode:03o}); restrict it with `chmod 600 {}`",
            path.display(),
            path.display()
        )
    })
}

/// The stdout of `sh -c COMMAND` in `base_dir`, one trailing newline trimmed.
/// Fails when the command cannot start, exits non-zero or outlives `timeout`
/// (its process group is then killed).
pub fn run_secret_command(base_dir: &Path, command: &str, timeout: Duration) -> Result<String, String> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(base_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|error| format!("cannot start `sh`: {error}"))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.wait();
                return Err(format!("the command did not finish within {}", crate::duration::format_duration(timeout)));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => return Err(format!("waiting for the command failed: {error}")),
        }
    };
    let out = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let last = String::from_utf8_lossy(&err).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        let code = status.code().map_or_else(|| "was killed by a signal".to_string(), |c| format!("exited with {c}"));
        let said = if last.is_empty() { String::new() } else { format!(" (stderr: {last})") };
        return Err(format!("the command {code}{said}"));
    }
    let mut text = String::from_utf8(out).map_err(|_| "the command printed something that is not UTF-8".to_string())?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The command leads its own group (spawned with `process_group(0)`).
fn kill_group(pid: u32) {
    crate::process_group::signal(i64::from(pid), libc::SIGKILL);
}
