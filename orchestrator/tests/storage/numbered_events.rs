//! Idempotent event writes: a worker numbers its run's events and writes each batch with its
//! numbers, so a batch written again (its commit landed, the answer was lost) stores nothing
//! twice — not the events, not the catalog's materializations, not the run's failed checks —
//! and the run's order is kept.

use std::sync::Arc;

use orchestrator::domain::{CheckSeverity, EventKind, Metadata, NewEvent, RunStatus};
use orchestrator::storage::RunStorage;
use serde_json::json;

use crate::support::{self, at, events_of, key, log, materialization, run_in};

support::storage_tests!(
    a_batch_written_again_stores_nothing_twice,
    an_overlapping_batch_stores_only_its_new_events,
    numbered_and_unnumbered_events_share_a_run,
    runs_number_their_events_independently,
);

fn failed_check(n: i64) -> NewEvent {
    NewEvent {
        timestamp: at(n),
        step: Some(key("a")),
        kind: EventKind::AssetCheckEvaluation {
            asset: key("a"),
            check: format!("check_{n}"),
            passed: false,
            severity: CheckSeverity::Warn,
            metadata: Metadata::new(),
            partition: None,
        },
    }
}

/// 1 200 events across the storage's 500-row statements, a materialization and a failed check
/// among them.
fn batch() -> Vec<NewEvent> {
    (0..1200)
        .map(|n| match n {
            7 => materialization("a", 7, json!({"n": 7})),
            501 => failed_check(501),
            n => log(n),
        })
        .collect()
}

fn messages(events: &[orchestrator::domain::EventRecord]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

async fn a_batch_written_again_stores_nothing_twice(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let batch = batch();
    store
        .append_numbered_events(run.id, 1, &batch)
        .await
        .unwrap();
    store
        .append_numbered_events(run.id, 1, &batch)
        .await
        .unwrap();
    let stored = events_of(store.as_ref(), run.id).await;
    let appended: Vec<EventKind> = batch.iter().map(|e| e.kind.clone()).collect();
    // The run's STARTING and STARTED events, then the batch once.
    assert_eq!(stored.len(), 2 + batch.len());
    assert_eq!(messages(&stored[2..]), appended);
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(store.get_run(run.id).await.unwrap().checks_failed, 1);
    let history = store.asset_history(&key("a"), None, 100).await.unwrap();
    assert_eq!(history.len(), 1, "one materialization: {history:?}");
}

async fn an_overlapping_batch_stores_only_its_new_events(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let all: Vec<NewEvent> = (0..10).map(log).collect();
    store
        .append_numbered_events(run.id, 1, &all[..6])
        .await
        .unwrap();
    // Events 4 to 10: 4, 5 and 6 are stored already.
    store
        .append_numbered_events(run.id, 4, &all[3..])
        .await
        .unwrap();
    let stored = events_of(store.as_ref(), run.id).await;
    let expected: Vec<EventKind> = all.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(messages(&stored[2..]), expected);
}

async fn numbered_and_unnumbered_events_share_a_run(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    store
        .append_numbered_events(run.id, 1, &[log(1), log(2)])
        .await
        .unwrap();
    // The daemon's and the run end's events carry no number: never taken for a retry.
    store.append_events(run.id, &[log(3)]).await.unwrap();
    store.append_events(run.id, &[log(3)]).await.unwrap();
    store
        .append_numbered_events(run.id, 3, &[log(4)])
        .await
        .unwrap();
    let ended = store
        .transition_run_with_events(run.id, RunStatus::Success, None, &[log(5)])
        .await
        .unwrap();
    assert_eq!(ended.status, RunStatus::Success);
    let stored = events_of(store.as_ref(), run.id).await;
    let kinds = messages(&stored);
    let expected: Vec<EventKind> = [1, 2, 3, 3, 4, 5]
        .into_iter()
        .map(|n| log(n).kind)
        .collect();
    assert_eq!(kinds[2..8], expected[..]);
    assert_eq!(kinds.len(), 9, "{kinds:?}");
}

async fn runs_number_their_events_independently(store: Arc<dyn RunStorage>) {
    let first = run_in(store.as_ref(), RunStatus::Started).await;
    let second = run_in(store.as_ref(), RunStatus::Started).await;
    store
        .append_numbered_events(first.id, 1, &[log(1), log(2)])
        .await
        .unwrap();
    store
        .append_numbered_events(second.id, 1, &[log(10), log(20)])
        .await
        .unwrap();
    for (run, want) in [(first.id, [1, 2]), (second.id, [10, 20])] {
        let stored = events_of(store.as_ref(), run).await;
        let expected: Vec<EventKind> = want.into_iter().map(|n| log(n).kind).collect();
        assert_eq!(messages(&stored[2..]), expected);
    }
}
