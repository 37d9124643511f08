//! The SQLite backend: the embedded default, a single file under `$ORCH_HOME`, nothing to
//! install. WAL mode lets readers run beside the one writer; a busy timeout makes concurrent
//! writers (several processes on one file) wait their turn instead of failing.
//! Migrations: `migrations/sqlite`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::alerts::shared_alert_storage;
use super::audit::shared_audit_storage;
use super::backfills::shared_backfill_storage;
use super::browse::shared_browse_storage;
use super::changes::{Change, ChangeHub, Changes};
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

/// Changes made by other processes on the same file are not notified; loops poll this often.
const FALLBACK_POLL: Duration = Duration::from_millis(200);

/// Run storage in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    changes: ChangeHub,
    /// The file locked while migrating (beside the database); `None` in memory.
    migrate_lock: Option<std::path::PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://path` URL.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let file = connect.get_filename();
        let migrate_lock =
            (!file.as_os_str().is_empty() && file != std::path::Path::new(":memory:")).then(|| {
                let mut name = file.as_os_str().to_owned();
                name.push(".migrate-lock");
                std::path::PathBuf::from(name)
            });
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await?;
        Ok(Self {
            pool,
            changes: ChangeHub::new(),
            migrate_lock,
        })
    }

    /// Announces a committed change to this process's subscribers.
    fn changed(&self, change: Change) {
        self.changes.send(change);
    }

    async fn subscribe_changes(&self) -> Changes {
        self.changes.subscribe(FALLBACK_POLL)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// sqlx takes no lock while it migrates SQLite: two processes opening a fresh database at
    /// once (`orch dev` and `orch launch`, a test and the binary it starts) would both apply a
    /// migration ("duplicate column name"). An exclusive lock on a file beside the database
    /// makes the second wait and find them applied. (Not the database file itself: closing
    /// another descriptor of it would drop SQLite's own POSIX locks in this process.)
    async fn run_migrations(&self) -> Result<(), StorageError> {
        let _held = match self.migrate_lock.clone() {
            Some(path) => Some(lock_exclusive(path).await?),
            None => None,
        };
        sqlx::migrate!("../migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }
}

/// Opens `path` (creating it) and waits for an exclusive lock on it, released when the file
/// is dropped.
async fn lock_exclusive(path: std::path::PathBuf) -> Result<std::fs::File, StorageError> {
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|locked| locked);
    locked.map_err(|e| StorageError::Database(sqlx::Error::Io(e)))
}

shared_storage!(SqliteStore, sqlx::Sqlite);
shared_queue_storage!(SqliteStore, sqlx::Sqlite);
shared_observe_storage!(SqliteStore, sqlx::Sqlite);
shared_retention_storage!(SqliteStore, sqlx::Sqlite);
shared_schedule_storage!(SqliteStore, sqlx::Sqlite);
shared_sensor_storage!(SqliteStore, sqlx::Sqlite);
shared_alert_storage!(SqliteStore, sqlx::Sqlite);
shared_browse_storage!(SqliteStore, sqlx::Sqlite);
shared_check_storage!(SqliteStore, sqlx::Sqlite);
shared_daemon_storage!(SqliteStore, sqlx::Sqlite);
shared_freshness_storage!(SqliteStore, sqlx::Sqlite);
shared_snapshot_storage!(SqliteStore, sqlx::Sqlite);
shared_partition_storage!(SqliteStore, sqlx::Sqlite);
shared_audit_storage!(SqliteStore, sqlx::Sqlite);
shared_partition_status_storage!(SqliteStore, sqlx::Sqlite);
shared_backfill_storage!(SqliteStore, sqlx::Sqlite);

/// SQLite has no notification between processes; `SqliteStore::changed` tells this process's
/// subscribers after the commit, and other processes find the switch by polling.
async fn notify_schedules(
    _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
) -> Result<(), StorageError> {
    Ok(())
}

/// Takes the oldest status changes for evaluation; SQLite's single writer keeps two evaluators
/// from taking the same rows.
const TAKE_STATUS_CHANGES: &str = "DELETE FROM run_status_changes WHERE id IN (\
     SELECT id FROM run_status_changes ORDER BY id LIMIT $1) \
     RETURNING id, run_id, job, status, message, changed_at";
/// The oldest freshness changes waiting for the sensors, taken (deleted) for evaluation.
const TAKE_FRESHNESS_CHANGES: &str = "DELETE FROM freshness_alert_changes WHERE id IN (\
     SELECT id FROM freshness_alert_changes ORDER BY id LIMIT $1) \
     RETURNING id, asset_key, job, previous, state, reason, changed_at";
