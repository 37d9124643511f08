//! `AppState`: what every handler can reach — the run store, the job definitions and the
//! schedules in force. Cheap to clone (everything behind `Arc`).

use std::sync::Arc;

use orchestrator::definitions::{Definitions, ScheduleDef};
use orchestrator::storage::RunStorage;
use orchestrator::telemetry::metrics::MetricsHandle;

/// The shared state of the web server.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn RunStorage>,
    pub definitions: Arc<Definitions>,
    /// The effective schedules (declared ones with orch.toml's overrides and additions).
    pub schedules: Arc<[ScheduleDef]>,
    /// The process's Prometheus recorder, rendered at `/metrics`; `None`: no metrics.
    pub metrics: Option<MetricsHandle>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn RunStorage>,
        definitions: Arc<Definitions>,
        schedules: Vec<ScheduleDef>,
    ) -> Self {
        Self {
            store,
            definitions,
            schedules: schedules.into(),
            metrics: None,
        }
    }

    /// Serves `handle` at `/metrics`.
    pub fn with_metrics(mut self, handle: MetricsHandle) -> Self {
        self.metrics = Some(handle);
        self
    }
}
