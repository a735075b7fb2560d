//! `deploy serve FILE [--listen ADDR] [--token-file F]` — the HTTP API
//! (docs/api.md) over the state of FILE's pipeline, without watching git:
//! approvals and rollbacks for runs started with `deploy run` against the
//! same state store. SIGTERM/SIGINT: stop accepting requests, interrupt the
//! runs the server started (each stops at a safe point per its pipeline's
//! policy), wait for them, exit 0 — or 130 when a run had to be interrupted.

use std::path::PathBuf;

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
    if super::load::load_graph(&args.file, &[]).is_none() {
        return ExitCode::Usage;
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
        state: args.state.location(&args.file),
        plan: crate::server::PlanPath::new(args.file.clone()),
        tokens,
        open_reads: args.server.open_reads,
        watcher: None,
        webhook_secret: None,
    };
    let runs = ActiveRuns::default();
    let state = AppState::new(config, runs.clone());
    let listen = args.server.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            return super::failure::fail(format!("cannot start the runtime: {error}"));
        }
    };
    let served = runtime.block_on(async move {
        let listener = crate::server::bind(&listen).await?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        eprintln!("deploy: serving http://{address}/api/status");
        crate::server::serve(listener, state, stop_signal()).await.map_err(|error| error.to_string())
    });
    if let Err(error) = served {
        return super::failure::fail(error.to_string());
    }
    let interrupted = runs.interrupt_all();
    runs.wait_all();
    if interrupted {
        ExitCode::Interrupted
    } else {
        ExitCode::Success
    }
}

/// Resolves at the first SIGTERM or SIGINT.
pub async fn stop_signal() {
    match crate::session::runtime::listen_for_signals() {
        Some(mut signals) => {
            let _ = signals.recv().await;
        }
        None => eprintln!("deploy: warning: {}", crate::session::runtime::NO_SIGNALS),
    }
    eprintln!("deploy: stopping");
}
