//! The PostgreSQL backend (production). Migrations: `migrations/postgres`.

use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::watch;

use super::alerts::shared_alert_storage;
use super::audit::shared_audit_storage;
use super::backfills::shared_backfill_storage;
use super::browse::shared_browse_storage;
use super::changes::{Change, ChangeHub, Changes, PG_CHANNEL};
use super::checks::shared_check_storage;
use super::daemons::shared_daemon_storage;
use super::freshness::shared_freshness_storage;
use super::observe::shared_observe_storage;
use super::partition_status::shared_partition_status_storage;
use super::partitions::shared_partition_storage;
use super::queue::shared_queue_storage;
use super::retention::shared_retention_storage;
use super::schedules::shared_schedule_storage;
use super::sensors::shared_sensor_storage;
use super::snapshots::shared_snapshot_storage;
use super::sql::shared_storage;
use super::{StorageError, StoreOptions};
use crate::retry::RECONNECT;

/// Other processes' changes arrive by LISTEN/NOTIFY; the poll only backs up a lost notification.
const FALLBACK_POLL: Duration = Duration::from_secs(5);

/// Run storage on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    changes: ChangeHub,
    listening: Arc<Once>,
    /// Whether the listener is connected and listening now.
    listener_up: Arc<watch::Sender<bool>>,
}

impl PgStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// Wraps an existing pool (tests get one per database from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            changes: ChangeHub::new(),
            listening: Arc::new(Once::new()),
            listener_up: Arc::new(watch::channel(false).0),
        }
    }

    /// Status changes are announced by the `runs` trigger (migration 0002), in every process.
    fn changed(&self, _change: Change) {}

    /// Starts the listener on first use: one dedicated connection per process, reconnected
    /// when lost (a `Resync` then tells subscribers they may have missed changes).
    async fn subscribe_changes(&self) -> Changes {
        let changes = self.changes.subscribe(FALLBACK_POLL);
        self.listening.call_once(|| {
            tokio::spawn(listen(
                self.pool.clone(),
                self.changes.clone(),
                self.listener_up.clone(),
            ));
        });
        let mut up = self.listener_up.subscribe();
        // If the database is unreachable, go on: the fallback poll covers until it is back.
        let _ = tokio::time::timeout(Duration::from_secs(5), up.wait_for(|up| *up)).await;
        changes
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn run_migrations(&self) -> Result<(), StorageError> {
        // sqlx takes an advisory lock, so concurrent starts migrate once.
        sqlx::migrate!("../migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }
}

shared_storage!(PgStore, sqlx::Postgres);
shared_queue_storage!(PgStore, sqlx::Postgres);
shared_observe_storage!(PgStore, sqlx::Postgres);
shared_retention_storage!(PgStore, sqlx::Postgres);
shared_schedule_storage!(PgStore, sqlx::Postgres);
shared_sensor_storage!(PgStore, sqlx::Postgres);
shared_alert_storage!(PgStore, sqlx::Postgres);
shared_browse_storage!(PgStore, sqlx::Postgres);
shared_check_storage!(PgStore, sqlx::Postgres);
shared_daemon_storage!(PgStore, sqlx::Postgres);
shared_freshness_storage!(PgStore, sqlx::Postgres);
shared_snapshot_storage!(PgStore, sqlx::Postgres);
shared_partition_storage!(PgStore, sqlx::Postgres);
shared_audit_storage!(PgStore, sqlx::Postgres);
shared_partition_status_storage!(PgStore, sqlx::Postgres);
shared_backfill_storage!(PgStore, sqlx::Postgres);

/// Announces a schedule switch to every process, when `tx` commits (PostgreSQL delivers
/// notifications at commit, and drops them on rollback).
async fn notify_schedules(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
) -> Result<(), StorageError> {
    sqlx::query("SELECT pg_notify('orch_changes', 'schedules')")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Forwards notifications on [`PG_CHANNEL`] to the hub, for as long as the process lives. A lost
/// connection is made again with orch's reconnect backoff, LISTEN included; each new start is
/// announced as a `Resync` (notifications sent meanwhile are lost with the connection).
async fn listen(pool: PgPool, hub: ChangeHub, up: Arc<watch::Sender<bool>>) {
    let mut retrying = RECONNECT.start();
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                let delay = retrying.failed();
                tracing::warn!(error = %e, ?delay, "cannot LISTEN for changes; retrying");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(PG_CHANNEL).await {
            let delay = retrying.failed();
            tracing::warn!(error = %e, ?delay, "LISTEN {PG_CHANNEL} failed; retrying");
            tokio::time::sleep(delay).await;
            continue;
        }
        if retrying.failures() > 0 {
            tracing::info!("change listener connected again");
        }
        retrying.succeeded();
        up.send_replace(true);
        hub.send(Change::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(change) = Change::from_payload(notification.payload()) {
                        hub.send(change);
                    }
                }
                // The connection was lost; the next call reconnects and listens again.
                Ok(None) => {
                    tracing::info!("change listener reconnecting");
                    hub.send(Change::Resync);
                }
                Err(e) => {
                    up.send_replace(false);
                    let delay = retrying.failed();
                    tracing::warn!(error = %e, ?delay, "change listener failed; reconnecting");
                    hub.send(Change::Resync);
                    tokio::time::sleep(delay).await;
                    break;
                }
            }
        }
    }
}

/// Takes the oldest status changes for evaluation, skipping those another evaluator holds
/// (its transaction either deletes them or gives them back).
const TAKE_STATUS_CHANGES: &str = "DELETE FROM run_status_changes WHERE id IN (\
     SELECT id FROM run_status_changes ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, run_id, job, status, message, changed_at";
/// The oldest freshness changes waiting for the sensors, taken (deleted) for evaluation.
const TAKE_FRESHNESS_CHANGES: &str = "DELETE FROM freshness_alert_changes WHERE id IN (\
     SELECT id FROM freshness_alert_changes ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, asset_key, job, previous, state, reason, changed_at";
