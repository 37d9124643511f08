//! orch's HTTP edge. Only this crate knows HTTP: it turns requests into calls on the run store,
//! the job definitions and `orchestrator::run_control`, and their results into JSON.
//!
//! [`router`] builds the whole application: `/healthz`, `/readyz` and the JSON API under
//! `/api/v1` (see the README's "JSON API"), wrapped in the layers of `layers.rs` (request ids,
//! timeout, body limit, security headers) and the optional bearer-token check of `auth.rs`
//! ([`router_with_auth`]). HTML pages go beside the API, so the same layers wrap them.

mod api;
mod auth;
mod error;
mod extract;
mod health;
pub mod json;
mod layers;
mod state;

use axum::Router;
use axum::routing::get;

pub use api::{CACHE_METRIC, CacheStats, PRODUCTS_CACHE_TTL, Products};
pub use auth::{AuthPolicy, AuthToken};
pub use error::{ApiError, ErrorJson};
pub use layers::{BODY_LIMIT, REQUEST_TIMEOUT};
pub use state::AppState;

/// The web application over `state`, open to anyone who can reach it.
pub fn router(state: AppState) -> Router {
    router_with_auth(state, AuthPolicy::default())
}

/// The web application over `state`, with requests checked against `auth` (see `auth.rs`).
pub fn router_with_auth(state: AppState, auth: AuthPolicy) -> Router {
    let app = Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .nest("/api/v1", api::router())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            auth,
            auth::require_token,
        ));
    layers::apply(app).with_state(state)
}
