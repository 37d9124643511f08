//! Fixtures for the storage suite: the macros that run one test body on both backends (on
//! test-support's stores) and small builders for runs and events.
//!
//! PostgreSQL tests get a fresh database from `#[sqlx::test]` (created from `DATABASE_URL`,
//! dropped after a passing test); SQLite tests get a fresh file in a temporary directory. Both
//! stores are migrated by `RunStorage::migrate`, as `orch` does at start-up.

use chrono::{DateTime, Utc};
use orchestrator::domain::{
    AssetKey, EventKind, EventRecord, JobName, NewEvent, NewRun, Run, RunId, RunStatus, TagKey,
};
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::json;

/// For each `async fn name(store: Arc<dyn RunStorage>)` of the calling module, generates
/// `name::postgres` and `name::sqlite`.
macro_rules! storage_tests {
    ($($name:ident),+ $(,)?) => {
        orch_test_support::on_both_backends!(
            orch_test_support::stores::on_postgres,
            orch_test_support::stores::on_sqlite;
            $($name),+
        );
    };
}
pub(crate) use storage_tests;

/// Like [`storage_tests!`] for `async fn name(first: Arc<dyn RunStorage>, second: Arc<dyn
/// RunStorage>)`: two store instances with their own pools on one database, as two orch
/// processes would have.
macro_rules! two_store_tests {
    ($($name:ident),+ $(,)?) => {
        orch_test_support::on_both_backends!(
            orch_test_support::stores::on_postgres_twice,
            orch_test_support::stores::on_sqlite_twice;
            $($name),+
        );
    };
}
pub(crate) use two_store_tests;

pub fn job(name: &str) -> JobName {
    JobName::parse(name).unwrap()
}

pub fn key(name: &str) -> AssetKey {
    AssetKey::parse(name).unwrap()
}

pub fn tag(name: &str) -> TagKey {
    TagKey::parse(name).unwrap()
}

/// A queued run of `job` with a small config and no tags.
pub fn queued(job_name: &str) -> NewRun {
    NewRun::queued(job(job_name), json!({"limit": 10}), Default::default())
}

/// A fixed instant `millis` after a base time, with the microsecond precision both backends
/// store (PostgreSQL truncates nanoseconds), so stored timestamps compare equal.
pub fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_790_000_000_000_000 + millis * 1000).unwrap()
}

/// Creates a run and moves it along a legal path until it has `status`.
pub async fn run_in(store: &dyn RunStorage, status: RunStatus) -> Run {
    use RunStatus::*;
    let path: &[RunStatus] = match status {
        Queued | Starting => &[],
        Started => &[Started],
        Success => &[Started, Success],
        Failure => &[Started, Failure],
        Canceling => &[Started, Canceling],
        Canceled => &[Started, Canceling, Canceled],
    };
    let mut new = queued("walk");
    if status != Queued {
        new.status = Starting;
    }
    let mut run = store.create_run(&new).await.unwrap();
    for &to in path {
        run = store.transition_run(run.id, to, None).await.unwrap();
    }
    assert_eq!(run.status, status);
    run
}

/// Every event of a run, oldest first.
pub async fn events_of(store: &dyn RunStorage, run: RunId) -> Vec<EventRecord> {
    store.list_events(run, None, 1_000_000).await.unwrap()
}

/// The kinds of a run's events, oldest first.
pub async fn kinds_of(store: &dyn RunStorage, run: RunId) -> Vec<EventKind> {
    events_of(store, run)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// A log event at a fixed time, distinguishable by `n`.
pub fn log(n: usize) -> NewEvent {
    NewEvent {
        timestamp: at(n as i64),
        step: None,
        kind: EventKind::Log {
            level: orchestrator::domain::LogLevel::Info,
            message: format!("line {n}"),
        },
    }
}

/// A materialization of `asset` by the step of the same name.
pub fn materialization(asset: &str, millis: i64, metadata: serde_json::Value) -> NewEvent {
    NewEvent {
        timestamp: at(millis),
        step: Some(key(asset)),
        kind: EventKind::AssetMaterialization {
            asset_key: key(asset),
            metadata: serde_json::from_value(metadata).unwrap(),
        },
    }
}

/// Asserts that `result` is the refusal of `run` going from `from` to `to`.
pub fn assert_illegal(
    result: Result<Run, StorageError>,
    run: RunId,
    from: RunStatus,
    to: RunStatus,
) {
    match result {
        Err(StorageError::IllegalTransition {
            run: r,
            from: f,
            to: t,
        }) => assert_eq!((r, f, t), (run, from, to)),
        other => panic!("expected {run} {from} -> {to} to be illegal, got {other:?}"),
    }
}
