//! The freshness evaluator: one pass judges every asset that has a freshness policy against its
//! latest materialization (one read of the catalog, one of the recorded states) and records
//! each change of state as a FRESHNESS_CHANGED event. Between passes it sleeps until the
//! earliest instant any verdict can change by itself (`Freshness::next_change`), or until a run
//! ends (a materialization may have made an asset fresh), at most `MAX_SLEEP`: no per-asset
//! loops, and an asset that turns overdue is recorded within moments of it. Changes are
//! conditional on the state read, so replicas record each one once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::definitions::{Definitions, FreshnessPolicy, evaluate_freshness};
use crate::domain::{AssetKey, FreshnessState, JobName};
use crate::storage::{NewFreshnessChange, RunStorage, StorageError};

/// The longest sleep between passes, whatever the policies say.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Freshness changes written per transaction.
const WRITE_BATCH: usize = 500;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreshnessPass {
    /// Assets judged.
    pub evaluated: usize,
    /// Changes this pass recorded (a replica that recorded one first is not counted here).
    pub changed: Vec<(AssetKey, FreshnessState)>,
    /// The earliest instant a verdict changes without a new materialization.
    pub next_change: Option<DateTime<Utc>>,
}

/// The evaluator loop.
#[derive(Debug)]
pub struct FreshnessEvaluator {
    store: Arc<dyn RunStorage>,
    watched: Arc<[(AssetKey, JobName, FreshnessPolicy)]>,
    /// Woken when a change was recorded (the sensor evaluator's freshness inbox).
    changed: Arc<Notify>,
}

impl FreshnessEvaluator {
    /// Watches every asset of `definitions` that has a freshness policy (an asset key in two
    /// jobs is judged once, by its first policy).
    pub fn new(store: Arc<dyn RunStorage>, definitions: &Definitions) -> Self {
        let mut watched: BTreeMap<AssetKey, (JobName, FreshnessPolicy)> = BTreeMap::new();
        for job in definitions.jobs() {
            for asset in job.assets() {
                if let Some(policy) = &asset.freshness {
                    watched
                        .entry(asset.key.clone())
                        .or_insert_with(|| (job.name.clone(), policy.clone()));
                }
            }
        }
        Self {
            store,
            watched: watched
                .into_iter()
                .map(|(key, (job, policy))| (key, job, policy))
                .collect::<Vec<_>>()
                .into(),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Notifies `changed` whenever a pass recorded a change (the daemon wakes its sensor
    /// evaluator with it).
    pub fn notify_changes(mut self, changed: Arc<Notify>) -> Self {
        self.changed = changed;
        self
    }

    /// How many assets it watches.
    pub fn watched(&self) -> usize {
        self.watched.len()
    }

    /// Judges every watched asset at `now` and records the changes.
    pub async fn tick_once(&self, now: DateTime<Utc>) -> Result<FreshnessPass, StorageError> {
        let latest: BTreeMap<AssetKey, DateTime<Utc>> = self
            .store
            .latest_materialized_at()
            .await?
            .into_iter()
            .collect();
        let recorded: BTreeMap<AssetKey, FreshnessState> = self
            .store
            .list_freshness()
            .await?
            .into_iter()
            .map(|f| (f.asset_key, f.state))
            .collect();
        let mut pass = FreshnessPass {
            evaluated: self.watched.len(),
            ..FreshnessPass::default()
        };
        let mut verdicts = Vec::new();
        for (key, job, policy) in self.watched.iter() {
            let verdict = evaluate_freshness(policy, latest.get(key).copied(), now);
            pass.next_change = match (pass.next_change, verdict.next_change) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let previous = recorded.get(key).copied();
            if previous != Some(verdict.state) {
                verdicts.push((key, job, previous, verdict));
            }
        }
        // Changes are written in batches, one transaction each (each still conditional on the
        // state read): 10 000 assets turning overdue at once take seconds, not minutes.
        for batch in verdicts.chunks(WRITE_BATCH) {
            let changes: Vec<NewFreshnessChange<'_>> = batch
                .iter()
                .map(|(key, job, previous, verdict)| NewFreshnessChange {
                    asset_key: key,
                    job,
                    previous: *previous,
                    state: verdict.state,
                    reason: &verdict.reason,
                    at: now,
                })
                .collect();
            let written = self.store.record_freshness_changes(&changes).await?;
            for (change, written) in changes.iter().zip(written) {
                if written {
                    tracing::info!(asset = %change.asset_key, state = %change.state, reason = %change.reason, "freshness changed");
                    pass.changed.push((change.asset_key.clone(), change.state));
                }
            }
        }
        if !pass.changed.is_empty() {
            self.changed.notify_one();
        }
        Ok(pass)
    }

    /// Evaluates until `shutdown`: at start, whenever a run ends, and when a verdict is due.
    pub async fn run(self, shutdown: CancellationToken) {
        if self.watched.is_empty() {
            return;
        }
        let mut changes = self.store.subscribe().await;
        loop {
            let sleep = match self.tick_once(Utc::now()).await {
                Ok(pass) => pass
                    .next_change
                    .and_then(|t| (t - Utc::now()).to_std().ok())
                    .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP)),
                Err(e) => {
                    tracing::warn!(error = %e, "freshness evaluation failed; retrying in 1 s");
                    Duration::from_secs(1)
                }
            };
            // Not `next_or_poll`: the sleep is this loop's fallback.
            if !super::wake::until_a_run_ends(&mut changes, sleep, &shutdown).await {
                return;
            }
        }
    }
}
