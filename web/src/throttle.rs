//! Throttling of wrong credentials: the login form's token and the API's bearer token. Each
//! wrong one counts against its client address and against the server overall (GCRA limits of
//! the `governor` crate: a burst, then one attempt regained per period). Once a limit is spent,
//! every attempt from that address — or, for the overall limit, from anyone — is answered 429
//! with `Retry-After` until the next attempt is regained, the right token included: otherwise a
//! guesser would still learn which guess was right.
//!
//! The client address is the TCP peer (`ConnectInfo`); behind a proxy every client shares the
//! proxy's address, so the per-client limit then acts as a second overall one.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use std::convert::Infallible;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderValue, Request, header};
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A limit: `burst` attempts at once, then one more each `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: NonZeroU32,
    pub period: Duration,
}

impl Limit {
    fn quota(self) -> Quota {
        // A zero period is no limit worth the name; one nanosecond is as close as a quota gets.
        let period = self.period.max(Duration::from_nanos(1));
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.burst)
    }
}

/// The limits on wrong tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Per client address: by default 10 at once, then one every 6 s (10 a minute).
    pub per_client: Limit,
    /// All clients together: by default 100 at once, then one every 600 ms (100 a minute).
    pub overall: Limit,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_client: Limit {
                burst: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
                period: Duration::from_secs(6),
            },
            overall: Limit {
                burst: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
                period: Duration::from_millis(600),
            },
        }
    }
}

/// Past this many remembered addresses, expired entries are dropped.
const PRUNE_ABOVE: usize = 4096;

/// The counters, shared by the login form and the API (one per router).
#[derive(Debug)]
pub struct Throttle {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    overall: DefaultDirectRateLimiter,
    /// Until when an address (or, under `None`, everyone) is refused.
    blocked: Mutex<HashMap<Option<IpAddr>, Instant>>,
}

/// Refused until `after` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub after: Duration,
}

impl Throttled {
    /// Whole seconds for `Retry-After`, rounded up (at least 1).
    pub fn retry_after_secs(self) -> u64 {
        let secs = self.after.as_secs() + u64::from(self.after.subsec_nanos() > 0);
        secs.max(1)
    }

    /// Adds `Retry-After` to `response`.
    pub fn stamp(self, mut response: Response) -> Response {
        let value = HeaderValue::from(self.retry_after_secs());
        response.headers_mut().insert(header::RETRY_AFTER, value);
        response
    }
}

impl Throttle {
    pub fn new(limits: LoginLimits) -> Arc<Self> {
        Arc::new(Self {
            per_client: RateLimiter::keyed(limits.per_client.quota()),
            overall: RateLimiter::direct(limits.overall.quota()),
            blocked: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `client` may try a token now.
    pub fn admit(&self, client: IpAddr) -> Result<(), Throttled> {
        let now = Instant::now();
        let blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        let until = [Some(client), None]
            .iter()
            .filter_map(|key| blocked.get(key))
            .filter(|until| **until > now)
            .max();
        match until {
            Some(until) => Err(Throttled {
                after: *until - now,
            }),
            None => Ok(()),
        }
    }

    /// Counts a wrong token from `client`; `Err` when that spent a limit (and from now on the
    /// address, or everyone, is refused for the returned time).
    pub fn failed(&self, client: IpAddr) -> Result<(), Throttled> {
        let clock = DefaultClock::default();
        let client_wait = self
            .per_client
            .check_key(&client)
            .err()
            .map(|e| (Some(client), e.wait_time_from(clock.now())));
        let overall_wait = self
            .overall
            .check()
            .err()
            .map(|e| (None, e.wait_time_from(clock.now())));
        if self.per_client.len() > PRUNE_ABOVE {
            self.per_client.retain_recent();
        }
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        if blocked.len() > PRUNE_ABOVE {
            blocked.retain(|_, until| *until > now);
        }
        let mut longest = None;
        for (key, wait) in [client_wait, overall_wait].into_iter().flatten() {
            blocked.insert(key, now + wait);
            longest = longest.max(Some(wait));
        }
        match longest {
            Some(after) => Err(Throttled { after }),
            None => Ok(()),
        }
    }
}

/// The address a request came from; unspecified when the server was not given the peer (an
/// in-process router in tests), so all such requests share one counter.
pub fn client_of<B>(request: &Request<B>) -> IpAddr {
    peer(request.extensions())
}

fn peer(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// The client's address as a handler argument (see [`client_of`]); never rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(peer(&parts.extensions)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> LoginLimits {
        let limit = |burst, secs| Limit {
            burst: NonZeroU32::new(burst).unwrap(),
            period: Duration::from_secs(secs),
        };
        LoginLimits {
            per_client: limit(2, 60),
            overall: limit(3, 60),
        }
    }

    #[test]
    fn a_client_is_refused_after_its_burst_and_others_until_the_overall_one() {
        let throttle = Throttle::new(small());
        let (a, b, c) = (
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::from([10, 0, 0, 2]),
            IpAddr::from([10, 0, 0, 3]),
        );
        assert_eq!(throttle.failed(a), Ok(()));
        assert_eq!(throttle.failed(a), Ok(()));
        assert_eq!(throttle.admit(a), Ok(()));
        let spent = throttle.failed(a).unwrap_err();
        assert!(spent.after > Duration::from_secs(50), "{spent:?}");
        assert_eq!(spent.retry_after_secs(), spent.after.as_secs() + 1);
        assert!(throttle.admit(a).is_err(), "a is blocked after its burst");
        assert_eq!(throttle.admit(b), Ok(()), "b is not");
        // a's third failure counted overall too: b's next failure spends the overall burst.
        assert!(throttle.failed(b).is_err());
        assert!(
            throttle.admit(c).is_err(),
            "everyone waits once the overall limit is spent"
        );
    }

    #[test]
    fn retry_after_is_rounded_up_to_a_second() {
        let t = |ms| Throttled {
            after: Duration::from_millis(ms),
        };
        assert_eq!(t(1).retry_after_secs(), 1);
        assert_eq!(t(1000).retry_after_secs(), 1);
        assert_eq!(t(1001).retry_after_secs(), 2);
    }
}
