//! The JSON API under `/api/v1`: one module per noun. Handlers parse what the client sent into
//! domain types (a bad value is a 400 naming it), call the store or `run_control`, and answer
//! with the shapes of `crate::json`. Each handler is documented by its `#[utoipa::path]` and
//! registered with `routes!`, so the router and the OpenAPI document (`crate::openapi`) are
//! built by the same calls.

mod assets;
mod backfills;
mod daemons;
mod definitions;
mod jobs;
mod partitions;
pub(crate) mod runs;
mod schedules;
mod sensors;

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi;
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

/// The routes of `/api/v1` and their documentation. A new endpoint is one more `.routes(...)`
/// line here with a `#[utoipa::path]` on its handler (see ARCHITECTURE.md).
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(runs::list))
        .routes(routes!(runs::get))
        .routes(routes!(runs::events))
        .routes(routes!(runs::cancel))
        .routes(routes!(runs::reexecute))
        .routes(routes!(jobs::list))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::launch))
        .routes(routes!(partitions::status))
        .routes(routes!(backfills::create))
        .routes(routes!(backfills::list))
        .routes(routes!(backfills::get))
        .routes(routes!(backfills::cancel))
        .routes(routes!(backfills::resume))
        .routes(routes!(backfills::retry))
        .routes(routes!(assets::list))
        .routes(routes!(assets::get))
        .routes(routes!(assets::health))
        .routes(routes!(schedules::list))
        .routes(routes!(schedules::on))
        .routes(routes!(schedules::off))
        .routes(routes!(sensors::list))
        .routes(routes!(sensors::on))
        .routes(routes!(sensors::off))
        .routes(routes!(sensors::ticks))
        .routes(routes!(sensors::alerts))
        .routes(routes!(daemons::list))
        .routes(routes!(definitions::status, definitions::reload))
        .routes(routes!(crate::audit::list))
        .routes(routes!(openapi_document))
}

/// The routes of `/api/v1`, to be nested there, with `extra` (an extension's documented routes,
/// see `crate::router_with_extensions`) merged in before the fallbacks, so they answer unknown
/// methods the same way; and the OpenAPI document of them all (paths under `/api/v1`), which
/// the router serves at `/api/v1/openapi.json`.
pub fn router(extra: OpenApiRouter) -> (Router<AppState>, Document) {
    let (router, api) = documented().merge(extra.with_state(())).split_for_parts();
    let document = openapi::document(api);
    let json = DocumentJson(
        document
            .to_json()
            // Serializing a tree of maps, strings and numbers cannot fail.
            .unwrap_or_else(|e| panic!("the OpenAPI document does not serialize: {e}"))
            .into(),
    );
    let router = router
        .layer(Extension(json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    (router, document)
}

/// The document as served, serialized once.
#[derive(Debug, Clone)]
struct DocumentJson(Arc<str>);

/// This API's OpenAPI 3.1 document (the one in `docs/openapi.json` for the stock `orch`).
#[utoipa::path(get, path = "/openapi.json", operation_id = "get_openapi_document", tag = "instance",
    responses((status = 200, description = "The OpenAPI document of this server's API",
        content_type = "application/json", body = Object)))]
async fn openapi_document(Extension(json): Extension<DocumentJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.0.to_string(),
    )
}

/// Any path nobody serves.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see the README's JSON API section".into())
}

/// A path served, with a method it does not accept.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this endpoint does not accept that method".into())
}
