//! How a worker ends a run: its last events and the final status in one transaction, and
//! payloads PostgreSQL would refuse (NUL characters) stored the same on both backends.

use std::sync::Arc;

use orchestrator::domain::{EventKind, LogLevel, NewEvent, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::json;

use crate::support::{self, events_of, key, log, materialization, run_in};

support::storage_tests!(
    ending_with_events_stores_them_before_the_run_event,
    a_refused_ending_stores_none_of_its_events,
    nul_characters_are_replaced_not_refused,
);

async fn ending_with_events_stores_them_before_the_run_event(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let before = events_of(store.as_ref(), run.id).await.len();
    let trailing = vec![log(1), materialization("summary", 2, json!({"count": 3}))];
    let ended = store
        .transition_run_with_events(run.id, RunStatus::Success, None, &trailing)
        .await
        .unwrap();
    assert_eq!(ended.status, RunStatus::Success);
    let events = events_of(store.as_ref(), run.id).await;
    let kinds: Vec<&str> = events[before..]
        .iter()
        .map(|e| e.kind.type_name())
        .collect();
    assert_eq!(kinds, ["LOG", "ASSET_MATERIALIZATION", "RUN_SUCCESS"]);
    let assets = store.list_assets().await.unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].latest.metadata["count"], json!(3));
}

async fn a_refused_ending_stores_none_of_its_events(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Canceled).await;
    let before = events_of(store.as_ref(), run.id).await;
    let err = store
        .transition_run_with_events(run.id, RunStatus::Success, None, &[log(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::IllegalTransition { .. }),
        "{err:?}"
    );
    assert_eq!(events_of(store.as_ref(), run.id).await, before);
    assert_eq!(
        store.get_run(run.id).await.unwrap().status,
        RunStatus::Canceled
    );
}

async fn nul_characters_are_replaced_not_refused(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let line = NewEvent::step(
        &key("fetch_data"),
        EventKind::Log {
            level: LogLevel::Warn,
            message: "bad\0byte".into(),
        },
    );
    let odd_metadata = materialization("odd", 1, json!({"k\0ey": ["v\0alue"]}));
    store
        .append_events(run.id, &[line, odd_metadata])
        .await
        .unwrap();
    let events = events_of(store.as_ref(), run.id).await;
    let message = events.iter().find_map(|e| match &e.kind {
        EventKind::Log { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(message.as_deref(), Some("bad\u{FFFD}byte"));
    let asset = &store.list_assets().await.unwrap()[0];
    assert_eq!(
        asset.latest.metadata["k\u{FFFD}ey"],
        json!(["v\u{FFFD}alue"])
    );
}
