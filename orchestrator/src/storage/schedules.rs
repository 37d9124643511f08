//! What the scheduler needs of the store: schedules' on/off state, and ticks recorded so that each
//! launches exactly once whatever the number of daemon replicas. The uniqueness lives in the
//! database (`UNIQUE (schedule, tick_time)`), never in memory: a tick and its run are inserted in
//! one transaction, and only the transaction that inserted the tick creates the run. The SQL is
//! shared by both backends (`shared_schedule_storage!`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;
use crate::domain::{NewRun, Run, ScheduleName, ScheduleState, ScheduleSwitch, ScheduleTick};

/// The page size of `list_ticks`: 0 means 50; at most 1 000.
pub fn tick_page_size(limit: u32) -> u32 {
    match limit {
        0 => 50,
        n => n.min(1_000),
    }
}

/// Skipped ticks are inserted this many to a statement.
pub(crate) const SKIPPED_CHUNK: usize = 500;

/// The scheduler's side of the store.
#[async_trait]
pub trait ScheduleStorage: Send + Sync {
    /// Switches a schedule on or off. The choice is persisted and outlives the definition's
    /// default; `updated_at` moves only when the state changes. Announced as
    /// [`super::Change::Schedules`], so running schedulers wake at once.
    async fn switch_schedule(
        &self,
        name: &ScheduleName,
        switch: ScheduleSwitch,
    ) -> Result<ScheduleState, StorageError>;

    /// The state of every schedule someone switched, by name. Schedules without one follow
    /// their definition's default.
    async fn list_schedule_states(&self) -> Result<Vec<ScheduleState>, StorageError>;

    /// Records `tick_time` of `schedule` as SUCCESS with `run` (a QUEUED run of the tick) and
    /// creates the run, in one transaction — unless the tick is already recorded, by this or any
    /// other process, in which case nothing is written. Returns the run if this call created it.
    async fn record_tick_run(
        &self,
        schedule: &ScheduleName,
        tick_time: DateTime<Utc>,
        run: &NewRun,
    ) -> Result<Option<Run>, StorageError>;

    /// Records ticks as SKIPPED, leaving alone those already recorded. Returns how many it
    /// recorded.
    async fn record_skipped_ticks(
        &self,
        schedule: &ScheduleName,
        tick_times: &[DateTime<Utc>],
    ) -> Result<u64, StorageError>;

    /// Records a tick as FAILURE with the reason no run was created, unless it is already
    /// recorded. Returns whether it recorded it.
    async fn record_failed_tick(
        &self,
        schedule: &ScheduleName,
        tick_time: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StorageError>;

    /// A schedule's ticks, newest first, with tick times before `before` (the keyset cursor: the
    /// tick time of the last tick of the previous page), at most `limit` (see
    /// [`tick_page_size`]).
    async fn list_ticks(
        &self,
        schedule: &ScheduleName,
        before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<ScheduleTick>, StorageError>;

    /// The time of a schedule's latest recorded tick: where the scheduler resumes.
    async fn latest_tick_time(
        &self,
        schedule: &ScheduleName,
    ) -> Result<Option<DateTime<Utc>>, StorageError>;

    /// Deletes ticks recorded before `recorded_before`, `batch_size` rows per statement so no
    /// lock is held for long, and returns how many it deleted. Each schedule's latest tick is
    /// kept: it is where the scheduler resumes.
    async fn prune_ticks(
        &self,
        recorded_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, StorageError>;
}

/// Implements [`ScheduleStorage`] for `$store` (same requirements as `shared_storage!`, whose
/// `insert_run` it calls, plus a free `async fn notify_schedules(tx)` in the backend's module
/// that announces a switch inside the transaction where the database can, i.e. PostgreSQL).
macro_rules! shared_schedule_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::ScheduleStorage for $store {
            async fn switch_schedule(
                &self,
                name: &$crate::domain::ScheduleName,
                switch: $crate::domain::ScheduleSwitch,
            ) -> Result<$crate::domain::ScheduleState, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO schedule_states (name, enabled, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, \
                     updated_at = excluded.updated_at \
                     WHERE schedule_states.enabled <> excluded.enabled",
                )
                .bind(name.as_str())
                .bind(switch.is_on())
                .bind($crate::storage::rows::now())
                .execute(&mut *tx)
                .await?;
                let row: $crate::storage::rows::ScheduleStateRow = sqlx::query_as(
                    "SELECT name, enabled, updated_at FROM schedule_states WHERE name = $1",
                )
                .bind(name.as_str())
                .fetch_one(&mut *tx)
                .await?;
                notify_schedules(&mut tx).await?;
                tx.commit().await?;
                self.changed($crate::storage::Change::Schedules);
                row.try_into()
            }

            async fn list_schedule_states(
                &self,
            ) -> Result<Vec<$crate::domain::ScheduleState>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::rows::ScheduleStateRow> = sqlx::query_as(
                    "SELECT name, enabled, updated_at FROM schedule_states ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn record_tick_run(
                &self,
                schedule: &$crate::domain::ScheduleName,
                tick_time: chrono::DateTime<chrono::Utc>,
                run: &$crate::domain::NewRun,
            ) -> Result<Option<$crate::domain::Run>, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                // The tick first: a concurrent inserter of the same tick waits here for this
                // transaction (PostgreSQL: the unique index; SQLite: the write lock) and then
                // inserts nothing, so it never reaches the run.
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO schedule_ticks \
                     (schedule, tick_time, status, run_id, error, recorded_at) \
                     VALUES ($1, $2, 'SUCCESS', $3, NULL, $4) \
                     ON CONFLICT (schedule, tick_time) DO NOTHING RETURNING id",
                )
                .bind(schedule.as_str())
                .bind($crate::storage::rows::micros(tick_time))
                .bind(run.id.as_uuid())
                .bind($crate::storage::rows::now())
                .fetch_optional(&mut *tx)
                .await?;
                if id.is_none() {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let row = insert_run(&mut tx, run).await?;
                tx.commit().await?;
                self.changed($crate::storage::Change::Run(run.id, run.status));
                Ok(Some(row.try_into()?))
            }

            async fn record_skipped_ticks(
                &self,
                schedule: &$crate::domain::ScheduleName,
                tick_times: &[chrono::DateTime<chrono::Utc>],
            ) -> Result<u64, $crate::storage::StorageError> {
                if tick_times.is_empty() {
                    return Ok(0);
                }
                let now = $crate::storage::rows::now();
                let mut recorded = 0;
                let mut tx = self.pool.begin().await?;
                for chunk in tick_times.chunks($crate::storage::schedules::SKIPPED_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO schedule_ticks (schedule, tick_time, status, recorded_at) ",
                    );
                    q.push_values(chunk, |mut b, tick| {
                        b.push_bind(schedule.as_str().to_owned())
                            .push_bind($crate::storage::rows::micros(*tick))
                            .push_bind("SKIPPED")
                            .push_bind(now);
                    });
                    q.push(" ON CONFLICT (schedule, tick_time) DO NOTHING");
                    recorded += q.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(recorded)
            }

            async fn record_failed_tick(
                &self,
                schedule: &$crate::domain::ScheduleName,
                tick_time: chrono::DateTime<chrono::Utc>,
                error: &str,
            ) -> Result<bool, $crate::storage::StorageError> {
                let done = sqlx::query(
                    "INSERT INTO schedule_ticks (schedule, tick_time, status, error, recorded_at) \
                     VALUES ($1, $2, 'FAILURE', $3, $4) \
                     ON CONFLICT (schedule, tick_time) DO NOTHING",
                )
                .bind(schedule.as_str())
                .bind($crate::storage::rows::micros(tick_time))
                // PostgreSQL's TEXT refuses NUL; the error is a message for people.
                .bind(error.replace('\0', "\u{FFFD}"))
                .bind($crate::storage::rows::now())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_ticks(
                &self,
                schedule: &$crate::domain::ScheduleName,
                before: Option<chrono::DateTime<chrono::Utc>>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::ScheduleTick>, $crate::storage::StorageError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    $crate::storage::rows::tick_columns!(),
                    " FROM schedule_ticks WHERE schedule = "
                ));
                q.push_bind(schedule.as_str().to_owned());
                if let Some(before) = before {
                    q.push(" AND tick_time < ")
                        .push_bind($crate::storage::rows::micros(before));
                }
                q.push(" ORDER BY tick_time DESC LIMIT ")
                    .push_bind(i64::from($crate::storage::schedules::tick_page_size(limit)));
                let rows: Vec<$crate::storage::rows::TickRow> =
                    q.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn latest_tick_time(
                &self,
                schedule: &$crate::domain::ScheduleName,
            ) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::storage::StorageError> {
                let latest = sqlx::query_scalar(
                    "SELECT tick_time FROM schedule_ticks WHERE schedule = $1 \
                     ORDER BY tick_time DESC LIMIT 1",
                )
                .bind(schedule.as_str())
                .fetch_optional(&self.pool)
                .await?;
                Ok(latest)
            }

            async fn prune_ticks(
                &self,
                recorded_before: chrono::DateTime<chrono::Utc>,
                batch_size: u32,
            ) -> Result<u64, $crate::storage::StorageError> {
                let batch = batch_size.max(1);
                let mut deleted = 0;
                loop {
                    // One short statement per batch; the subquery keeps each schedule's latest
                    // tick (through the unique index on (schedule, tick_time)).
                    let done = sqlx::query(
                        "DELETE FROM schedule_ticks WHERE id IN (\
                         SELECT t.id FROM schedule_ticks t WHERE t.recorded_at < $1 \
                         AND t.tick_time < (SELECT max(l.tick_time) FROM schedule_ticks l \
                         WHERE l.schedule = t.schedule) \
                         ORDER BY t.id LIMIT $2)",
                    )
                    .bind($crate::storage::rows::micros(recorded_before))
                    .bind(i64::from(batch))
                    .execute(&self.pool)
                    .await?;
                    deleted += done.rows_affected();
                    if done.rows_affected() < u64::from(batch) {
                        return Ok(deleted);
                    }
                }
            }
        }
    };
}

pub(crate) use shared_schedule_storage;
