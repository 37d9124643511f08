//! The scheduler loop: launches a QUEUED run at every tick of every schedule that is on.
//!
//! It sleeps until the earliest next tick of the schedules that are on (a timer, not a poll),
//! and wakes early when a schedule is switched on or off (`Change::Schedules`) or notifications
//! may have been lost (`Change::Resync`); the store's fallback interval bounds every sleep, so a
//! switch made where no notification reaches (another process on SQLite) is seen too.
//!
//! Each schedule that is on has a cursor: its latest recorded tick, or the time it was switched
//! on if later, or the time this scheduler first saw it. A pass plans the ticks in
//! (cursor, now] (`plan`: on time → launch, missed → the catch-up policy) and records them.
//! A tick and its run are recorded in one transaction that only one process can win
//! (`ScheduleStorage::record_tick_run`), so any number of replicas launch each tick once. A tick
//! whose job is unknown, or whose run config the job refuses, is recorded as FAILURE with the
//! reason.

mod plan;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

pub use plan::{PlanRules, TickPlan, plan};

use crate::definitions::{Definitions, ScheduleDef};
use crate::domain::{NewRun, ScheduleName, ScheduleState, tick_tag_value};
use crate::storage::{Change, Changes, RunStorage, StorageError};

/// How the scheduler treats late ticks and failures.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// A tick found later than this after its time is missed and follows the catch-up policy.
    pub grace: Duration,
    /// At most this many missed ticks of a schedule are recorded as SKIPPED in one pass; older
    /// ones are only counted in the log.
    pub max_skipped: usize,
    /// The wait before trying again after a pass failed (the database was unreachable, say).
    pub retry_delay: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            max_skipped: 1_000,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Runs this pass created.
    pub launched: usize,
    /// Ticks this pass recorded as SKIPPED.
    pub skipped: u64,
    /// Ticks this pass recorded as FAILURE.
    pub failed: usize,
    /// The earliest next tick of the schedules that are on.
    pub next_tick: Option<DateTime<Utc>>,
}

/// Where a schedule that is on resumes.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    last: DateTime<Utc>,
    /// The `updated_at` of the state that switched it on, if any: a new one means it was
    /// switched off and on again since, and the cursor starts over.
    switched_at: Option<DateTime<Utc>>,
}

/// The scheduler of one daemon replica.
#[derive(Debug)]
pub struct Scheduler {
    store: Arc<dyn RunStorage>,
    definitions: Arc<Definitions>,
    schedules: Vec<ScheduleDef>,
    options: SchedulerOptions,
    cursors: HashMap<ScheduleName, Cursor>,
}

impl Scheduler {
    /// A scheduler of `schedules` (the effective list: `OrchConfig::effective_schedules`) whose
    /// runs are resolved against the jobs of `definitions`.
    pub fn new(
        store: Arc<dyn RunStorage>,
        definitions: Arc<Definitions>,
        schedules: Vec<ScheduleDef>,
        options: SchedulerOptions,
    ) -> Self {
        Self {
            store,
            definitions,
            schedules,
            options,
            cursors: HashMap::new(),
        }
    }

    /// Runs passes until `shutdown` is cancelled. A failed pass is logged and tried again after
    /// `retry_delay`; nothing here gives up while the daemon runs.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut changes = self.store.subscribe().await;
        tracing::info!(schedules = self.schedules.len(), "scheduler started");
        loop {
            let wait = match self.tick_once(Utc::now()).await {
                Ok(pass) => pass
                    .next_tick
                    .map_or(changes.fallback_poll, until)
                    .min(changes.fallback_poll),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?self.options.retry_delay, "scheduler pass failed");
                    self.options.retry_delay
                }
            };
            if !wait_for_change(&mut changes, wait, &shutdown).await {
                break;
            }
        }
        tracing::info!("scheduler stopped");
    }

    /// One pass at `now`: reads the schedules' states, and launches, skips or fails every tick
    /// due since each cursor.
    pub async fn tick_once(&mut self, now: DateTime<Utc>) -> Result<Pass, StorageError> {
        let states: HashMap<ScheduleName, ScheduleState> = self
            .store
            .list_schedule_states()
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        let mut pass = Pass::default();
        for i in 0..self.schedules.len() {
            let def = self.schedules[i].clone();
            let state = states.get(&def.name);
            let on = state.map_or(def.default_switch.is_on(), |s| s.enabled);
            if !on {
                self.cursors.remove(&def.name);
                continue;
            }
            let cursor = self.cursor(&def, state, now).await?;
            // Kept before recording, so a pass that fails half-way resumes from the same place
            // (recording again what was recorded writes nothing).
            self.cursors.insert(def.name.clone(), cursor);
            let planned = plan(&def.cron, self.rules(&def), cursor.last, now);
            self.record(&def, &planned, &mut pass).await?;
            let last = planned.last.unwrap_or(cursor.last).max(cursor.last);
            self.cursors
                .insert(def.name.clone(), Cursor { last, ..cursor });
            if let Some(next) = def.next_tick_after(last) {
                pass.next_tick = Some(pass.next_tick.map_or(next, |t| t.min(next)));
            }
        }
        Ok(pass)
    }

    fn rules(&self, def: &ScheduleDef) -> PlanRules {
        PlanRules {
            catch_up: def.catch_up,
            grace: TimeDelta::from_std(self.options.grace).unwrap_or(TimeDelta::seconds(60)),
            max_skipped: self.options.max_skipped,
        }
    }

    /// The schedule's cursor: kept from the last pass, or (first seen, or switched on since)
    /// the latest of its latest recorded tick and the moment it was switched on, or `now`.
    async fn cursor(
        &self,
        def: &ScheduleDef,
        state: Option<&ScheduleState>,
        now: DateTime<Utc>,
    ) -> Result<Cursor, StorageError> {
        let switched_at = state.map(|s| s.updated_at);
        if let Some(cursor) = self.cursors.get(&def.name)
            && cursor.switched_at == switched_at
        {
            return Ok(*cursor);
        }
        let latest = self.store.latest_tick_time(&def.name).await?;
        let last = match (latest, switched_at) {
            (Some(tick), Some(switched)) => tick.max(switched),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => now,
        };
        tracing::debug!(schedule = %def.name, cursor = %tick_tag_value(last), "schedule resumes");
        Ok(Cursor { last, switched_at })
    }

    /// Records a plan: the skipped ticks in one batch, then each launch.
    async fn record(
        &self,
        def: &ScheduleDef,
        planned: &TickPlan,
        pass: &mut Pass,
    ) -> Result<(), StorageError> {
        if planned.unrecorded.value() > 0 {
            tracing::warn!(
                schedule = %def.name,
                count = %planned.unrecorded,
                "missed ticks older than the latest {} are not recorded",
                self.options.max_skipped
            );
        }
        if !planned.skip.is_empty() {
            let recorded = self
                .store
                .record_skipped_ticks(&def.name, &planned.skip)
                .await?;
            pass.skipped += recorded;
            if recorded > 0 {
                tracing::info!(
                    schedule = %def.name,
                    count = recorded,
                    from = %tick_tag_value(planned.skip[0]),
                    to = %tick_tag_value(planned.skip[planned.skip.len() - 1]),
                    "missed ticks skipped"
                );
            }
        }
        for &tick in &planned.launch {
            self.launch(def, tick, pass).await?;
        }
        Ok(())
    }

    /// Creates the run of one tick, or records why it cannot be created.
    async fn launch(
        &self,
        def: &ScheduleDef,
        tick: DateTime<Utc>,
        pass: &mut Pass,
    ) -> Result<(), StorageError> {
        let resolved = match self.definitions.job(def.job.as_str()) {
            None => Err(format!("job '{}' is not defined in this build", def.job)),
            Some(job) => job
                .resolve_config(&def.run_config)
                .map_err(|e| format!("run config refused: {e}")),
        };
        let config = match resolved {
            Ok(config) => config,
            Err(reason) => {
                if self
                    .store
                    .record_failed_tick(&def.name, tick, &reason)
                    .await?
                {
                    pass.failed += 1;
                    tracing::warn!(schedule = %def.name, tick = %tick_tag_value(tick), %reason, "tick failed");
                }
                return Ok(());
            }
        };
        let mut run = NewRun::for_tick(def.job.clone(), config, def.tags.clone(), &def.name, tick);
        if let Some(definition) = crate::snapshot::definition_of(&self.definitions, &def.job) {
            run = run.with_definition(definition);
        }
        // A partitioned job's tick runs the partition that closed last at the tick's time
        // (Dagster's build_schedule_from_partitioned_job); the tick stays exactly-once as any.
        if let Some(partitions) = self
            .definitions
            .job(def.job.as_str())
            .and_then(|job| job.partitions())
        {
            let dynamic = match partitions.dynamic_name() {
                Some(name) => self.store.list_dynamic_partitions(name, None, 0).await?,
                None => Vec::new(),
            };
            match partitions.at(tick, &dynamic).last_key() {
                Some(key) => run = run.with_partition(crate::domain::PartitionRange::single(&key)),
                None => {
                    let reason = "no partition of the job has closed yet at this tick";
                    if self
                        .store
                        .record_failed_tick(&def.name, tick, reason)
                        .await?
                    {
                        pass.failed += 1;
                        tracing::warn!(schedule = %def.name, tick = %tick_tag_value(tick), reason, "tick failed");
                    }
                    return Ok(());
                }
            }
        }
        match self.store.record_tick_run(&def.name, tick, &run).await? {
            Some(run) => {
                pass.launched += 1;
                let lateness = (Utc::now() - tick).to_std().unwrap_or_default();
                crate::telemetry::metrics::tick_launched(def.name.as_str(), lateness);
                tracing::info!(schedule = %def.name, tick = %tick_tag_value(tick), run = %run.id, "tick launched a run");
            }
            None => {
                tracing::debug!(schedule = %def.name, tick = %tick_tag_value(tick), "tick already recorded by another scheduler");
            }
        }
        Ok(())
    }
}

/// The time from now until `t`, zero if past.
fn until(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Waits `wait`, or less if a schedule is switched or notifications may have been lost. Returns
/// false when `shutdown` is cancelled.
async fn wait_for_change(
    changes: &mut Changes,
    wait: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    let mut listening = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep_until(deadline) => return true,
            change = changes.recv(), if listening => match change {
                Some(Change::Schedules | Change::Resync) => return true,
                // Run changes are the other loops' business.
                Some(Change::Run(..)) => {}
                // The store is gone; the timer alone wakes us.
                None => listening = false,
            },
        }
    }
}
