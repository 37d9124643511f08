//! `AppState`: what every handler can reach — the run store, the job definitions and the
//! schedules in force. Cheap to clone (everything behind `Arc`).

use std::sync::Arc;

use orchestrator::definitions::{Definitions, ScheduleDef};
use orchestrator::storage::RunStorage;

/// The shared state of the web server.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn RunStorage>,
    pub definitions: Arc<Definitions>,
    /// The effective schedules (declared ones with orch.toml's overrides and additions).
    pub schedules: Arc<[ScheduleDef]>,
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
        }
    }
}
