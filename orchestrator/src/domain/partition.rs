//! What part of an asset a step computes: the partition key, or a range of keys, and for
//! time-window partitions the window itself. Pure data: the partition definitions that produce
//! it live in `definitions`; the worker hands it to assets (the context, Pipes, plain env).

use chrono::{DateTime, Utc};

/// The partition (or range of partitions) a run targets, as an asset sees it. `None` of every
/// field is an unpartitioned run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionScope {
    /// The single key a run targets (`2026-03-01`, `eu`); `None` for a range or no partition.
    pub key: Option<String>,
    /// The first and last key of a range run (both inclusive); a single-key run has
    /// `start == end == key`.
    pub range: Option<PartitionRange>,
    /// The time window the key or range covers, for time-window partitions.
    pub time_window: Option<TimeWindow>,
}

/// A range of partition keys, both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRange {
    pub start: String,
    pub end: String,
}

impl PartitionRange {
    /// The range of the single key `key`.
    pub fn single(key: &str) -> Self {
        Self {
            start: key.to_owned(),
            end: key.to_owned(),
        }
    }

    /// The key, when the range holds only one.
    pub fn single_key(&self) -> Option<&str> {
        (self.start == self.end).then_some(self.start.as_str())
    }

    /// How a check verdict names the range: the key itself, or `start...end` (Dagster's
    /// spelling of a partition range).
    pub fn label(&self) -> String {
        match self.single_key() {
            Some(key) => key.to_owned(),
            None => format!("{}...{}", self.start, self.end),
        }
    }
}

impl PartitionScope {
    /// The partition a verdict of this scope is about (see [`PartitionRange::label`]).
    pub fn label(&self) -> Option<String> {
        match (&self.key, &self.range) {
            (Some(key), _) => Some(key.clone()),
            (None, Some(range)) => Some(range.label()),
            (None, None) => None,
        }
    }
}

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Where one asset partition stands, as kept by storage (`partition_status`): its latest run's
/// outcome over its latest materialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartitionStatus {
    /// Materialized, and no later run has failed on it.
    Materialized,
    /// Its latest run ended FAILURE or CANCELED (after starting) without materializing it.
    Failed,
    /// A run targeting it is queued or running.
    InProgress,
    /// Never materialized (a run that never started leaves it as it was).
    Missing,
}

impl PartitionStatus {
    pub const ALL: [Self; 4] = [
        Self::Materialized,
        Self::Failed,
        Self::InProgress,
        Self::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Materialized => "materialized",
            Self::Failed => "failed",
            Self::InProgress => "in_progress",
            Self::Missing => "missing",
        }
    }

    /// The status of a job's partition from its assets' statuses: any in progress, then any
    /// failed, then all materialized; otherwise missing. `None` for no assets.
    pub fn combine(statuses: impl IntoIterator<Item = Self>) -> Option<Self> {
        let mut seen = [false; 4];
        let mut any = false;
        for s in statuses {
            any = true;
            seen[s as usize] = true;
        }
        if !any {
            return None;
        }
        Some(if seen[Self::InProgress as usize] {
            Self::InProgress
        } else if seen[Self::Failed as usize] {
            Self::Failed
        } else if seen[Self::Missing as usize] {
            Self::Missing
        } else {
            Self::Materialized
        })
    }
}

impl std::fmt::Display for PartitionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A partition status name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown partition status '{0}': use materialized, failed, in_progress or missing")]
pub struct UnknownPartitionStatus(pub String);

impl std::str::FromStr for PartitionStatus {
    type Err = UnknownPartitionStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownPartitionStatus(s.to_owned()))
    }
}

/// What a new partitioned run covers, for the status index: its assets × its keys (each asset
/// partition becomes in progress when the run is created).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionTargets {
    pub assets: Vec<super::AssetKey>,
    pub keys: Vec<String>,
}

/// One asset partition's row in the status index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStatusRow {
    pub asset_key: String,
    pub key: String,
    pub status: PartitionStatus,
    /// The latest run that targeted or materialized it.
    pub run_id: Option<super::RunId>,
}
