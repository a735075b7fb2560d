//! Which process is which: this machine's id, and a process's start time,
//! so a recorded pid is not mistaken for a later process that reuses it.
//! The leases, the deployments and the records of step processes use them.

pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // within it on success (we also stop at its end).
    let result = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if result != 0 {
        return "localhost".to_string();
    }
    let end = buffer.iter().position(|byte| *byte == 0).unwrap_or(buffer.len());
    let name = String::from_utf8_lossy(&buffer[..end]).trim().to_string();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

/// `DEPLOY_MACHINE_ID` (tests simulate other machines with it), else
/// `/etc/machine-id`, else the host name. Read once per process: every
/// step's process record names it.
pub fn machine_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(read_machine_id).clone()
}

fn read_machine_id() -> String {
    if let Ok(id) = std::env::var("DEPLOY_MACHINE_ID") {
        if !id.trim().is_empty() {
            return id.trim().to_string();
        }
    }
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(host_name)
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`), or
/// `None` when no such process exists. Where `/proc` is missing, a live pid
/// (kill 0) gives `Some("")`.
pub fn process_start(pid: i64) -> Option<String> {
    let pid_t = libc::pid_t::try_from(pid).ok().filter(|pid| *pid > 0)?;
    match std::fs::read_to_string(format!("/proc/{pid_t}/stat")) {
        Ok(stat) => {
            // The command name (field 2) is in parentheses and may hold spaces.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest)?;
            let fields: Vec<&str> = after.split_whitespace().collect();
            // `after` starts at field 3 (state); field 22 is index 19. A zombie
            // (state Z) has exited: it is gone.
            if fields.first() == Some(&"Z") {
                return None;
            }
            fields.get(19).map(|start| start.to_string())
        }
        Err(_) => {
            // SAFETY: kill with signal 0 only checks for existence.
            let result = unsafe { libc::kill(pid_t, 0) };
            let alive = result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            alive.then(String::new)
        }
    }
}
