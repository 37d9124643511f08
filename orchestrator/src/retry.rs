//! The one backoff of orch: how long to wait before trying again, for everything that tries
//! again — a step's retry policy, the alert sender, the weather fetch, and every reconnect to
//! the database (the event writer, the change listener, the daemon's loops). The delays come
//! from the `backon` crate's exponential backoff; this module fixes how orch uses it, so every
//! caller has the same shape: a first delay, a factor, a cap, and optionally "equal jitter".
//!
//! Equal jitter draws each delay from `[d/2, d)` (half fixed, half random), so processes that
//! failed together (every worker when the database restarts) do not retry in lockstep, while
//! the wait never falls below half the nominal one.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// An exponential backoff: `first`, times `factor` per attempt, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub first: Duration,
    /// Each further delay is the previous one times this (1.0: constant).
    pub factor: f32,
    /// No delay exceeds this.
    pub max: Duration,
    /// Equal jitter: each delay is drawn from `[d/2, d)` instead of being `d`.
    pub jitter: bool,
}

/// Reconnecting to the database: 100 ms, doubling, at most 5 s, with jitter. A process that
/// lost PostgreSQL notices its return within about 5 s, without hammering it meanwhile.
pub const RECONNECT: Backoff = Backoff {
    first: Duration::from_millis(100),
    factor: 2.0,
    max: Duration::from_secs(5),
    jitter: true,
};

impl Backoff {
    /// Doubling from `first` up to `max`, without jitter.
    pub const fn exponential(first: Duration, max: Duration) -> Self {
        Self {
            first,
            factor: 2.0,
            max,
            jitter: false,
        }
    }

    /// The same with equal jitter.
    pub const fn with_jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// The `backon` builder of this backoff (unbounded attempts): for `backon::Retryable`.
    pub fn builder(&self) -> ExponentialBuilder {
        let max = self.max.max(Duration::from_nanos(1));
        let first = self.first.min(max);
        // backon's jitter adds up to the whole delay: halving first and cap turns `[d, 2d)`
        // into equal jitter's `[d/2, d)`.
        let builder = if self.jitter {
            ExponentialBuilder::new()
                .with_min_delay(first / 2)
                .with_max_delay(max / 2)
                .with_jitter()
        } else {
            ExponentialBuilder::new()
                .with_min_delay(first)
                .with_max_delay(max)
        };
        builder
            .with_factor(self.factor.max(1.0))
            .without_max_times()
    }

    /// The delays after the first, second, … failure (never ends), to the microsecond (backon
    /// multiplies in `f32`: 100 ms doubled is 200.000003 ms before rounding).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        self.builder().build().map(|d| {
            let micros = (d.as_nanos() + 500) / 1_000;
            Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
        })
    }

    /// The delay after the `failures`-th failure in a row (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let nth = usize::try_from(failures.saturating_sub(1).min(64)).unwrap_or(64);
        self.delays().nth(nth).unwrap_or(self.max)
    }

    /// A retry loop's state: [`Retrying::failed`] after each failure, [`Retrying::succeeded`]
    /// after a success.
    pub fn start(&self) -> Retrying {
        Retrying {
            backoff: *self,
            failures: 0,
        }
    }
}

/// The failures in a row of one retry loop (a reconnecting connection, a write being retried).
#[derive(Debug, Clone)]
pub struct Retrying {
    backoff: Backoff,
    failures: u32,
}

impl Retrying {
    /// Counts a failure; returns how long to wait before the next attempt.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.backoff.delay(self.failures)
    }

    /// Starts over after a success.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Counts a failure and sleeps the delay it earns.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.failed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_jitter_delays_multiply_up_to_the_cap() {
        let check = |backoff: Backoff, expect: &[u64]| {
            let got: Vec<u64> = (1..=expect.len() as u32)
                .map(|n| backoff.delay(n).as_millis() as u64)
                .collect();
            assert_eq!(got, expect, "{backoff:?}");
        };
        check(
            Backoff::exponential(ms(100), ms(1_000)),
            &[100, 200, 400, 800, 1_000, 1_000],
        );
        check(
            Backoff {
                factor: 3.0,
                ..Backoff::exponential(ms(10), ms(100))
            },
            &[10, 30, 90, 100],
        );
        check(
            Backoff {
                factor: 1.0,
                ..Backoff::exponential(ms(50), ms(60))
            },
            &[50, 50, 50],
        );
        // A first delay above the cap is the cap.
        check(Backoff::exponential(ms(500), ms(200)), &[200, 200]);
        assert_eq!(Backoff::exponential(ms(1), ms(10)).delay(10_000), ms(10));
    }

    #[test]
    fn equal_jitter_stays_in_the_upper_half() {
        let backoff = Backoff::exponential(ms(100), ms(1_000)).with_jitter();
        for _ in 0..200 {
            for (n, nominal) in [(1, 100), (2, 200), (3, 400), (5, 1_000), (9, 1_000)] {
                let d = backoff.delay(n);
                assert!(
                    d >= ms(nominal / 2) && d <= ms(nominal),
                    "failure {n}: {d:?} outside [{}, {nominal}] ms",
                    nominal / 2
                );
            }
        }
    }

    #[test]
    fn a_retry_loop_starts_over_after_a_success() {
        let mut retrying = Backoff::exponential(ms(10), ms(1_000)).start();
        assert_eq!(retrying.failed(), ms(10));
        assert_eq!(retrying.failed(), ms(20));
        assert_eq!(retrying.failures(), 2);
        retrying.succeeded();
        assert_eq!(retrying.failed(), ms(10));
    }
}
