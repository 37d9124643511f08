//! When to try again (pure, but for the random source): exponential backoff with jitter after a
//! timeout or a 5xx, and a 429's `Retry-After` (seconds or an HTTP date), honoured as given.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest `Retry-After` honoured; a larger one is taken as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// Exponential backoff: `base`, doubling per attempt, at most `max`, with "equal jitter" (half
/// the delay fixed, half random), so senders that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay after the `attempts`-th failed attempt (1 = the first), with `jitter` in
    /// `[0, 1)` choosing within the random half.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let full = self
            .base
            .saturating_mul(1u32 << doublings)
            .min(self.max.max(self.base));
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// A random number in `[0, 1)` from the standard library's randomly keyed hasher (no RNG crate
/// for one jitter a retry).
pub fn random_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait a `Retry-After` value asks for: delay-seconds (`"30"`) or an HTTP date, at most
/// [`MAX_RETRY_AFTER`]; a date in the past is no wait. `None` when it is neither.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_in_the_upper_half_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        let check = |attempts, jitter, expect_ms| {
            assert_eq!(
                b.delay(attempts, jitter),
                Duration::from_millis(expect_ms),
                "attempt {attempts}, jitter {jitter}"
            );
        };
        check(1, 0.0, 500);
        check(1, 0.5, 750);
        check(2, 0.0, 1_000);
        check(3, 0.5, 3_000);
        check(5, 0.0, 5_000);
        check(40, 0.0, 5_000);
        check(40, 1.0, 10_000);
        let r = random_unit();
        assert!((0.0..1.0).contains(&r));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
