//! Prometheus scrapes: `GET /metrics` on the web server (when the binary installed the
//! recorder, `AppState::with_metrics`), and [`daemon_router`], the daemon's own small listener
//! (`ORCH_METRICS_ADDR`) with `/metrics` and a `/healthz` that is 200 only while the daemon's
//! loops run. Before rendering, the store gauges (queue depth, runs in progress, pool usage) are
//! read, so they are exact at scrape time.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orchestrator::daemon::{Health, Liveness};
use orchestrator::storage::RunStorage;
use orchestrator::telemetry::metrics::{self, MetricsHandle};
use serde_json::json;

use crate::state::AppState;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics` of the web server: 404 when this process records no metrics.
pub async fn web_metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => render(state.store.as_ref(), handle).await,
        None => {
            crate::error::ApiError::NotFound("metrics are not recorded by this server".to_owned())
                .into_response()
        }
    }
}

async fn render(store: &dyn RunStorage, handle: &MetricsHandle) -> Response {
    if let Err(e) = metrics::refresh_store_gauges(store).await {
        // The rest still renders; the store gauges keep their last values.
        tracing::warn!(error = %e, "metrics: cannot read the store gauges");
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], handle.render()).into_response()
}

/// What the daemon's listener serves from.
#[derive(Debug, Clone)]
struct DaemonProbe {
    store: Arc<dyn RunStorage>,
    metrics: MetricsHandle,
    liveness: Liveness,
}

/// `/healthz` of the daemon: 200 `{"status":"ok"}` while its loops run; 200
/// `{"status":"degraded",…}` while they run but the database does not answer (they retry by
/// themselves: a restart would not help, so a liveness probe must not fail); 503
/// `{"status":"stopped"}` once they stopped.
pub fn daemon_health(liveness: &Liveness) -> (StatusCode, axum::Json<serde_json::Value>) {
    match liveness.health() {
        Health::Ok => (StatusCode::OK, axum::Json(json!({ "status": "ok" }))),
        Health::Degraded { since, error } => (
            StatusCode::OK,
            axum::Json(json!({
                "status": "degraded",
                "database": "unreachable",
                "since": since.to_rfc3339(),
                "error": orchestrator::redact::redact_text(&error),
            })),
        ),
        Health::Stopped => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "stopped" })),
        ),
    }
}

/// The daemon's listener: `/metrics` and `/healthz` ([`daemon_health`]).
pub fn daemon_router(
    store: Arc<dyn RunStorage>,
    metrics: MetricsHandle,
    liveness: Liveness,
) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(probe): State<DaemonProbe>| async move {
                render(probe.store.as_ref(), &probe.metrics).await
            }),
        )
        .route(
            "/healthz",
            get(|State(probe): State<DaemonProbe>| async move { daemon_health(&probe.liveness) }),
        )
        .with_state(DaemonProbe {
            store,
            metrics,
            liveness,
        })
}
