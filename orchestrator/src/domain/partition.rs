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
}

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}
