//! Status changes: legal ones stamp the run and record its event in the same transaction;
//! illegal ones are refused with the status the run had, and leave no trace.

use std::sync::Arc;

use orchestrator::domain::{EventKind, RunId, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};

use crate::support::{self, assert_illegal, events_of, kinds_of, queued, run_in};

support::storage_tests!(
    the_happy_path_stamps_start_and_end_and_records_each_step,
    failure_and_cancellation_record_their_messages,
    every_status_pair_follows_the_lifecycle_table,
    illegal_transitions_change_nothing,
    transition_of_an_unknown_run_is_run_not_found,
);

async fn the_happy_path_stamps_start_and_end_and_records_each_step(store: Arc<dyn RunStorage>) {
    let created = store.create_run(&queued("nightly")).await.unwrap();

    let starting = store
        .transition_run(created.id, RunStatus::Starting, None)
        .await
        .unwrap();
    assert_eq!(starting.status, RunStatus::Starting);
    assert_eq!((starting.started_at, starting.ended_at), (None, None));
    assert!(starting.updated_at >= created.updated_at);

    let started = store
        .transition_run(created.id, RunStatus::Started, None)
        .await
        .unwrap();
    assert_eq!(started.started_at, Some(started.updated_at));
    assert_eq!(started.ended_at, None);
    assert!(started.updated_at >= starting.updated_at);

    let done = store
        .transition_run(created.id, RunStatus::Success, Some("ignored for success"))
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Success);
    assert_eq!(
        done.started_at, started.started_at,
        "the start time is kept"
    );
    assert_eq!(done.ended_at, Some(done.updated_at));
    assert!(done.duration().unwrap() >= chrono::Duration::zero());
    // Everything else is as created.
    assert_eq!(
        (&done.job, &done.config, &done.tags),
        (&created.job, &created.config, &created.tags)
    );
    assert_eq!(done.created_at, created.created_at);
    assert_eq!(store.get_run(created.id).await.unwrap(), done);

    let events = events_of(store.as_ref(), created.id).await;
    let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::RunEnqueued,
            EventKind::RunStarting,
            EventKind::RunStart,
            EventKind::RunSuccess
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert!(
        events
            .iter()
            .all(|e| e.step.is_none() && e.run_id == created.id)
    );
}

async fn failure_and_cancellation_record_their_messages(store: Arc<dyn RunStorage>) {
    let failed = run_in(store.as_ref(), RunStatus::Started).await;
    let after = store
        .transition_run(
            failed.id,
            RunStatus::Failure,
            Some("step fetch_data failed: HTTP 503"),
        )
        .await
        .unwrap();
    assert_eq!(after.ended_at, Some(after.updated_at));
    assert_eq!(
        kinds_of(store.as_ref(), failed.id).await.last(),
        Some(&EventKind::RunFailure {
            message: Some("step fetch_data failed: HTTP 503".into())
        })
    );

    let canceled = run_in(store.as_ref(), RunStatus::Started).await;
    let canceling = store
        .transition_run(
            canceled.id,
            RunStatus::Canceling,
            Some("requested by alice"),
        )
        .await
        .unwrap();
    assert_eq!(canceling.ended_at, None, "canceling is not an end");
    let done = store
        .transition_run(canceled.id, RunStatus::Canceled, None)
        .await
        .unwrap();
    assert_eq!(done.ended_at, Some(done.updated_at));
    let kinds = kinds_of(store.as_ref(), canceled.id).await;
    assert_eq!(
        kinds[kinds.len() - 2..],
        [
            EventKind::RunCanceling {
                message: Some("requested by alice".into())
            },
            EventKind::RunCanceled { message: None },
        ]
    );

    // A queued run can fail before it ever starts: it ends without a start time.
    let never = store.create_run(&queued("nightly")).await.unwrap();
    let never = store
        .transition_run(never.id, RunStatus::Failure, Some("launch failed"))
        .await
        .unwrap();
    assert_eq!(
        (never.started_at, never.ended_at),
        (None, Some(never.updated_at))
    );
}

async fn every_status_pair_follows_the_lifecycle_table(store: Arc<dyn RunStorage>) {
    for from in RunStatus::ALL {
        for to in RunStatus::ALL {
            let run = run_in(store.as_ref(), from).await;
            let events_before = events_of(store.as_ref(), run.id).await;

            let result = store.transition_run(run.id, to, Some("why")).await;

            let events_after = events_of(store.as_ref(), run.id).await;
            if from.can_become(to) {
                let moved = result.unwrap_or_else(|e| panic!("{from} -> {to} refused: {e}"));
                assert_eq!(moved.status, to);
                assert_eq!(store.get_run(run.id).await.unwrap(), moved);
                assert_eq!(
                    events_after.len(),
                    events_before.len() + 1,
                    "{from} -> {to}"
                );
                let expected = EventKind::for_status(to, Some("why".into()));
                assert_eq!(events_after.last().unwrap().kind, expected);
            } else {
                assert_illegal(result, run.id, from, to);
                assert_eq!(store.get_run(run.id).await.unwrap(), run, "{from} -> {to}");
                assert_eq!(events_after, events_before, "{from} -> {to}");
            }
        }
    }
}

async fn illegal_transitions_change_nothing(store: Arc<dyn RunStorage>) {
    let succeeded = run_in(store.as_ref(), RunStatus::Success).await;
    let events = events_of(store.as_ref(), succeeded.id).await;
    assert_illegal(
        store
            .transition_run(succeeded.id, RunStatus::Started, None)
            .await,
        succeeded.id,
        RunStatus::Success,
        RunStatus::Started,
    );
    assert_eq!(store.get_run(succeeded.id).await.unwrap(), succeeded);
    assert_eq!(events_of(store.as_ref(), succeeded.id).await, events);

    let waiting = store.create_run(&queued("nightly")).await.unwrap();
    assert_illegal(
        store
            .transition_run(waiting.id, RunStatus::Success, Some("too early"))
            .await,
        waiting.id,
        RunStatus::Queued,
        RunStatus::Success,
    );
    // Nothing can go back to QUEUED, not even a queued run.
    assert_illegal(
        store
            .transition_run(waiting.id, RunStatus::Queued, None)
            .await,
        waiting.id,
        RunStatus::Queued,
        RunStatus::Queued,
    );
    assert_eq!(store.get_run(waiting.id).await.unwrap(), waiting);
    assert_eq!(
        kinds_of(store.as_ref(), waiting.id).await,
        vec![EventKind::RunEnqueued]
    );
}

async fn transition_of_an_unknown_run_is_run_not_found(store: Arc<dyn RunStorage>) {
    store.create_run(&queued("nightly")).await.unwrap();
    let unknown = RunId::new();
    for to in RunStatus::ALL {
        match store.transition_run(unknown, to, None).await {
            Err(StorageError::RunNotFound(id)) => assert_eq!(id, unknown),
            other => panic!("-> {to} of an unknown run: expected RunNotFound, got {other:?}"),
        }
    }
    assert!(events_of(store.as_ref(), unknown).await.is_empty());
}
