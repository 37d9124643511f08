//! Run storage: one interface ([`RunStorage`]), two backends with the same behaviour —
//! PostgreSQL for production and SQLite as the embedded default. All SQL of orch lives under this
//! module. Status changes happen here and only here, through conditional updates checked against
//! [`RunStatus::can_become`], so concurrent writers can never apply an illegal transition.

pub mod alerts;
pub mod audit;
pub mod backfills;
pub mod browse;
mod changes;
pub mod checks;
pub mod daemons;
pub mod freshness;
pub mod observe;
pub mod partition_status;
pub mod partitions;

mod postgres;
pub mod queue;
pub mod retention;
mod rows;
pub mod schedules;
mod sensor_rows;
pub mod sensors;
pub mod snapshots;
mod sql;
mod sqlite;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

pub use alerts::{AlertFilter, AlertStorage, Claim, ClaimRequest, Claimed};
pub use audit::{AuditRecord, AuditStorage, NewAuditRecord};
pub use backfills::BackfillStorage;
pub use browse::BrowseStorage;
pub use changes::{Change, Changes};
pub use checks::CheckStorage;
pub use daemons::DaemonStorage;
pub use freshness::{FreshnessStorage, NewFreshnessChange};
pub use observe::{ObserveStorage, PoolStats};
pub use partition_status::PartitionStatusStorage;
pub use partitions::PartitionStorage;

pub use postgres::PgStore;
pub use queue::QueueStorage;
pub use retention::RetentionStorage;
pub use schedules::ScheduleStorage;
pub use sensors::{EvaluatedBatch, SensorStorage, freshness_alert_id};
pub use snapshots::SnapshotStorage;
pub use sqlite::SqliteStore;

use crate::domain::{
    AssetKey, AssetSummary, EventRecord, Materialization, NewEvent, NewRun, PartitionTargets, Run,
    RunFilter, RunId, RunStatus,
};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("run {0} not found")]
    RunNotFound(RunId),
    #[error("run {run} is {from}; it cannot become {to}")]
    IllegalTransition {
        run: RunId,
        from: RunStatus,
        to: RunStatus,
    },
    #[error("a run cannot be created as {0}; new runs are QUEUED or STARTING")]
    NotInitial(RunStatus),
    #[error(
        "runs in status {0} cannot be pruned; only finished runs (SUCCESS, FAILURE, CANCELED) are"
    )]
    NotTerminal(RunStatus),
    #[error(
        "unsupported database URL '{0}': use postgres://user@host:port/db or sqlite://path/to/orch.db"
    )]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data could not be read ({0})")]
    Corrupt(String),
}

impl StorageError {
    /// Whether the database could not be reached (connection refused, lost or timed out, the
    /// server shutting down or starting up): a fault of the moment that retrying after a while
    /// fixes, as opposed to a refused statement or a rule of orch's.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(e) | Self::Migrate(sqlx::migrate::MigrateError::Execute(e)) => {
                unreachable_database(e)
            }
            _ => false,
        }
    }
}

fn unreachable_database(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // SQLSTATE class 08 (connection exception), 57P01-03 (admin or crash shutdown, cannot
        // connect now: a restart), 53300 (too many connections).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Calls `op` until it succeeds or fails for another reason than an unreachable database,
/// waiting by orch's reconnect backoff (`crate::retry::RECONNECT`) between tries: for callers
/// that have nothing better to do than wait for the database (a worker starting, a process
/// opening its store).
pub async fn until_reachable<T, F, Fut>(mut op: F) -> Result<T, StorageError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StorageError>>,
{
    let mut retrying = crate::retry::RECONNECT.start();
    loop {
        match op().await {
            Err(e) if e.is_unavailable() => {
                let delay = retrying.failed();
                if retrying.failures() == 1 {
                    tracing::warn!(error = %e, "the database does not answer; waiting for it");
                } else {
                    tracing::debug!(error = %e, ?delay, "the database still does not answer");
                }
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
}

/// Connection settings common to both backends.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// Apply pending migrations when connecting.
    pub migrate: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            migrate: true,
        }
    }
}

/// The run store. Implementations behave identically; the shared test suite in
/// `orchestrator/tests/storage` holds them to it.
#[async_trait]
pub trait RunStorage:
    QueueStorage
    + RetentionStorage
    + ScheduleStorage
    + SensorStorage
    + AlertStorage
    + ObserveStorage
    + BrowseStorage
    + FreshnessStorage
    + CheckStorage
    + SnapshotStorage
    + PartitionStorage
    + PartitionStatusStorage
    + BackfillStorage
    + DaemonStorage
    + AuditStorage
    + Send
    + Sync
    + Debug
{
    /// Applies pending migrations (embedded in the binary).
    async fn migrate(&self) -> Result<(), StorageError>;

    /// Creates a run in its initial status and records the matching run event.
    async fn create_run(&self, run: &NewRun) -> Result<Run, StorageError> {
        self.create_targeted_run(run, &PartitionTargets::default())
            .await
    }

    /// [`RunStorage::create_run`] that also makes each of `targets`' asset partitions in
    /// progress in the partition status index, in the same transaction.
    async fn create_targeted_run(
        &self,
        run: &NewRun,
        targets: &PartitionTargets,
    ) -> Result<Run, StorageError>;

    async fn get_run(&self, id: RunId) -> Result<Run, StorageError>;

    /// Runs newest first, after the `before` cursor, filtered.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StorageError>;

    /// Moves a run to `to` if the lifecycle allows it from the status the run has at that
    /// instant (one conditional update), and records the run event in the same transaction.
    async fn transition_run(
        &self,
        id: RunId,
        to: RunStatus,
        message: Option<&str>,
    ) -> Result<Run, StorageError> {
        self.transition_run_with_events(id, to, message, &[]).await
    }

    /// [`RunStorage::transition_run`] that also appends `events` (before the run event) in the
    /// same transaction: a worker ends a run with its last events in one commit. If the
    /// transition is refused, nothing is written.
    async fn transition_run_with_events(
        &self,
        id: RunId,
        to: RunStatus,
        message: Option<&str>,
        events: &[NewEvent],
    ) -> Result<Run, StorageError>;

    /// Appends events in order, in one transaction; materializations also update the catalog.
    async fn append_events(&self, run: RunId, events: &[NewEvent]) -> Result<(), StorageError>;

    /// [`RunStorage::append_events`] for a writer that numbers its run's events: `events[i]` is
    /// the run's event number `first_seq + i`. Idempotent: an event whose number the run has
    /// already is not stored again, so a batch written again after the answer to its commit was
    /// lost stores nothing twice (numbers up to the run's highest stored one are skipped, read
    /// under the run's lock; `UNIQUE (run_id, seq)` guards it). Numbered batches must come in
    /// order, as the worker's writer sends them.
    async fn append_numbered_events(
        &self,
        run: RunId,
        first_seq: i64,
        events: &[NewEvent],
    ) -> Result<(), StorageError>;

    /// A run's events with ids greater than `after`, oldest first, at most `limit` (0 means
    /// 1 000; at most 10 000 a page).
    async fn list_events(
        &self,
        run: RunId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError>;

    /// Every asset with its latest materialization, by key.
    async fn list_assets(&self) -> Result<Vec<AssetSummary>, StorageError>;

    /// Materializations of one asset, newest first, with event ids below `before`.
    async fn asset_history(
        &self,
        key: &AssetKey,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Materialization>, StorageError>;
}

/// The page size of `list_events`: 0 means the default of 1 000; at most 10 000.
pub(crate) fn event_page_size(limit: u32) -> u32 {
    match limit {
        0 => 1_000,
        n => n.min(10_000),
    }
}

/// Opens the store a database URL names: `postgres://…`/`postgresql://…` or `sqlite://…`.
pub async fn connect(
    url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn RunStorage>, StorageError> {
    let store: Arc<dyn RunStorage> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(PgStore::connect(url, options).await?)
        } else if url.starts_with("sqlite:") {
            Arc::new(SqliteStore::connect(url, options).await?)
        } else {
            return Err(StorageError::UnsupportedUrl(url.to_owned()));
        };
    if options.migrate {
        store.migrate().await?;
    }
    Ok(store)
}
