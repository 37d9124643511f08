//! The run queue's coordinator: claims queued runs under the concurrency limits and hands each
//! to the launcher. It wakes when a run is queued or a slot frees up (change notifications), so
//! a launched run starts in milliseconds; a fallback poll covers lost notifications.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::context::FutureExt;

use tokio_util::sync::CancellationToken;

use crate::domain::{QueueLimits, Run, RunStatus};
use crate::launcher::Launcher;
use crate::storage::{Change, RunStorage, StorageError};
use crate::telemetry::metrics;
use crate::telemetry::trace::RunTrace;

/// Claims and launches queued runs.
#[derive(Debug)]
pub struct Coordinator {
    store: Arc<dyn RunStorage>,
    launcher: Arc<dyn Launcher>,
    limits: QueueLimits,
}

impl Coordinator {
    pub fn new(
        store: Arc<dyn RunStorage>,
        launcher: Arc<dyn Launcher>,
        limits: QueueLimits,
    ) -> Self {
        Self {
            store,
            launcher,
            limits,
        }
    }

    /// Runs until `shutdown`. Storage errors (a lost database) are logged and retried.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.store.subscribe().await;
        let mut pending = true;
        loop {
            if pending && let Err(e) = self.dequeue().await {
                tracing::warn!(error = %e, "run queue: claim failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                }
                continue;
            }
            let change = tokio::select! {
                () = shutdown.cancelled() => return,
                change = changes.next_or_poll() => change,
            };
            pending = match change {
                None => return,
                Some(Change::Run(_, status)) => status == RunStatus::Queued || status.is_terminal(),
                Some(Change::Schedules) => false,
                // A poll or a possibly missed notification: claim only if something waits, so
                // an idle daemon does not take the queue lock several times a second.
                Some(Change::Resync) => self.anything_queued().await,
            };
        }
    }

    async fn anything_queued(&self) -> bool {
        match self.store.count_unfinished().await {
            Ok(counts) => counts
                .iter()
                .any(|(s, n)| *s == RunStatus::Queued && *n > 0),
            Err(e) => {
                tracing::warn!(error = %e, "run queue: cannot count queued runs");
                true
            }
        }
    }

    /// Claims what the limits allow and launches it, until nothing more can be claimed.
    /// Returns how many runs were launched.
    pub async fn dequeue(&self) -> Result<usize, StorageError> {
        let mut launched = 0;
        loop {
            let claimed = self.store.claim_queued_runs(&self.limits).await?;
            if claimed.is_empty() {
                return Ok(launched);
            }
            launched += claimed.len();
            for run in claimed {
                self.launch(run).await;
            }
        }
    }

    async fn launch(&self, run: Run) {
        let trace = RunTrace::claimed(&run, SystemTime::now());
        if let Some(traceparent) = trace.traceparent()
            && let Err(e) = self.store.set_trace_parent(run.id, &traceparent).await
        {
            tracing::warn!(run_id = %run.id, error = %e, "cannot record the run's trace context");
        }
        let launched = self
            .launcher
            .launch(&run)
            .with_context(trace.launch_context())
            .await;
        trace.launched(launched.as_ref().err().map(ToString::to_string).as_deref());
        match launched {
            Ok(handle) => {
                tracing::info!(run_id = %run.id, job = %run.job, "run launched");
                let queued_for = (chrono::Utc::now() - run.created_at).to_std();
                metrics::run_launched(&run.job, queued_for.unwrap_or_default());
                if let Err(e) = self.store.set_worker(run.id, &handle.0).await {
                    tracing::warn!(run_id = %run.id, error = %e, "cannot record the worker handle");
                }
            }
            Err(e) => {
                tracing::warn!(run_id = %run.id, error = %e, "launch failed");
                let message = e.to_string();
                if let Err(e) = self
                    .store
                    .transition_run(run.id, RunStatus::Failure, Some(&message))
                    .await
                {
                    tracing::warn!(run_id = %run.id, error = %e, "cannot fail the run");
                }
            }
        }
    }
}
