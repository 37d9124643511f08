//! The IO manager: persists every step output so downstream steps, and later re-executions of
//! the run from failure, can load it. Outputs are JSON objects under `runs/<run id>/<step>.json`
//! in an object store (a local directory or an S3 bucket).

use std::sync::Arc;

use orchestrator::definitions::{ObjectStore, ObjectStoreError, StoredObject};
use orchestrator::domain::{AssetKey, RunId};
use serde_json::Value;

/// Step outputs, keyed by run and step.
#[derive(Debug, Clone)]
pub struct IoManager {
    store: Arc<dyn ObjectStore>,
}

impl IoManager {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    fn key(run: RunId, step: &AssetKey) -> String {
        format!("runs/{run}/{step}.json")
    }

    pub async fn store_output(
        &self,
        run: RunId,
        step: &AssetKey,
        value: &Value,
    ) -> Result<StoredObject, ObjectStoreError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| ObjectStoreError::Permanent(format!("output is not serializable: {e}")))?;
        self.store
            .put(&Self::key(run, step), body, "application/json")
            .await
    }

    pub async fn load_output(
        &self,
        run: RunId,
        step: &AssetKey,
    ) -> Result<Value, ObjectStoreError> {
        let key = Self::key(run, step);
        let body = self.store.get(&key).await?;
        serde_json::from_slice(&body).map_err(|e| {
            ObjectStoreError::Permanent(format!(
                "{} is not valid JSON: {e}",
                self.store.uri_of(&key)
            ))
        })
    }
}
