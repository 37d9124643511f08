//! The web UI's reads of the event log: the step lifecycle events alone (for the timeline) and
//! one step's log lines, each paged with `after`, each only its own run's.

use std::sync::Arc;

use orchestrator::domain::{EventKind, LogLevel, NewEvent, RunStatus};
use orchestrator::storage::RunStorage;

use crate::support::{self, at, key, run_in};

support::storage_tests!(
    step_events_are_the_lifecycle_events_only_paged_after_an_id,
    step_logs_are_one_steps_log_lines_paged_after_an_id,
);

fn step(name: &str, millis: i64, kind: EventKind) -> NewEvent {
    NewEvent {
        timestamp: at(millis),
        step: Some(key(name)),
        kind,
    }
}

fn line(name: &str, n: i64) -> NewEvent {
    step(
        name,
        n,
        EventKind::Log {
            level: LogLevel::Info,
            message: format!("{name} {n}"),
        },
    )
}

async fn step_events_are_the_lifecycle_events_only_paged_after_an_id(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let other = run_in(store.as_ref(), RunStatus::Started).await;
    let retry = EventKind::StepUpRetry {
        error: "503".into(),
        attempt: 1,
        delay_ms: 5,
    };
    let events = vec![
        step("fetch", 1, EventKind::StepStart { attempt: 1 }),
        line("fetch", 2),
        step("fetch", 3, retry),
        step("fetch", 4, EventKind::StepStart { attempt: 2 }),
        step(
            "fetch",
            5,
            EventKind::StepOutput {
                location: "s3://b/k".into(),
            },
        ),
        step("fetch", 6, EventKind::StepSuccess { duration_ms: 2 }),
        step(
            "load",
            7,
            EventKind::StepSkipped {
                reason: "upstream failed".into(),
            },
        ),
        step("save", 8, EventKind::StepStart { attempt: 1 }),
        step(
            "save",
            9,
            EventKind::StepFailure {
                error: "disk full".into(),
                attempt: 1,
            },
        ),
        step("other", 10, EventKind::StepCanceled),
    ];
    store.append_events(run.id, &events).await.unwrap();
    store
        .append_events(
            other.id,
            &[step("fetch", 1, EventKind::StepStart { attempt: 1 })],
        )
        .await
        .unwrap();

    let all = store.list_step_events(run.id, None, 0).await.unwrap();
    let types: Vec<&str> = all.iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(
        types,
        [
            "STEP_START",
            "STEP_UP_RETRY",
            "STEP_START",
            "STEP_SUCCESS",
            "STEP_SKIPPED",
            "STEP_START",
            "STEP_FAILURE",
            "STEP_CANCELED"
        ]
    );
    assert!(all.iter().all(|e| e.run_id == run.id));
    let first = store.list_step_events(run.id, None, 3).await.unwrap();
    assert_eq!(first, all[..3]);
    let rest = store
        .list_step_events(run.id, Some(first[2].id), 100)
        .await
        .unwrap();
    assert_eq!(rest, all[3..]);
}

async fn step_logs_are_one_steps_log_lines_paged_after_an_id(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let other = run_in(store.as_ref(), RunStatus::Started).await;
    let mut events = Vec::new();
    for n in 0..30 {
        events.push(line(if n % 3 == 0 { "load" } else { "fetch" }, n));
    }
    events.push(step("fetch", 99, EventKind::StepStart { attempt: 1 }));
    store.append_events(run.id, &events).await.unwrap();
    store
        .append_events(other.id, &[line("fetch", 0)])
        .await
        .unwrap();

    let fetch = store
        .list_step_logs(run.id, &key("fetch"), None, 0)
        .await
        .unwrap();
    assert_eq!(fetch.len(), 20);
    assert!(fetch.iter().all(|e| e.run_id == run.id
        && e.step == Some(key("fetch"))
        && e.kind.type_name() == "LOG"));
    let page = store
        .list_step_logs(run.id, &key("fetch"), None, 7)
        .await
        .unwrap();
    assert_eq!(page, fetch[..7]);
    let next = store
        .list_step_logs(run.id, &key("fetch"), Some(page[6].id), 7)
        .await
        .unwrap();
    assert_eq!(next, fetch[7..14]);
    assert!(
        store
            .list_step_logs(run.id, &key("nothing"), None, 0)
            .await
            .unwrap()
            .is_empty()
    );
}
