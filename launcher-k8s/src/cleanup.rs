//! Clean-up of orphaned Jobs: a Job whose run ended (or was pruned) more than one interval ago
//! is deleted if it still runs (its pod outlived a daemon that failed the run) or if it has no
//! `ttlSecondsAfterFinished` to remove it. Every daemon replica may do it; a second delete is a
//! harmless 404.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::batch::v1::Job;
use kube::api::DeleteParams;
use orchestrator::storage::{RunStorage, StorageError};
use tokio_util::sync::CancellationToken;

use crate::watch::Shared;

/// Runs until `shutdown`, once each `interval` after the watches have synced.
pub(crate) async fn run(
    shared: Arc<Shared>,
    store: Arc<dyn RunStorage>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if shared.is_synced() {
                    sweep(&shared, store.as_ref(), interval).await;
                }
            }
        }
    }
}

/// Deletes the orphaned Jobs present now; returns how many deletions were started.
pub(crate) async fn sweep(shared: &Shared, store: &dyn RunStorage, settle: Duration) -> usize {
    let mut deleted = 0;
    for (run, name, job) in shared.present_jobs() {
        if job.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let orphaned = match store.get_run(run).await {
            Ok(r) if r.status.is_terminal() => {
                let ended = r.ended_at.unwrap_or(r.updated_at);
                let settled = (Utc::now() - ended).to_std().unwrap_or_default() >= settle;
                settled && (!finished(&job) || no_ttl(&job))
            }
            Ok(_) => false,
            Err(StorageError::RunNotFound(_)) => true,
            Err(e) => {
                tracing::warn!(run_id = %run, error = %e, "clean-up: cannot read the run");
                false
            }
        };
        if orphaned {
            tracing::info!(run_id = %run, job = name, "deleting the Job of a finished run");
            shared.delete_job_later(run, name, DeleteParams::background());
            deleted += 1;
        }
    }
    deleted
}

fn finished(job: &Job) -> bool {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|cs| {
        cs.iter()
            .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
    })
}

fn no_ttl(job: &Job) -> bool {
    job.spec
        .as_ref()
        .is_none_or(|s| s.ttl_seconds_after_finished.is_none())
}
