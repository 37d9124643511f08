//! The web UI: server-rendered HTML pages (askama templates in `web/templates/`), no JS
//! framework and nothing fetched from elsewhere; CSS and the one small script are embedded in
//! the binary (`assets.rs`). Handlers read through `RunStorage` and the definitions and write
//! through `run_control` or `create_run`, like the API; what they show is computed here
//! (`timeline.rs`, `graph.rs`, `format.rs`) and templates only print it, escaped.
//!
//! Browser auth (login form, signed session cookie, CSRF tokens) is `session.rs` + `guard.rs`.

mod assets;
mod format;
mod graph;
mod guard;
mod page;
mod pages;
mod paths;
mod session;
mod timeline;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub use guard::{BrowserAuth, guard};
pub(crate) use page::ErrorPage;
pub use page::not_found;

use crate::state::AppState;

/// Pages may load only this site's CSS and script; forms post only here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The pages, with the login routes; `auth` is the browser guard's state.
pub fn router(auth: Arc<BrowserAuth>) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview::show))
        .route("/runs", get(pages::runs::list))
        .route("/runs/{id}", get(pages::run::show))
        .route("/runs/{id}/live", get(pages::live::poll))
        .route("/runs/{id}/steps/{*step}", get(pages::run::step_logs))
        .route("/runs/{id}/cancel", post(pages::run_actions::terminate))
        .route("/runs/{id}/reexecute", post(pages::run_actions::reexecute))
        .route("/backfills", get(pages::backfills::list))
        .route("/backfills/{id}", get(pages::backfills::show))
        .route("/backfills/{id}/cancel", post(pages::backfills::cancel))
        .route("/backfills/{id}/retry", post(pages::backfills::retry))
        .route("/jobs", get(pages::jobs::list))
        .route("/reload", post(pages::jobs::reload))
        .route("/jobs/{job}", get(pages::jobs::show))
        .route("/jobs/{job}/launch", post(pages::launch::submit))
        .route("/jobs/{job}/backfill", post(pages::partitions::submit))
        .route("/assets", get(pages::assets::list))
        .route("/assets/{*key}", get(pages::assets::show))
        .route("/schedules", get(pages::schedules::list))
        .route("/schedules/{name}", get(pages::schedules::show))
        .route("/schedules/{name}/on", post(pages::schedules::on))
        .route("/schedules/{name}/off", post(pages::schedules::off))
        .route("/sensors/{name}/on", post(pages::sensors::on))
        .route("/sensors/{name}/off", post(pages::sensors::off))
        .route("/instance", get(pages::instance::show))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .layer(axum::Extension(auth))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .route("/static/{file}", get(assets::serve))
}
