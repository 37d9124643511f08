//! Time-window partitions: one window per tick of a cron expression in an IANA time zone, from a
//! start, up to `now` (the last complete window, moved by `end_offset`) or an end. The ticks come
//! from the schedules' [`Cron`], so windows follow the same DST rules; on top of that a key names
//! exactly one window: a wall-clock time that occurs twice (hourly windows when clocks fall back)
//! is one two-hour window under the key of its first occurrence, and a wall-clock time that does
//! not exist (clocks jump forward) has no key.
//!
//! Keys are Dagster's: `YYYY-MM-DD` (daily, weekly, monthly: the window's first day) and
//! `YYYY-MM-DD-HH:MM` (hourly and any cron), in the definition's zone.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use super::PartitionsError;
use crate::definitions::cron::Cron;
use crate::domain::TimeWindow;

const DATE_FORMAT: &str = "%Y-%m-%d";
const MINUTE_FORMAT: &str = "%Y-%m-%d-%H:%M";

/// Just less than the cron's resolution (one second): "strictly before this tick".
const EPSILON: TimeDelta = TimeDelta::nanoseconds(1);

/// How often a window starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    /// At every full hour.
    Hourly,
    /// At midnight.
    Daily,
    /// At midnight from Sunday to Monday (Dagster's default week starts on Sunday).
    Weekly,
    /// At midnight on the first of the month.
    Monthly,
    /// At every tick of a cron expression (seconds first, e.g. `0 0 6 * * *`).
    Cron(String),
}

impl Cadence {
    fn expression(&self) -> &str {
        match self {
            Self::Hourly => "0 0 * * * *",
            Self::Daily => "0 0 0 * * *",
            Self::Weekly => "0 0 0 * * Sun",
            Self::Monthly => "0 0 0 1 * *",
            Self::Cron(expression) => expression,
        }
    }

    fn format(&self) -> &'static str {
        match self {
            Self::Daily | Self::Weekly | Self::Monthly => DATE_FORMAT,
            Self::Hourly | Self::Cron(_) => MINUTE_FORMAT,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Cron(_) => "cron",
        }
    }
}

/// What a time-window definition is made of, as written (validated by
/// [`TimeWindowPartitions::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindowSpec {
    pub cadence: Cadence,
    /// The first window starts at the first tick at or after this local time (`YYYY-MM-DD`,
    /// `YYYY-MM-DD-HH:MM` or `YYYY-MM-DDTHH:MM[:SS]`).
    pub start: String,
    /// No window ends after this local time (same formats); `None`: windows go on to `now`.
    pub end: Option<String>,
    /// IANA name (`UTC`, `Europe/Paris`).
    pub timezone: String,
    /// Windows beyond the last complete one (negative: fewer), Dagster's `end_offset`.
    pub end_offset: i64,
}

impl TimeWindowSpec {
    /// A spec of `cadence` from `start` in UTC, without end or offset.
    pub fn new(cadence: Cadence, start: &str) -> Self {
        Self {
            cadence,
            start: start.to_owned(),
            end: None,
            timezone: "UTC".to_owned(),
            end_offset: 0,
        }
    }
}

/// A validated time-window definition.
#[derive(Debug, Clone)]
pub struct TimeWindowPartitions {
    spec: TimeWindowSpec,
    cron: Cron,
    /// The start of the first window.
    first: DateTime<Utc>,
    /// Windows end at or before this instant.
    end: Option<DateTime<Utc>>,
}

impl PartialEq for TimeWindowPartitions {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl TimeWindowPartitions {
    pub fn new(spec: TimeWindowSpec) -> Result<Self, PartitionsError> {
        let cron = Cron::parse(spec.cadence.expression(), &spec.timezone)?;
        if !cron.at_most_once_a_minute() {
            return Err(PartitionsError::SubMinuteCron {
                expression: spec.cadence.expression().to_owned(),
            });
        }
        let start = parse_local(&spec.start)?;
        let first = cron
            .next_after(cron.first_instant(start) - EPSILON)
            .ok_or_else(|| PartitionsError::Bound {
                value: spec.start.clone(),
                reason: "the expression never fires after it".to_owned(),
            })?;
        let end = match &spec.end {
            Some(end) => {
                let end = cron.first_instant(parse_local(end)?);
                if end <= first {
                    return Err(PartitionsError::Bound {
                        value: spec.end.clone().unwrap_or_default(),
                        reason: format!("it is not after the start '{}'", spec.start),
                    });
                }
                Some(end)
            }
            None => None,
        };
        Ok(Self {
            spec,
            cron,
            first,
            end,
        })
    }

    pub fn spec(&self) -> &TimeWindowSpec {
        &self.spec
    }

    /// The key of the window starting at `t`.
    fn key_of(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.cron.timezone())
            .format(self.spec.cadence.format())
            .to_string()
    }

    /// The next window start after the window start `t` (ticks with the same key are one
    /// window).
    fn next_boundary(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let key = self.key_of(t);
        let mut next = self.cron.next_after(t)?;
        while self.key_of(next) == key {
            next = self.cron.next_after(next)?;
        }
        Some(next)
    }

    /// The latest window start at or before `t`, not before the first.
    fn boundary_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if t < self.first {
            return None;
        }
        let latest = self.cron.last_ticks(self.first - EPSILON, t, 2);
        match latest.as_slice() {
            [a, b] if self.key_of(*a) == self.key_of(*b) => Some(*a),
            [.., last] => Some(*last),
            [] => None,
        }
    }

    /// The end of the last window that exists at `now`; `None` when none does.
    fn cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut cutoff = self.boundary_at_or_before(now)?;
        if self.spec.end_offset > 0 {
            for _ in 0..self.spec.end_offset {
                cutoff = self.next_boundary(cutoff)?;
            }
        } else {
            for _ in 0..self.spec.end_offset.unsigned_abs() {
                cutoff = self.boundary_at_or_before(cutoff - EPSILON)?;
            }
        }
        if let Some(end) = self.end {
            cutoff = cutoff.min(self.boundary_at_or_before(end)?);
        }
        (cutoff > self.first).then_some(cutoff)
    }

    /// The window starting at `key`'s instant, whether or not it exists yet at any `now`.
    fn parse_key(&self, key: &str) -> Option<DateTime<Utc>> {
        let wall = match self.spec.cadence.format() {
            DATE_FORMAT => NaiveDate::parse_from_str(key, DATE_FORMAT)
                .ok()?
                .and_time(NaiveTime::MIN),
            _ => NaiveDateTime::parse_from_str(key, MINUTE_FORMAT).ok()?,
        };
        let instant = self.cron.first_instant(wall);
        // The key must name a tick (not a time between two), written the canonical way.
        let tick = self.cron.next_after(instant - EPSILON)?;
        (tick == instant && self.key_of(tick) == key && tick >= self.first).then_some(tick)
    }

    /// The window of `key` if it exists at `now`.
    pub(super) fn window(&self, key: &str, now: DateTime<Utc>) -> Option<TimeWindow> {
        let start = self.parse_key(key)?;
        let cutoff = self.cutoff(now)?;
        if start >= cutoff {
            return None;
        }
        let end = self.next_boundary(start)?;
        Some(TimeWindow { start, end })
    }

    /// Up to `limit` keys after `after` (or from the first), and whether more follow.
    pub(super) fn page(
        &self,
        now: DateTime<Utc>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, bool), PartitionsError> {
        let Some(cutoff) = self.cutoff(now) else {
            return Ok((Vec::new(), false));
        };
        let mut start = match after {
            Some(key) => match self.window(key, now) {
                Some(window) => window.end,
                None => return Err(self.unknown(key, now)),
            },
            None => self.first,
        };
        let mut keys = Vec::new();
        while start < cutoff && keys.len() < limit {
            keys.push(self.key_of(start));
            match self.next_boundary(start) {
                Some(next) => start = next,
                None => return Ok((keys, false)),
            }
        }
        Ok((keys, start < cutoff))
    }

    /// The first and last key at `now`.
    pub(super) fn bounds(&self, now: DateTime<Utc>) -> Option<(String, String)> {
        let cutoff = self.cutoff(now)?;
        let last = self.boundary_at_or_before(cutoff - EPSILON)?;
        Some((self.key_of(self.first), self.key_of(last)))
    }

    pub(super) fn span(&self, now: DateTime<Utc>) -> String {
        let what = format!(
            "{} partitions in {}",
            self.spec.cadence.name(),
            self.cron.timezone()
        );
        match self.bounds(now) {
            Some((first, last)) => format!("{what}: {first} … {last}"),
            None => format!(
                "{what}: none yet (the first starts at {})",
                self.key_of(self.first)
            ),
        }
    }

    fn unknown(&self, key: &str, now: DateTime<Utc>) -> PartitionsError {
        PartitionsError::UnknownKey {
            key: key.to_owned(),
            span: self.span(now),
        }
    }
}

/// A local time as a definition's `start` or `end` is written.
fn parse_local(value: &str) -> Result<NaiveDateTime, PartitionsError> {
    let value = value.trim();
    if let Ok(date) = NaiveDate::parse_from_str(value, DATE_FORMAT) {
        return Ok(date.and_time(NaiveTime::MIN));
    }
    for format in [
        MINUTE_FORMAT,
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(t);
        }
    }
    Err(PartitionsError::Bound {
        value: value.to_owned(),
        reason: "expected a local date or time such as 2026-01-01, 2026-01-01-06:00 or \
                 2026-01-01T06:00:00"
            .to_owned(),
    })
}

impl TimeWindowPartitions {
    /// The fixed length of every window and how many exist at `now`, when windows are evenly
    /// spaced (hourly, daily or weekly in UTC, where no DST moves a boundary): keys then map
    /// to positions arithmetically. `None` for the other definitions.
    pub(super) fn fixed(&self, now: DateTime<Utc>) -> Option<(TimeDelta, u64)> {
        if self.cron.timezone() != chrono_tz::UTC {
            return None;
        }
        let step = match self.spec.cadence {
            Cadence::Hourly => TimeDelta::hours(1),
            Cadence::Daily => TimeDelta::days(1),
            Cadence::Weekly => TimeDelta::weeks(1),
            _ => return None,
        };
        let count = match self.cutoff(now) {
            Some(cutoff) => ((cutoff - self.first).num_seconds() / step.num_seconds()) as u64,
            None => 0,
        };
        Some((step, count))
    }

    /// The start of the first window.
    pub(super) fn first(&self) -> DateTime<Utc> {
        self.first
    }

    /// The UTC instant a key of this definition's format names, read strictly (the canonical
    /// form only); for [`Self::fixed`] definitions.
    pub(super) fn fixed_instant(&self, key: &str) -> Option<DateTime<Utc>> {
        let b = key.as_bytes();
        let num = |from: usize, len: usize| -> Option<u32> {
            let digits = b.get(from..from + len)?;
            digits.iter().try_fold(0u32, |n, d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        let date_only = self.spec.cadence.format() == DATE_FORMAT;
        let (len, ok) = if date_only {
            (10, b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-'))
        } else {
            (
                16,
                b.get(4) == Some(&b'-')
                    && b.get(7) == Some(&b'-')
                    && b.get(10) == Some(&b'-')
                    && b.get(13) == Some(&b':'),
            )
        };
        if b.len() != len || !ok {
            return None;
        }
        let date =
            NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 2)?, num(8, 2)?)?;
        let time = if date_only {
            NaiveTime::MIN
        } else {
            NaiveTime::from_hms_opt(num(11, 2)?, num(14, 2)?, 0)?
        };
        Some(date.and_time(time).and_utc())
    }

    /// The key of the window starting at `t` (UTC definitions: formatted without chrono's
    /// format machinery when the year has four digits).
    pub(super) fn fixed_key(&self, t: DateTime<Utc>) -> String {
        use chrono::{Datelike, Timelike};
        let (y, m, d) = (t.year(), t.month(), t.day());
        if !(0..=9999).contains(&y) {
            return self.key_of(t);
        }
        if self.spec.cadence.format() == DATE_FORMAT {
            format!("{y:04}-{m:02}-{d:02}")
        } else {
            format!("{y:04}-{m:02}-{d:02}-{:02}:{:02}", t.hour(), t.minute())
        }
    }
}
