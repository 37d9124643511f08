//! A router over a real SQLite store with the products routes merged in, and requests sent
//! through it with `oneshot` (no network).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use orchestrator::definitions::{Definitions, ScheduleDef};
use orchestrator::storage::RunStorage;
use serde_json::{Value, json};
use tower::ServiceExt;
use web::AppState;

/// No jobs: the products API does not need any.
pub fn definitions() -> Arc<Definitions> {
    Arc::new(Definitions::new(Vec::new()).unwrap())
}

pub fn schedules() -> Vec<ScheduleDef> {
    Vec::new()
}

/// The router over a store, and the store itself.
#[derive(Debug, Clone)]
pub struct TestApp {
    pub store: Arc<dyn RunStorage>,
    pub router: Router,
}

/// What a request got back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a JSON error with `status`, whose message contains `needle`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, needle: &str) {
        self.assert_status(status);
        assert_eq!(self.body["status"], json!(status.as_u16()), "{}", self.body);
        let message = self.body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "expected {needle:?} in {message:?}"
        );
    }
}

impl TestApp {
    /// orch's web application over `store` without any extension's routes.
    pub fn new(store: Arc<dyn RunStorage>) -> Self {
        let router = web::router(AppState::new(store.clone(), definitions(), schedules()));
        Self { store, router }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        Reply { status, body }
    }
}
