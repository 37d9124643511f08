//! Credentials inside event text are masked where the storage layer writes events, on both
//! backends: URL passwords, `appid`/`token` query values, Slack hook paths — in log lines, step
//! errors and materialization metadata (events and the asset catalog alike). Run configs are
//! stored as given: the worker needs them.

use std::sync::Arc;

use orchestrator::domain::{EventKind, LogLevel, NewEvent};
use orchestrator::storage::RunStorage;
use serde_json::json;

use crate::support::{self, at, events_of, key, materialization, queued};

support::storage_tests!(credentials_in_events_are_stored_masked);

async fn credentials_in_events_are_stored_masked(store: Arc<dyn RunStorage>) {
    let mut new = queued("nightly");
    new.config = json!({"source_url": "http://h/posts?token=kept-for-the-worker"});
    let run = store.create_run(&new).await.unwrap();
    let events = vec![
        NewEvent {
            timestamp: at(1),
            step: Some(key("fetch")),
            kind: EventKind::Log {
                level: LogLevel::Warn,
                message: "GET http://h/w?lat=1&appid=abc123&units=metric returned 500".into(),
            },
        },
        NewEvent {
            timestamp: at(2),
            step: Some(key("fetch")),
            kind: EventKind::StepFailure {
                error: "cannot reach postgres://orch:pw0rd@db/orch nor https://hooks.slack.com/services/T0/B0/zz".into(),
                attempt: 1,
            },
        },
        materialization("fetch", 3, json!({"uri": "https://b.s3/k?X-Amz-Signature=ff00", "count": 2})),
    ];
    store.append_events(run.id, &events).await.unwrap();

    let stored = events_of(store.as_ref(), run.id).await;
    let text: Vec<String> = stored
        .iter()
        .map(|e| serde_json::to_string(&e.kind).unwrap())
        .collect();
    let all = text.join("\n");
    for secret in ["abc123", "pw0rd", "T0/B0/zz", "ff00"] {
        assert!(!all.contains(secret), "{secret} is stored: {all}");
    }
    assert!(all.contains("appid=****&units=metric"), "{all}");
    assert!(all.contains("postgres://orch:****@db/orch"), "{all}");
    assert!(all.contains("hooks.slack.com/services/****"), "{all}");
    assert!(all.contains("X-Amz-Signature=****"), "{all}");
    let catalog = store.list_assets().await.unwrap();
    let latest = &catalog
        .iter()
        .find(|a| a.key == key("fetch"))
        .unwrap()
        .latest;
    assert_eq!(
        latest.metadata["uri"],
        "https://b.s3/k?X-Amz-Signature=****"
    );
    assert_eq!(latest.metadata["count"], 2);
    let config = store.get_run(run.id).await.unwrap().config;
    assert_eq!(
        config["source_url"],
        "http://h/posts?token=kept-for-the-worker"
    );
}
