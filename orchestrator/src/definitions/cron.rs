//! Cron arithmetic for schedules, pure and clock-free: the next tick after an instant, the ticks
//! in an interval, the latest N of them. Expressions have a seconds field first (`sec min hour
//! day-of-month month day-of-week [year]`, the `cron` crate's syntax) and are read in a time zone.
//!
//! Daylight saving time follows Dagster's rules, so migrated schedules keep their timing:
//! - a wall-clock time that does not exist (clocks jump forward) fires when the gap ends, e.g. a
//!   daily 02:30 in Europe/Paris fires at 03:00 on the day summer time starts;
//! - a wall-clock time that occurs twice (clocks fall back) fires once, at its first occurrence,
//!   except for schedules that run every hour (hour field `*`), which fire at both so they keep
//!   running every hour.
//!
//! The `cron` crate is only asked for matching *wall-clock* times (it iterates over naive times
//! through `Utc`, which has neither gaps nor folds); the rules above map them to instants here.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use cron::TimeUnitSpec;

/// Longer than any backward clock change (DST moves one hour; a few zones once moved two).
const FOLD_MAX: TimeDelta = TimeDelta::hours(3);

/// Counting skipped ticks stops here: after a very long downtime of a seconds-level schedule the
/// exact number is not worth minutes of CPU.
pub const COUNT_BUDGET: u64 = 100_000;

/// A cron expression that is refused, or a time zone that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("invalid cron expression '{expression}': {reason}")]
    Expression { expression: String, reason: String },
    #[error("unknown time zone '{0}' (use an IANA name such as 'UTC' or 'Europe/Paris')")]
    TimeZone(String),
}

/// A parsed cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct Cron {
    expression: String,
    timezone: Tz,
    schedule: cron::Schedule,
    /// The hour field is `*`: wall times that occur twice fire twice (see the module doc).
    every_hour: bool,
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.timezone == other.timezone
    }
}

/// How many ticks there were; counting gives up at [`COUNT_BUDGET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickCount {
    Exact(u64),
    AtLeast(u64),
}

impl TickCount {
    /// This count and `n` more.
    pub fn plus(self, n: u64) -> Self {
        match self {
            Self::Exact(m) => Self::Exact(m + n),
            Self::AtLeast(m) => Self::AtLeast(m + n),
        }
    }

    /// The number counted (a lower bound for `AtLeast`).
    pub fn value(self) -> u64 {
        match self {
            Self::Exact(n) | Self::AtLeast(n) => n,
        }
    }
}

impl std::fmt::Display for TickCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(n) => write!(f, "{n}"),
            Self::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// The latest ticks of an interval and how many came before them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestTicks {
    /// Oldest first.
    pub ticks: Vec<DateTime<Utc>>,
    /// Ticks of the interval older than `ticks`.
    pub older: TickCount,
}

impl Cron {
    /// Parses `expression` (six or seven fields, seconds first, or `@hourly`-style shorthands) in
    /// the IANA time zone `timezone`.
    pub fn parse(expression: &str, timezone: &str) -> Result<Self, CronError> {
        let trimmed = expression.trim();
        if !trimmed.starts_with('@') && trimmed.split_whitespace().count() == 5 {
            return Err(CronError::Expression {
                expression: expression.to_owned(),
                reason: "it has 5 fields, but orch's cron expressions start with seconds \
                         ('sec min hour day-of-month month day-of-week [year]'), \
                         e.g. '0 0 * * * *' for every hour"
                    .to_owned(),
            });
        }
        let schedule = cron::Schedule::from_str(trimmed).map_err(|e| CronError::Expression {
            expression: expression.to_owned(),
            reason: e.to_string(),
        })?;
        let timezone =
            Tz::from_str(timezone.trim()).map_err(|_| CronError::TimeZone(timezone.to_owned()))?;
        Ok(Self {
            expression: trimmed.to_owned(),
            timezone,
            every_hour: schedule.hours().is_all(),
            schedule,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first tick strictly after `t`, or `None` if the expression never fires again.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = self.local(t);
        // Only just before a fold can a wall time at or before `local` still fire after `t`
        // (its second occurrence), and only schedules that run every hour fire those.
        let look_back = self.every_hour && self.fold_ahead(t);
        let start = if look_back { local - FOLD_MAX } else { local };
        let mut best: Option<DateTime<Utc>> = None;
        for wall in self.walls_after(start) {
            if let Some(b) = best {
                // Without a fold ahead, instants grow with wall times: the first one found
                // wins. Across a fold, a later wall time can still come first, but not one more
                // than a fold past the best so far.
                if !look_back || wall > self.local(b) + FOLD_MAX {
                    break;
                }
            }
            for x in self.instants(wall).into_iter().flatten() {
                if x > t && best.is_none_or(|b| x < b) {
                    best = Some(x);
                }
            }
        }
        best
    }

    /// The ticks in (`after`, `upto`], oldest first.
    pub fn ticks_between(&self, after: DateTime<Utc>, upto: DateTime<Utc>) -> Ticks<'_> {
        Ticks {
            cron: self,
            cursor: after,
            upto,
            done: false,
        }
    }

    /// The latest `keep` ticks in (`after`, `upto`], oldest first, and how many ticks of that
    /// interval are older. Costs about `keep` steps however long the interval is.
    pub fn latest_ticks(
        &self,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
        keep: usize,
    ) -> LatestTicks {
        if keep == 0 {
            return LatestTicks {
                ticks: Vec::new(),
                older: self.count_ticks(after, upto),
            };
        }
        let (start, mut ticks) = self.latest_from(after, upto, keep);
        let cut = ticks.len().saturating_sub(keep);
        let kept = ticks.split_off(cut);
        LatestTicks {
            ticks: kept,
            older: self.count_ticks(after, start).plus(cut as u64),
        }
    }

    /// The latest `keep` ticks in (`after`, `upto`], oldest first, without counting the older
    /// ones: about `keep` steps however long the interval is.
    pub fn last_ticks(
        &self,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
        keep: usize,
    ) -> Vec<DateTime<Utc>> {
        let (_, mut ticks) = self.latest_from(after, upto, keep);
        ticks.split_off(ticks.len().saturating_sub(keep))
    }

    /// A start in [`after`, `upto`) and the ticks in (start, `upto`]: more than `keep` of them,
    /// or all of the interval's.
    fn latest_from(
        &self,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
        keep: usize,
    ) -> (DateTime<Utc>, Vec<DateTime<Utc>>) {
        // Step back over wall times to a start that leaves at least `keep + 1` ticks before
        // `upto`; DST can merge or drop wall times, so widen until it does.
        let mut back = keep.saturating_add(1);
        loop {
            let start = self
                .wall_before(upto, back)
                .map_or(after, |wall| self.instant_before(wall).max(after));
            let ticks: Vec<_> = self.ticks_between(start, upto).collect();
            if ticks.len() > keep || start == after {
                return (start, ticks);
            }
            back = back.saturating_mul(2);
        }
    }

    /// The number of ticks in (`after`, `upto`], counted up to [`COUNT_BUDGET`].
    pub fn count_ticks(&self, after: DateTime<Utc>, upto: DateTime<Utc>) -> TickCount {
        let mut n = 0;
        for _ in self.ticks_between(after, upto) {
            n += 1;
            if n >= COUNT_BUDGET {
                return TickCount::AtLeast(n);
            }
        }
        TickCount::Exact(n)
    }

    /// The instant the matching wall-clock time `wall` first fires at, by the DST rules of the
    /// module doc: its first occurrence in a fold, the end of the gap when it does not exist.
    /// Partition definitions use it to turn a key back into its window's start.
    pub fn first_instant(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        match self.timezone.from_local_datetime(&wall) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => self.gap_end(wall),
        }
    }

    /// Whether the expression fires once a minute at most (its seconds field is one value), so
    /// that a `YYYY-MM-DD-HH:MM` key names one tick.
    pub fn at_most_once_a_minute(&self) -> bool {
        self.schedule.seconds().count() == 1
    }

    /// The wall-clock time of `t` in the schedule's zone.
    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.timezone).naive_local()
    }

    fn offset_seconds(&self, t: DateTime<Utc>) -> i32 {
        self.timezone
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// Whether the clocks go back within [`FOLD_MAX`] after `t`.
    fn fold_ahead(&self, t: DateTime<Utc>) -> bool {
        self.offset_seconds(t + FOLD_MAX) < self.offset_seconds(t)
    }

    /// Wall-clock times the expression matches, strictly after `start`, ascending.
    fn walls_after(&self, start: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + '_ {
        self.schedule
            .after(&Utc.from_utc_datetime(&start))
            .map(|t| t.naive_utc())
    }

    /// The `n`-th matching wall-clock time before `upto`'s (plus a fold), counting back.
    fn wall_before(&self, upto: DateTime<Utc>, n: usize) -> Option<NaiveDateTime> {
        let end = Utc.from_utc_datetime(&(self.local(upto) + FOLD_MAX));
        self.schedule
            .after(&end)
            .rev()
            .nth(n.saturating_sub(1))
            .map(|t| t.naive_utc())
    }

    /// An instant no later than the first one whose wall-clock time is `wall` or later.
    fn instant_before(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let earlier = wall - FOLD_MAX - TimeDelta::hours(1);
        match self.timezone.from_local_datetime(&earlier).earliest() {
            Some(t) => t.with_timezone(&Utc),
            // Offsets stay within -12 h and +14 h.
            None => (wall - TimeDelta::hours(15)).and_utc(),
        }
    }

    /// The instants a matching wall-clock time fires at, by the DST rules of the module doc.
    fn instants(&self, wall: NaiveDateTime) -> [Option<DateTime<Utc>>; 2] {
        match self.timezone.from_local_datetime(&wall) {
            LocalResult::Single(t) => [Some(t.with_timezone(&Utc)), None],
            LocalResult::Ambiguous(first, second) => [
                Some(first.with_timezone(&Utc)),
                self.every_hour.then(|| second.with_timezone(&Utc)),
            ],
            LocalResult::None => [Some(self.gap_end(wall)), None],
        }
    }

    /// The instant the clocks jump forward over `wall` (a time inside the gap): the first
    /// instant whose wall-clock time is later than `wall`.
    fn gap_end(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let target = wall.and_utc().timestamp();
        // Offsets stay within -12 h and +14 h, so `lo` shows an earlier wall time and `hi` a
        // later one; transitions fall on whole seconds.
        let mut lo = target - 15 * 3600;
        let mut hi = target + 13 * 3600;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let shown = DateTime::from_timestamp(mid, 0).map(|t| self.local(t));
            if shown.is_some_and(|shown| shown > wall) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        // In range for every year the cron crate supports (1970–2099).
        DateTime::from_timestamp(hi, 0).unwrap_or_else(|| wall.and_utc())
    }
}

/// Ticks in an interval, oldest first (see [`Cron::ticks_between`]).
#[derive(Debug)]
pub struct Ticks<'a> {
    cron: &'a Cron,
    cursor: DateTime<Utc>,
    upto: DateTime<Utc>,
    done: bool,
}

impl Iterator for Ticks<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.cron.next_after(self.cursor) {
            Some(next) if next <= self.upto => {
                self.cursor = next;
                Some(next)
            }
            _ => {
                self.done = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
