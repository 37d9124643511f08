//! The JSON API under `/api/v1`: one module per noun. Handlers parse what the client sent into
//! domain types (a bad value is a 400 naming it), call the store or `run_control`, and answer
//! with the shapes of `crate::json`.

mod assets;
mod daemons;
mod definitions;
mod jobs;
pub(crate) mod runs;
mod schedules;
mod sensors;

use axum::Router;
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;

/// Page sizes of the API's lists: a default, and the most one request may ask for.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

/// The page size a client asked for (`limit`), within `1..=MAX_PAGE`.
pub fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit {n} is out of range; use 1 to {MAX_PAGE}"
        ))),
    }
}

/// An optional query parameter: absent and empty (`?status=`) both mean "not given".
fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The routes of `/api/v1`, to be nested there, with `extra` (an extension's routes, see
/// `crate::router_with_extensions`) merged in before the fallbacks, so they answer unknown
/// methods the same way.
pub fn router(extra: Router) -> Router<AppState> {
    Router::new()
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::get))
        .route("/runs/{id}/events", get(runs::events))
        .route("/runs/{id}/cancel", post(runs::cancel))
        .route("/runs/{id}/reexecute", post(runs::reexecute))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{job}", get(jobs::get))
        .route("/jobs/{job}/launch", post(jobs::launch))
        .route("/assets", get(assets::list))
        .route("/assets/{*key}", get(assets::get))
        .route("/asset-health", get(assets::health))
        .route("/schedules", get(schedules::list))
        .route("/schedules/{name}/on", post(schedules::on))
        .route("/schedules/{name}/off", post(schedules::off))
        .route("/sensors", get(sensors::list))
        .route("/sensors/{name}/on", post(sensors::on))
        .route("/sensors/{name}/off", post(sensors::off))
        .route("/sensors/{name}/ticks", get(sensors::ticks))
        .route("/alerts", get(sensors::alerts))
        .route("/daemons", get(daemons::list))
        .route(
            "/reload",
            get(definitions::status).post(definitions::reload),
        )
        .merge(extra.with_state(()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Any path nobody serves.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see the README's JSON API section".into())
}

/// A path served, with a method it does not accept.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this endpoint does not accept that method".into())
}
