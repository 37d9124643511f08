//! Ending a run: its final status and the events the writer had not stored yet, in one
//! transaction. A canceled run that was not CANCELING (a bare SIGTERM, e.g. a node drain) first
//! becomes CANCELING, so its log says a termination was asked for, then CANCELED. When someone
//! else ended the run first (the run monitor), the worker's events are still appended and the run
//! is returned as it stands.
//!
//! While the database is away the ending is tried again with orch's reconnect backoff, for as
//! long as it takes (the monitor's heartbeat timeout bounds a worker that never gets back). A
//! commit whose answer was lost shows on the next try as the run already in the status this
//! worker asked for: then its events are not appended a second time.

use orchestrator::domain::{NewEvent, Run, RunId, RunStatus};
use orchestrator::retry::RECONNECT;
use orchestrator::storage::{RunStorage, StorageError};

use crate::executor::RunOutcome;

pub(crate) async fn end_run(
    store: &dyn RunStorage,
    id: RunId,
    outcome: &RunOutcome,
    trailing: &[NewEvent],
) -> Result<Run, StorageError> {
    let mut retrying = RECONNECT.start();
    loop {
        let tail = Trailing {
            events: trailing,
            retried: retrying.failures() > 0,
        };
        let ended = match outcome {
            RunOutcome::Success => finish(store, id, RunStatus::Success, None, tail).await,
            RunOutcome::Failure { message } => {
                finish(store, id, RunStatus::Failure, Some(message), tail).await
            }
            RunOutcome::Canceled { message } => cancel(store, id, message, tail).await,
        };
        match ended {
            Err(e) if e.is_unavailable() => {
                tracing::warn!(run_id = %id, error = %e, "cannot end the run: the database is away; trying again");
                retrying.wait().await;
            }
            other => return other,
        }
    }
}

/// The worker's last events, and whether an earlier try to end the run may have committed.
#[derive(Clone, Copy)]
struct Trailing<'a> {
    events: &'a [NewEvent],
    retried: bool,
}

async fn finish(
    store: &dyn RunStorage,
    id: RunId,
    to: RunStatus,
    message: Option<&str>,
    trailing: Trailing<'_>,
) -> Result<Run, StorageError> {
    let ended = store
        .transition_run_with_events(id, to, message, trailing.events)
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
            .transition_run_with_events(id, RunStatus::Canceled, Some(&message), trailing.events)
            .await;
        return settle(store, id, canceled, trailing).await;
    }
    settle(store, id, ended, trailing).await
}

async fn cancel(
    store: &dyn RunStorage,
    id: RunId,
    message: &str,
    trailing: Trailing<'_>,
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
        .transition_run_with_events(id, RunStatus::Canceled, Some(message), trailing.events)
        .await;
    settle(store, id, canceled, trailing).await
}

/// A refused ending means the run was ended elsewhere first: the events are still this worker's
/// — unless the refusal is this worker's own earlier try, committed with its answer lost.
async fn settle(
    store: &dyn RunStorage,
    id: RunId,
    ended: Result<Run, StorageError>,
    trailing: Trailing<'_>,
) -> Result<Run, StorageError> {
    match ended {
        Err(StorageError::IllegalTransition { from, to, .. }) if trailing.retried && from == to => {
            tracing::info!(run_id = %id, status = %to, "the run's end was recorded by an earlier try");
            store.get_run(id).await
        }
        Err(StorageError::IllegalTransition { from, to, .. }) => {
            tracing::warn!(run_id = %id, %from, %to, "the run was ended elsewhere first; keeping its status");
            store.append_events(id, trailing.events).await?;
            store.get_run(id).await
        }
        other => other,
    }
}
