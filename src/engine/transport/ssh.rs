//! The SSH transport: every host of an environment is an SSH destination,
//! reached through the system's OpenSSH client. One ControlMaster connection
//! per host and run, opened on first use (at most [`MAX_CONNECTS`] at
//! once), reused by every step, upload, retry, rollback and kill, and
//! closed when the run ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openssh::{Child, OwningCommand, Session, Stdio};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::remote_script::{
    end_marker, kill_command, step_command, step_script, upload_command, PGID_MARKER, WATCHER_MARKER,
};
use super::ssh_connect::SshHost;
use super::{tar_stream, BoxFuture, CommandSpec, ExitInfo, OutputSink, Transport, TransportError, UploadSpec};
use crate::check::model::SshSettings;
use crate::engine::process::read_lines;
use crate::record::event::Stream;

/// At most this many connections are being opened at once, whatever
/// `--max-parallel` says: a burst of handshakes is what sshd's
/// `MaxStartups` (default 10:30:100) throttles, and what a jump host sees.
pub const MAX_CONNECTS: usize = 32;

/// How long the end of a killed step's output is still awaited.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// How long the output of a step that ended is still read. The
/// connection's master may tell that the step exited before it has written
/// the last of its output into our pipes (under the test suite's load a
/// step's only line was once missing after a 500 ms bound); the pipes end
/// as soon as it has. A process the step left running with
/// its stdout still open would keep them open for good: its output is cut
/// after this bound.
const OUTPUT_AFTER_EXIT: Duration = Duration::from_secs(3);

/// One host's connection, opened on first use.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Session>>>>;

pub struct SshTransport {
    hosts: HashMap<String, SshHost>,
    slots: Mutex<HashMap<String, Slot>>,
    connects: Semaphore,
    kill_grace: Duration,
    /// Remote process groups still running: (host, pgid) by step.
    running: Arc<Mutex<HashMap<u64, (String, u32)>>>,
    next_step: AtomicU64,
    /// What this run read in the ssh configuration, once for all its hosts.
    config_scan: super::kex_preference::ConfigScan,
}

/// What `deploy ping` reports for one host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Reachability {
    pub host: String,
    pub destination: String,
    pub reachable: bool,
    /// Opening the connection (handshake and authentication).
    pub connect_ms: Option<u64>,
    /// One round trip over the open connection (`true` run remotely).
    pub rtt_ms: Option<u64>,
    /// `verified` or, on failure, `changed`, `unknown` or `not checked`.
    pub host_key: String,
    pub error: Option<String>,
}

impl SshTransport {
    pub fn new(hosts: Vec<SshHost>, max_parallel: usize, kill_grace: Duration) -> SshTransport {
        SshTransport {
            hosts: hosts.into_iter().map(|host| (host.name.clone(), host)).collect(),
            slots: Mutex::new(HashMap::new()),
            connects: Semaphore::new(max_parallel.clamp(1, MAX_CONNECTS)),
            kill_grace,
            running: Arc::new(Mutex::new(HashMap::new())),
            next_step: AtomicU64::new(0),
            config_scan: Default::default(),
        }
    }

    fn host(&self, name: &str) -> Result<&SshHost, TransportError> {
        self.hosts.get(name).ok_or_else(|| TransportError::Unreachable {
            host: name.to_string(),
            message: "not a host of an ssh environment".into(),
        })
    }

    fn slot(&self, host: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.entry(host.to_string()).or_default().clone()
    }

    /// The host's connection, opened when there is none. It is not checked
    /// here (a check is a connection to the master of its own, as much as a
    /// step's channel): [`Self::spawn`] checks when opening a channel fails.
    async fn session(&self, name: &str) -> Result<Arc<Session>, TransportError> {
        self.session_replacing(name, None).await
    }

    /// The host's connection; when it is still `stale` (a connection whose
    /// channel could not be opened) and its master is gone, a new one.
    async fn session_replacing(
        &self,
        name: &str,
        stale: Option<&Arc<Session>>,
    ) -> Result<Arc<Session>, TransportError> {
        let host = self.host(name)?;
        let slot = self.slot(name);
        let mut current = slot.lock().await;
        if let Some(session) = current.as_ref() {
            let suspect = stale.is_some_and(|stale| Arc::ptr_eq(stale, session));
            if !suspect || session.check().await.is_ok() {
                return Ok(session.clone());
            }
        }
        let _permit = self.connects.acquire().await.map_err(|_| TransportError::Unreachable {
            host: name.to_string(),
            message: "the run is closing".into(),
        })?;
        let session = Arc::new(
            host.connect(&self.config_scan)
                .await
                .map_err(|message| TransportError::Unreachable { host: name.to_string(), message })?,
        );
        *current = Some(session.clone());
        Ok(session)
    }

    /// Connects to `name` and runs `true` once: `deploy ping`.
    pub async fn ping(&self, name: &str) -> Reachability {
        let destination = self.hosts.get(name).map(|h| h.destination.display()).unwrap_or_else(|| name.to_string());
        let mut report = Reachability {
            host: name.to_string(),
            destination,
            reachable: false,
            connect_ms: None,
            rtt_ms: None,
            host_key: "not checked".into(),
            error: None,
        };
        let started = Instant::now();
        let session = match self.session(name).await {
            Ok(session) => session,
            Err(error) => {
                let message = error.to_string();
                if message.contains("does not match known_hosts") {
                    report.host_key = "changed".into();
                } else if message.contains("not in known_hosts") {
                    report.host_key = "unknown".into();
                }
                report.error = Some(message);
                return report;
            }
        };
        report.connect_ms = Some(crate::record::event::millis(started.elapsed()));
        report.host_key = "verified".into();
        let probe = Instant::now();
        match Session::to_raw_command(session, "true").status().await {
            Ok(status) if status.success() => {
                report.reachable = true;
                report.rtt_ms = Some(crate::record::event::millis(probe.elapsed()));
            }
            Ok(status) => report.error = Some(format!("`true` failed on {name}: {status}")),
            Err(error) => report.error = Some(format!("connection to {name} lost: {error}")),
        }
        report
    }

    /// Opens a channel on `name`'s connection with the command `build`
    /// makes. When that fails because the master died (idle too long, or
    /// killed), the connection is opened again and the channel once more:
    /// nothing of the command ran on the host when its channel did not open.
    async fn spawn<F>(&self, name: &str, build: F) -> Result<(Arc<Session>, Child<Arc<Session>>), TransportError>
    where
        F: Fn(Arc<Session>) -> OwningCommand<Arc<Session>>,
    {
        let session = self.session(name).await?;
        match build(session.clone()).spawn().await {
            Ok(child) => Ok((session, child)),
            Err(first) => {
                let fresh = self.session_replacing(name, Some(&session)).await?;
                if Arc::ptr_eq(&fresh, &session) {
                    return Err(Self::lost(name, first));
                }
                let child = build(fresh.clone()).spawn().await.map_err(|error| Self::lost(name, error))?;
                Ok((fresh, child))
            }
        }
    }

    fn lost(host: &str, error: impl std::fmt::Display) -> TransportError {
        TransportError::ConnectionLost { host: host.to_string(), message: error.to_string() }
    }

    async fn run_remote(
        &self,
        name: &str,
        command: CommandSpec,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> Result<ExitInfo, TransportError> {
        if cancel.is_cancelled() {
            return Ok(ExitInfo { code: None, signal: None, cancelled: true });
        }
        let mut settings = self.host(name)?.settings.clone();
        settings.become_root = command.become_root.unwrap_or(settings.become_root);
        let dir = settings.dir.clone();
        let mut script = step_script(&command.env, dir.as_deref(), &command.command);
        let end = end_marker(&script);
        script.push_str(&end);
        script.push('\n');
        let grace = crate::record::event::millis(self.kill_grace);
        let line = settings.wrap_become(step_command(&end, grace));
        let (session, mut child) = self
            .spawn(name, |session| {
                let mut command = Session::to_raw_command(session, line.clone());
                command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
                command
            })
            .await?;
        let group = Arc::new(RemoteGroup::default());
        let step = self.next_step.fetch_add(1, Ordering::Relaxed);
        let watch = crate::engine::process_watch::current();
        let sink = group_reporting_sink(output, group.clone(), self.running.clone(), step, name, watch);
        let readers = [
            child.stdout().take().map(|out| tokio::spawn(read_lines(out, Stream::Stdout, sink.clone()))),
            child.stderr().take().map(|err| tokio::spawn(read_lines(err, Stream::Stderr, sink.clone()))),
        ];
        // stdin stays open while the step runs: its end tells the host
        // that the connection is gone (remote_script.rs).
        let mut lifeline = child.stdin().take();
        if let Some(stdin) = lifeline.as_mut() {
            let sent = stdin.write_all(script.as_bytes()).await.and(stdin.flush().await);
            if let Err(error) = sent {
                return Err(Self::lost(name, error));
            }
        }
        let wait = child.wait();
        tokio::pin!(wait);
        let mut cancelled = false;
        let status = tokio::select! {
            status = &mut wait => Some(status),
            () = cancel.cancelled() => {
                cancelled = true;
                self.kill_group(&session, &group, &settings).await;
                tokio::time::timeout(AFTER_KILL, &mut wait).await.ok()
            }
        };
        drop(lifeline);
        if let Ok(mut running) = self.running.lock() {
            running.remove(&step);
        }
        crate::engine::process::stop_reading(readers, OUTPUT_AFTER_EXIT, &sink).await;
        if group.journaled.load(Ordering::Acquire) {
            let pgid = group.pgid.load(Ordering::Acquire);
            crate::engine::process_watch::notify(crate::engine::process_watch::ProcessNotice::RemoteEnded { pgid });
        }
        let ended = exit_info(name, status, cancelled)?;
        // `become`: sudo refused before the step began (a password asked
        // for, no sudoers rule): nothing of the step ran on the host.
        if settings.become_root && group.pgid.load(Ordering::Acquire) == 0 && !ended.success() {
            if let Some(refusal) = group.refusal.lock().ok().and_then(|refusal| refusal.clone()) {
                return Err(TransportError::Become {
                    host: name.to_string(),
                    user: settings.become_user.clone().unwrap_or_else(|| "root".into()),
                    message: refusal,
                    needs: settings.become_method.needs(),
                });
            }
        }
        if !ended.cancelled && ended.code.is_none() && ended.signal.is_none() && session.check().await.is_err() {
            return Err(Self::lost(name, "the SSH connection closed while the step ran"));
        }
        Ok(ended)
    }

    /// Ends the group `pgid` that a killed runner's step left on `host`
    /// (SIGTERM, the grace period, SIGKILL, over a connection of its own):
    /// `terminated`, `killed`, or `gone` when nothing of it was left.
    pub async fn end_left_group(&self, host: &str, pgid: u32, watcher: Option<u32>) -> Result<String, TransportError> {
        let session = self.session(host).await?;
        let grace = crate::record::event::millis(self.kill_grace);
        let command = super::remote_script::end_left_command(pgid, watcher, grace);
        let output = Session::to_raw_command(session, command)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
            .await
            .map_err(|error| Self::lost(host, error))?;
        let said = String::from_utf8_lossy(&output.stdout).trim().to_string();
        match said.as_str() {
            "terminated" | "killed" | "gone" => Ok(said),
            _ => Err(Self::lost(host, format!("ending process group {pgid} said `{said}`"))),
        }
    }

    /// Stops the remote group of a step over a second channel of the same connection.
    async fn kill_group(&self, session: &Arc<Session>, remote: &RemoteGroup, settings: &SshSettings) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while remote.pgid.load(Ordering::Acquire) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let group = remote.pgid.load(Ordering::Acquire);
        if group <= 1 {
            return;
        }
        // The watcher's line follows the group's as soon as the step was
        // read; without it the group is waited on for the whole grace.
        let deadline = Instant::now() + Duration::from_millis(500);
        while remote.watcher.load(Ordering::Acquire) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let watcher = Some(remote.watcher.load(Ordering::Acquire)).filter(|pid| *pid > 1);
        let grace = crate::record::event::millis(self.kill_grace);
        let kill_line = settings.wrap_become(kill_command(group, watcher, grace));
        let mut kill = Session::to_raw_command(session.clone(), kill_line);
        let _ = tokio::time::timeout(self.kill_grace + AFTER_KILL, kill.status()).await;
    }

    async fn upload_remote(
        &self,
        name: &str,
        upload: UploadSpec,
        cancel: CancellationToken,
    ) -> Result<(), TransportError> {
        let fail = |message: String| TransportError::Upload { host: name.to_string(), message };
        let mut settings = self.host(name)?.settings.clone();
        settings.become_root = upload.become_root.unwrap_or(settings.become_root);
        let line = settings.wrap_become(upload_command(settings.dir.as_deref(), &upload.target()));
        let (_, mut child) = self
            .spawn(name, |session| {
                let mut command = Session::to_raw_command(session, line.clone());
                command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
                command
            })
            .await?;
        let (mut chunks, archiving) = tar_stream::spawn(upload.source());
        let mut stdin = child.stdin().take().ok_or_else(|| fail("no stdin".into()))?;
        let mut stderr = child.stderr().take();
        // The stdin handle is moved in and dropped at the end: that is the
        // end of input for `tar` on the host.
        let send = async move {
            while let Some(chunk) = chunks.recv().await {
                stdin.write_all(&chunk).await?;
            }
            stdin.shutdown().await
        };
        tokio::select! {
            sent = send => sent.map_err(|error| fail(format!("sending failed: {error}")))?,
            () = cancel.cancelled() => return Err(fail("cancelled".into())),
        }
        let archived = archiving.await.map_err(|error| fail(error.to_string()))?;
        let mut errors = String::new();
        if let Some(stderr) = stderr.as_mut() {
            use tokio::io::AsyncReadExt;
            let _ = tokio::time::timeout(Duration::from_secs(30), stderr.read_to_string(&mut errors)).await;
        }
        let status = child.wait().await.map_err(|error| Self::lost(name, error))?;
        archived.map_err(fail)?;
        if !status.success() {
            return Err(fail(format!("{} ({})", errors.trim(), status)));
        }
        Ok(())
    }
}

/// Passes output on, except the first stderr line, which names the remote
/// process group (recorded for kills).
/// What a remote step reported about itself (0: not yet).
#[derive(Default)]
struct RemoteGroup {
    /// Its process group (the remote shell).
    pgid: AtomicU32,
    /// The watcher of its stdin (remote_script.rs).
    watcher: AtomicU32,
    /// Its start was told to the step's process watch (and so journaled).
    journaled: std::sync::atomic::AtomicBool,
    /// What `sudo` said before the step started (`become`): why it did not.
    refusal: Mutex<Option<String>>,
}

/// Takes the two marker lines a remote step starts with off its stderr:
/// the group (first) and the watcher (next, before anything of the step).
fn group_reporting_sink(
    output: OutputSink,
    remote: Arc<RemoteGroup>,
    running: Arc<Mutex<HashMap<u64, (String, u32)>>>,
    step: u64,
    host: &str,
    watch: Option<crate::engine::process_watch::ProcessWatch>,
) -> OutputSink {
    let host = host.to_string();
    Arc::new(move |stream, line| {
        if stream == Stream::Stderr && remote.pgid.load(Ordering::Acquire) == 0 {
            if let Some(Ok(group)) = line.strip_prefix(PGID_MARKER).map(|n| n.trim().parse::<u32>()) {
                remote.pgid.store(group, Ordering::Release);
                if let Ok(mut running) = running.lock() {
                    running.insert(step, (host.clone(), group));
                }
                return;
            }
            if line.starts_with("sudo:") || line.starts_with("su:") {
                if let Ok(mut refusal) = remote.refusal.lock() {
                    refusal.get_or_insert_with(|| line.clone());
                }
            }
        } else if stream == Stream::Stderr && remote.watcher.load(Ordering::Acquire) == 0 {
            if let Some(Ok(watcher)) = line.strip_prefix(WATCHER_MARKER).map(|n| n.trim().parse::<u32>()) {
                remote.watcher.store(watcher, Ordering::Release);
                // Journaled once both are known: after a `kill -9` of the
                // runner, the next run ends the group over SSH.
                if let Some(watch) = &watch {
                    let pgid = remote.pgid.load(Ordering::Acquire);
                    watch.tell(crate::engine::process_watch::ProcessNotice::RemoteStarted {
                        pgid,
                        watcher: Some(watcher).filter(|pid| *pid > 1),
                    });
                    remote.journaled.store(true, Ordering::Release);
                }
                return;
            }
        }
        output(stream, line);
    })
}

fn exit_info(
    host: &str,
    status: Option<Result<std::process::ExitStatus, openssh::Error>>,
    cancelled: bool,
) -> Result<ExitInfo, TransportError> {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => Ok(ExitInfo { code: None, signal: None, cancelled }),
        Some(Ok(status)) => Ok(ExitInfo { code: status.code(), signal: status.signal(), cancelled }),
        Some(Err(openssh::Error::RemoteProcessTerminated)) => Ok(ExitInfo { code: None, signal: None, cancelled }),
        Some(Err(error)) if cancelled => {
            let _ = error;
            Ok(ExitInfo { code: None, signal: None, cancelled })
        }
        Some(Err(error)) => Err(SshTransport::lost(host, error)),
    }
}

impl Transport for SshTransport {
    fn name(&self) -> &str {
        "ssh"
    }

    fn run<'a>(
        &'a self,
        host: &'a str,
        command: CommandSpec,
        output: OutputSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<ExitInfo, TransportError>> {
        Box::pin(self.run_remote(host, command, output, cancel))
    }

    fn upload<'a>(
        &'a self,
        host: &'a str,
        upload: UploadSpec,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(self.upload_remote(host, upload, cancel))
    }

    /// SIGKILLs every remote group still running, over each host's connection.
    fn kill_all(&self) {
        let groups: Vec<(String, u32)> =
            self.running.lock().map(|running| running.values().cloned().collect()).unwrap_or_default();
        for (host, group) in groups {
            let slot = self.slot(&host);
            let kill_line = match self.hosts.get(&host) {
                Some(known) => known.settings.wrap_become(kill_command(group, None, 0)),
                None => kill_command(group, None, 0),
            };
            tokio::spawn(async move {
                let session = slot.lock().await.clone();
                if let Some(session) = session {
                    let _ = Session::to_raw_command(session, kill_line).status().await;
                }
            });
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let slots: Vec<Slot> = self.slots.lock().map(|slots| slots.values().cloned().collect()).unwrap_or_default();
            let closing = slots.into_iter().map(|slot| async move {
                // Dropping the last handle asks the master to exit (`ssh -O
                // exit`); `close()` would only stop it listening, and a
                // ControlPersist master would linger.
                let session = slot.lock().await.take();
                if let Some(session) = session {
                    let _ = tokio::task::spawn_blocking(move || drop(session)).await;
                }
            });
            futures_join_all(closing).await;
        })
    }
}

/// Awaits every future (closing connections in parallel).
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(futures: impl Iterator<Item = F>) {
    let mut set = tokio::task::JoinSet::new();
    for future in futures {
        set.spawn(future);
    }
    while set.join_next().await.is_some() {}
}
