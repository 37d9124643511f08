//! Stores for the suites' tests, one implementation: a migrated store on the fresh PostgreSQL
//! database `#[sqlx::test]` hands a test, or on a SQLite file in a temporary directory; once,
//! or twice over one database (two pools, as two orch processes have). These are the runners
//! [`crate::on_both_backends!`] calls; a suite that wraps the store in its own fixture (a
//! router, a daemon) adapts them in one line.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use orchestrator::domain::{JobName, NewRun, Run, TagKey};
use orchestrator::storage::{PgStore, RunStorage, SqliteStore, StoreOptions};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Runs `test` with a migrated store on `pool`'s database.
pub async fn on_postgres<F, Fut>(pool: PgPool, test: F)
where
    F: FnOnce(Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = PgStore::from_pool(pool);
    store.migrate().await.expect("migrate the test database");
    test(Arc::new(store)).await;
}

/// Runs `test` with two stores on `pool`'s database, each with its own pool; the second opens
/// after the first has migrated.
pub async fn on_postgres_twice<F, Fut>(pool: PgPool, test: F)
where
    F: FnOnce(Arc<dyn RunStorage>, Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let other = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .expect("a second pool on the test database");
    let first = PgStore::from_pool(pool);
    first.migrate().await.expect("migrate the test database");
    let second = PgStore::from_pool(other.clone());
    second.migrate().await.expect("nothing left to migrate");
    test(Arc::new(first), Arc::new(second)).await;
    // sqlx drops the test database afterwards, which PostgreSQL refuses while connections remain.
    other.close().await;
}

/// Runs `test` with a migrated store on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    test(open_sqlite(dir.path()).await).await;
}

/// Runs `test` with two stores on one fresh SQLite file.
pub async fn on_sqlite_twice<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn RunStorage>, Arc<dyn RunStorage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = open_sqlite(dir.path()).await;
    let second = open_sqlite(dir.path()).await;
    test(first, second).await;
}

/// A migrated store on `orch.db` in `dir`.
pub async fn open_sqlite(dir: &Path) -> Arc<dyn RunStorage> {
    let url = format!("sqlite://{}/orch.db", dir.display());
    let store = SqliteStore::connect(&url, &StoreOptions::default())
        .await
        .expect("open the SQLite test store");
    store
        .migrate()
        .await
        .expect("migrate the SQLite test store");
    Arc::new(store)
}

/// Queues a run of `job` with no config and `tags`.
pub async fn queue(store: &dyn RunStorage, job: &str, tags: &[(&str, &str)]) -> Run {
    let mut run = NewRun::queued(
        JobName::parse(job).expect("a valid job name"),
        serde_json::json!({}),
        Default::default(),
    );
    for (k, v) in tags {
        run.tags
            .insert(TagKey::parse(k).expect("a valid tag key"), (*v).to_owned());
    }
    store.create_run(&run).await.expect("queue a run")
}
