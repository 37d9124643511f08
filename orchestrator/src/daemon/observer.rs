//! The run observer: follows runs as they end and records them in the metrics
//! (`orch_runs_total{job,status}`, and each step's duration from the run's events, since the
//! worker that executed them is a short-lived process nobody scrapes). It sees every run that
//! ends, whoever ended it (a worker, a monitor of another replica, a cancel of a queued run),
//! because it reads the store rather than notifications: once a second, the runs whose
//! `ended_at` is at or after its cursor, less a margin for transactions that commit late.
//!
//! Each replica counts every run it sees end from its start on; with several replicas,
//! aggregate with `max`, not `sum`. Runs that ended before the observer started are not counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use crate::domain::{Run, RunId};
use crate::storage::{RunStorage, StorageError};
use crate::telemetry::{metrics, steps};

/// How far behind its cursor the observer looks again: a run whose end commits up to this long
/// after its `ended_at` was stamped is still counted (once).
const LATE_COMMIT: TimeDelta = TimeDelta::seconds(5);
/// Runs read per query.
const PAGE: u32 = 500;
/// How often the store is read.
const INTERVAL: Duration = Duration::from_secs(1);

/// Follows ended runs into the metrics.
#[derive(Debug)]
pub struct RunObserver {
    store: Arc<dyn RunStorage>,
    /// The latest `ended_at` seen.
    cursor: DateTime<Utc>,
    /// Runs already counted that ended within `LATE_COMMIT` of the cursor.
    seen: HashMap<RunId, DateTime<Utc>>,
}

impl RunObserver {
    /// An observer counting the runs that end at or after `since`.
    pub fn new(store: Arc<dyn RunStorage>, since: DateTime<Utc>) -> Self {
        Self {
            store,
            cursor: since + LATE_COMMIT,
            seen: HashMap::new(),
        }
    }

    /// Runs until `shutdown`; a failed read is logged and tried again at the next interval.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.tick_once().await {
                tracing::warn!(error = %e, "run observer: cannot read ended runs; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(INTERVAL) => {}
            }
        }
    }

    /// Records the runs that ended since the last pass; returns how many.
    pub async fn tick_once(&mut self) -> Result<usize, StorageError> {
        let mut since = self.cursor - LATE_COMMIT;
        let mut recorded = 0;
        loop {
            let page = self.store.list_runs_ended_since(since, PAGE).await?;
            let last = page.last().and_then(|r| r.ended_at);
            for run in &page {
                let Some(ended) = run.ended_at else { continue };
                if self.seen.insert(run.id, ended).is_some() {
                    continue;
                }
                self.cursor = self.cursor.max(ended);
                self.record(run).await;
                recorded += 1;
            }
            // A full page continues after its last row; ties are caught by `seen`.
            match last {
                Some(last) if page.len() == PAGE as usize && last > since => since = last,
                _ => break,
            }
        }
        let horizon = self.cursor - LATE_COMMIT;
        self.seen.retain(|_, ended| *ended >= horizon);
        Ok(recorded)
    }

    async fn record(&self, run: &Run) {
        metrics::run_ended(&run.job, run.status);
        match self.store.list_step_events(run.id, None, 10_000).await {
            Ok(events) => {
                for step in steps::step_durations(&events) {
                    metrics::step_ended(&run.job, &step);
                }
            }
            Err(e) => {
                tracing::warn!(run_id = %run.id, error = %e, "run observer: cannot read the run's step events");
            }
        }
    }
}
