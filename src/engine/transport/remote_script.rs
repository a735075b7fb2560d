//! What runs on a remote host. The command line that `ps` shows there is
//! fixed and holds nothing of the step: the step (its environment, its
//! working directory and its command, secrets included) is sent on stdin.
//! The remote shell is the session leader sshd made, so its process id is
//! its process group: the first stderr line reports it, and a second
//! command over the same connection kills the group.

use crate::engine::interpolate::shell_quote;

/// The first stderr line of every remote step: `deploy-pgid PID`.
pub const PGID_MARKER: &str = "deploy-pgid ";

/// The remote command line: report the group, read the step from stdin,
/// run it. stdin is at end of input when the step runs.
pub const STEP_COMMAND: &str = "exec sh -c 'echo \"deploy-pgid $$\" >&2; s=$(cat); eval \"$s\"'";

/// The step as sent on stdin: exports, `cd`, then the command.
pub fn step_script(env: &[(String, String)], dir: Option<&str>, command: &str) -> String {
    let mut script = String::with_capacity(command.len() + 64 * env.len());
    for (key, value) in env {
        if is_name(key) {
            script.push_str(&format!("export {key}={}\n", shell_quote(value)));
        }
    }
    if let Some(dir) = dir {
        script.push_str(&format!("cd {} || exit 126\n", shell_quote(dir)));
    }
    script.push_str(command);
    script.push('\n');
    script
}

/// Stops the group `pgid`: SIGTERM, up to `grace_ms` for it to end, then SIGKILL.
pub fn kill_command(pgid: u32, grace_ms: u64) -> String {
    let ticks = grace_ms.div_ceil(100).max(1);
    format!(
        "p={pgid}; kill -s TERM -- -$p 2>/dev/null; i=0; \
         while kill -s 0 -- -$p 2>/dev/null && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done; \
         kill -s KILL -- -$p 2>/dev/null; exit 0"
    )
}

/// Unpacks the tar stream on stdin beside `target` (relative to `dir`) and
/// renames it into place; a directory in the way is moved aside first.
pub fn upload_command(dir: Option<&str>, target: &str) -> String {
    let cd = dir.map(|dir| format!("cd {} || exit 126; ", shell_quote(dir))).unwrap_or_default();
    format!(
        "{cd}set -e; t={target}; d=$(dirname \"$t\"); b=$(basename \"$t\"); mkdir -p \"$d\"; \
         s=\"$d/.$b.deploy-upload-$$\"; rm -rf \"$s\" \"$s.old\"; mkdir \"$s\"; \
         trap 'rm -rf \"$s\" \"$s.old\"' EXIT; tar -xpf - -C \"$s\" --no-same-owner; \
         if [ -d \"$t\" ] && [ ! -L \"$t\" ]; then mv \"$t\" \"$s.old\"; fi; \
         mv -f \"$s/{payload}\" \"$t\"",
        target = shell_quote(target),
        payload = super::tar_stream::PAYLOAD,
    )
}

fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    #[test]
    fn the_step_runs_from_stdin_with_its_environment() {
        let env = vec![("DEPLOY_HOST".to_string(), "web 1".to_string()), ("bad name".to_string(), "x".to_string())];
        let script = step_script(&env, Some("/"), "echo \"$DEPLOY_HOST in $(pwd)\"; exit 3");
        let output = sh(STEP_COMMAND, &script);
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "web 1 in /\n");
        assert!(String::from_utf8_lossy(&output.stderr).starts_with(PGID_MARKER));
        assert!(!STEP_COMMAND.contains("DEPLOY"));
    }
}
