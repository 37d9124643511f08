//! Creating and reading runs: every field survives the round trip, only initial statuses are
//! accepted, and creation records the run's first event.

use std::sync::Arc;

use chrono::Utc;
use orchestrator::domain::{EventKind, NewRun, RunFilter, RunId, RunStatus, Tags};
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::json;

use crate::support::{self, events_of, job, key, kinds_of, queued, tag};

support::storage_tests!(
    queued_run_round_trips_every_field,
    starting_run_round_trips_without_optional_fields,
    runs_cannot_be_created_in_a_non_initial_status,
    creating_a_run_records_its_initial_event,
    creating_an_existing_id_fails_and_changes_nothing,
    get_run_of_an_unknown_id_is_run_not_found,
);

async fn queued_run_round_trips_every_field(store: Arc<dyn RunStorage>) {
    let parent = store
        .create_run(&queued("product_pipeline_job"))
        .await
        .unwrap();
    let tags: Tags = [
        (tag("schedule"), "daily".to_owned()),
        (
            tag("team/data-eng"),
            "Ünïcode value with spaces, 'quotes' and \"more\"".to_owned(),
        ),
    ]
    .into();
    let config = json!({
        "ops": {"fetch_data": {"config": {"url": "https://example.com/posts?page=1", "retries": 3}}},
        "ratio": 0.25,
        "big": 12_345_678_901_234_u64,
        "negative": -7,
        "flags": [true, false, null],
        "empty": {},
        "text": "line one\nline two\t\\ \u{1F600}",
    });
    let new = NewRun {
        parent_run_id: Some(parent.id),
        step_selection: Some(vec![key("fetch_data"), key("transform.v2")]),
        ..NewRun::queued(job("product_pipeline_job"), config.clone(), tags.clone())
            .launched_by("ci-bot")
    };
    let before = Utc::now() - chrono::Duration::milliseconds(1);

    let created = store.create_run(&new).await.unwrap();

    assert_eq!(created.id, new.id);
    assert_eq!(created.job, new.job);
    assert_eq!(created.status, RunStatus::Queued);
    assert_eq!(created.config, config);
    assert_eq!(created.tags, tags);
    assert_eq!(created.parent_run_id, Some(parent.id));
    assert_eq!(created.step_selection, new.step_selection);
    assert_eq!(created.launched_by.as_deref(), Some("ci-bot"));
    assert!(created.created_at >= before && created.created_at <= Utc::now());
    assert_eq!(created.updated_at, created.created_at);
    assert_eq!((created.started_at, created.ended_at), (None, None));
    assert_eq!(store.get_run(new.id).await.unwrap(), created);
}

async fn starting_run_round_trips_without_optional_fields(store: Arc<dyn RunStorage>) {
    let new = NewRun::in_process(job("adhoc"), json!(null), Tags::new());
    let created = store.create_run(&new).await.unwrap();
    assert_eq!(created.status, RunStatus::Starting);
    assert_eq!(created.config, json!(null));
    assert!(created.tags.is_empty());
    assert_eq!(created.launched_by, None);
    assert_eq!(
        (created.parent_run_id, &created.step_selection),
        (None, &None)
    );
    assert_eq!(store.get_run(new.id).await.unwrap(), created);

    // An empty selection (execute nothing) is not the same as no selection (execute all).
    let empty = NewRun {
        step_selection: Some(Vec::new()),
        ..NewRun::in_process(job("adhoc"), json!([1, "two"]), Tags::new())
    };
    store.create_run(&empty).await.unwrap();
    let read = store.get_run(empty.id).await.unwrap();
    assert_eq!(read.step_selection, Some(Vec::new()));
    assert_eq!(read.config, json!([1, "two"]));
}

async fn runs_cannot_be_created_in_a_non_initial_status(store: Arc<dyn RunStorage>) {
    for status in RunStatus::ALL.into_iter().filter(|s| !s.is_initial()) {
        let new = NewRun {
            status,
            ..queued("nightly")
        };
        match store.create_run(&new).await {
            Err(StorageError::NotInitial(s)) => assert_eq!(s, status),
            other => panic!("creating a {status} run: expected NotInitial, got {other:?}"),
        }
        assert!(matches!(
            store.get_run(new.id).await,
            Err(StorageError::RunNotFound(id)) if id == new.id
        ));
        assert!(events_of(store.as_ref(), new.id).await.is_empty());
    }
    let all = store.list_runs(&Default::default()).await.unwrap();
    assert!(all.is_empty(), "refused runs were stored: {all:?}");
}

async fn creating_a_run_records_its_initial_event(store: Arc<dyn RunStorage>) {
    let queued_run = store.create_run(&queued("nightly")).await.unwrap();
    let starting = NewRun::in_process(job("nightly"), json!({}), Tags::new());
    let starting_run = store.create_run(&starting).await.unwrap();

    let events = events_of(store.as_ref(), queued_run.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::RunEnqueued);
    assert_eq!((events[0].run_id, &events[0].step), (queued_run.id, &None));
    assert_eq!(
        kinds_of(store.as_ref(), starting_run.id).await,
        vec![EventKind::RunStarting]
    );
}

async fn creating_an_existing_id_fails_and_changes_nothing(store: Arc<dyn RunStorage>) {
    let first = store.create_run(&queued("nightly")).await.unwrap();
    let again = NewRun {
        job: job("other_job"),
        tags: [(tag("team"), "ml".to_owned())].into(),
        ..NewRun::in_process(job("other_job"), json!({"x": 1}), Tags::new())
    };
    let again = NewRun {
        id: first.id,
        ..again
    };

    let result = store.create_run(&again).await;

    assert!(
        matches!(result, Err(StorageError::Database(_))),
        "duplicate id: {result:?}"
    );
    assert_eq!(store.get_run(first.id).await.unwrap(), first);
    assert_eq!(
        kinds_of(store.as_ref(), first.id).await,
        vec![EventKind::RunEnqueued]
    );
    let by_tag = RunFilter {
        tag: Some((tag("team"), "ml".to_owned())),
        ..RunFilter::default()
    };
    assert!(store.list_runs(&by_tag).await.unwrap().is_empty());
}

async fn get_run_of_an_unknown_id_is_run_not_found(store: Arc<dyn RunStorage>) {
    store.create_run(&queued("nightly")).await.unwrap();
    let unknown = RunId::new();
    match store.get_run(unknown).await {
        Err(StorageError::RunNotFound(id)) => assert_eq!(id, unknown),
        other => panic!("expected RunNotFound, got {other:?}"),
    }
}
