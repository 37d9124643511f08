//! `AppState`: what every handler can reach — the run store, the job definitions and the
//! schedules in force (reloadable: a handler takes one snapshot, `definitions()` and
//! `schedules()` of the same version). Cheap to clone (everything behind `Arc`).

use std::sync::Arc;

use orchestrator::definitions::{Definitions, LiveDefinitions, Loaded, ScheduleDef};
use orchestrator::launcher::{RunTagCheck, TagChecks};
use orchestrator::storage::RunStorage;
use orchestrator::telemetry::metrics::MetricsHandle;

/// The shared state of the web server.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn RunStorage>,
    /// The definitions and the effective schedules (declared ones with orch.toml's overrides
    /// and additions) in force, and how to reload them.
    pub live: LiveDefinitions,
    /// The process's Prometheus recorder, rendered at `/metrics`; `None`: no metrics.
    pub metrics: Option<MetricsHandle>,
    /// The operator's checks of a launched run's tags (e.g. which `orch/k8s_config` keys a run
    /// may set); a refusal is a 422 and no run. None unless the binary sets them.
    pub tag_check: Arc<dyn RunTagCheck>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn RunStorage>,
        definitions: Arc<Definitions>,
        schedules: Vec<ScheduleDef>,
    ) -> Self {
        Self {
            store,
            live: LiveDefinitions::fixed(definitions, schedules),
            metrics: None,
            tag_check: Arc::new(TagChecks::none()),
        }
    }

    /// Definitions that can be reloaded (`POST /api/v1/reload`, the Reload button, SIGHUP).
    pub fn with_live_definitions(mut self, live: LiveDefinitions) -> Self {
        self.live = live;
        self
    }

    /// The definitions and schedules in force now (one version).
    pub fn loaded(&self) -> Arc<Loaded> {
        self.live.current()
    }

    /// The job definitions in force now.
    pub fn definitions(&self) -> Arc<Definitions> {
        self.live.current().definitions.clone()
    }

    /// The effective schedules in force now.
    pub fn schedules(&self) -> Arc<[ScheduleDef]> {
        self.live.current().schedules.clone()
    }

    /// Checks the tags of every run launched through the API or the UI with `check`.
    pub fn with_tag_check(mut self, check: Arc<dyn RunTagCheck>) -> Self {
        self.tag_check = check;
        self
    }

    /// Serves `handle` at `/metrics`.
    pub fn with_metrics(mut self, handle: MetricsHandle) -> Self {
        self.metrics = Some(handle);
        self
    }
}
