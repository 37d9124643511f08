//! The retention loop: every `interval`, deletes the finished runs (with their events and tags)
//! that are older than the policy keeps for their status, in small batches with a pause between
//! them so the store's other writers are never held up for long. `orch runs prune` uses the same
//! batching ([`prune_status`]).
//!
//! Several daemon replicas may run it at once: deleting a run twice deletes nothing the second
//! time. Schedule ticks are pruned by age too (each schedule's latest tick is always kept:
//! the scheduler resumes from it).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::domain::RunStatus;
use crate::storage::{RunStorage, StorageError};

/// How long finished runs of one status are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Never deleted (`"never"` in the config file).
    Forever,
    /// Deleted once they ended longer ago than this (`"30d"`, `"12h"`, `"90 days"`).
    For(Duration),
}

/// A retention period that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{value}' is not a retention period ({reason}): use a duration such as \"30d\", \"12h\" or \"90 days\", or \"never\""
)]
pub struct InvalidKeep {
    pub value: String,
    pub reason: String,
}

impl Keep {
    /// The instant before which runs ended at `now` are deleted; `None` keeps everything (also
    /// for a period longer than the calendar can subtract).
    pub fn cutoff(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Forever => None,
            Self::For(period) => chrono::Duration::from_std(period)
                .ok()
                .and_then(|period| now.checked_sub_signed(period)),
        }
    }
}

impl FromStr for Keep {
    type Err = InvalidKeep;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = s.trim();
        if value.eq_ignore_ascii_case("never") {
            return Ok(Self::Forever);
        }
        humantime::parse_duration(value)
            .map(Self::For)
            .map_err(|e| InvalidKeep {
                value: s.to_owned(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forever => f.write_str("never"),
            Self::For(period) => write!(f, "{}", humantime::format_duration(*period)),
        }
    }
}

impl<'de> Deserialize<'de> for Keep {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// A duration written like `"1h"` or `"500ms"`, which must not be zero.
fn positive_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let raw = String::deserialize(d)?;
    match humantime::parse_duration(raw.trim()) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err(serde::de::Error::custom(format!(
            "'{raw}' is zero; use a positive duration such as \"1h\""
        ))),
        Err(e) => Err(serde::de::Error::custom(format!(
            "'{raw}' is not a duration ({e}); use e.g. \"1h\", \"10m\" or \"500ms\""
        ))),
    }
}

/// Section `[retention]` of the config file. Every key is optional:
///
/// ```toml
/// [retention]
/// success = "30d"      # or "never"
/// failure = "90d"
/// canceled = "30d"
/// ticks = "30d"        # schedule ticks, by when they were recorded
/// interval = "1h"      # how often the daemon prunes
/// batch_size = 100     # runs per batch (at most 1000)
/// batch_pause = "100ms"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    pub success: Keep,
    pub failure: Keep,
    pub canceled: Keep,
    /// Schedule ticks, by the time they were recorded.
    pub ticks: Keep,
    /// Time between two prunings.
    #[serde(deserialize_with = "positive_duration")]
    pub interval: Duration,
    /// Runs deleted per batch.
    pub batch_size: u32,
    /// Pause between two batches.
    #[serde(deserialize_with = "positive_duration")]
    pub batch_pause: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            success: Keep::For(Duration::from_secs(30 * DAY)),
            failure: Keep::For(Duration::from_secs(90 * DAY)),
            canceled: Keep::For(Duration::from_secs(30 * DAY)),
            ticks: Keep::For(Duration::from_secs(30 * DAY)),
            interval: Duration::from_secs(60 * 60),
            batch_size: 100,
            batch_pause: Duration::from_millis(100),
        }
    }
}

impl RetentionPolicy {
    /// Each terminal status with how long its runs are kept.
    pub fn per_status(&self) -> [(RunStatus, Keep); 3] {
        [
            (RunStatus::Success, self.success),
            (RunStatus::Failure, self.failure),
            (RunStatus::Canceled, self.canceled),
        ]
    }

    pub fn batches(&self) -> Batches {
        Batches {
            size: self.batch_size,
            pause: self.batch_pause,
        }
    }
}

/// How deletions are spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batches {
    /// Runs per batch.
    pub size: u32,
    /// Pause between two batches.
    pub pause: Duration,
}

/// Deletes every run that ended in `status` before `ended_before`, batch after batch, pausing
/// between batches, until none is left or `shutdown` is cancelled. Returns how many were deleted.
pub async fn prune_status(
    store: &dyn RunStorage,
    status: RunStatus,
    ended_before: DateTime<Utc>,
    batches: Batches,
    shutdown: &CancellationToken,
) -> Result<u64, StorageError> {
    in_batches(batches, shutdown, |size| {
        store.prune_runs(status, ended_before, size)
    })
    .await
}

/// Calls `delete(batch size)` until it deletes less than a full batch, pausing between batches,
/// or until `shutdown`. Returns how many were deleted in all.
async fn in_batches<F, Fut>(
    batches: Batches,
    shutdown: &CancellationToken,
    mut delete: F,
) -> Result<u64, StorageError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StorageError>>,
{
    let size = batches.size.clamp(1, crate::storage::retention::MAX_BATCH);
    let mut total = 0;
    while !shutdown.is_cancelled() {
        let deleted = delete(size).await?;
        total += deleted;
        if deleted < u64::from(size) {
            break;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(batches.pause) => {}
        }
    }
    Ok(total)
}

/// The retention loop of the daemon.
#[derive(Debug)]
pub struct Retention {
    store: Arc<dyn RunStorage>,
    policy: RetentionPolicy,
}

impl Retention {
    pub fn new(store: Arc<dyn RunStorage>, policy: RetentionPolicy) -> Self {
        Self { store, policy }
    }

    /// Prunes now, then every `interval`, until `shutdown` is cancelled. A failed pruning is
    /// logged and tried again at the next interval.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.tick_once(Utc::now(), &shutdown).await {
                Ok(pruned) if pruned.values().any(|n| *n > 0) => {
                    tracing::info!(?pruned, "pruned finished runs");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "pruning finished runs failed; retrying at the next interval")
                }
            }
            match self.prune_ticks_once(Utc::now(), &shutdown).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    ticks = n,
                    "pruned schedule ticks, sensor ticks and finished alerts"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "pruning schedule ticks failed; retrying at the next interval")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.policy.interval) => {}
            }
        }
    }

    /// One pruning as of `now`: for each terminal status the policy does not keep forever,
    /// deletes the runs that ended before its cutoff. Returns the count deleted per status.
    pub async fn tick_once(
        &self,
        now: DateTime<Utc>,
        shutdown: &CancellationToken,
    ) -> Result<BTreeMap<RunStatus, u64>, StorageError> {
        let mut pruned = BTreeMap::new();
        for (status, keep) in self.policy.per_status() {
            let Some(cutoff) = keep.cutoff(now) else {
                continue;
            };
            let deleted = prune_status(
                self.store.as_ref(),
                status,
                cutoff,
                self.policy.batches(),
                shutdown,
            )
            .await?;
            pruned.insert(status, deleted);
        }
        Ok(pruned)
    }

    /// Deletes the schedule ticks, sensor ticks, finished alerts and audit records made before the policy's
    /// cutoff, batch after batch. Returns how many were deleted.
    pub async fn prune_ticks_once(
        &self,
        now: DateTime<Utc>,
        shutdown: &CancellationToken,
    ) -> Result<u64, StorageError> {
        let Some(cutoff) = self.policy.ticks.cutoff(now) else {
            return Ok(0);
        };
        let schedule_ticks = in_batches(self.policy.batches(), shutdown, |size| {
            self.store.prune_ticks(cutoff, size)
        })
        .await?;
        let sensor_ticks = in_batches(self.policy.batches(), shutdown, |size| {
            self.store.prune_sensor_ticks(cutoff, size)
        })
        .await?;
        let alerts = in_batches(self.policy.batches(), shutdown, |size| {
            self.store.prune_alerts(cutoff, size)
        })
        .await?;
        let audit = in_batches(self.policy.batches(), shutdown, |size| {
            self.store.prune_audit(cutoff, size)
        })
        .await?;
        Ok(schedule_ticks + sensor_ticks + alerts + audit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 24 * 60 * 60;

    fn policy(toml_text: &str) -> Result<RetentionPolicy, String> {
        #[derive(Deserialize)]
        struct File {
            retention: RetentionPolicy,
        }
        toml::from_str::<File>(toml_text)
            .map(|f| f.retention)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_section_gives_the_defaults() {
        let p = policy("[retention]\n").unwrap();
        assert_eq!(p, RetentionPolicy::default());
        assert_eq!(p.success, Keep::For(Duration::from_secs(30 * DAY)));
        assert_eq!(p.failure, Keep::For(Duration::from_secs(90 * DAY)));
        assert_eq!(p.canceled, Keep::For(Duration::from_secs(30 * DAY)));
        assert_eq!(p.interval, Duration::from_secs(3600));
    }

    #[test]
    fn periods_are_durations_or_never() {
        let p = policy(
            "[retention]\nsuccess = \"7d\"\nfailure = \"never\"\ncanceled = \"12h\"\n\
             interval = \"10m\"\nbatch_size = 50\nbatch_pause = \"250ms\"\n",
        )
        .unwrap();
        assert_eq!(p.success, Keep::For(Duration::from_secs(7 * DAY)));
        assert_eq!(p.failure, Keep::Forever);
        assert_eq!(p.canceled, Keep::For(Duration::from_secs(12 * 3600)));
        assert_eq!(p.interval, Duration::from_secs(600));
        assert_eq!(p.batches().size, 50);
        assert_eq!(p.batches().pause, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_are_refused_naming_them() {
        let err = policy("[retention]\nsuccess = \"a month\"\n").unwrap_err();
        assert!(err.contains("'a month' is not a retention period"), "{err}");
        let err = policy("[retention]\ninterval = \"0s\"\n").unwrap_err();
        assert!(err.contains("'0s' is zero"), "{err}");
        let err = policy("[retention]\nsucess = \"1d\"\n").unwrap_err();
        assert!(err.contains("unknown field `sucess`"), "{err}");
        let err = policy("[retention]\nsuccess = 30\n").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn the_cutoff_is_now_minus_the_period_and_never_overflows() {
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let keep = Keep::For(Duration::from_secs(DAY));
        assert_eq!(
            keep.cutoff(now),
            DateTime::from_timestamp(1_790_000_000 - 86_400, 0)
        );
        assert_eq!(Keep::Forever.cutoff(now), None);
        assert_eq!(Keep::For(Duration::MAX).cutoff(now), None);
        assert_eq!("never".parse::<Keep>(), Ok(Keep::Forever));
        assert_eq!(
            Keep::For(Duration::from_secs(30 * DAY)).to_string(),
            "30days"
        );
    }
}
