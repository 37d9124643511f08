//! The SQL both backends share. PostgreSQL and SQLite accept the same text for every statement
//! here (`$n` placeholders, `RETURNING`, `ON CONFLICT`, `->` on JSON), and the same Rust types
//! decode from both, so one body serves both: `shared_storage!` expands it for a pool type.
//! A statement that must differ between the dialects lives in that backend's own module.

/// Implements [`super::RunStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field
/// and an inherent `async fn run_migrations(&self)`).
macro_rules! shared_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::RunStorage for $store {
            async fn migrate(&self) -> Result<(), $crate::storage::StorageError> {
                self.run_migrations().await
            }

            async fn create_targeted_run(
                &self,
                run: &$crate::domain::NewRun,
                targets: &$crate::domain::PartitionTargets,
            ) -> Result<$crate::domain::Run, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                let row = insert_run(&mut tx, run).await?;
                begin_partition_status(&mut tx, run.job.as_str(), run.id, targets).await?;
                tx.commit().await?;
                self.changed($crate::storage::Change::Run(run.id, run.status));
                row.try_into()
            }

            async fn get_run(
                &self,
                id: $crate::domain::RunId,
            ) -> Result<$crate::domain::Run, $crate::storage::StorageError> {
                use $crate::storage::rows::RunRow;
                let row: Option<RunRow> = sqlx::query_as(concat!("SELECT ", $crate::storage::rows::run_columns!(), " FROM runs WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or($crate::storage::StorageError::RunNotFound(id))?
                    .try_into()
            }

            async fn list_runs(
                &self,
                filter: &$crate::domain::RunFilter,
            ) -> Result<Vec<$crate::domain::Run>, $crate::storage::StorageError> {
                use $crate::storage::rows::RunRow;
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ", $crate::storage::rows::run_columns!(), " FROM runs WHERE 1 = 1"
                ));
                if let Some(status) = filter.status {
                    q.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(job) = &filter.job {
                    q.push(" AND job = ").push_bind(job.as_str().to_owned());
                }
                if let Some(before) = filter.before {
                    q.push(" AND id < ").push_bind(before.as_uuid());
                }
                if let Some(key) = &filter.partition {
                    q.push(" AND partition_key = ").push_bind(key.clone());
                }
                if let Some(who) = &filter.launched_by {
                    q.push(" AND launched_by = ").push_bind(who.clone());
                }
                if filter.checks_failed {
                    q.push(" AND checks_failed > 0");
                }
                if let Some((key, value)) = &filter.tag {
                    q.push(" AND EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.key = ")
                        .push_bind(key.as_str().to_owned())
                        .push(" AND t.value = ")
                        .push_bind(value.clone())
                        .push(")");
                }
                if let Some(backfill) = &filter.backfill {
                    q.push(" AND EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.key = ")
                        .push_bind($crate::domain::BACKFILL_TAG)
                        .push(" AND t.value = ")
                        .push_bind(backfill.to_string())
                        .push(")");
                }
                q.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(filter.effective_limit()));
                let rows: Vec<RunRow> = q.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn transition_run_with_events(
                &self,
                id: $crate::domain::RunId,
                to: $crate::domain::RunStatus,
                message: Option<&str>,
                events: &[$crate::domain::NewEvent],
            ) -> Result<$crate::domain::Run, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                let row = transition_in_tx(&mut tx, id, to, message, events).await?;
                tx.commit().await?;
                self.changed($crate::storage::Change::Run(id, to));
                row.try_into()
            }

            async fn append_events(
                &self,
                run: $crate::domain::RunId,
                events: &[$crate::domain::NewEvent],
            ) -> Result<(), $crate::storage::StorageError> {
                self.append_events_from(run, None, events).await
            }

            async fn append_numbered_events(
                &self,
                run: $crate::domain::RunId,
                first_seq: i64,
                events: &[$crate::domain::NewEvent],
            ) -> Result<(), $crate::storage::StorageError> {
                self.append_events_from(run, Some(first_seq), events).await
            }


            async fn list_events(
                &self,
                run: $crate::domain::RunId,
                after: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::EventRecord>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::rows::EventRow> = sqlx::query_as(
                    "SELECT id, run_id, ts, step_key, payload FROM events \
                     WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                )
                .bind(run.as_uuid())
                .bind(after.unwrap_or(0))
                .bind(i64::from($crate::storage::event_page_size(limit)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn list_assets(
                &self,
            ) -> Result<Vec<$crate::domain::AssetSummary>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::rows::MaterializationRow> = sqlx::query_as(
                    "SELECT asset_key, last_run_id AS run_id, last_event_id AS event_id, \
                     last_materialized_at AS ts, last_metadata AS metadata \
                     FROM assets",
                )
                .fetch_all(&self.pool)
                .await?;
                // Sorted here, not by the database's collation, so both backends agree.
                let mut assets: Vec<$crate::domain::AssetSummary> =
                    rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
                assets.sort_by(|a, b| a.key.cmp(&b.key));
                Ok(assets)
            }

            async fn asset_history(
                &self,
                key: &$crate::domain::AssetKey,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Materialization>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::rows::MaterializationRow> = sqlx::query_as(
                    "SELECT asset_key, run_id, id AS event_id, ts, payload -> 'metadata' AS metadata \
                     FROM events WHERE asset_key = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                )
                .bind(key.as_str())
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit.max(1)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }

        impl $store {
            /// Appends `events` in one transaction; numbered from `first_seq` if given, in which
            /// case the events whose numbers the run already has are skipped (idempotent retries).
            async fn append_events_from(
                &self,
                run: $crate::domain::RunId,
                first_seq: Option<i64>,
                events: &[$crate::domain::NewEvent],
            ) -> Result<(), $crate::storage::StorageError> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                // Lock the run row first, as `transition_run` does, so the event writers of one
                // run commit in the order they draw ids: a reader paging with `after` must never
                // pass an id that commits later. (SQLite: the write lock, taken up front.)
                let locked = sqlx::query("UPDATE runs SET updated_at = updated_at WHERE id = $1")
                    .bind(run.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Err($crate::storage::StorageError::RunNotFound(run));
                }
                // Numbered: skip the numbers the run has already (a try whose commit landed with
                // its answer lost). Batches are written whole and in order, so the highest
                // stored number says which; the run's lock above keeps it true until the commit.
                let (first_seq, events) = match first_seq {
                    Some(first) => {
                        let stored: Option<i64> =
                            sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE run_id = $1")
                                .bind(run.as_uuid())
                                .fetch_one(&mut *tx)
                                .await?;
                        let skip = stored.map_or(0, |max| max.saturating_sub(first).saturating_add(1));
                        let skip = usize::try_from(skip).unwrap_or(0).min(events.len());
                        (Some(first + skip as i64), &events[skip..])
                    }
                    None => (None, events),
                };
                if events.is_empty() {
                    return Ok(());
                }
                insert_events_and_catalog(&mut tx, run, first_seq, events).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        $crate::storage::partition_status::partition_status_sql!($db);

        /// Inserts a run with its tags and its first run event (`run.status` must be initial).
        async fn insert_run(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: &$crate::domain::NewRun,
        ) -> Result<$crate::storage::rows::RunRow, $crate::storage::StorageError> {
            use $crate::storage::rows::{tags_json, RunRow};
            if !run.status.is_initial() {
                return Err($crate::storage::StorageError::NotInitial(run.status));
            }
            let now = $crate::storage::rows::now();
            let selection = run.step_selection.as_ref().map(|keys| {
                sqlx::types::Json(keys.iter().map(|k| k.as_str().to_owned()).collect::<Vec<_>>())
            });
            if let Some(definition) = &run.definition {
                // One row per version: many runs share an unchanged definition.
                sqlx::query(
                    "INSERT INTO job_snapshots (version, job, snapshot, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
                )
                .bind(&definition.version)
                .bind(run.job.as_str())
                .bind(&definition.json)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            let row: RunRow = sqlx::query_as(concat!(
                "INSERT INTO runs (id, job, status, config, tags, parent_run_id, step_selection, \
                 created_at, updated_at, definition_version, partition_key, partition_range_start, \
                 partition_range_end, launched_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ",
                $crate::storage::rows::run_columns!()
            ))
            .bind(run.id.as_uuid())
            .bind(run.job.as_str())
            .bind(run.status.as_str())
            .bind($crate::storage::rows::payload(&run.config))
            .bind(tags_json(&run.tags))
            .bind(run.parent_run_id.map(|p| p.as_uuid()))
            .bind(selection)
            .bind(now)
            .bind(now)
            .bind(run.definition.as_ref().map(|d| d.version.clone()))
            .bind(run.partition.as_ref().and_then(|p| p.single_key()))
            .bind(run.partition.as_ref().map(|p| p.start.as_str()))
            .bind(run.partition.as_ref().map(|p| p.end.as_str()))
            .bind(run.launched_by.as_deref())
            .fetch_one(&mut **tx)
            .await?;
            for (key, value) in &run.tags {
                sqlx::query("INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3)")
                    .bind(run.id.as_uuid())
                    .bind(key.as_str())
                    .bind(value)
                    .execute(&mut **tx)
                    .await?;
            }
            let event = $crate::domain::NewEvent::run(
                $crate::domain::EventKind::for_status(run.status, None),
            );
            insert_event(tx, run.id, &event).await?;
            Ok(row)
        }

        /// Moves run `id` to `to` if the lifecycle allows it from its current status (one
        /// conditional update), then appends `events` and the run event. Returns the updated row.
        async fn transition_in_tx(
            tx: &mut sqlx::Transaction<'_, $db>,
            id: $crate::domain::RunId,
            to: $crate::domain::RunStatus,
            message: Option<&str>,
            events: &[$crate::domain::NewEvent],
        ) -> Result<$crate::storage::rows::RunRow, $crate::storage::StorageError> {
            use $crate::domain::RunStatus;
            use $crate::storage::rows::{predecessors4, RunRow};
            let now = $crate::storage::rows::now();
            let started_at = (to == RunStatus::Started).then_some(now);
            let ended_at = to.is_terminal().then_some(now);
            let [p1, p2, p3, p4] = predecessors4(to);
            // The write comes first so SQLite takes its write lock before reading anything.
            let row: Option<RunRow> = sqlx::query_as(concat!(
                "UPDATE runs SET status = $1, updated_at = $2, \
                 started_at = COALESCE($3, started_at), ended_at = COALESCE($4, ended_at) \
                 WHERE id = $5 AND status IN ($6, $7, $8, $9) RETURNING ",
                $crate::storage::rows::run_columns!()
            ))
            .bind(to.as_str())
            .bind(now)
            .bind(started_at)
            .bind(ended_at)
            .bind(id.as_uuid())
            .bind(p1)
            .bind(p2)
            .bind(p3)
            .bind(p4)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(mut row) = row else {
                let current: Option<String> =
                    sqlx::query_scalar("SELECT status FROM runs WHERE id = $1")
                        .bind(id.as_uuid())
                        .fetch_optional(&mut **tx)
                        .await?;
                let current = current.ok_or($crate::storage::StorageError::RunNotFound(id))?;
                let from: RunStatus = current.parse().map_err(|e| {
                    $crate::storage::StorageError::Corrupt(format!("run {id} status: {e}"))
                })?;
                return Err($crate::storage::StorageError::IllegalTransition { run: id, from, to });
            };
            if to.is_terminal() {
                // The sensors' inbox, in the same transaction as the change: a run cannot end
                // without its change being evaluated (storage/sensors.rs).
                sqlx::query(
                    "INSERT INTO run_status_changes (run_id, job, status, message, changed_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.as_uuid())
                .bind(&row.job)
                .bind(to.as_str())
                .bind(message.map(|m| m.replace('\0', "\u{FFFD}")))
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            // The row was read before these events; count their failed checks into it.
            row.checks_failed += insert_events_and_catalog(tx, id, None, events).await?;
            if to.is_terminal() {
                // After the events: a materialization among them counts before the end.
                end_partition_status(tx, id, to, row.started_at.is_none()).await?;
            }
            let event = $crate::domain::NewEvent::run($crate::domain::EventKind::for_status(
                to,
                message.map(str::to_owned),
            ));
            insert_event(tx, id, &event).await?;
            Ok(row)
        }

        /// Inserts `events` in order (numbered from `first_seq` if given), brings the asset
        /// catalog up to date with their materializations and the run's count of failed checks
        /// with their check evaluations; returns how many failed checks they added.
        async fn insert_events_and_catalog(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            first_seq: Option<i64>,
            events: &[$crate::domain::NewEvent],
        ) -> Result<i32, $crate::storage::StorageError> {
            const CHUNK: usize = 500;
            let mut materialized = Vec::new();
            let mut checked = Vec::new();
            let mut failed_checks = 0usize;
            for (n, chunk) in events.chunks(CHUNK).enumerate() {
                let chunk_seq = first_seq.map(|first| first + (n * CHUNK) as i64);
                let ids = insert_events_batch(&mut *tx, run, chunk_seq, chunk).await?;
                for (event, id) in chunk.iter().zip(ids) {
                    if matches!(event.kind, $crate::domain::EventKind::AssetCheckEvaluation { passed: false, .. }) {
                        failed_checks += 1;
                    }
                    if event.kind.asset_key().is_some() {
                        materialized.push((event, id));
                    } else if let $crate::domain::EventKind::AssetCheckEvaluation {
                        asset, check, passed, severity, partition, ..
                    } = &event.kind
                    {
                        // '' stands for "no partition" in the table's key.
                        let partition = partition.as_deref().unwrap_or("");
                        checked.push((
                            (asset, check, partition),
                            (id, *passed, *severity, event.timestamp),
                        ));
                    }
                }
            }
            upsert_check_latest(&mut *tx, run, checked).await?;
            // Catalog rows are locked in key order, the same in every transaction, so two
            // batches materializing the same assets cannot deadlock (PostgreSQL).
            materialized.sort_by(|(a, a_id), (b, b_id)| {
                (a.kind.asset_key(), a_id).cmp(&(b.kind.asset_key(), b_id))
            });
            upsert_assets(&mut *tx, run, &materialized).await?;
            materialize_partition_status(&mut *tx, run, &materialized).await?;
            let failed_checks = i32::try_from(failed_checks).unwrap_or(i32::MAX);
            if failed_checks > 0 {
                sqlx::query("UPDATE runs SET checks_failed = checks_failed + $1 WHERE id = $2")
                    .bind(failed_checks)
                    .bind(run.as_uuid())
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(failed_checks)
        }

        /// Inserts one event and returns its id.
        async fn insert_event(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            event: &$crate::domain::NewEvent,
        ) -> Result<i64, $crate::storage::StorageError> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO events (run_id, ts, step_key, event_type, asset_key, payload) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(run.as_uuid())
            .bind($crate::storage::rows::micros(event.timestamp))
            .bind(event.step.as_ref().map(|s| s.as_str().to_owned()))
            .bind(event.kind.type_name())
            .bind(event.kind.asset_key().map(|k| k.as_str().to_owned()))
            .bind($crate::storage::rows::event_payload(&event.kind))
            .fetch_one(&mut **tx)
            .await?;
            Ok(id)
        }

        /// Inserts events in one multi-row statement and returns their ids in the given order.
        /// Both databases number the rows of one statement in VALUES order, increasing, so the
        /// sorted ids line up with `events` even when other writers interleave. Numbered from
        /// `first_seq` if given (`UNIQUE (run_id, seq)`: a number stored twice is an error).
        async fn insert_events_batch(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            first_seq: Option<i64>,
            events: &[$crate::domain::NewEvent],
        ) -> Result<Vec<i64>, $crate::storage::StorageError> {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO events (run_id, ts, step_key, event_type, asset_key, payload, seq) ",
            );
            q.push_values(events.iter().enumerate(), |mut b, (i, event)| {
                b.push_bind(run.as_uuid())
                    .push_bind($crate::storage::rows::micros(event.timestamp))
                    .push_bind(event.step.as_ref().map(|s| s.as_str().to_owned()))
                    .push_bind(event.kind.type_name())
                    .push_bind(event.kind.asset_key().map(|k| k.as_str().to_owned()))
                    .push_bind($crate::storage::rows::event_payload(&event.kind))
                    .push_bind(first_seq.map(|first| first + i as i64));
            });
            q.push(" RETURNING id");
            let mut ids: Vec<i64> = q.build_query_scalar().fetch_all(&mut **tx).await?;
            ids.sort_unstable();
            Ok(ids)
        }

        /// Makes each check evaluation its (asset, check, partition)'s latest unless a newer
        /// one is recorded, in one statement; rows are written in key order so concurrent
        /// batches cannot deadlock.
        async fn upsert_check_latest(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            checked: Vec<(
                (&$crate::domain::AssetKey, &String, &str),
                (i64, bool, $crate::domain::CheckSeverity, chrono::DateTime<chrono::Utc>),
            )>,
        ) -> Result<(), $crate::storage::StorageError> {
            // The last evaluation of each key wins: a statement may not update a row twice.
            let latest: std::collections::BTreeMap<_, _> = checked.into_iter().collect();
            if latest.is_empty() {
                return Ok(());
            }
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO asset_check_latest (asset_key, check_name, partition_key, run_id, \
                 event_id, passed, severity, evaluated_at) ",
            );
            q.push_values(latest, |mut b, ((asset, check, partition), (id, passed, severity, at))| {
                b.push_bind(asset.as_str().to_owned())
                    .push_bind(check.clone())
                    .push_bind(partition.to_owned())
                    .push_bind(run.as_uuid())
                    .push_bind(id)
                    .push_bind(passed)
                    .push_bind(severity.as_str())
                    .push_bind($crate::storage::rows::micros(at));
            });
            q.push(
                " ON CONFLICT (asset_key, check_name, partition_key) DO UPDATE SET run_id = excluded.run_id, \
                 event_id = excluded.event_id, passed = excluded.passed, \
                 severity = excluded.severity, evaluated_at = excluded.evaluated_at \
                 WHERE asset_check_latest.event_id < excluded.event_id",
            );
            q.build().execute(&mut **tx).await?;
            Ok(())
        }

        /// Makes each materialization its asset's latest unless a newer one is recorded, in one
        /// statement. `materialized` is sorted by (asset key, event id); per key the last wins.
        async fn upsert_assets(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            materialized: &[(&$crate::domain::NewEvent, i64)],
        ) -> Result<(), $crate::storage::StorageError> {
            // One row per key: a statement may not update the same row twice (PostgreSQL).
            let latest: Vec<_> = materialized
                .iter()
                .enumerate()
                .filter(|(i, (event, _))| {
                    materialized
                        .get(i + 1)
                        .is_none_or(|(next, _)| next.kind.asset_key() != event.kind.asset_key())
                })
                .filter_map(|(_, (event, id))| match &event.kind {
                    $crate::domain::EventKind::AssetMaterialization { asset_key, metadata } => {
                        Some((asset_key, metadata, *id, event.timestamp))
                    }
                    _ => None,
                })
                .collect();
            if latest.is_empty() {
                return Ok(());
            }
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO assets (asset_key, last_run_id, last_event_id, last_materialized_at, \
                 last_metadata) ",
            );
            q.push_values(latest, |mut b, (key, metadata, id, timestamp)| {
                b.push_bind(key.as_str().to_owned())
                    .push_bind(run.as_uuid())
                    .push_bind(id)
                    .push_bind($crate::storage::rows::micros(timestamp))
                    .push_bind($crate::storage::rows::event_payload(metadata));
            });
            q.push(
                " ON CONFLICT (asset_key) DO UPDATE SET last_run_id = excluded.last_run_id, \
                 last_event_id = excluded.last_event_id, \
                 last_materialized_at = excluded.last_materialized_at, \
                 last_metadata = excluded.last_metadata \
                 WHERE assets.last_event_id < excluded.last_event_id",
            );
            q.build().execute(&mut **tx).await?;
            Ok(())
        }
    };
}

pub(crate) use shared_storage;
