//! [`Deferred`]: what a server answers before its store is open. `orch web` and the daemon's
//! metrics listener bind at once and serve this while they wait for the database (a process
//! that started during an outage waits instead of exiting, so nothing crash-loops): `/healthz`
//! answers 200 `{"status":"degraded",…}` (the process is alive and retrying), `/readyz` and
//! every other path 503 — the API as JSON, pages as the HTML error page — with `Retry-After`.
//! Once [`Deferred::ready`] hands it the real router, every request goes there.
//!
//! A request that arrives in the first [`STARTUP_WINDOW`] (other than `/healthz`) waits for the
//! store instead of answering 503 at once: with a database that answers, opening takes
//! milliseconds, and a client that connects as soon as the port is bound should not see an
//! outage that is not there.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::error::{RETRY_AFTER_SECS, UNAVAILABLE};

/// How long after start a request waits for the store before it is answered 503.
pub const STARTUP_WINDOW: Duration = Duration::from_secs(3);

/// A router that waits for the real one.
#[derive(Debug, Clone)]
pub struct Deferred {
    slot: Arc<watch::Sender<Option<Router>>>,
    patient_until: Instant,
}

impl Default for Deferred {
    fn default() -> Self {
        Self::new()
    }
}

impl Deferred {
    pub fn new() -> Self {
        Self::with_window(STARTUP_WINDOW)
    }

    /// Requests wait up to `window` from now for [`Deferred::ready`].
    pub fn with_window(window: Duration) -> Self {
        Self {
            slot: Arc::new(watch::channel(None).0),
            patient_until: Instant::now() + window,
        }
    }

    /// The router to serve from the start.
    pub fn router(&self) -> Router {
        Router::new().fallback(forward).with_state(self.clone())
    }

    /// From now on, requests go to `router`. A second call is ignored.
    pub fn ready(&self, router: Router) {
        self.slot.send_if_modified(|slot| {
            let first = slot.is_none();
            if first {
                *slot = Some(router);
            }
            first
        });
    }

    /// The real router, once ready; within the startup window, waits for it.
    async fn current(&self, path: &str) -> Option<Router> {
        let mut ready = self.slot.subscribe();
        if path == "/healthz" {
            return ready.borrow().clone();
        }
        let waited = tokio::time::timeout_at(self.patient_until, ready.wait_for(Option::is_some))
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|router| router.clone());
        waited.or_else(|| ready.borrow().clone())
    }
}

async fn forward(State(deferred): State<Deferred>, request: Request<Body>) -> Response {
    match deferred.current(request.uri().path()).await {
        // The router's error type is Infallible.
        Some(router) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => waiting(request.uri().path()),
    }
}

/// The answer while the store is not open yet.
fn waiting(path: &str) -> Response {
    let mut response = if path == "/healthz" {
        (
            StatusCode::OK,
            axum::Json(json!({ "status": "degraded", "database": "waiting" })),
        )
            .into_response()
    } else if path == "/readyz" || path == "/metrics" || path.starts_with("/api/") {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "error": UNAVAILABLE, "status": 503 })),
        )
            .into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Html(WAITING_PAGE)).into_response()
    };
    // The security headers the real router's layers set (`layers::apply`).
    let headers = response.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        let retry = HeaderValue::from_static(RETRY_AFTER_SECS);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry.clone());
        response.headers_mut().insert("refresh", retry);
    }
    response
}

/// A page of its own: the templates need a viewer and a session this state has not got.
const WAITING_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>503 Service Unavailable · orch</title></head><body>\
<h1>503 Service Unavailable</h1>\
<p id=\"error-message\">orch is waiting for its database, which does not answer yet. \
It connects by itself as soon as the database is up; this page reloads every 5 seconds.</p>\
</body></html>\n";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::routing::get;

    use super::*;

    async fn get_path(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn answers_degraded_and_503_until_ready_then_forwards() {
        let deferred = Deferred::with_window(Duration::ZERO);
        let router = deferred.router();
        let (status, body) = get_path(router.clone(), "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("degraded"), "{body}");
        let framed = router
            .clone()
            .oneshot(Request::get("/runs").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(framed.headers()["x-frame-options"], "DENY");
        for path in ["/readyz", "/api/v1/runs"] {
            let (status, body) = get_path(router.clone(), path).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert!(body.contains("does not answer"), "{path}: {body}");
        }
        let (status, body) = get_path(router.clone(), "/runs").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("waiting for its database"), "{body}");
        deferred.ready(Router::new().route("/readyz", get(|| async { "ready" })));
        assert_eq!(
            get_path(router, "/readyz").await,
            (StatusCode::OK, "ready".to_owned())
        );
    }

    #[tokio::test]
    async fn a_request_in_the_startup_window_waits_for_the_store() {
        let deferred = Deferred::with_window(Duration::from_secs(30));
        let router = deferred.router();
        let (status, body) = get_path(router.clone(), "/healthz").await;
        assert_eq!(status, StatusCode::OK, "/healthz never waits");
        assert!(body.contains("degraded"), "{body}");
        let early = tokio::spawn(get_path(router, "/readyz"));
        tokio::task::yield_now().await;
        assert!(!early.is_finished(), "answered before the store was ready");
        deferred.ready(Router::new().route("/readyz", get(|| async { "ready" })));
        assert_eq!(early.await.unwrap(), (StatusCode::OK, "ready".to_owned()));
    }
}
