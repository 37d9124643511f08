//! Observability end to end: `orch daemon` with `ORCH_METRICS_ADDR` on a real PostgreSQL
//! database launching real `orch worker` processes, scraped and parsed as Prometheus text;
//! a run traced through an OTLP receiver on loopback from the daemon's claim to the worker's
//! steps, its HTTP fetch and its S3 put (moto); the worker's JSON log lines carry the run id
//! and the step.
//!
//! Needs the test services: `eval "$(scripts/test-services.sh)"`.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../e2e/support/mod.rs"]
mod support;

mod metrics;
mod otlp;
mod traces;

use std::sync::Arc;
use std::time::Duration;

use orchestrator::domain::{JobName, NewRun, Run, RunId};
use orchestrator::storage::RunStorage;
use serde_json::json;

async fn queue(store: &Arc<dyn RunStorage>, source: &str) -> RunId {
    let run = NewRun::queued(
        JobName::parse(support::JOB).unwrap(),
        json!({ "source_url": source }),
        Default::default(),
    );
    store.create_run(&run).await.unwrap().id
}

/// Waits until the run has ended; panics after `within` (test-support's wait).
async fn ended(store: &Arc<dyn RunStorage>, id: RunId, within: Duration) -> Run {
    orch_test_support::wait::run_ended(store.as_ref(), id, within).await
}
