//! Canceling a run. A run that was never launched (QUEUED) ends CANCELED at once; a run that may
//! have a worker (STARTING, STARTED) becomes CANCELING, and its worker, told by its heartbeat or
//! by SIGTERM from the daemon's monitor, stops its steps and ends it CANCELED. A finished run is
//! left alone.

use crate::domain::{Run, RunId, RunStatus};
use crate::storage::{RunStorage, StorageError};

/// What canceling a run in a given status does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAction {
    /// Never launched: move it to CANCELED now.
    EndNow,
    /// A worker may be executing it: move it to CANCELING so the worker stops.
    AskWorkerToStop,
    /// Cancellation is already under way.
    AlreadyCanceling,
    /// The run is over.
    AlreadyEnded,
}

impl CancelAction {
    pub fn for_status(status: RunStatus) -> Self {
        match status {
            RunStatus::Queued => Self::EndNow,
            RunStatus::Starting | RunStatus::Started => Self::AskWorkerToStop,
            RunStatus::Canceling => Self::AlreadyCanceling,
            RunStatus::Success | RunStatus::Failure | RunStatus::Canceled => Self::AlreadyEnded,
        }
    }
}

/// What [`cancel_run`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// The run was queued and is now CANCELED.
    Canceled(Run),
    /// The run is now CANCELING.
    Canceling(Run),
    /// The run was CANCELING already; nothing changed.
    AlreadyCanceling(Run),
}

/// Why a run was not canceled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("run {run} already ended {status}; nothing to cancel")]
    AlreadyEnded { run: RunId, status: RunStatus },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Cancels run `id`, recording `message` with the status change. The run's status may change
/// between reading and writing it (a daemon claims it, a worker ends it); the conditional update
/// then refuses, and the decision is taken again on the new status.
pub async fn cancel_run(
    store: &dyn RunStorage,
    id: RunId,
    message: &str,
) -> Result<CancelOutcome, CancelError> {
    let mut run = store.get_run(id).await?;
    // Each retry follows a status change, and a run changes status at most a handful of times.
    for _ in 0..RunStatus::ALL.len() {
        let to = match CancelAction::for_status(run.status) {
            CancelAction::EndNow => RunStatus::Canceled,
            CancelAction::AskWorkerToStop => RunStatus::Canceling,
            CancelAction::AlreadyCanceling => return Ok(CancelOutcome::AlreadyCanceling(run)),
            CancelAction::AlreadyEnded => {
                return Err(CancelError::AlreadyEnded {
                    run: id,
                    status: run.status,
                });
            }
        };
        match store.transition_run(id, to, Some(message)).await {
            Ok(changed) if to == RunStatus::Canceled => {
                return Ok(CancelOutcome::Canceled(changed));
            }
            Ok(changed) => return Ok(CancelOutcome::Canceling(changed)),
            Err(StorageError::IllegalTransition { .. }) => run = store.get_run(id).await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StorageError::Corrupt(format!(
        "run {id} kept changing status while it was being canceled (last seen {})",
        run.status
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::CancelAction::{self, *};
    use crate::domain::RunStatus::{self, *};

    fn check(status: RunStatus, expected: CancelAction) {
        assert_eq!(CancelAction::for_status(status), expected, "{status}");
    }

    #[test]
    fn what_cancel_does_in_each_status() {
        check(Queued, EndNow);
        check(Starting, AskWorkerToStop);
        check(Started, AskWorkerToStop);
        check(Canceling, AlreadyCanceling);
        check(Success, AlreadyEnded);
        check(Failure, AlreadyEnded);
        check(Canceled, AlreadyEnded);
    }

    #[test]
    fn each_action_is_a_legal_transition() {
        for status in RunStatus::ALL {
            match CancelAction::for_status(status) {
                EndNow => assert!(status.can_become(Canceled), "{status}"),
                AskWorkerToStop => assert!(status.can_become(Canceling), "{status}"),
                AlreadyCanceling | AlreadyEnded => {}
            }
        }
    }
}
