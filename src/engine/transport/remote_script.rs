//! What runs on a remote host. The command line that `ps` shows there is
//! fixed and holds nothing of the step: the step (its environment, its
//! working directory and its command, secrets included) is sent on stdin,
//! up to an end marker. The remote shell is the session leader sshd made,
//! so its process id is its process group: the first stderr line reports
//! it, and a second command over the same connection kills the group.
//!
//! stdin then stays open for as long as the step runs: it is the step's
//! lifeline. When it reaches its end before the step did — the connection
//! dropped, sshd ended the session, `deploy` was killed — a watcher in the
//! group stops the whole group (SIGTERM, the grace period, SIGKILL), so a
//! lost connection leaves nothing running on the host.

use crate::shell_quote::shell_quote;

/// The first stderr line of every remote step: `deploy-pgid PID`.
pub const PGID_MARKER: &str = "deploy-pgid ";

/// The second stderr line, once the step was read: `deploy-watcher PID`,
/// the watcher of stdin. It ignores SIGTERM (it must outlive the TERM it
/// sends), so [`kill_command`] ends it itself: else the group would look
/// alive, and be waited on, for the whole grace after the step ended.
pub const WATCHER_MARKER: &str = "deploy-watcher ";

/// The remote command line: report the group, read the step from stdin up
/// to the line `end`, start the watcher on the rest of stdin (through fd 3:
/// a background job's own stdin would be /dev/null), run the step with
/// stdin from /dev/null. `grace_ms`: SIGTERM → SIGKILL when stdin ends.
pub fn step_command(end: &str, grace_ms: u64) -> String {
    let grace = grace_ms.div_ceil(1000).max(1);
    format!(
        "exec sh -c 'p=$$; if [ -r /proc/$$/stat ]; then read -r l </proc/$$/stat; set -- ${{l##*\") \"}}; p=$3; fi; \
         echo \"deploy-pgid $p\" >&2; s=; e=; \
         while IFS= read -r l; do if [ \"$l\" = {end} ]; then e=1; break; fi; s=\"$s$l\n\"; done; \
         [ -n \"$e\" ] || exit 125; exec 3<&0; \
         (trap \"\" TERM; while read -r _; do :; done; kill -s TERM -- -$p; sleep {grace}; kill -s KILL -- -$p) \
         <&3 >/dev/null 2>&1 & w=$!; exec 3<&-; echo \"deploy-watcher $w\" >&2; \
         trap \"kill -s KILL $w 2>/dev/null\" EXIT; eval \"$s\" </dev/null'"
    )
}

/// A marker line that is no line of `script`.
pub fn end_marker(script: &str) -> String {
    let mut end = String::from("deploy-end-of-step");
    while script.lines().any(|line| line == end) {
        end.push('.');
    }
    end
}

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

/// Stops the group `pgid`: SIGTERM, up to `grace_ms` for it to end, then
/// SIGKILL. The step's `watcher` (when its marker came) is ended first —
/// once the SIGTERM ends the step, the end of its stdin would start the
/// watcher's own TERM, grace, KILL, whose `sleep` ignores SIGTERM as the
/// watcher does — and a process that ended but was not reaped yet (a zombie,
/// until its parent or init collects it) does not count, so a group whose
/// processes all ended on SIGTERM is done at once, not after the whole
/// grace. Without `/proc` every signalable member counts (`kill -0`).
pub fn kill_command(pgid: u32, watcher: Option<u32>, grace_ms: u64) -> String {
    let ticks = grace_ms.div_ceil(100).max(1);
    let watcher =
        watcher.filter(|pid| *pid > 1).map(|pid| format!("kill -s KILL {pid} 2>/dev/null; ")).unwrap_or_default();
    format!(
        "p={pgid}; \
         live() {{ [ -r /proc/self/stat ] || {{ kill -s 0 -- -$p 2>/dev/null; return; }}; \
         for f in /proc/[0-9]*/stat; do read -r l 2>/dev/null <\"$f\" || continue; \
         set -- ${{l##*\") \"}}; [ \"$3\" = \"$p\" ] && [ \"$1\" != Z ] && return 0; done; return 1; }}; \
         {watcher}kill -s TERM -- -$p 2>/dev/null; i=0; \
         while live && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done; \
         kill -s KILL -- -$p 2>/dev/null; exit 0"
    )
}

/// [`kill_command`] for a group a killed runner left (its lifeline may
/// have started its own TERM already): prints `gone` when nothing of the
/// group is left, else `terminated` (it ended within the grace) or `killed`.
pub fn end_left_command(pgid: u32, watcher: Option<u32>, grace_ms: u64) -> String {
    let ticks = grace_ms.div_ceil(100).max(1);
    let watcher =
        watcher.filter(|pid| *pid > 1).map(|pid| format!("kill -s KILL {pid} 2>/dev/null; ")).unwrap_or_default();
    format!(
        "p={pgid}; \
         live() {{ [ -r /proc/self/stat ] || {{ kill -s 0 -- -$p 2>/dev/null; return; }}; \
         for f in /proc/[0-9]*/stat; do read -r l 2>/dev/null <\"$f\" || continue; \
         set -- ${{l##*\") \"}}; [ \"$3\" = \"$p\" ] && [ \"$1\" != Z ] && return 0; done; return 1; }}; \
         live || {{ echo gone; exit 0; }}; \
         {watcher}kill -s TERM -- -$p 2>/dev/null; i=0; \
         while live && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done; \
         if live; then kill -s KILL -- -$p 2>/dev/null; echo killed; else echo terminated; fi"
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

    /// Runs the step command the way sshd would, the step and its end
    /// marker on stdin; stdin stays open until `hold` returns.
    fn remote(env: &[(String, String)], command: &str, hold: impl FnOnce(u32)) -> std::process::Output {
        use std::io::Write;
        use std::os::unix::process::CommandExt;
        let script = step_script(env, Some("/"), command);
        let end = end_marker(&script);
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(step_command(&end, 200))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{script}{end}\n").as_bytes()).unwrap();
        hold(child.id());
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    #[test]
    fn the_step_runs_from_stdin_with_its_environment() {
        let env = vec![("DEPLOY_HOST".to_string(), "web 1".to_string()), ("bad name".to_string(), "x".to_string())];
        let output = remote(&env, "echo \"$DEPLOY_HOST in $(pwd)\"; exit 3", |pid| {
            // The step ends by itself while stdin is still open.
            let started = std::time::Instant::now();
            while crate::engine::process::tests::running(pid as i32) && started.elapsed().as_secs() < 10 {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "web 1 in /\n");
        assert!(String::from_utf8_lossy(&output.stderr).starts_with(PGID_MARKER));
        assert!(!step_command("deploy-end-of-step", 1000).contains("DEPLOY"));
    }

    #[test]
    fn the_end_of_stdin_stops_the_whole_step() {
        let started = std::time::Instant::now();
        let output = remote(&[], "(trap '' TERM; sleep 4391) & echo $!; sleep 4392", |_| {
            std::thread::sleep(std::time::Duration::from_millis(300));
        });
        assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
        assert_ne!(output.status.code(), Some(0));
        let child: i32 = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!crate::engine::process::tests::running(child), "the TERM-ignoring child {child} survived");
    }

    #[test]
    fn a_group_that_ends_on_sigterm_is_not_waited_on_for_the_grace() {
        let mut took = None;
        let mut group = 0;
        let output = remote(&[], "sleep 4394", |pid| {
            group = pid;
            // The watcher: the group's other shell (the step is `sleep`).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let watcher = loop {
                let members = crate::engine::survivors::group_members(pid);
                let shell = members.into_iter().find(|member| {
                    *member != pid
                        && std::fs::read_to_string(format!("/proc/{member}/comm"))
                            .is_ok_and(|comm| comm.trim() != "sleep")
                });
                if let Some(shell) = shell {
                    break shell;
                }
                assert!(std::time::Instant::now() < deadline, "no watcher in group {pid}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            };
            let started = std::time::Instant::now();
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(kill_command(pid, Some(watcher), 5000))
                .status()
                .unwrap();
            took = Some(started.elapsed());
            assert!(status.success());
        });
        let took = took.unwrap();
        // The group's shell stays a zombie until `remote` reaps it: not waited on.
        assert!(took < std::time::Duration::from_secs(2), "the kill waited {took:?} of a 5 s grace");
        assert_ne!(output.status.code(), Some(0));
        assert_eq!(crate::engine::survivors::group_members(group), Vec::<u32>::new(), "the step survived");
    }

    #[test]
    fn a_cut_script_is_not_run() {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(step_command("deploy-end-of-step", 200))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"echo half\n").unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(125));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    }

    #[test]
    fn the_end_marker_is_no_line_of_the_script() {
        assert_eq!(end_marker("a\nb\n"), "deploy-end-of-step");
        assert_eq!(end_marker("x\ndeploy-end-of-step\ndeploy-end-of-step.\n"), "deploy-end-of-step..");
    }
}
