//! The event log: batches keep their order (also across the storage's internal statement
//! boundaries and around materializations), payloads round-trip, pages follow `after`, and a
//! run only ever sees its own events.

use std::sync::Arc;

use orchestrator::domain::{EventKind, EventRecord, LogLevel, NewEvent, RunId, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::json;

use crate::support::{self, at, events_of, key, log, materialization, queued, run_in};

support::storage_tests!(
    a_large_mixed_batch_keeps_its_order,
    every_event_kind_round_trips,
    list_events_pages_after_an_id,
    a_run_lists_only_its_own_events,
    appending_nothing_stores_nothing,
    appending_to_an_unknown_run_fails_and_stores_nothing,
);

/// 1,234 events: logs and step events, with materializations first, last, back to back and on
/// both sides of the 500-row chunk boundary of the multi-row inserts.
fn mixed_batch() -> Vec<NewEvent> {
    let materialized_at = [0, 1, 2, 250, 498, 499, 500, 501, 999, 1000, 1001, 1233];
    (0..1234)
        .map(|n| {
            if materialized_at.contains(&n) {
                materialization(&format!("asset_{}", n % 3), n as i64, json!({"n": n}))
            } else {
                match n % 4 {
                    0 => log(n),
                    1 => NewEvent {
                        timestamp: at(n as i64),
                        step: Some(key("fetch_data")),
                        kind: EventKind::StepStart { attempt: n as u32 },
                    },
                    2 => NewEvent {
                        timestamp: at(n as i64),
                        step: Some(key("transform")),
                        kind: EventKind::StepOutput {
                            location: format!("s3://bucket/run/{n}"),
                        },
                    },
                    _ => NewEvent {
                        timestamp: at(n as i64),
                        step: None,
                        kind: EventKind::Log {
                            level: LogLevel::Warn,
                            message: format!("warn {n}"),
                        },
                    },
                }
            }
        })
        .collect()
}

/// Compares stored records with what was appended (everything but the id).
fn assert_same(stored: &[EventRecord], run: RunId, appended: &[NewEvent]) {
    assert_eq!(stored.len(), appended.len());
    for (n, (record, event)) in stored.iter().zip(appended).enumerate() {
        assert_eq!(record.run_id, run, "event {n}");
        let stored = (&record.kind, &record.step, record.timestamp);
        assert_eq!(
            stored,
            (&event.kind, &event.step, event.timestamp),
            "event {n}"
        );
    }
    assert!(
        stored.windows(2).all(|w| w[0].id < w[1].id),
        "ids increase in order"
    );
}

async fn a_large_mixed_batch_keeps_its_order(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let batch = mixed_batch();

    store.append_events(run.id, &batch).await.unwrap();
    // A second batch continues after the first.
    store.append_events(run.id, &batch[..3]).await.unwrap();

    let stored = events_of(store.as_ref(), run.id).await;
    assert_eq!(
        stored[..2]
            .iter()
            .map(|e| e.kind.clone())
            .collect::<Vec<_>>(),
        [EventKind::RunStarting, EventKind::RunStart]
    );
    let expected: Vec<NewEvent> = batch.iter().chain(&batch[..3]).cloned().collect();
    assert_same(&stored[2..], run.id, &expected);
}

async fn every_event_kind_round_trips(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let step = key("load.v2");
    let kinds = [
        EventKind::RunEnqueued,
        EventKind::RunFailure { message: None },
        EventKind::RunCanceled {
            message: Some("by 'bob' \"now\"".into()),
        },
        EventKind::StepStart { attempt: 2 },
        EventKind::StepSuccess {
            duration_ms: u64::MAX,
        },
        EventKind::StepFailure {
            error: "Traceback:\n  line 1\n\tValueError: é ✓ 😀".into(),
            attempt: 3,
        },
        EventKind::StepUpRetry {
            error: "timeout".into(),
            attempt: 1,
            delay_ms: 1500,
        },
        EventKind::StepSkipped {
            reason: "upstream failed".into(),
        },
        EventKind::StepCanceled,
        EventKind::StepOutput {
            location: "file:///tmp/a b/c".into(),
        },
        EventKind::StepOutputReused {
            from_run: RunId::new().to_string(),
            location: "s3://b/k".into(),
        },
        EventKind::Log {
            level: LogLevel::Debug,
            message: String::new(),
        },
        EventKind::Log {
            level: LogLevel::Error,
            message: "\\ backslash and </script>".into(),
        },
    ];
    let batch: Vec<NewEvent> = kinds
        .iter()
        .enumerate()
        .map(|(n, kind)| NewEvent {
            timestamp: at(n as i64 * 7919),
            step: (n % 2 == 0).then(|| step.clone()),
            kind: kind.clone(),
        })
        .collect();
    store.append_events(run.id, &batch).await.unwrap();
    assert_same(
        &events_of(store.as_ref(), run.id).await[2..],
        run.id,
        &batch,
    );
}

async fn list_events_pages_after_an_id(store: Arc<dyn RunStorage>) {
    let run = store.create_run(&queued("nightly")).await.unwrap();
    let batch: Vec<NewEvent> = (1..35).map(log).collect();
    store.append_events(run.id, &batch).await.unwrap();
    let all = events_of(store.as_ref(), run.id).await;
    assert_eq!(all.len(), 35);

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_events(run.id, after, 10).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        pages.push(page);
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [10, 10, 10, 5]
    );
    assert_eq!(pages.concat(), all);

    // `after` is exclusive and need not be an id of this run.
    assert_eq!(
        store.list_events(run.id, Some(all[4].id), 3).await.unwrap(),
        all[5..8]
    );
    assert_eq!(
        store.list_events(run.id, Some(0), 2).await.unwrap(),
        all[..2]
    );
    assert!(
        store
            .list_events(run.id, Some(all[34].id), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_run_lists_only_its_own_events(store: Arc<dyn RunStorage>) {
    let a = store.create_run(&queued("nightly")).await.unwrap();
    let b = store.create_run(&queued("nightly")).await.unwrap();
    for n in 0..3 {
        store.append_events(a.id, &[log(n)]).await.unwrap();
        store
            .append_events(b.id, &[log(100 + n), log(200 + n)])
            .await
            .unwrap();
    }
    store
        .append_events(b.id, &[materialization("shared", 5, json!({"by": "b"}))])
        .await
        .unwrap();

    let of_a = events_of(store.as_ref(), a.id).await;
    let of_b = events_of(store.as_ref(), b.id).await;
    assert_eq!((of_a.len(), of_b.len()), (4, 8));
    assert!(of_a.iter().all(|e| e.run_id == a.id));
    assert!(of_b.iter().all(|e| e.run_id == b.id));
    assert_same(&of_a[1..], a.id, &[log(0), log(1), log(2)]);
    // Paging from an id of the other run still stays within the run.
    let after_b = store
        .list_events(a.id, Some(of_b[1].id), 100)
        .await
        .unwrap();
    assert!(after_b.iter().all(|e| e.run_id == a.id) && !after_b.is_empty());
    assert!(events_of(store.as_ref(), RunId::new()).await.is_empty());
}

async fn appending_nothing_stores_nothing(store: Arc<dyn RunStorage>) {
    let run = store.create_run(&queued("nightly")).await.unwrap();
    store.append_events(run.id, &[]).await.unwrap();
    assert_eq!(events_of(store.as_ref(), run.id).await.len(), 1);
}

async fn appending_to_an_unknown_run_fails_and_stores_nothing(store: Arc<dyn RunStorage>) {
    let ghost = RunId::new();
    let batch = [log(1), materialization("orders", 2, json!({"rows": 1}))];
    match store.append_events(ghost, &batch).await {
        Err(StorageError::RunNotFound(id)) => assert_eq!(id, ghost),
        other => {
            panic!("appending to a run that does not exist: expected RunNotFound, got {other:?}")
        }
    }
    assert!(events_of(store.as_ref(), ghost).await.is_empty());
    assert!(store.list_assets().await.unwrap().is_empty());
}
