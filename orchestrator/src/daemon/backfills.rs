//! The backfill loop: for each active backfill, submits its next chunks as runs (QUEUED, tagged
//! `orch/backfill`) up to its own limit, cancels the runs of a CANCELING one, and ends it
//! (COMPLETED, FAILED, CANCELED) when nothing is left in flight. Event-driven: it ticks again as
//! soon as a run ends (a slot frees), with a short fallback to see new backfills. Replicas are
//! safe together: a tick's chunks are claimed (each conditionally) and their runs created in one
//! transaction (`submit_backfill_chunks`), and status changes are conditional.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Map;
use tokio_util::sync::CancellationToken;

use crate::definitions::{Definitions, JobDef};
use crate::domain::{
    BACKFILL_TAG, Backfill, BackfillChunk, BackfillStatus, NewRun, PartitionRange,
    PartitionTargets, TagKey, Tags,
};
use crate::partition_status::targets;
use crate::storage::{RunStorage, StorageError};

/// The most runs one backfill submits in one tick (more follow at once in the next).
const BATCH: u32 = 500;
/// How often new backfills are looked for when no run ends.
const FALLBACK: Duration = Duration::from_secs(1);

/// The loop over the definitions in force.
pub struct BackfillDaemon {
    store: Arc<dyn RunStorage>,
    definitions: Arc<Definitions>,
}

impl std::fmt::Debug for BackfillDaemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackfillDaemon").finish_non_exhaustive()
    }
}

impl BackfillDaemon {
    pub fn new(store: Arc<dyn RunStorage>, definitions: Arc<Definitions>) -> Self {
        Self { store, definitions }
    }

    /// One pass over the active backfills; returns how many runs it submitted.
    pub async fn tick_once(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut submitted = 0;
        for backfill in self.store.active_backfills().await? {
            submitted += self.advance(&backfill, now).await?;
        }
        Ok(submitted)
    }

    async fn advance(&self, backfill: &Backfill, now: DateTime<Utc>) -> Result<u64, StorageError> {
        use BackfillStatus::*;
        let store = self.store.as_ref();
        if backfill.status == Canceling {
            let in_flight = store.backfill_runs_in_flight(backfill.id).await?;
            for run in &in_flight {
                // A run that ended meanwhile is fine: it is no longer in flight.
                let _ =
                    crate::run_control::cancel_run(store, *run, "its backfill was canceled").await;
            }
            if in_flight.is_empty() {
                store
                    .set_backfill_status(backfill.id, &[Canceling], Canceled)
                    .await?;
                tracing::info!(backfill = %backfill.id, "backfill canceled");
            }
            return Ok(0);
        }
        let Some(job) = self.definitions.job(backfill.job.as_str()) else {
            tracing::warn!(backfill = %backfill.id, job = %backfill.job, "the backfill's job is gone; it fails");
            store
                .set_backfill_status(backfill.id, &[Requested, Running], Failed)
                .await?;
            return Ok(0);
        };
        let counts = store.backfill_counts(backfill.id).await?;
        let in_flight = counts.in_flight();
        if counts.pending == 0 {
            if in_flight == 0 {
                let end = if counts.unsuccessful() == 0 {
                    Completed
                } else {
                    Failed
                };
                store
                    .set_backfill_status(backfill.id, &[Requested, Running], end)
                    .await?;
                tracing::info!(backfill = %backfill.id, status = %end, "backfill ended");
            }
            return Ok(0);
        }
        let free = match backfill.max_concurrent {
            0 => BATCH,
            limit => u32::try_from(u64::from(limit).saturating_sub(in_flight))
                .unwrap_or(0)
                .min(BATCH),
        };
        if backfill.status == Requested {
            store
                .set_backfill_status(backfill.id, &[Requested], Running)
                .await?;
        }
        // One snapshot for the batch: hashing the job's definition per run would cost more
        // than the run's own insert.
        let definition = crate::snapshot::JobSnapshot::of(job).stored();
        let mut batch = Vec::new();
        for chunk in store.next_backfill_chunks(backfill.id, free).await? {
            if let Some(run) = self
                .prepare(backfill, job, &definition, &chunk, now)
                .await?
            {
                batch.push(run);
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        // One transaction for the batch (each claim still conditional): a commit per run
        // was most of a submission's cost.
        let created = store.submit_backfill_chunks(backfill.id, &batch).await?;
        Ok(created.len() as u64)
    }

    /// The run (with its status targets) chunk `chunk` is submitted as; `None` when the job's
    /// config does not resolve.
    async fn prepare(
        &self,
        backfill: &Backfill,
        job: &JobDef,
        definition: &crate::domain::StoredDefinition,
        chunk: &BackfillChunk,
        now: DateTime<Utc>,
    ) -> Result<Option<(u32, NewRun, PartitionTargets)>, StorageError> {
        let mut tags = Tags::new();
        if let Ok(key) = TagKey::parse(BACKFILL_TAG) {
            tags.insert(key, backfill.id.to_string());
        }
        let config = match job.resolve_config(&Map::new()) {
            Ok(config) => config,
            Err(e) => {
                tracing::error!(backfill = %backfill.id, error = %e, "the job's default config does not resolve");
                return Ok(None);
            }
        };
        let range = PartitionRange {
            start: chunk.start.clone(),
            end: chunk.end.clone(),
        };
        let mut run = NewRun::queued(job.name.clone(), config, job.run_tags(tags))
            .with_definition(definition.clone())
            .with_partition(range.clone())
            .launched_by(crate::domain::launched_by::backfill(
                &backfill.id.to_string(),
            ));
        run.step_selection.clone_from(&backfill.step_selection);
        let targets = match targets(
            self.store.as_ref(),
            job,
            run.step_selection.as_deref(),
            &range,
            now,
        )
        .await
        {
            Ok(targets) => targets,
            Err(crate::partition_status::StatusError::Storage(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(backfill = %backfill.id, error = %e, "a chunk's keys are no longer valid; run without status targets");
                Default::default()
            }
        };
        Ok(Some((chunk.position, run, targets)))
    }

    /// Ticks until `shutdown`: again at once after a full batch, when a run ends, or after the
    /// fallback interval.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.store.subscribe().await;
        loop {
            let wait = match self.tick_once(Utc::now()).await {
                Ok(n) if n >= u64::from(BATCH) => Duration::ZERO,
                Ok(_) => FALLBACK,
                Err(e) => {
                    tracing::warn!(error = %e, "backfill pass failed; retrying in 1 s");
                    Duration::from_secs(1)
                }
            };
            if wait.is_zero() {
                continue;
            }
            if !super::wake::until_a_run_ends(&mut changes, wait, &shutdown).await {
                return;
            }
        }
    }
}
