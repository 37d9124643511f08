//! The definitions a long-running process (daemon, web server, `orch dev`) holds, replaced as a
//! whole when they are reloaded (SIGHUP, the "Reload definitions" button, `POST /api/v1/reload`).
//!
//! A reload asks the process's [`Loader`] for a fresh set (for the stock binary: the compiled-in
//! jobs plus the job files, re-read). A set that does not load changes nothing: the previous one
//! stays in force and the error is kept for the UI and the API to show. Readers take a snapshot
//! ([`LiveDefinitions::current`]) and use it for the whole of one request or one pass, so a
//! reload never shows anyone half of the old and half of the new.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{Definitions, ScheduleDef};

/// One version of the definitions: the jobs, sensors and the effective schedules.
#[derive(Debug)]
pub struct Loaded {
    pub definitions: Arc<Definitions>,
    /// The schedules in force (declared ones with orch.toml's overrides and additions).
    pub schedules: Arc<[ScheduleDef]>,
    /// 1 for the set the process started with, one more for each successful reload.
    pub version: u64,
    pub loaded_at: DateTime<Utc>,
}

/// Loads a fresh set of definitions and schedules. The error is shown as it is (e.g. every
/// fault of the job files with its file, line and column).
#[async_trait]
pub trait Loader: Send + Sync + fmt::Debug {
    async fn load(&self) -> Result<(Definitions, Vec<ScheduleDef>), String>;
}

/// A loader for processes whose definitions cannot change (tests, embedded uses): a reload
/// says so.
#[derive(Debug)]
struct Fixed;

#[async_trait]
impl Loader for Fixed {
    async fn load(&self) -> Result<(Definitions, Vec<ScheduleDef>), String> {
        Err("this process's definitions are fixed: it has nothing to reload".to_owned())
    }
}

/// The last reload that failed, kept until one succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    pub error: String,
    pub at: DateTime<Utc>,
}

/// The definitions in force and how to reload them. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct LiveDefinitions {
    tx: Arc<watch::Sender<Arc<Loaded>>>,
    loader: Arc<dyn Loader>,
    failure: Arc<Mutex<Option<ReloadFailure>>>,
    /// One reload at a time: two concurrent reloads would race to publish.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl LiveDefinitions {
    /// `definitions` and `schedules` in force, reloaded by `loader`.
    pub fn new(
        definitions: Arc<Definitions>,
        schedules: Vec<ScheduleDef>,
        loader: Arc<dyn Loader>,
    ) -> Self {
        let first = Loaded {
            definitions,
            schedules: schedules.into(),
            version: 1,
            loaded_at: Utc::now(),
        };
        Self {
            tx: Arc::new(watch::channel(Arc::new(first)).0),
            loader,
            failure: Arc::new(Mutex::new(None)),
            reloading: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Definitions that are never reloaded.
    pub fn fixed(definitions: Arc<Definitions>, schedules: Vec<ScheduleDef>) -> Self {
        Self::new(definitions, schedules, Arc::new(Fixed))
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<Loaded> {
        self.tx.borrow().clone()
    }

    /// A receiver that is told of every set put in force after this call.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Loaded>> {
        self.tx.subscribe()
    }

    /// The last failed reload, unless a later one succeeded.
    pub fn last_failure(&self) -> Option<ReloadFailure> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Loads a fresh set and puts it in force; on failure the set in force stays and the error
    /// is kept (and returned).
    pub async fn reload(&self) -> Result<Arc<Loaded>, ReloadFailure> {
        let _one_at_a_time = self.reloading.lock().await;
        let outcome = self.loader.load().await;
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok((definitions, schedules)) => {
                let next = Arc::new(Loaded {
                    definitions: Arc::new(definitions),
                    schedules: schedules.into(),
                    version: self.current().version + 1,
                    loaded_at: Utc::now(),
                });
                self.tx.send_replace(next.clone());
                *failure = None;
                tracing::info!(
                    version = next.version,
                    jobs = next.definitions.jobs().len(),
                    schedules = next.schedules.len(),
                    "definitions reloaded"
                );
                Ok(next)
            }
            Err(error) => {
                tracing::warn!(%error, "reloading the definitions failed; the previous ones stay in force");
                let failed = ReloadFailure {
                    error,
                    at: Utc::now(),
                };
                *failure = Some(failed.clone());
                Err(failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Loads an empty set, or fails while `broken` is set.
    #[derive(Debug, Default)]
    struct Toggle {
        broken: AtomicBool,
    }

    #[async_trait]
    impl Loader for Toggle {
        async fn load(&self) -> Result<(Definitions, Vec<ScheduleDef>), String> {
            if self.broken.load(Ordering::SeqCst) {
                return Err("jobs/a.toml:3:1: unknown key `nmae`".to_owned());
            }
            Ok((Definitions::default(), Vec::new()))
        }
    }

    #[tokio::test]
    async fn a_failed_reload_keeps_the_set_in_force_and_its_error_until_one_succeeds() {
        let loader = Arc::new(Toggle::default());
        let live =
            LiveDefinitions::new(Arc::new(Definitions::default()), Vec::new(), loader.clone());
        let changes = live.subscribe();
        assert_eq!(live.current().version, 1);

        loader.broken.store(true, Ordering::SeqCst);
        let failed = live.reload().await.unwrap_err();
        assert!(failed.error.contains("a.toml:3:1"), "{failed:?}");
        assert_eq!(live.current().version, 1);
        assert_eq!(live.last_failure(), Some(failed));
        assert!(!changes.has_changed().unwrap());

        loader.broken.store(false, Ordering::SeqCst);
        let reloaded = live.reload().await.unwrap();
        assert_eq!(reloaded.version, 2);
        assert_eq!(live.current().version, 2);
        assert_eq!(live.last_failure(), None);
        assert!(changes.has_changed().unwrap());
    }

    #[tokio::test]
    async fn fixed_definitions_refuse_a_reload() {
        let live = LiveDefinitions::fixed(Arc::new(Definitions::default()), Vec::new());
        let failed = live.reload().await.unwrap_err();
        assert!(failed.error.contains("nothing to reload"));
        assert_eq!(live.current().version, 1);
    }
}
