//! orch's HTTP edge. Only this crate knows HTTP: it turns requests into calls on the run store,
//! the job definitions and `orchestrator::run_control`, and their results into JSON or HTML.
//!
//! [`router`] builds the whole application: `/healthz`, `/readyz`, `/metrics` (Prometheus,
//! `metrics.rs`) and the JSON API under `/api/v1` (see the README's "JSON API"; its OpenAPI
//! document, generated from the handlers, is `openapi/` and `/api/v1/openapi.json`), wrapped in the
//! layers of `layers.rs` (request ids, timeout, body limit, security headers) and the optional
//! bearer-token check of `auth.rs` ([`router_with_auth`]), all behind the cross-site refusal of
//! `origin.rs`. The web UI's HTML pages (`ui/`) sit
//! beside the API, inside the same layers, with browser auth of their own (login form, session
//! cookie, CSRF tokens).

mod api;
mod audit;
mod auth;
pub mod backfill_json;
pub mod daemon_json;
mod error;
mod extract;
mod health;
pub mod json;
mod layers;
mod metrics;
pub mod openapi;
mod origin;
pub mod partition_json;
pub mod roles;
pub mod sensor_json;
pub mod sso;
mod starting;
mod state;
mod throttle;
pub mod tokens;
mod ui;

use axum::Router;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

pub use api::{DEFAULT_PAGE, MAX_PAGE, page_size};
pub use auth::{ADMIN_TOKEN_NAME, ANONYMOUS, AuthPolicy, AuthToken, Caller};
pub use error::{ApiError, ErrorJson};
pub use extract::ApiQuery;
pub use layers::{BODY_LIMIT, REQUEST_TIMEOUT};
pub use metrics::{CONTENT_TYPE as METRICS_CONTENT_TYPE, daemon_health, daemon_router};
pub use origin::{AllowedOrigins, BadOrigin};
pub use starting::Deferred;
pub use state::AppState;
pub use throttle::{Limit, LoginLimits};

/// The web application over `state`, open to anyone who can reach it.
pub fn router(state: AppState) -> Router {
    router_with_auth(state, AuthPolicy::default())
}

/// The web application over `state`, with requests checked against `auth` (see `auth.rs`).
///
/// The API checks the bearer token (`auth.rs`); the pages check the session cookie and CSRF
/// tokens (`ui/guard.rs`). Each middleware leaves the other's paths alone.
pub fn router_with_auth(state: AppState, auth: AuthPolicy) -> Router {
    router_with_extensions(state, auth, OpenApiRouter::default())
}

/// The OpenAPI document of the API with `api`, an extension's documented routes: what
/// [`router_with_extensions`] serves at `/api/v1/openapi.json`, without a server (`orch openapi`).
pub fn openapi_document(api: OpenApiRouter) -> utoipa::openapi::OpenApi {
    api::router(api).1
}

/// [`router_with_auth`] with `api`, an extension's routes with their documentation (handlers
/// with `#[utoipa::path]`, registered with `utoipa_axum::routes!`), served under `/api/v1`
/// beside the API's own (behind the same layers and token check) and listed in its OpenAPI
/// document. A path that collides with one of the API's panics here, at start.
pub fn router_with_extensions(state: AppState, auth: AuthPolicy, api: OpenApiRouter) -> Router {
    // Only fails if the OS cannot give random bytes, which nothing here could work without.
    let throttle = throttle::Throttle::new(auth.login_limits);
    let browser = ui::BrowserAuth::new(auth.clone(), throttle.clone())
        .unwrap_or_else(|e| panic!("cannot make the web UI's session key: {e}"));
    let allowed_origins = auth.allowed_origins.clone();
    let token_check = auth::TokenCheck {
        policy: auth,
        throttle,
    };
    let app = Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::web_metrics))
        .nest(openapi::API_PREFIX, api::router(api).0)
        .merge(ui::router(browser.clone()))
        .fallback(ui::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        // Inside both auth middlewares: it sees the identity they recognised.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .layer(axum::middleware::from_fn_with_state(browser, ui::guard))
        .layer(axum::middleware::from_fn_with_state(
            token_check,
            auth::require_token,
        ))
        // Outermost: a cross-site mutation is refused before any credential is looked at.
        .layer(axum::middleware::from_fn_with_state(
            allowed_origins,
            origin::refuse_cross_site,
        ));
    layers::apply(app).with_state(state)
}
