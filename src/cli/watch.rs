//! `deploy watch [--repo PATH|URL] [--branch B] [--every D] [--listen ADDR]
//! [--webhook-secret-file F] FILE` — deploys every new commit of a branch
//! (docs/continuous.md). SIGTERM/SIGINT/SIGHUP: stop fetching; a run going on gets
//! the interrupt `deploy run` gets from Ctrl-C (it stops starting work and
//! ends per the pipeline's `on_failure`; a second signal stops it at once);
//! the lock is released; exit 0, or 130 when a run had to be interrupted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::flags::parse_duration;
use super::report::CliReporter;
use super::serve::{ServerArgs, DEFAULT_LISTEN};
use super::ExitCode;
use crate::server::{ActiveRuns, AppState, PlanPath, PushTarget, ServerConfig, WebhookSecret};
use crate::watch::{WatchConfig, WatchFlags, WatchShared, Watcher};

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The plan: a path in the watched repository (with --repo, relative to its root).
    file: PathBuf,
    /// The repository to fetch: a path or a URL [default: the one that holds FILE].
    #[arg(long, value_name = "PATH|URL")]
    repo: Option<String>,
    /// The branch to deploy [default: the plan's `watch { branch }`, else main].
    #[arg(long, value_name = "B")]
    branch: Option<String>,
    /// How often to fetch [default: the plan's `watch { every }`, else 1m].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    every: Option<Duration>,
    // `--state` defaults to .deploy/state.db beside FILE, or here with --repo
    // (WatchConfig::resolve decides).
    #[command(flatten)]
    store: super::flags::PlanStateArgs,
    /// Override a param of every run: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Also serve the HTTP API and `POST /hooks/git` (docs/api.md).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_LISTEN)]
    listen: Option<String>,
    /// The shared secret of the push webhooks (GitHub or GitLab).
    #[arg(long, value_name = "FILE")]
    webhook_secret_file: Option<PathBuf>,
    /// `TOKEN IDENTITY` per line: bearer tokens for the API's writes.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Let clients other than loopback read the API without a token.
    #[arg(long)]
    open_reads: bool,
    /// The URL the server is reached at: its host is accepted in the Host header.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// A reverse proxy whose X-Forwarded-For names the client: ADDR or ADDR/PREFIX (repeatable).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// Event streams of the API served at once; more get 429.
    #[arg(long, value_name = "N", default_value_t = crate::server::events::DEFAULT_MAX_STREAMS,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_streams: u32,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    super::failure::fail(message.to_string())
}

pub fn run(args: WatchArgs) -> ExitCode {
    // The plan as it is here names the pipeline and may declare the trigger.
    let local = args.file.is_file().then(|| crate::check::check_file_with(&args.file, &[]));
    let local_plan = local.as_ref().and_then(|checked| checked.plan.as_ref());
    let trigger = local_plan.and_then(|plan| plan.pipeline.watch.as_ref());
    let flags = WatchFlags {
        file: args.file.clone(),
        repo: args.repo.clone(),
        branch: args.branch.clone(),
        every: args.every,
        state: args.store.state.clone(),
        sets: args.sets.clone(),
    };
    let config = match WatchConfig::resolve(flags, trigger) {
        Ok(config) => config,
        Err(error) => return super::report::error_as(error, args.store.json),
    };
    let pipeline = local_plan.map(|plan| plan.pipeline.name.clone()).unwrap_or_else(|| {
        args.file.file_stem().map(|stem| stem.to_string_lossy().to_string()).unwrap_or_else(|| "deploy".into())
    });
    let secret = match &args.webhook_secret_file {
        Some(path) => match WebhookSecret::read(path) {
            Ok(secret) => Some(secret),
            Err(error) => return usage(error),
        },
        None => None,
    };
    let server_args = ServerArgs {
        listen: args.listen.clone(),
        token_file: args.token_file.clone(),
        open_reads: args.open_reads,
        public_url: args.public_url.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        max_streams: args.max_streams,
    };
    let tokens = match server_args.tokens() {
        Ok(tokens) => tokens,
        Err(error) => return usage(error),
    };
    let (public_host, trusted_proxies) = match server_args.trust() {
        Ok(trust) => trust,
        Err(error) => return usage(error),
    };
    let store = match crate::session::open(&config.state, true) {
        Ok(store) => store,
        Err(error) => return super::report::error(error),
    };
    let plan = PlanPath::new(args.file.clone());
    let shared = WatchShared::new(&config.branch, Some(plan.clone()));
    let runs = ActiveRuns::default();
    let server = match args.listen.as_deref() {
        Some(listen) => {
            let server_config = ServerConfig {
                state: config.state.clone(),
                plan,
                tokens,
                open_reads: args.open_reads,
                watcher: Some(shared.clone() as Arc<dyn PushTarget>),
                webhook_secret: secret,
                public_host,
                trusted_proxies,
                max_streams: args.max_streams as usize,
            };
            match Server::start(listen, AppState::new(server_config, runs.clone())) {
                Ok(server) => Some(server),
                Err(error) => return usage(error),
            }
        }
        None => None,
    };
    let signals = listen_for_stop(shared.clone(), runs.clone());
    let mut watcher =
        match Watcher::new(config, store, shared.clone(), Arc::new(CliReporter), pipeline, args.store.json) {
            Ok(watcher) => watcher,
            Err(error) => return super::report::error_as(error, args.store.json),
        };
    watcher.every_fixed = args.every.is_some();
    watcher.pipeline_known = local_plan.is_some();
    watcher.run();
    let interrupted = shared.interrupted_a_run() | runs.interrupt_all();
    runs.wait_all();
    if let Some(server) = server {
        server.stop();
    }
    drop(signals);
    eprintln!("deploy: the watcher stopped");
    if interrupted {
        ExitCode::Interrupted
    } else {
        ExitCode::Success
    }
}

/// The HTTP server on a runtime of its own.
struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    state: AppState,
}

impl Server {
    fn start(listen: &str, state: AppState) -> Result<Server, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the runtime: {error}"))?;
        let listener = runtime.block_on(crate::server::bind(listen))?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        eprintln!("deploy: serving http://{address}/api/status");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let streams = state.clone();
        let thread = std::thread::Builder::new()
            .name("deploy-server".into())
            .spawn(move || {
                let served = runtime.block_on(crate::server::serve(listener, state, async move {
                    let _ = stopped.await;
                }));
                if let Err(error) = served {
                    eprintln!("deploy: error: the server stopped: {error}");
                }
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(|error| format!("cannot start the server: {error}"))?;
        Ok(Server { stop, thread, state: streams })
    }

    /// Ends the open event streams (which would keep it serving), then stops.
    fn stop(self) {
        self.state.end_streams();
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Each SIGTERM/SIGINT stops the watcher (and interrupts its run, and the
/// server's); a thread with a small runtime of its own listens.
fn listen_for_stop(shared: Arc<WatchShared>, runs: ActiveRuns) -> Option<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let (ready, listening) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("deploy-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                let signals = crate::session::runtime::listen_for_signals();
                let _ = ready.send(());
                let Some(mut signals) = signals else {
                    eprintln!("deploy: warning: {}", crate::session::runtime::NO_SIGNALS);
                    return;
                };
                while signals.recv().await.is_some() {
                    eprintln!("deploy: stopping the watcher");
                    shared.stop();
                    runs.interrupt_all();
                }
            });
        })
        .ok()?;
    // The handlers are installed before the watcher starts.
    let _ = listening.recv_timeout(Duration::from_secs(2));
    Some(thread)
}
