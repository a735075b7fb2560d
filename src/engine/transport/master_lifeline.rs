//! Nothing of a run outlives `deploy`, even `kill -9`: the ControlMaster
//! of each host (`ssh -M -f`, which detaches itself and would otherwise stay
//! for `ControlPersist`) is told to exit, and its private directory is
//! removed, by one small `sh` started with the first connection. It reads
//! the control sockets on a pipe whose write end only this process holds;
//! when the process ends, however it ends, the pipe reaches its end and the
//! `sh` runs `ssh -O exit` for each socket. The masters' end closes every
//! remote session, and each remote step's watcher then stops its group
//! (remote_script.rs).

use std::io::Write;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Ignores the signals a terminal sends the whole process group (Ctrl-C
/// must not end it before `deploy` has ended), collects the socket paths,
/// and on end of input ends each master and removes its directory. A
/// directory already gone (the run closed its connection) costs no process.
const SCRIPT: &str = "trap '' INT TERM HUP; l=; \
    while IFS= read -r s; do l=\"$l$s\n\"; done; \
    printf '%b' \"$l\" | while IFS= read -r s; do [ -n \"$s\" ] || continue; d=${s%/*}; \
    [ -d \"$d\" ] || continue; \
    [ -S \"$s\" ] && ssh -S \"$s\" -O exit deploy-master >/dev/null 2>&1; \
    case $d in */.ssh-connection*) rm -rf \"$d\";; esac; done";

static LIFELINE: OnceLock<Option<Mutex<ChildStdin>>> = OnceLock::new();

fn start() -> Option<Mutex<ChildStdin>> {
    let mut child = Command::new("sh")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // The child is never waited on: it runs until this process ends.
    let stdin = child.stdin.take()?;
    std::mem::forget(child);
    Some(Mutex::new(stdin))
}

/// Registers the control socket of a master just started.
pub fn watch(socket: &Path) {
    let Some(Some(lifeline)) = Some(LIFELINE.get_or_init(start)) else { return };
    let Some(path) = socket.to_str().filter(|p| !p.contains('\n')) else { return };
    if let Ok(mut stdin) = lifeline.lock() {
        let _ = writeln!(stdin, "{path}");
        let _ = stdin.flush();
    }
}
