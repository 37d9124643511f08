//! The products API's in-memory cache: the product listing and object bodies, each kept for a
//! TTL (default 10 minutes, `ORCH_PRODUCTS_CACHE_TTL`; zero turns caching off), so a dashboard
//! polling the API does not list the bucket on every request. Products are written every few
//! hours and never rewritten, so a listing up to one TTL old is the only staleness.
//!
//! Every lookup counts a hit or a miss, in the instance (for tests and the log) and in the
//! `orch_products_cache_total{result="hit|miss"}` counter of the `metrics` facade (exported by
//! whichever recorder the binary installs; without one the counter is a no-op).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orchestrator::definitions::ObjectInfo;

/// The metric counting lookups, labelled `result="hit"` or `"miss"`.
pub const CACHE_METRIC: &str = "orch_products_cache_total";
/// The default TTL.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// Most object bodies kept at once; the oldest go first.
const MAX_BODIES: usize = 64;
/// Bodies larger than this are served but not kept.
const MAX_CACHED_BODY: usize = 8 * 1024 * 1024;

/// Hits and misses since the cache was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Debug)]
struct Entry<T> {
    stored: Instant,
    /// Insertion order, to evict the oldest even when two entries share an `Instant`.
    seq: u64,
    value: Arc<T>,
}

/// The listing and bodies, each with the time it was fetched.
#[derive(Debug)]
pub struct ProductsCache {
    ttl: Duration,
    listing: Mutex<Option<Entry<Vec<ObjectInfo>>>>,
    bodies: Mutex<HashMap<String, Entry<Vec<u8>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    seq: AtomicU64,
}

impl ProductsCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            listing: Mutex::new(None),
            bodies: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The cached listing if younger than the TTL (counted as a hit, else a miss).
    pub fn listing(&self) -> Option<Arc<Vec<ObjectInfo>>> {
        let guard = self.listing.lock().unwrap_or_else(|p| p.into_inner());
        let found = guard
            .as_ref()
            .filter(|e| e.stored.elapsed() < self.ttl)
            .map(|e| e.value.clone());
        self.count(found.is_some());
        found
    }

    pub fn store_listing(&self, listing: Vec<ObjectInfo>) -> Arc<Vec<ObjectInfo>> {
        let value = Arc::new(listing);
        if !self.ttl.is_zero() {
            let mut guard = self.listing.lock().unwrap_or_else(|p| p.into_inner());
            *guard = Some(Entry {
                stored: Instant::now(),
                seq: self.seq.fetch_add(1, Ordering::Relaxed),
                value: value.clone(),
            });
        }
        value
    }

    /// The cached body of `key` if younger than the TTL (counted as a hit, else a miss).
    pub fn body(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        let guard = self.bodies.lock().unwrap_or_else(|p| p.into_inner());
        let found = guard
            .get(key)
            .filter(|e| e.stored.elapsed() < self.ttl)
            .map(|e| e.value.clone());
        self.count(found.is_some());
        found
    }

    pub fn store_body(&self, key: &str, body: Vec<u8>) -> Arc<Vec<u8>> {
        let value = Arc::new(body);
        if self.ttl.is_zero() || value.len() > MAX_CACHED_BODY {
            return value;
        }
        let mut guard = self.bodies.lock().unwrap_or_else(|p| p.into_inner());
        guard.retain(|_, e| e.stored.elapsed() < self.ttl);
        if guard.len() >= MAX_BODIES {
            let oldest = guard
                .iter()
                .min_by_key(|(_, e)| e.seq)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                guard.remove(&oldest);
            }
        }
        guard.insert(
            key.to_owned(),
            Entry {
                stored: Instant::now(),
                seq: self.seq.fetch_add(1, Ordering::Relaxed),
                value: value.clone(),
            },
        );
        value
    }

    fn count(&self, hit: bool) {
        let (counter, result) = if hit {
            (&self.hits, "hit")
        } else {
            (&self.misses, "miss")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(CACHE_METRIC, "result" => result).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(key: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.to_owned(),
            size_bytes: 1,
            last_modified: chrono::Utc::now(),
        }
    }

    #[test]
    fn entries_live_for_the_ttl_and_lookups_are_counted() {
        let cache = ProductsCache::new(Duration::from_millis(80));
        assert!(cache.listing().is_none());
        cache.store_listing(vec![info("a")]);
        assert_eq!(cache.listing().unwrap()[0].key, "a");
        assert!(cache.body("k").is_none());
        cache.store_body("k", b"x".to_vec());
        assert_eq!(cache.body("k").unwrap().as_slice(), b"x");
        assert_eq!(cache.stats(), CacheStats { hits: 2, misses: 2 });
        std::thread::sleep(Duration::from_millis(100));
        assert!(cache.listing().is_none(), "expired");
        assert!(cache.body("k").is_none(), "expired");
        assert_eq!(cache.stats(), CacheStats { hits: 2, misses: 4 });
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ProductsCache::new(Duration::ZERO);
        cache.store_listing(vec![info("a")]);
        cache.store_body("k", b"x".to_vec());
        assert!(cache.listing().is_none());
        assert!(cache.body("k").is_none());
        assert_eq!(cache.stats(), CacheStats { hits: 0, misses: 2 });
    }

    #[test]
    fn the_body_cache_is_bounded() {
        let cache = ProductsCache::new(Duration::from_secs(60));
        for i in 0..(MAX_BODIES + 5) {
            cache.store_body(&format!("k{i}"), vec![0]);
        }
        let kept = cache.bodies.lock().unwrap().len();
        assert_eq!(kept, MAX_BODIES);
        assert!(
            cache.body(&format!("k{}", MAX_BODIES + 4)).is_some(),
            "the newest is kept"
        );
    }
}
