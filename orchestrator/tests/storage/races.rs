//! Racing status changes: many tasks (and two store instances standing for two processes) try
//! to end the same run at once. The conditional update must let exactly one change through per
//! lifecycle step, tell every loser the status it lost to, and record one event per change.
//!
//! From STARTED, SUCCESS, FAILURE and CANCELING are all legal, and CANCELING may itself become
//! FAILURE. So when CANCELING and FAILURE race, "CANCELING, then FAILURE" is a correct outcome
//! with two winners; those races check that every change was a legal step from the status
//! before it. Races between targets that cannot follow one another (SUCCESS and FAILURE) must
//! have exactly one winner.

use std::sync::Arc;

use orchestrator::domain::{EventKind, Run, RunId, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};

use crate::support::{self, kinds_of, run_in};

support::storage_tests!(
    racing_finishes_have_exactly_one_winner,
    racing_cancel_and_finish_take_legal_steps_only,
);

support::two_store_tests!(
    racing_finishes_from_two_processes_have_exactly_one_winner,
    racing_cancel_and_finish_from_two_processes_take_legal_steps_only,
);

const RACERS: usize = 20;
const ROUNDS: usize = 5;
const FINISHES: &[RunStatus] = &[RunStatus::Success, RunStatus::Failure];
const FINISH_OR_CANCEL: &[RunStatus] =
    &[RunStatus::Success, RunStatus::Failure, RunStatus::Canceling];

async fn racing_finishes_have_exactly_one_winner(store: Arc<dyn RunStorage>) {
    rounds(&[store], FINISHES, Winners::ExactlyOne).await;
}

async fn racing_cancel_and_finish_take_legal_steps_only(store: Arc<dyn RunStorage>) {
    rounds(&[store], FINISH_OR_CANCEL, Winners::LegalChain).await;
}

async fn racing_finishes_from_two_processes_have_exactly_one_winner(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    rounds(&[first, second], FINISHES, Winners::ExactlyOne).await;
}

async fn racing_cancel_and_finish_from_two_processes_take_legal_steps_only(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    rounds(&[first, second], FINISH_OR_CANCEL, Winners::LegalChain).await;
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Winners {
    ExactlyOne,
    /// One or more, each a legal step from the status the previous one left.
    LegalChain,
}

/// One racer: its number, the status it asked for, and what it got.
type Attempt = (usize, RunStatus, Result<Run, StorageError>);

async fn rounds(stores: &[Arc<dyn RunStorage>], targets: &[RunStatus], winners: Winners) {
    for _ in 0..ROUNDS {
        let run = run_in(stores[0].as_ref(), RunStatus::Started).await;
        let attempts = race(stores, run.id, targets).await;
        check(stores, run.id, attempts, winners).await;
    }
}

/// Starts `RACERS` tasks, spread over `stores` and `targets`, released together by a barrier.
async fn race(stores: &[Arc<dyn RunStorage>], run: RunId, targets: &[RunStatus]) -> Vec<Attempt> {
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let to = targets[i % targets.len()];
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let message = format!("racer {i}");
                (i, to, store.transition_run(run, to, Some(&message)).await)
            })
        })
        .collect();
    let mut attempts = Vec::new();
    for task in tasks {
        attempts.push(task.await.unwrap());
    }
    attempts
}

/// The run status an end-of-run event records.
fn status_of(kind: &EventKind) -> (RunStatus, Option<&str>) {
    match kind {
        EventKind::RunSuccess => (RunStatus::Success, None),
        EventKind::RunFailure { message } => (RunStatus::Failure, message.as_deref()),
        EventKind::RunCanceling { message } => (RunStatus::Canceling, message.as_deref()),
        EventKind::RunCanceled { message } => (RunStatus::Canceled, message.as_deref()),
        other => panic!("unexpected event after RUN_START: {other:?}"),
    }
}

async fn check(
    stores: &[Arc<dyn RunStorage>],
    run: RunId,
    attempts: Vec<Attempt>,
    winners: Winners,
) {
    let mut won = Vec::new();
    let mut lost = Vec::new();
    for (i, to, result) in attempts {
        match result {
            Ok(after) => {
                assert_eq!(after.status, to);
                won.push((i, to, after));
            }
            Err(e) => lost.push((i, to, e)),
        }
    }
    assert!(!won.is_empty(), "nobody won: {lost:?}");
    if winners == Winners::ExactlyOne {
        assert_eq!(won.len(), 1, "winners: {won:?}");
    }

    // The run-level events after RUN_START are exactly the winners' changes, in a legal order.
    let kinds = kinds_of(stores[0].as_ref(), run).await;
    assert_eq!(kinds[..2], [EventKind::RunStarting, EventKind::RunStart]);
    let changes: Vec<_> = kinds[2..].iter().map(status_of).collect();
    assert_eq!(
        changes.len(),
        won.len(),
        "events {changes:?} for winners {won:?}"
    );
    let mut previous = RunStatus::Started;
    for &(status, message) in &changes {
        assert!(
            previous.can_become(status),
            "{previous} -> {status} in {changes:?}"
        );
        let winner = won.iter().find(|(_, to, _)| *to == status);
        let (i, _, _) = winner.unwrap_or_else(|| panic!("{status} recorded but nobody won it"));
        if let Some(message) = message {
            assert_eq!(
                message,
                format!("racer {i}"),
                "the event carries the winner's message"
            );
        }
        previous = status;
    }

    // The stored run is the last winner's, in whichever store one asks.
    let last = &won.iter().find(|(_, to, _)| *to == previous).unwrap().2;
    for store in stores {
        assert_eq!(&store.get_run(run).await.unwrap(), last);
    }

    // Every loser was told the status that beat it, which indeed forbids its target.
    let reached: Vec<RunStatus> = changes.iter().map(|(s, _)| *s).collect();
    for (i, to, error) in lost {
        match error {
            StorageError::IllegalTransition {
                run: r,
                from,
                to: t,
            } => {
                assert_eq!((r, t), (run, to), "racer {i}");
                assert!(
                    reached.contains(&from),
                    "racer {i} lost to {from}, never reached"
                );
                assert!(
                    !from.can_become(to),
                    "racer {i}: {from} -> {to} is legal yet refused"
                );
            }
            other => panic!("racer {i} ({to}) failed with {other:?}"),
        }
    }
}
