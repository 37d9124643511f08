//! Freshness policies: how recent an asset's latest materialization must be. Either a maximum
//! lag ("materialized within 7h", with an earlier warning) or a cron deadline ("by 06:30
//! Europe/Paris each day", with a warning some time before). Pure and clock-free: `evaluate`
//! takes the latest materialization and `now`, and also says when the answer can next change
//! without a new materialization, so the daemon can wake at that instant instead of polling
//! each asset.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::cron::{Cron, CronError};
pub use crate::domain::FreshnessState;

/// A freshness policy of an asset.
#[derive(Debug, Clone)]
pub enum FreshnessPolicy {
    /// The latest materialization must be younger than `fail`; older than `warn` warns.
    MaxLag {
        fail: Duration,
        warn: Option<Duration>,
    },
    /// At each tick of `cron` the asset must have been materialized since the tick before;
    /// `warn` before a deadline that is not met yet warns.
    Deadline {
        cron: Box<Cron>,
        warn: Option<Duration>,
    },
}

/// A policy that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreshnessError {
    #[error("freshness: warn_lag ({warn:?}) must be shorter than max_lag ({fail:?})")]
    WarnNotBeforeFail { warn: Duration, fail: Duration },
    #[error("freshness: max_lag must be longer than zero")]
    ZeroLag,
    #[error("freshness: {0}")]
    Cron(#[from] CronError),
}

impl FreshnessPolicy {
    /// A maximum-lag policy, refusing a warning that would come after the failure.
    pub fn max_lag(fail: Duration, warn: Option<Duration>) -> Result<Self, FreshnessError> {
        if fail.is_zero() {
            return Err(FreshnessError::ZeroLag);
        }
        if let Some(warn) = warn.filter(|w| *w >= fail) {
            return Err(FreshnessError::WarnNotBeforeFail { warn, fail });
        }
        Ok(Self::MaxLag { fail, warn })
    }

    /// A cron-deadline policy (`0 30 6 * * *` in `Europe/Paris`: by 06:30 each day).
    pub fn deadline(
        expression: &str,
        timezone: &str,
        warn: Option<Duration>,
    ) -> Result<Self, FreshnessError> {
        Ok(Self::Deadline {
            cron: Box::new(Cron::parse(expression, timezone)?),
            warn,
        })
    }
}

/// The verdict of a policy at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    pub state: FreshnessState,
    /// Why, in words ("last materialized 7h 30m ago; allowed 7h").
    pub reason: String,
    /// When the state changes if no materialization comes first; `None`: only a
    /// materialization changes it.
    pub next_change: Option<DateTime<Utc>>,
}

/// The freshness of an asset last materialized at `last` (`None`: never), at `now`.
pub fn evaluate(
    policy: &FreshnessPolicy,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Freshness {
    let Some(last) = last else {
        return Freshness {
            state: FreshnessState::Unknown,
            reason: "never materialized".to_owned(),
            next_change: None,
        };
    };
    match policy {
        FreshnessPolicy::MaxLag { fail, warn } => max_lag(*fail, *warn, last, now),
        FreshnessPolicy::Deadline { cron, warn } => deadline(cron, *warn, last, now),
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn human(d: TimeDelta) -> String {
    let secs = u64::try_from(d.num_seconds()).unwrap_or(0);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn max_lag(
    fail: Duration,
    warn: Option<Duration>,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Freshness {
    let lag = now - last;
    let allowed = format!("allowed {}", human(delta(fail)));
    let fail_at = last + delta(fail);
    if now >= fail_at {
        return Freshness {
            state: FreshnessState::Overdue,
            reason: format!("last materialized {} ago; {allowed}", human(lag)),
            next_change: None,
        };
    }
    match warn.map(|w| last + delta(w)) {
        Some(warn_at) if now >= warn_at => Freshness {
            state: FreshnessState::Warn,
            reason: format!(
                "last materialized {} ago; warned after {}, {allowed}",
                human(lag),
                human(warn_at - last)
            ),
            next_change: Some(fail_at),
        },
        warn_at => Freshness {
            state: FreshnessState::Fresh,
            reason: format!("last materialized {} ago; {allowed}", human(lag)),
            next_change: Some(warn_at.unwrap_or(fail_at)),
        },
    }
}

/// The two latest ticks at or before `now` (older first; either may be missing).
fn latest_two(cron: &Cron, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    // Ticks are at most a year apart for any expression a deadline uses (no year field);
    // `latest_ticks` steps back about `keep` ticks, whatever the window.
    let ticks = cron.latest_ticks(now - TimeDelta::days(800), now, 2).ticks;
    match ticks.as_slice() {
        [previous, current] => (Some(*previous), Some(*current)),
        [current] => (None, Some(*current)),
        _ => (None, None),
    }
}

fn deadline(
    cron: &Cron,
    warn: Option<Duration>,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Freshness {
    let next = cron.next_after(now);
    let (previous, current) = latest_two(cron, now);
    let when = |t: DateTime<Utc>| {
        t.with_timezone(&cron.timezone())
            .format("%Y-%m-%d %H:%M %Z")
    };
    // The deadline that passed last: met if the asset was materialized since the one before.
    if let Some(current) = current {
        let met = previous.is_none_or(|p| last > p);
        if !met {
            return Freshness {
                state: FreshnessState::Overdue,
                reason: format!(
                    "not materialized for the deadline {}; last materialized {}",
                    when(current),
                    when(last)
                ),
                next_change: None,
            };
        }
    }
    // The coming deadline: already met if materialized since the last one passed.
    let Some(next) = next else {
        return Freshness {
            state: FreshnessState::Fresh,
            reason: "no further deadline".to_owned(),
            next_change: None,
        };
    };
    if current.is_some_and(|c| last > c) {
        return Freshness {
            state: FreshnessState::Fresh,
            reason: format!("materialized for the deadline {}", when(next)),
            // Fresh until the deadline after `next` comes near.
            next_change: cron
                .next_after(next)
                .map(|after| warn.map_or(after, |w| after - delta(w)).max(next)),
        };
    }
    let warn_at = warn.map(|w| next - delta(w));
    match warn_at {
        Some(warn_at) if now >= warn_at => Freshness {
            state: FreshnessState::Warn,
            reason: format!("not materialized yet for the deadline {}", when(next)),
            next_change: Some(next),
        },
        _ => Freshness {
            state: FreshnessState::Fresh,
            reason: format!("due by {}", when(next)),
            next_change: Some(warn_at.unwrap_or(next)),
        },
    }
}

mod partitioned;

pub use partitioned::{evaluate_partitioned, latest_closed};
#[cfg(test)]
mod tests;
