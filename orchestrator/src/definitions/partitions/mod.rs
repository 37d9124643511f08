//! Partition definitions (pure, no IO): how an asset or a job is split into partitions, which
//! keys exist at a given `now`, the time window of a key, and the validation of a key or a range
//! wherever one enters (CLI, API, tags). Three kinds, as in Dagster:
//! - time windows ([`TimeWindowPartitions`]: hourly, daily, weekly, monthly or any cron, in an
//!   IANA zone, DST-correct);
//! - a static list of keys;
//! - dynamic partitions, known by name, whose keys live in the database: the caller reads them
//!   (storage) and hands them in.
//!
//! Keys are listed keyset-style (`after` a key, up to a limit), so 100 000 keys never exist at
//! once. Refusals name the valid span.

mod parse;
mod positions;
mod time_window;

#[cfg(test)]
mod job_tests;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use positions::KeyPositions;
pub use time_window::{Cadence, TimeWindowPartitions, TimeWindowSpec};

use super::cron::CronError;
use crate::domain::{PartitionRange, PartitionScope, TimeWindow};

/// How many keys a span message shows at most.
const SPAN_SHOWN: usize = 10;

/// A partitions definition that cannot load, or a key or range it refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionsError {
    #[error(transparent)]
    Cron(#[from] CronError),
    #[error(
        "cron expression '{expression}' fires more than once a minute; partition keys name a minute \
         (YYYY-MM-DD-HH:MM): use a seconds field of one value, e.g. '0 */15 * * * *'"
    )]
    SubMinuteCron { expression: String },
    #[error("invalid partitions bound '{value}': {reason}")]
    Bound { value: String, reason: String },
    #[error("invalid static partition key '{key}': {reason}")]
    StaticKey { key: String, reason: String },
    #[error("static partitions need at least one key")]
    NoStaticKeys,
    #[error(
        "invalid dynamic partitions name '{0}': use letters, digits, '_' and '-' (at most 100)"
    )]
    DynamicName(String),
    #[error("invalid partitions definition: {0}")]
    Syntax(String),
    #[error("unknown partition key '{key}'; valid keys: {span}")]
    UnknownKey { key: String, span: String },
    #[error(
        "partition range '{start}' to '{end}' is reversed (its start comes after its end); valid keys: {span}"
    )]
    ReversedRange {
        start: String,
        end: String,
        span: String,
    },
    #[error("partition range is empty (give both --from and --to); valid keys: {span}")]
    EmptyRange { span: String },
    #[error("this job is not partitioned: drop the partition key '{0}'")]
    NotPartitioned(String),
    #[error("this job is partitioned: give a partition key ({span})")]
    KeyRequired { span: String },
}

/// How an asset or a job is partitioned.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionsDef {
    TimeWindow(Box<TimeWindowPartitions>),
    /// A fixed list of keys, in the order given.
    Static(Vec<String>),
    /// Keys added and removed at run time, stored under this name.
    Dynamic(String),
}

impl PartitionsDef {
    /// Time windows of `cadence` from `start` in `timezone`.
    pub fn time_window(spec: TimeWindowSpec) -> Result<Self, PartitionsError> {
        TimeWindowPartitions::new(spec).map(|tw| Self::TimeWindow(Box::new(tw)))
    }

    /// Daily windows from `start` (`YYYY-MM-DD`) in the IANA zone `timezone`.
    pub fn daily(start: &str, timezone: &str) -> Result<Self, PartitionsError> {
        Self::time_window(TimeWindowSpec {
            timezone: timezone.to_owned(),
            ..TimeWindowSpec::new(Cadence::Daily, start)
        })
    }

    /// Hourly windows from `start` in the IANA zone `timezone`.
    pub fn hourly(start: &str, timezone: &str) -> Result<Self, PartitionsError> {
        Self::time_window(TimeWindowSpec {
            timezone: timezone.to_owned(),
            ..TimeWindowSpec::new(Cadence::Hourly, start)
        })
    }

    /// A static list of keys: each non-empty, without surrounding spaces, control characters or
    /// commas (lists of keys are written `K1,K2`), none twice.
    pub fn static_keys<S: AsRef<str>>(keys: &[S]) -> Result<Self, PartitionsError> {
        if keys.is_empty() {
            return Err(PartitionsError::NoStaticKeys);
        }
        let mut seen = std::collections::BTreeSet::new();
        for key in keys {
            let key = key.as_ref();
            check_key_text(key)?;
            if !seen.insert(key) {
                return Err(PartitionsError::StaticKey {
                    key: key.to_owned(),
                    reason: "it is listed twice".to_owned(),
                });
            }
        }
        Ok(Self::Static(
            keys.iter().map(|k| k.as_ref().to_owned()).collect(),
        ))
    }

    /// Dynamic partitions stored under `name`.
    pub fn dynamic(name: &str) -> Result<Self, PartitionsError> {
        let valid = !name.is_empty()
            && name.len() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(Self::Dynamic(name.to_owned()))
        } else {
            Err(PartitionsError::DynamicName(name.to_owned()))
        }
    }

    /// The name of a dynamic definition, whose keys the caller must read from storage.
    pub fn dynamic_name(&self) -> Option<&str> {
        match self {
            Self::Dynamic(name) => Some(name),
            _ => None,
        }
    }

    /// The keys as they are at `now`; `dynamic_keys` are the stored keys of a dynamic
    /// definition (in the order they were added), ignored by the other kinds.
    pub fn at<'a>(&'a self, now: DateTime<Utc>, dynamic_keys: &'a [String]) -> PartitionKeys<'a> {
        PartitionKeys {
            def: self,
            now,
            dynamic_keys,
        }
    }
}

/// A key as a static list or a dynamic add may hold it.
pub fn check_key_text(key: &str) -> Result<(), PartitionsError> {
    let reason = if key.is_empty() {
        Some("it is empty")
    } else if key.trim() != key {
        Some("it starts or ends with a space")
    } else if key.chars().any(|c| c.is_control() || c == ',') {
        Some("it holds a comma or a control character")
    } else if key.len() > 255 {
        Some("it is longer than 255 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(PartitionsError::StaticKey {
            key: key.to_owned(),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// A page of keys: `next` is the key to pass as `after` for the following page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    pub keys: Vec<String>,
    pub next: Option<String>,
}

/// A definition's keys at one instant (see [`PartitionsDef::at`]).
#[derive(Debug, Clone, Copy)]
pub struct PartitionKeys<'a> {
    def: &'a PartitionsDef,
    now: DateTime<Utc>,
    dynamic_keys: &'a [String],
}

impl PartitionKeys<'_> {
    /// Up to `limit` keys after `after` (exclusive; from the first when `None`), in order.
    pub fn page(&self, after: Option<&str>, limit: usize) -> Result<KeyPage, PartitionsError> {
        let (keys, more) = match self.def {
            PartitionsDef::TimeWindow(tw) => tw.page(self.now, after, limit)?,
            PartitionsDef::Static(list) => self.list_page(list, after, limit)?,
            PartitionsDef::Dynamic(_) => self.list_page(self.dynamic_keys, after, limit)?,
        };
        let next = if more { keys.last().cloned() } else { None };
        Ok(KeyPage { keys, next })
    }

    fn list_page(
        &self,
        list: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), PartitionsError> {
        let from = match after {
            Some(key) => self.index(list, key)? + 1,
            None => 0,
        };
        let to = from.saturating_add(limit).min(list.len());
        Ok((list[from..to].to_vec(), to < list.len()))
    }

    fn index(&self, list: &[String], key: &str) -> Result<usize, PartitionsError> {
        list.iter()
            .position(|k| k == key)
            .ok_or_else(|| self.unknown(key))
    }

    /// The last key at this instant: for time windows, the window that closed last (what a
    /// schedule of a partitioned job runs at its tick); `None` when there is none yet.
    pub fn last_key(&self) -> Option<String> {
        match self.def {
            PartitionsDef::TimeWindow(tw) => tw.bounds(self.now).map(|(_, last)| last),
            PartitionsDef::Static(list) => list.last().cloned(),
            PartitionsDef::Dynamic(_) => self.dynamic_keys.last().cloned(),
        }
    }

    /// The valid span, as refusals show it.
    pub fn span(&self) -> String {
        match self.def {
            PartitionsDef::TimeWindow(tw) => tw.span(self.now),
            PartitionsDef::Static(list) => format!("static partitions {}", shown(list)),
            PartitionsDef::Dynamic(name) if self.dynamic_keys.is_empty() => {
                format!("dynamic partitions '{name}': none added yet")
            }
            PartitionsDef::Dynamic(name) => {
                format!("dynamic partitions '{name}' {}", shown(self.dynamic_keys))
            }
        }
    }

    fn unknown(&self, key: &str) -> PartitionsError {
        PartitionsError::UnknownKey {
            key: key.to_owned(),
            span: self.span(),
        }
    }

    /// The time window of `key` (time-window definitions only; `None` for the others).
    pub fn time_window(&self, key: &str) -> Result<Option<TimeWindow>, PartitionsError> {
        match self.def {
            PartitionsDef::TimeWindow(tw) => tw
                .window(key, self.now)
                .map(Some)
                .ok_or_else(|| self.unknown(key)),
            _ => self.validate_key(key).map(|_| None),
        }
    }

    /// The scope of a run of the single partition `key`, refused when `key` does not exist.
    pub fn validate_key(&self, key: &str) -> Result<PartitionScope, PartitionsError> {
        let time_window = match self.def {
            PartitionsDef::TimeWindow(tw) => {
                Some(tw.window(key, self.now).ok_or_else(|| self.unknown(key))?)
            }
            PartitionsDef::Static(list) => {
                self.index(list, key)?;
                None
            }
            PartitionsDef::Dynamic(_) => {
                self.index(self.dynamic_keys, key)?;
                None
            }
        };
        Ok(PartitionScope {
            key: Some(key.to_owned()),
            range: Some(PartitionRange {
                start: key.to_owned(),
                end: key.to_owned(),
            }),
            time_window,
        })
    }

    /// The scope of a run of the keys `start` to `end` (both inclusive), refused when either
    /// does not exist, when `start` comes after `end`, or when an end is missing.
    pub fn validate_range(
        &self,
        start: &str,
        end: &str,
    ) -> Result<PartitionScope, PartitionsError> {
        if start.is_empty() || end.is_empty() {
            return Err(PartitionsError::EmptyRange { span: self.span() });
        }
        let reversed = PartitionsError::ReversedRange {
            start: start.to_owned(),
            end: end.to_owned(),
            span: self.span(),
        };
        let time_window = match self.def {
            PartitionsDef::TimeWindow(tw) => {
                let first = tw
                    .window(start, self.now)
                    .ok_or_else(|| self.unknown(start))?;
                let last = tw.window(end, self.now).ok_or_else(|| self.unknown(end))?;
                if first.start > last.start {
                    return Err(reversed);
                }
                Some(TimeWindow {
                    start: first.start,
                    end: last.end,
                })
            }
            PartitionsDef::Static(list) => {
                if self.index(list, start)? > self.index(list, end)? {
                    return Err(reversed);
                }
                None
            }
            PartitionsDef::Dynamic(_) => {
                let keys = self.dynamic_keys;
                if self.index(keys, start)? > self.index(keys, end)? {
                    return Err(reversed);
                }
                None
            }
        };
        Ok(PartitionScope {
            key: (start == end).then(|| start.to_owned()),
            range: Some(PartitionRange {
                start: start.to_owned(),
                end: end.to_owned(),
            }),
            time_window,
        })
    }
}

/// Up to [`SPAN_SHOWN`] keys of a list, with the count of the rest.
fn shown(list: &[String]) -> String {
    let head = list
        .iter()
        .take(SPAN_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    match list.len().checked_sub(SPAN_SHOWN) {
        Some(rest) if rest > 0 => format!("{head} and {rest} more"),
        _ => head,
    }
}
