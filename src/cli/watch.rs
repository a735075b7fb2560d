//! `deploy watch [--repo PATH|URL] [--branch B] [--every D] [--listen ADDR]
//! [--webhook-secret-file F] FILE` — deploys every new commit of a branch
//! (docs/continuous.md). Parses the flags and hands the watcher to
//! [`crate::watch::serve_and_watch`]; SIGTERM/SIGINT/SIGHUP stop it: exit 0,
//! or 130 when a run had to be interrupted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::flags::parse_duration;
use super::report::CliReporter;
use super::serve::{ServerArgs, DEFAULT_LISTEN};
use super::ExitCode;
use crate::server::{ActiveRuns, PlanPath, PushTarget, ServerConfig, WebhookSecret};
use crate::watch::{Server, WatchConfig, WatchControl, WatchEnd, WatchFlags, Watcher};

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
    /// The control secret of the push webhooks (GitHub or GitLab).
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
    let control = WatchControl::new(&config.branch, Some(plan.clone()));
    let runs = ActiveRuns::default();
    let server = match args.listen.as_deref() {
        Some(listen) => {
            let server_config = ServerConfig {
                state: config.state.clone(),
                plan,
                tokens,
                open_reads: args.open_reads,
                watcher: Some(control.clone() as Arc<dyn PushTarget>),
                webhook_secret: secret,
                public_host,
                trusted_proxies,
                max_streams: args.max_streams as usize,
            };
            match Server::start(listen, server_config, runs.clone()) {
                Ok(server) => Some(server),
                Err(error) => return usage(error),
            }
        }
        None => None,
    };
    let mut watcher =
        match Watcher::new(config, store, control.clone(), Arc::new(CliReporter), pipeline, args.store.json) {
            Ok(watcher) => watcher,
            Err(error) => return super::report::error_as(error, args.store.json),
        };
    watcher.every_fixed = args.every.is_some();
    watcher.pipeline_known = local_plan.is_some();
    match crate::watch::serve_and_watch(watcher, control, runs, server) {
        WatchEnd::Interrupted => ExitCode::Interrupted,
        WatchEnd::Stopped => ExitCode::Success,
    }
}
