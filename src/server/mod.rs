//! The HTTP server of `deploy serve` and `deploy watch --listen`: a JSON
//! API over the state (docs/api.md, docs/openapi.yaml), a run's events as
//! Server-Sent Events, approvals and rollbacks that start runs through
//! [`crate::session`] like the CLI does, and signed push webhooks.
//!
//! Every route is declared in [`routes`] with the access it needs, and one
//! layer ([`auth::authorize`]) enforces it: reads are open to loopback
//! clients (and to everyone with [`ServerConfig::open_reads`]), else need
//! a token; writes need a bearer token from `--token-file`, whose identity
//! approvals record. Another layer ([`guard`]) refuses a Host header that
//! does not name this server.

pub mod access;
pub mod actions;
pub mod api;
pub mod auth;
pub mod error;
pub mod events;
pub mod guard;
pub mod hooks;
pub mod locks;
pub mod origin;
pub mod page;
pub mod reporter;
pub mod routes;
pub mod runs;
pub mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;

use crate::state::StateLocation;
pub use error::{ApiError, ApiResult};
pub use hooks::{PushTarget, WebhookSecret};
pub use origin::Cidr;
pub use runs::ActiveRuns;
pub use tokens::Tokens;

/// What the server serves.
pub struct ServerConfig {
    pub state: StateLocation,
    /// The plan `POST /api/environments/{env}/rollback` rolls back with.
    pub plan: PlanPath,
    pub tokens: Tokens,
    /// Reads need no token from any address, not only from loopback.
    pub open_reads: bool,
    /// `deploy watch`: pushes wake it, its state is part of `/api/status`.
    pub watcher: Option<Arc<dyn PushTarget>>,
    pub webhook_secret: Option<WebhookSecret>,
    /// The host of `--public-url`: a Host header may name it.
    pub public_host: Option<String>,
    /// `--trusted-proxy`: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Cidr>,
    /// `--max-streams`: event streams open at once (429 beyond).
    pub max_streams: usize,
}

/// The plan file, which `deploy watch` moves to each deployed commit's worktree.
#[derive(Clone, Debug)]
pub struct PlanPath(Arc<std::sync::RwLock<PathBuf>>);

impl PlanPath {
    pub fn new(path: PathBuf) -> PlanPath {
        PlanPath(Arc::new(std::sync::RwLock::new(path)))
    }

    pub fn get(&self) -> PathBuf {
        self.0.read().map(|path| path.clone()).unwrap_or_default()
    }

    pub fn set(&self, path: PathBuf) {
        if let Ok(mut current) = self.0.write() {
            *current = path;
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub runs: ActiveRuns,
    /// Cancelled when the server stops: open event streams end.
    pub streams: tokio_util::sync::CancellationToken,
    /// One permit per open event stream ([`ServerConfig::max_streams`]).
    pub stream_slots: Arc<tokio::sync::Semaphore>,
    /// One permit per store read of an event stream in flight: however
    /// many streams are open, their polls hold at most
    /// [`STREAM_READS`] threads of the blocking pool, and the rest of the
    /// pool stays free for requests.
    pub stream_reads: Arc<tokio::sync::Semaphore>,
    /// The webhook deliveries seen lately.
    pub deliveries: Arc<hooks::Deliveries>,
}

impl AppState {
    pub fn new(config: ServerConfig, runs: ActiveRuns) -> AppState {
        let stream_slots = Arc::new(tokio::sync::Semaphore::new(config.max_streams));
        AppState {
            config: Arc::new(config),
            runs,
            streams: tokio_util::sync::CancellationToken::new(),
            stream_slots,
            stream_reads: Arc::new(tokio::sync::Semaphore::new(STREAM_READS)),
            deliveries: Arc::default(),
        }
    }

    /// Ends every open event stream (a stopping server waits for none).
    pub fn end_streams(&self) {
        self.streams.cancel();
    }
}

/// Every route of [`routes::table`] behind the authorization layer;
/// unknown paths and wrong methods get a JSON error; every response passes
/// the [`guard`].
pub fn router(state: AppState) -> Router {
    let (routes, access) = routes::build();
    let authorize = axum::middleware::from_fn_with_state((state.clone(), Arc::new(access)), auth::authorize);
    routes
        .route_layer(authorize)
        .fallback(api::no_route)
        .method_not_allowed_fallback(api::wrong_method)
        .layer(axum::extract::DefaultBodyLimit::max(guard::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state)
}

/// Threads of the server's blocking pool (store reads and writes of
/// requests): bounded, so a burst of requests or streams queues instead of
/// growing the process by a thread each.
pub const BLOCKING_THREADS: usize = 16;

/// Event stream polls reading the store at once.
pub const STREAM_READS: usize = 4;

/// The runtime `deploy serve` and `deploy watch --listen` serve on.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Binds `ADDR` (`127.0.0.1:8080`, `[::1]:0`, a bare port means loopback).
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, String> {
    let address =
        if listen.chars().all(|c| c.is_ascii_digit()) { format!("127.0.0.1:{listen}") } else { listen.into() };
    tokio::net::TcpListener::bind(&address).await.map_err(|error| format!("cannot listen on {address}: {error}"))
}
