//! A router over a real SQLite store with the products routes merged in, and requests sent
//! through it with `oneshot` (no network).

use std::sync::Arc;

use axum::Router;
use orchestrator::definitions::{Definitions, ScheduleDef};
use orchestrator::storage::RunStorage;
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

pub use orch_test_support::http::Reply;

impl TestApp {
    /// orch's web application over `store` without any extension's routes.
    pub fn new(store: Arc<dyn RunStorage>) -> Self {
        let router = web::router(AppState::new(store.clone(), definitions(), schedules()));
        Self { store, router }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        orch_test_support::http::get(&self.router, uri).await
    }
}
