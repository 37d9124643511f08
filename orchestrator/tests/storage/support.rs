//! Fixtures for the storage suite: the macros that run one test body on both backends, the
//! stores they open, and small builders for runs and events.
//!
//! PostgreSQL tests get a fresh database from `#[sqlx::test]` (created from `DATABASE_URL`,
//! dropped after a passing test); SQLite tests get a fresh file in a temporary directory. Both
//! stores are migrated by `RunStorage::migrate`, as `orch` does at start-up.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use orchestrator::domain::{
    AssetKey, EventKind, EventRecord, JobName, NewEvent, NewRun, Run, RunId, RunStatus, TagKey,
};
use orchestrator::storage::{PgStore, RunStorage, SqliteStore, StorageError, StoreOptions};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tempfile::TempDir;

/// For each `async fn name(store: Arc<dyn RunStorage>)` of the calling module, generates
/// `name::postgres` and `name::sqlite`.
macro_rules! storage_tests {
    ($($name:ident),+ $(,)?) => {
        orch_test_support::on_both_backends!(
            $crate::support::on_postgres,
            $crate::support::on_sqlite;
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
            $crate::support::on_postgres_twice,
            $crate::support::on_sqlite_twice;
            $($name),+
        );
    };
}
pub(crate) use two_store_tests;

pub async fn on_postgres<F, Fut>(pool: PgPool, test: F)
where
    F: FnOnce(Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = PgStore::from_pool(pool);
    store.migrate().await.unwrap();
    test(Arc::new(store)).await;
}

pub async fn on_postgres_twice<F, Fut>(pool: PgPool, test: F)
where
    F: FnOnce(Arc<dyn RunStorage>, Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let other = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let first = PgStore::from_pool(pool);
    first.migrate().await.unwrap();
    let second = PgStore::from_pool(other.clone());
    // The second process starts after the first has migrated: nothing left to apply.
    second.migrate().await.unwrap();
    test(Arc::new(first), Arc::new(second)).await;
    // sqlx drops the test database afterwards, which PostgreSQL refuses while connections remain.
    other.close().await;
}

pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(open_sqlite(&dir).await).await;
}

pub async fn on_sqlite_twice<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn RunStorage>, Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let first = open_sqlite(&dir).await;
    let second = open_sqlite(&dir).await;
    test(first, second).await;
}

async fn open_sqlite(dir: &TempDir) -> Arc<dyn RunStorage> {
    let url = format!("sqlite://{}/orch.db", dir.path().display());
    let store = SqliteStore::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

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
