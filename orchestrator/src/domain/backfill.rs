//! A backfill: a job (or a selection of its assets) run over many partitions by the daemon, in
//! chunks (one run each), with its own concurrency limit. Pure data and the status lifecycle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AssetKey, JobName, RunStatus};

/// Identifies one backfill (UUIDv7: ids sort by creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackfillId(Uuid);

impl BackfillId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    pub fn parse(value: &str) -> Result<Self, BackfillIdError> {
        Uuid::parse_str(value.trim())
            .map(Self)
            .map_err(|_| BackfillIdError(value.to_owned()))
    }
}

impl Default for BackfillId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for BackfillId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a backfill id (a UUID)")]
pub struct BackfillIdError(pub String);

/// The tag every run of a backfill carries (Dagster's `dagster/backfill`).
pub const BACKFILL_TAG: &str = "orch/backfill";

/// Where a backfill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackfillStatus {
    /// Created; no run submitted yet.
    Requested,
    /// Submitting runs as others end.
    Running,
    /// Every chunk's run ended SUCCESS.
    Completed,
    /// Every chunk's run ended, some not SUCCESS.
    Failed,
    /// Cancel asked: nothing more is submitted; the runs in flight are being canceled.
    Canceling,
    /// Canceled, nothing in flight. May be resumed.
    Canceled,
}

impl BackfillStatus {
    pub const ALL: [Self; 6] = [
        Self::Requested,
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Canceling,
        Self::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Canceling => "CANCELING",
            Self::Canceled => "CANCELED",
        }
    }

    /// Whether the daemon still has work on it.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Requested | Self::Running | Self::Canceling)
    }
}

impl std::fmt::Display for BackfillStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backfill status '{0}'")]
pub struct UnknownBackfillStatus(pub String);

impl std::str::FromStr for BackfillStatus {
    type Err = UnknownBackfillStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownBackfillStatus(s.to_owned()))
    }
}

/// Which partitions of the range a backfill runs, by their status when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackfillMode {
    /// Keys whose status is `missing` (never materialized, never failed).
    #[default]
    Missing,
    /// Keys whose status is `failed`.
    Failed,
    /// Every key.
    All,
}

impl BackfillMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Failed => "failed",
            Self::All => "all",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backfill mode '{0}': use missing, failed or all")]
pub struct UnknownBackfillMode(pub String);

impl std::str::FromStr for BackfillMode {
    type Err = UnknownBackfillMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Missing, Self::Failed, Self::All]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownBackfillMode(s.to_owned()))
    }
}

/// Keys one run of a backfill covers: `start` to `end` in the definition's order, `keys` of
/// them (1 under the default policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillChunk {
    pub position: u32,
    pub start: String,
    pub end: String,
    pub keys: u32,
}

/// What it takes to create a backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBackfill {
    pub id: BackfillId,
    pub job: JobName,
    pub mode: BackfillMode,
    pub step_selection: Option<Vec<AssetKey>>,
    /// At most this many of its runs in flight; 0: no limit of its own.
    pub max_concurrent: u32,
    /// The backfill whose failures this one retries.
    pub parent: Option<BackfillId>,
    /// In submission order (positions 0, 1, …).
    pub chunks: Vec<BackfillChunk>,
}

/// A backfill as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    pub id: BackfillId,
    pub job: JobName,
    pub status: BackfillStatus,
    pub mode: BackfillMode,
    pub step_selection: Option<Vec<AssetKey>>,
    pub max_concurrent: u32,
    pub parent: Option<BackfillId>,
    /// How many partition keys it covers.
    pub partitions: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A backfill's runs: chunks not yet submitted, and submitted ones by their run's status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillCounts {
    pub pending: u64,
    pub runs: BTreeMap<RunStatus, u64>,
}

impl BackfillCounts {
    /// Runs not ended yet.
    pub fn in_flight(&self) -> u64 {
        self.runs
            .iter()
            .filter(|(s, _)| !s.is_terminal())
            .map(|(_, n)| n)
            .sum()
    }

    /// Runs that ended other than SUCCESS.
    pub fn unsuccessful(&self) -> u64 {
        self.runs
            .iter()
            .filter(|(s, _)| s.is_terminal() && **s != RunStatus::Success)
            .map(|(_, n)| n)
            .sum()
    }
}
