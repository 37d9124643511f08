//! Ending a run: its final status and the events the writer had not stored yet, in one
//! transaction. A canceled run that was not CANCELING (a bare SIGTERM, e.g. a node drain) first
//! becomes CANCELING, so its log says a termination was asked for, then CANCELED. When someone
//! else ended the run first (the run monitor), the worker's events are still appended and the run
//! is returned as it stands.

use orchestrator::domain::{NewEvent, Run, RunId, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};

use crate::executor::RunOutcome;

pub(crate) async fn end_run(
    store: &dyn RunStorage,
    id: RunId,
    outcome: &RunOutcome,
    trailing: &[NewEvent],
) -> Result<Run, StorageError> {
    match outcome {
        RunOutcome::Success => finish(store, id, RunStatus::Success, None, trailing).await,
        RunOutcome::Failure { message } => {
            finish(store, id, RunStatus::Failure, Some(message), trailing).await
        }
        RunOutcome::Canceled { message } => cancel(store, id, message, trailing).await,
    }
}

async fn finish(
    store: &dyn RunStorage,
    id: RunId,
    to: RunStatus,
    message: Option<&str>,
    trailing: &[NewEvent],
) -> Result<Run, StorageError> {
    let ended = store
        .transition_run_with_events(id, to, message, trailing)
        .await;
    if let Err(StorageError::IllegalTransition {
        from: RunStatus::Canceling,
        ..
    }) = ended
    {
        // Canceled while its last steps were ending, before the heartbeat told this worker:
        // the cancellation was asked for, so it is honoured.
        let message = format!("canceled while its steps were ending (they ended {to})");
        let canceled = store
            .transition_run_with_events(id, RunStatus::Canceled, Some(&message), trailing)
            .await;
        return settle(store, id, canceled, trailing).await;
    }
    settle(store, id, ended, trailing).await
}

async fn cancel(
    store: &dyn RunStorage,
    id: RunId,
    message: &str,
    trailing: &[NewEvent],
) -> Result<Run, StorageError> {
    match store
        .transition_run(id, RunStatus::Canceling, Some(message))
        .await
    {
        Ok(_)
        | Err(StorageError::IllegalTransition {
            from: RunStatus::Canceling,
            ..
        }) => {}
        Err(refused @ StorageError::IllegalTransition { .. }) => {
            return settle(store, id, Err(refused), trailing).await;
        }
        Err(e) => return Err(e),
    }
    let canceled = store
        .transition_run_with_events(id, RunStatus::Canceled, Some(message), trailing)
        .await;
    settle(store, id, canceled, trailing).await
}

/// A refused ending means the run was ended elsewhere first: the events are still this worker's.
async fn settle(
    store: &dyn RunStorage,
    id: RunId,
    ended: Result<Run, StorageError>,
    trailing: &[NewEvent],
) -> Result<Run, StorageError> {
    match ended {
        Err(StorageError::IllegalTransition { from, to, .. }) => {
            tracing::warn!(run_id = %id, %from, %to, "the run was ended elsewhere first; keeping its status");
            store.append_events(id, trailing).await?;
            store.get_run(id).await
        }
        other => other,
    }
}
