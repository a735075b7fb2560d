//! `deploy serve FILE [--listen ADDR] [--token-file F]` — the HTTP API
//! (docs/api.md) over the state of FILE's pipeline, without watching git:
//! approvals and rollbacks for runs started with `deploy run` against the
//! same state store. SIGTERM, SIGINT or SIGHUP: interrupt the runs the
//! server started at once (each stops at a safe point per its pipeline's
//! policy, its rollback included; a second signal stops them at once), wait
//! for them, end the open event streams, stop serving, exit 0 — or 130 when
//! a run had to be interrupted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::flags::PlanStateArgs;
use super::ExitCode;
use crate::server::{ActiveRuns, AppState, ServerConfig, Tokens};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The plan (its rollback blocks serve `POST /api/environments/{env}/rollback`).
    file: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    state: PlanStateArgs,
    /// Run `deploy verify` on the plan's hosts every D; the overview shows each host's last result.
    #[arg(long, value_name = "D", value_parser = super::flags::parse_duration)]
    verify_every: Option<std::time::Duration>,
}

/// The flags `deploy serve` and `deploy watch` share.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Where to serve HTTP: ADDR:PORT, or a port on 127.0.0.1 [default: 127.0.0.1:8780].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// `TOKEN IDENTITY` per line: bearer tokens for writes, and who they are.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Let clients other than loopback read without a token.
    #[arg(long)]
    pub open_reads: bool,
    /// The URL the server is reached at (behind a proxy, say): its host is
    /// accepted in the Host header, besides IP addresses and localhost.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// A reverse proxy whose X-Forwarded-For names the client: ADDR or ADDR/PREFIX (repeatable).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<String>,
    /// Event streams (`/api/runs/{id}/events`, open run pages) served at once; more get 429.
    #[arg(long, value_name = "N", default_value_t = crate::server::events::DEFAULT_MAX_STREAMS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams: u32,
}

impl ServerArgs {
    /// `--public-url`'s host and the `--trusted-proxy` networks, checked.
    pub fn trust(&self) -> Result<(Option<String>, Vec<crate::server::Cidr>), String> {
        let public = self.public_url.as_deref().map(crate::server::origin::public_host).transpose()?;
        let proxies =
            self.trusted_proxies.iter().map(|text| crate::server::Cidr::parse(text)).collect::<Result<_, _>>()?;
        Ok((public, proxies))
    }

    pub fn tokens(&self) -> Result<Tokens, String> {
        match &self.token_file {
            Some(path) => Tokens::read(path),
            None => Ok(Tokens::default()),
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8780";

pub fn run(args: ServeArgs) -> ExitCode {
    let Some(graph) = super::load::load_graph(&args.file, &[]) else {
        return ExitCode::Usage;
    };
    if args.verify_every.is_some() && graph.plan.environments.iter().all(|environment| environment.probe.is_none()) {
        return super::failure::fail(
            "--verify-every: no environment of the plan has a `probe` that says how to read the version on a host",
        );
    }
    let tokens = match args.server.tokens() {
        Ok(tokens) => tokens,
        Err(error) => {
            return super::failure::fail(error.to_string());
        }
    };
    let (public_host, trusted_proxies) = match args.server.trust() {
        Ok(trust) => trust,
        Err(error) => return super::failure::fail(error),
    };
    let config = ServerConfig {
        public_host,
        trusted_proxies,
        max_streams: args.server.max_streams as usize,
        state: args.state.location(&args.file),
        plan: crate::server::PlanPath::new(args.file.clone()),
        tokens,
        open_reads: args.server.open_reads,
        watcher: None,
        webhook_secret: None,
    };
    if let Some(every) = args.verify_every.filter(|every| !every.is_zero()) {
        let reporter: Arc<dyn crate::session::Reporter> = Arc::new(crate::server::reporter::StderrReporter);
        let location = config.state.clone();
        if let Err(error) = crate::session::verify::verify_every(args.file.clone(), location, every, reporter) {
            return super::failure::fail(format!("cannot start verifying: {error}"));
        }
    }
    let runs = ActiveRuns::default();
    let state = AppState::new(config, runs.clone());
    let listen = args.server.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let runtime = match crate::server::runtime() {
        Ok(runtime) => runtime,
        Err(error) => return super::failure::fail(error),
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let stopping = stop_runs_then_streams(state.clone(), interrupted.clone());
    let served = runtime.block_on(async move {
        let listener = crate::server::bind(&listen).await?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        eprintln!("deploy: serving http://{address}/api/status");
        crate::server::serve(listener, state, stopping).await.map_err(|error| error.to_string())
    });
    if let Err(error) = served {
        return super::failure::fail(error.to_string());
    }
    let late = runs.interrupt_all();
    runs.wait_all();
    if interrupted.load(Ordering::SeqCst) || late {
        ExitCode::Interrupted
    } else {
        ExitCode::Success
    }
}

/// Resolves once the server may stop: at the first SIGTERM, SIGINT or
/// SIGHUP the runs it started are interrupted at once (whoever follows
/// them), each further signal interrupts them again (stopping them at
/// once), and when they have ended the open event streams end too.
async fn stop_runs_then_streams(state: AppState, interrupted: Arc<AtomicBool>) {
    let Some(mut signals) = crate::session::runtime::listen_for_signals() else {
        eprintln!("deploy: warning: {}", crate::session::runtime::NO_SIGNALS);
        return std::future::pending().await;
    };
    let _ = signals.recv().await;
    eprintln!("deploy: stopping");
    if state.runs.interrupt_all() {
        interrupted.store(true, Ordering::SeqCst);
    }
    let again = state.runs.clone();
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            again.interrupt_all();
        }
    });
    let runs = state.runs.clone();
    let _ = tokio::task::spawn_blocking(move || runs.wait_all()).await;
    state.end_streams();
}
