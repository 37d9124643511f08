//! What observability reads: runs by end time (for the daemon's run observer, whose dedup across
//! passes is checked here too) and the stored traceparent. A run's step events are read through
//! `BrowseStorage::list_step_events` (tested in `browse.rs`).

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use orchestrator::daemon::RunObserver;
use orchestrator::domain::{RunId, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};

use crate::support::{self, run_in};

support::storage_tests!(
    runs_ended_since_come_in_end_order_from_the_given_moment,
    the_traceparent_is_stored_with_the_run,
    the_run_observer_counts_each_ended_run_once,
);

async fn runs_ended_since_come_in_end_order_from_the_given_moment(store: Arc<dyn RunStorage>) {
    let start = Utc::now() - TimeDelta::milliseconds(1);
    let running = run_in(store.as_ref(), RunStatus::Started).await;
    let mut ended = Vec::new();
    for status in [RunStatus::Failure, RunStatus::Success, RunStatus::Canceled] {
        ended.push(run_in(store.as_ref(), status).await);
    }
    let all = store.list_runs_ended_since(start, 100).await.unwrap();
    let ids: Vec<RunId> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids, ended.iter().map(|r| r.id).collect::<Vec<_>>());
    assert!(!ids.contains(&running.id));
    let from_second = ended[1].ended_at.unwrap();
    let later = store.list_runs_ended_since(from_second, 100).await.unwrap();
    assert_eq!(later.len(), 2);
    assert_eq!(later[0].id, ended[1].id);
    assert_eq!(
        store.list_runs_ended_since(start, 1).await.unwrap().len(),
        1
    );
}

async fn the_traceparent_is_stored_with_the_run(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Starting).await;
    assert_eq!(store.trace_parent(run.id).await.unwrap(), None);
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    store.set_trace_parent(run.id, traceparent).await.unwrap();
    assert_eq!(
        store.trace_parent(run.id).await.unwrap().as_deref(),
        Some(traceparent)
    );
    let missing = RunId::new();
    assert!(matches!(
        store.set_trace_parent(missing, traceparent).await,
        Err(StorageError::RunNotFound(id)) if id == missing
    ));
}

async fn the_run_observer_counts_each_ended_run_once(store: Arc<dyn RunStorage>) {
    let before = run_in(store.as_ref(), RunStatus::Success).await;
    let mut observer = RunObserver::new(
        store.clone(),
        before.ended_at.unwrap() + TimeDelta::milliseconds(1),
    );
    run_in(store.as_ref(), RunStatus::Failure).await;
    run_in(store.as_ref(), RunStatus::Success).await;
    assert_eq!(observer.tick_once().await.unwrap(), 2);
    assert_eq!(observer.tick_once().await.unwrap(), 0, "counted twice");
    run_in(store.as_ref(), RunStatus::Canceled).await;
    assert_eq!(observer.tick_once().await.unwrap(), 1);
}
