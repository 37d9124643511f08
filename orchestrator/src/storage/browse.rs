//! What the web UI reads besides `RunStorage`'s lists: the parts of a run's event log a page
//! shows without loading the whole log. A run can hold 100 000 events, most of them `LOG` lines;
//! the step timeline needs only the step lifecycle events and a step's log panel only that
//! step's lines, so each has a query of its own served by a partial index
//! (`migrations/*/0006_ui_event_indexes.sql`). The SQL is shared by both backends
//! (`shared_browse_storage!`).

use async_trait::async_trait;

use super::StorageError;
use crate::domain::{AssetKey, EventRecord, RunId};

/// The event types a step timeline is drawn from. The partial index of migration 0006 lists the
/// same types: keep them in step.
pub const STEP_LIFECYCLE_TYPES: [&str; 6] = [
    "STEP_START",
    "STEP_SUCCESS",
    "STEP_FAILURE",
    "STEP_UP_RETRY",
    "STEP_SKIPPED",
    "STEP_CANCELED",
];

/// The web UI's reads of the event log, each a bounded page.
#[async_trait]
pub trait BrowseStorage: Send + Sync {
    /// A run's step lifecycle events (`STEP_START`, `STEP_SUCCESS`, `STEP_FAILURE`,
    /// `STEP_UP_RETRY`, `STEP_SKIPPED`, `STEP_CANCELED`) with ids greater than `after`, oldest
    /// first, at most `limit` (0 means 1 000; at most 10 000).
    async fn list_step_events(
        &self,
        run: RunId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError>;

    /// The `LOG` events one step of a run captured, ids greater than `after`, oldest first, at
    /// most `limit` (0 means 1 000; at most 10 000).
    async fn list_step_logs(
        &self,
        run: RunId,
        step: &AssetKey,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError>;
}

/// Implements [`BrowseStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! shared_browse_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::BrowseStorage for $store {
            async fn list_step_events(
                &self,
                run: $crate::domain::RunId,
                after: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::EventRecord>, $crate::storage::StorageError> {
                // The IN list is spelled out (not bound) so the planner matches the partial
                // index's predicate.
                let rows: Vec<$crate::storage::rows::EventRow> = sqlx::query_as(
                    "SELECT id, run_id, ts, step_key, payload FROM events \
                     WHERE run_id = $1 AND id > $2 AND event_type IN ('STEP_START', \
                     'STEP_SUCCESS', 'STEP_FAILURE', 'STEP_UP_RETRY', 'STEP_SKIPPED', \
                     'STEP_CANCELED') ORDER BY id LIMIT $3",
                )
                .bind(run.as_uuid())
                .bind(after.unwrap_or(0))
                .bind(i64::from($crate::storage::event_page_size(limit)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn list_step_logs(
                &self,
                run: $crate::domain::RunId,
                step: &$crate::domain::AssetKey,
                after: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::EventRecord>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::rows::EventRow> = sqlx::query_as(
                    "SELECT id, run_id, ts, step_key, payload FROM events \
                     WHERE run_id = $1 AND step_key = $2 AND id > $3 AND event_type = 'LOG' \
                     ORDER BY id LIMIT $4",
                )
                .bind(run.as_uuid())
                .bind(step.as_str())
                .bind(after.unwrap_or(0))
                .bind(i64::from($crate::storage::event_page_size(limit)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

pub(crate) use shared_browse_storage;
