//! Local processes: `sh -c COMMAND` in its own process group, output
//! streamed line by line, and cancellation that kills the whole group
//! (SIGTERM, then SIGKILL after a grace period) so no child is left behind.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::record::event::Stream;

/// The longest line passed on whole; a longer one is split.
const MAX_LINE: u64 = 64 * 1024;

/// How long output is still read after the shell exited, for background
/// jobs that keep the pipe open.
const DRAIN: Duration = Duration::from_millis(500);

/// What to run.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    /// Passed to `sh -c`.
    pub command: String,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// A stage's `become`, over its environment's (`None`: the environment's).
    pub become_root: Option<bool>,
}

/// Receives each line of output (without its newline).
pub type OutputSink = Arc<dyn Fn(Stream, String) + Send + Sync>;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Killed because the cancel token fired (timeout, failure elsewhere, Ctrl-C).
    pub cancelled: bool,
}

impl ExitInfo {
    pub fn success(&self) -> bool {
        !self.cancelled && self.code == Some(0)
    }

    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "ended without a status".to_string(),
        }
    }
}

/// Every process group this run started and that is still running; a hard
/// stop (second Ctrl-C) kills them all.
#[derive(Clone, Debug, Default)]
pub struct ProcessGroups {
    groups: Arc<Mutex<HashSet<i32>>>,
}

impl ProcessGroups {
    fn insert(&self, pgid: i32) {
        if let Ok(mut groups) = self.groups.lock() {
            groups.insert(pgid);
        }
    }

    fn remove(&self, pgid: i32) {
        if let Ok(mut groups) = self.groups.lock() {
            groups.remove(&pgid);
        }
    }

    /// SIGKILLs every group still registered.
    pub fn kill_all(&self) {
        if let Ok(groups) = self.groups.lock() {
            for pgid in groups.iter() {
                kill_group(*pgid, libc::SIGKILL);
            }
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.groups.lock().map(|groups| groups.is_empty()).unwrap_or(true)
    }
}

fn kill_group(pgid: i32, signal: i32) -> bool {
    crate::process_group::signal(i64::from(pgid), signal)
}

/// Whether a process of the group still runs. A member that exited but is
/// not reaped yet (a zombie: once its shell is gone, its parent is init,
/// which may reap it only seconds later) runs nothing and does not count.
fn group_alive(pgid: i32) -> bool {
    kill_group(pgid, 0) && live_member(pgid).unwrap_or(true)
}

/// Whether `/proc` lists a process of group `pgid` that is not a zombie;
/// `None` without a readable `/proc`.
fn live_member(pgid: i32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let live = entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|name| name.bytes().all(|byte| byte.is_ascii_digit())) else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
        // After the command's name: state, parent, process group.
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let group = fields.nth(1).and_then(|group| group.parse::<i32>().ok());
        group == Some(pgid) && state != Some("Z")
    });
    Some(live)
}

/// Runs `sh -c` locally. Returns when the shell exited (or was killed after
/// `cancel` fired) and its output was read.
#[cfg(test)]
pub async fn run_shell(
    spec: CommandSpec,
    output: OutputSink,
    cancel: CancellationToken,
    grace: Duration,
    groups: &ProcessGroups,
) -> std::io::Result<ExitInfo> {
    run_program(None, spec, output, cancel, grace, groups).await
}

/// The process for `spec`: `argv` executed directly when given, else
/// `sh -c`. Same cwd, environment, pipes and process group either way.
fn command_for(argv: Option<&[String]>, spec: &CommandSpec) -> tokio::process::Command {
    let mut command = match argv {
        Some([program, args @ ..]) => {
            let mut command = tokio::process::Command::new(program);
            command.args(args);
            command
        }
        _ => {
            let mut command = tokio::process::Command::new("sh");
            command.arg("-c").arg(&spec.command);
            command
        }
    };
    command
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    command
}

/// Runs `argv` directly (the caller vouches that `sh -c` would run exactly
/// that), or `sh -c` when `argv` is `None` or cannot be executed (not
/// found, not executable: the shell then says so, as it always did).
pub async fn run_program(
    argv: Option<Vec<String>>,
    spec: CommandSpec,
    output: OutputSink,
    cancel: CancellationToken,
    grace: Duration,
    groups: &ProcessGroups,
) -> std::io::Result<ExitInfo> {
    if cancel.is_cancelled() {
        return Ok(ExitInfo { code: None, signal: None, cancelled: true });
    }
    let direct = argv.as_deref().map(|argv| {
        let mut command = command_for(Some(argv), &spec);
        command.env("PWD", shell_pwd(&spec));
        command.spawn()
    });
    let mut child = match direct {
        Some(Ok(child)) => child,
        _ => command_for(None, &spec).spawn()?,
    };
    let pgid = child.id().and_then(|pid| i32::try_from(pid).ok()).unwrap_or(0);
    groups.insert(pgid);
    if let Some(pid) = child.id() {
        super::process_watch::notify(super::process_watch::ProcessNotice::Started { pid });
    }
    let readers = [
        child.stdout.take().map(|out| tokio::spawn(read_lines(out, Stream::Stdout, output.clone()))),
        child.stderr.take().map(|err| tokio::spawn(read_lines(err, Stream::Stderr, output.clone()))),
    ];
    let mut cancelled = false;
    let status = tokio::select! {
        status = child.wait() => status,
        () = cancel.cancelled() => {
            cancelled = true;
            let deadline = Instant::now() + grace;
            kill_group(pgid, libc::SIGTERM);
            let status = match exit_within(&mut child, grace).await {
                Some(status) => status,
                None => {
                    kill_group(pgid, libc::SIGKILL);
                    child.wait().await
                }
            };
            // The shell is gone; give the rest of its group what is left of
            // the grace period, then kill whatever still runs.
            while group_alive(pgid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            kill_group(pgid, libc::SIGKILL);
            status
        }
    };
    groups.remove(pgid);
    if let Ok(pid) = u32::try_from(pgid) {
        super::process_watch::notify(super::process_watch::ProcessNotice::Ended { pid });
    }
    stop_reading(readers, DRAIN, &output).await;
    let status = status?;
    use std::os::unix::process::ExitStatusExt;
    Ok(ExitInfo { code: status.code(), signal: status.signal(), cancelled })
}

/// What a step's output says when it was cut: a process the step left
/// running still held its stdout or stderr after the step ended.
pub(crate) const OUTPUT_CUT: &str = "deploy: the step ended, but a process it started still holds its output; \
     what it prints from now on is not read (redirect its output, e.g. `>log 2>&1`)";

/// Waits (at most `within`) for the readers of a step that ended to reach
/// the end of their pipes; stops those that have not, and says so once in
/// the step's output.
pub(crate) async fn stop_reading(
    readers: [Option<tokio::task::JoinHandle<()>>; 2],
    within: Duration,
    output: &OutputSink,
) {
    let deadline = Instant::now() + within;
    let mut cut = false;
    for reader in readers.into_iter().flatten() {
        let abort = reader.abort_handle();
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, reader).await.is_err() {
            abort.abort();
            cut = true;
        }
    }
    if cut {
        output(Stream::Log, OUTPUT_CUT.to_string());
    }
}

/// The child's exit status once it exits within `within`; `None` when it
/// still runs. The status is also asked for every 50 ms, so that a missed
/// wake-up for the child's end cannot make a stopped run wait out the whole
/// kill grace.
async fn exit_within(
    child: &mut tokio::process::Child,
    within: Duration,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    let deadline = Instant::now() + within;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(Ok(status)),
            Ok(None) => {}
            Err(error) => return Some(Err(error)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        if let Ok(status) = tokio::time::timeout(left.min(Duration::from_millis(50)), child.wait()).await {
            return Some(status);
        }
    }
}

/// `PWD` as `sh` would set it for `spec`: the inherited value when it is an
/// absolute path to the working directory, else the physical path.
fn shell_pwd(spec: &CommandSpec) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let inherited = spec
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == "PWD")
        .map(|(_, value)| PathBuf::from(value))
        .or_else(|| std::env::var_os("PWD").map(PathBuf::from));
    let here = std::fs::metadata(&spec.cwd).ok();
    if let (Some(pwd), Some(here)) = (inherited, here) {
        let same = std::fs::metadata(&pwd).is_ok_and(|m| m.dev() == here.dev() && m.ino() == here.ino());
        if pwd.is_absolute() && same {
            return pwd;
        }
    }
    std::fs::canonicalize(&spec.cwd).unwrap_or_else(|_| spec.cwd.clone())
}

pub(crate) async fn read_lines<R: AsyncRead + Unpin>(reader: R, stream: Stream, output: OutputSink) {
    let mut reader = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if buffer.last() == Some(&b'\n') {
                    buffer.pop();
                }
                if buffer.last() == Some(&b'\r') {
                    buffer.pop();
                }
                output(stream, String::from_utf8_lossy(&buffer).into_owned());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    type Lines = Arc<Mutex<Vec<(Stream, String)>>>;

    fn collect() -> (OutputSink, Lines) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = lines.clone();
        let sink: OutputSink = Arc::new(move |stream, line| sink_lines.lock().unwrap().push((stream, line)));
        (sink, lines)
    }

    /// Whether a process exists and is not a zombie waiting to be reaped.
    pub(crate) fn running(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat.rsplit_once(')').map(|(_, rest)| !rest.trim_start().starts_with('Z')).unwrap_or(false),
            Err(_) => false,
        }
    }

    fn spec(command: &str) -> CommandSpec {
        CommandSpec {
            command: command.into(),
            cwd: std::env::temp_dir(),
            env: vec![("GREETING".into(), "hi".into())],
            become_root: None,
        }
    }

    #[tokio::test]
    async fn streams_both_streams_and_exit_code() {
        let (sink, lines) = collect();
        let groups = ProcessGroups::default();
        let exit = run_shell(
            spec("echo $GREETING; echo oops >&2; exit 3"),
            sink,
            CancellationToken::new(),
            Duration::from_secs(1),
            &groups,
        )
        .await
        .unwrap();
        assert_eq!(exit.code, Some(3));
        let lines = lines.lock().unwrap().clone();
        assert!(lines.contains(&(Stream::Stdout, "hi".into())), "{lines:?}");
        assert!(lines.contains(&(Stream::Stderr, "oops".into())), "{lines:?}");
        assert!(groups.is_empty());
    }

    #[tokio::test]
    async fn output_a_background_process_still_holds_is_cut_and_said() {
        let (sink, lines) = collect();
        let groups = ProcessGroups::default();
        let started = Instant::now();
        let exit = run_shell(
            spec("echo first; (sleep 3; echo late) &"),
            sink,
            CancellationToken::new(),
            Duration::from_secs(1),
            &groups,
        )
        .await
        .unwrap();
        assert_eq!(exit.code, Some(0));
        assert!(started.elapsed() < Duration::from_secs(2), "waited for the background process");
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines, vec![(Stream::Stdout, "first".into()), (Stream::Log, OUTPUT_CUT.into())]);
        // A step whose output ends with it says nothing more.
        let (sink, lines) = collect();
        run_shell(
            spec("echo only; (sleep 3) >/dev/null 2>&1 &"),
            sink,
            CancellationToken::new(),
            Duration::from_secs(1),
            &groups,
        )
        .await
        .unwrap();
        assert_eq!(lines.lock().unwrap().clone(), vec![(Stream::Stdout, "only".into())]);
    }

    #[test]
    fn an_exited_unreaped_member_is_not_alive() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("true").process_group(0).spawn().unwrap();
        let pgid = child.id() as i32;
        // Not reaped yet: a zombie that still answers killpg(0).
        let deadline = Instant::now() + Duration::from_secs(5);
        while running(pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(kill_group(pgid, 0), "the zombie is still in its group");
        assert!(!group_alive(pgid));
        child.wait().unwrap();
        let mut sleeper = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        assert!(group_alive(sleeper.id() as i32));
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[tokio::test]
    async fn cancel_kills_the_whole_group() {
        let (sink, lines) = collect();
        let groups = ProcessGroups::default();
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let exit = run_shell(
            spec("trap '' TERM; (trap '' TERM; sleep 30) & echo $!; sleep 30"),
            sink,
            cancel,
            Duration::from_millis(200),
            &groups,
        )
        .await
        .unwrap();
        assert!(exit.cancelled);
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = lines.lock().unwrap()[0].1.trim().parse().unwrap();
        assert!(!running(pid), "background child {pid} survived");
    }
}
