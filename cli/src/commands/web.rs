//! `orch web`: serves the web application (`web::router`: the JSON API, health checks and
//! `/metrics`) on ORCH_WEB_ADDR until SIGINT or SIGTERM, then stops accepting and lets requests
//! in flight end.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use orchestrator::definitions::LiveDefinitions;
use orchestrator::storage::RunStorage;
use tokio::net::TcpListener;

use tokio_util::sync::CancellationToken;

use crate::app;
use crate::commands::daemon::stop_on_signal;
use crate::error::CliError;
use crate::settings::{Settings, redact_url};

/// Settings of `orch web` (flag or environment).
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// The address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "ORCH_WEB_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// A secret every mutation must carry as `Authorization: Bearer <token>`; unset, the API
    /// is open (keep it on loopback).
    #[arg(long, env = "ORCH_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// A file holding that secret (as Vault Agent or a Kubernetes Secret mounts it).
    #[arg(long, env = "ORCH_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Named tokens with roles (TOML `[[tokens]]` with `name`, `role`, `sha256`), re-read when
    /// the file changes and on SIGHUP.
    #[arg(long, env = "ORCH_AUTH_TOKENS_FILE")]
    pub auth_tokens_file: Option<PathBuf>,
    /// Single sign-on: the header in which a trusted proxy passes the signed-in user (e.g.
    /// `X-Forwarded-Email`); unset, no SSO.
    #[arg(long, env = "ORCH_AUTH_PROXY_USER_HEADER")]
    pub auth_proxy_user_header: Option<String>,
    /// The header with the user's groups, comma-separated (e.g. `X-Forwarded-Groups`), mapped
    /// to roles by `[auth.roles]` of orch.toml.
    #[arg(long, env = "ORCH_AUTH_PROXY_GROUPS_HEADER")]
    pub auth_proxy_groups_header: Option<String>,
    /// The proxies (comma-separated CIDRs or addresses) whose identity headers are believed.
    #[arg(long, env = "ORCH_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// With a token set, reads need it too (health checks stay open).
    #[arg(long, env = "ORCH_AUTH_READS", default_value_t = false)]
    pub auth_reads: bool,
    /// Origins (`scheme://host[:port]`, comma-separated) besides this server's own whose pages
    /// may send mutations; every other cross-site mutation is refused with 403.
    #[arg(long, env = "ORCH_ALLOWED_ORIGINS", default_value = "", value_parser = parse_origins)]
    pub allowed_origins: web::AllowedOrigins,
}

fn parse_origins(raw: &str) -> Result<web::AllowedOrigins, String> {
    web::AllowedOrigins::parse(raw).map_err(|e| e.to_string())
}

impl WebArgs {
    /// The authentication in force, from the token or its file (not both; see
    /// `orchestrator::secrets`).
    fn auth(&self, config: &orchestrator::config::OrchConfig) -> Result<web::AuthPolicy, CliError> {
        let secret = orchestrator::secrets::resolve_secret(
            "ORCH_AUTH_TOKEN",
            self.auth_token.clone(),
            self.auth_token_file.as_deref(),
        )
        .map_err(CliError::config)?;
        let token = match secret {
            Some(secret) => Some(web::AuthToken::new(secret.expose()).ok_or_else(|| {
                CliError::config("the auth token is empty; unset it to run without authentication")
            })?),
            None => None,
        };
        let tokens = match &self.auth_tokens_file {
            Some(path) => Some(Arc::new(
                web::tokens::TokensFile::open(path).map_err(|e| CliError::config(e.to_string()))?,
            )),
            None => None,
        };
        let proxy = match &self.auth_proxy_user_header {
            Some(user) => Some(Arc::new(
                web::sso::ProxyAuth::parse(
                    user,
                    self.auth_proxy_groups_header.as_deref(),
                    &self.trusted_proxies,
                    &config.auth.roles,
                )
                .map_err(|e| CliError::config(e.to_string()))?,
            )),
            None => None,
        };
        Ok(web::AuthPolicy {
            token,
            tokens,
            proxy,
            protect_reads: self.auth_reads,
            allowed_origins: self.allowed_origins.clone(),
            login_limits: web::LoginLimits::default(),
        })
    }
}

/// Serves until SIGINT or SIGTERM. It listens before the store is open: while the database
/// does not answer (an outage at start), `/healthz` says degraded and the rest answers 503
/// (`web::Deferred`) until the store opens; it never exits for a database that is away.
pub async fn web(settings: &Settings, args: &WebArgs) -> Result<ExitCode, CliError> {
    let live = crate::reload::live_definitions(settings).await?;
    args.auth(&app::orch_config(settings)?)?;
    let (listener, local) = bind(args.addr).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let deferred = ::web::Deferred::new();
    let serving = tokio::spawn(serve(listener, local, deferred.router(), shutdown.clone()));
    eprintln!(
        "orch web: listening on http://{local} (store {}, {}); Ctrl-C stops it",
        redact_url(&settings.database_url()),
        if args.authenticated() {
            "mutations need the bearer token"
        } else {
            "no authentication"
        }
    );
    let opened = tokio::select! {
        opened = app::open_store_waiting(settings, true) => opened,
        () = shutdown.cancelled() => return finish(serving).await,
    };
    let router = match opened {
        Ok(store) => args.router(settings, store, live.clone()).await,
        Err(e) => Err(e),
    };
    match router {
        Ok(router) => deferred.ready(router),
        Err(e) => {
            shutdown.cancel();
            let _ = serving.await;
            return Err(e);
        }
    }
    tokio::spawn(crate::reload::reload_on_sighup(live, shutdown.clone()));
    finish(serving).await
}

/// Waits for the server task to end.
async fn finish(
    serving: tokio::task::JoinHandle<Result<(), CliError>>,
) -> Result<ExitCode, CliError> {
    serving
        .await
        .map_err(|e| CliError::failure(format!("the web server task failed: {e}")))??;
    Ok(ExitCode::SUCCESS)
}

impl WebArgs {
    /// The web application over these parts, behind the configured authentication.
    pub async fn router(
        &self,
        settings: &Settings,
        store: Arc<dyn RunStorage>,
        live: LiveDefinitions,
    ) -> Result<axum::Router, CliError> {
        let auth = self.auth(&app::orch_config(settings)?)?;
        if let Some(tokens) = &auth.tokens {
            tokio::spawn(reread_tokens_on_sighup(tokens.clone()));
        }
        let extra_api = app::api_routes(settings).await?;
        let loaded = live.current();
        let state =
            web::AppState::new(store, loaded.definitions.clone(), loaded.schedules.to_vec())
                .with_live_definitions(live)
                .with_metrics(app::install_metrics()?)
                .with_tag_check(crate::launcher::run_tag_check(&app::orch_config(
                    settings,
                )?)?);
        Ok(web::router_with_extensions(state, auth, extra_api))
    }

    fn authenticated(&self) -> bool {
        self.auth_token.is_some()
            || self.auth_token_file.is_some()
            || self.auth_tokens_file.is_some()
            || self.auth_proxy_user_header.is_some()
    }
}

/// Re-reads the tokens file on every SIGHUP (it is also re-read when it changes), saying what
/// happened on stderr; a malformed file leaves the tokens read before in force.
async fn reread_tokens_on_sighup(tokens: Arc<web::tokens::TokensFile>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangups.recv().await.is_some() {
        match tokens.reload() {
            Ok(n) => eprintln!(
                "orch: SIGHUP: {n} tokens read from {}",
                tokens.path().display()
            ),
            Err(e) => eprintln!("orch: SIGHUP: {e}; the tokens read before stay in force"),
        }
    }
}

/// Listens on `addr`; returns the listener and the address it got (port 0 picks one).
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), CliError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::config(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::failure(format!("cannot read the listening address: {e}")))?;
    Ok((listener, local))
}

/// Serves `router` until `shutdown`, then lets requests in flight end.
pub async fn serve(
    listener: TcpListener,
    local: SocketAddr,
    router: axum::Router,
    shutdown: CancellationToken,
) -> Result<(), CliError> {
    // The peer address reaches handlers (`ConnectInfo`): wrong tokens are throttled per client.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|e| CliError::failure(format!("the web server on {local} failed: {e}")))
}
