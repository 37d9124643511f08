//! [`Liveness`]: whether the daemon's loops are running and whether they reach the database,
//! for the `/healthz` of its metrics listener and for the loops themselves.
//!
//! "Running" is set when `Daemon::run` starts its loops and cleared when they stop, however they
//! stop (a drop guard), so a probe never reports a daemon whose loops have ended as alive.
//! "Degraded" is set while the database does not answer (the lease's heartbeat or the monitor's
//! pass failed with `StorageError::is_unavailable`): the loops go on retrying by themselves, so
//! the probe still answers 200 (a restart would not bring the database back) and says why.
//! The end of the last outage is kept: the monitor gives every worker a full heartbeat timeout
//! from then, so no run fails for a heartbeat the database could not take.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// A shared view of the daemon's state. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    running: Arc<AtomicBool>,
    database: Arc<Mutex<Database>>,
}

#[derive(Debug, Default)]
struct Database {
    /// Since when the database does not answer, and the last error.
    down: Option<(DateTime<Utc>, String)>,
    /// When it last came back.
    back_at: Option<DateTime<Utc>>,
}

/// What `/healthz` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The loops run and reach the database.
    Ok,
    /// The loops run, retrying: the database has not answered since `since`.
    Degraded { since: DateTime<Utc>, error: String },
    /// The loops have stopped.
    Stopped,
}

impl Liveness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the loops run now.
    pub fn is_alive(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The daemon's health now.
    pub fn health(&self) -> Health {
        if !self.is_alive() {
            return Health::Stopped;
        }
        match &self.lock().down {
            Some((since, error)) => Health::Degraded {
                since: *since,
                error: error.clone(),
            },
            None => Health::Ok,
        }
    }

    /// A loop could not reach the database (logged once per outage).
    pub fn database_unreachable(&self, error: &str) {
        let mut db = self.lock();
        if db.down.is_none() {
            tracing::warn!(
                error,
                "the database does not answer; the daemon's loops keep retrying"
            );
            db.down = Some((Utc::now(), error.to_owned()));
        }
    }

    /// A loop reached the database.
    pub fn database_reachable(&self) {
        let mut db = self.lock();
        if let Some((since, _)) = db.down.take() {
            let now = Utc::now();
            tracing::info!(
                down_for = %humantime::format_duration((now - since).to_std().unwrap_or_default()),
                "the database answers again"
            );
            db.back_at = Some(now);
        }
    }

    /// Whether the database is known to be away now.
    pub fn database_down(&self) -> bool {
        self.lock().down.is_some()
    }

    /// When the database last came back after an outage this process saw.
    pub fn database_back_at(&self) -> Option<DateTime<Utc>> {
        self.lock().back_at
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Database> {
        // The state is two plain values: a panic elsewhere cannot leave it half-written.
        self.database.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the loops running until the guard is dropped.
    pub(crate) fn running(&self) -> RunningGuard {
        self.running.store(true, Ordering::Release);
        RunningGuard(self.running.clone())
    }
}

/// Clears the flag when dropped.
#[derive(Debug)]
pub(crate) struct RunningGuard(Arc<AtomicBool>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::{Health, Liveness};

    #[test]
    fn alive_only_while_the_guard_lives() {
        let liveness = Liveness::new();
        assert!(!liveness.is_alive());
        let guard = liveness.running();
        assert!(liveness.clone().is_alive());
        drop(guard);
        assert!(!liveness.is_alive());
        assert_eq!(liveness.health(), Health::Stopped);
    }

    #[test]
    fn degraded_while_the_database_is_away_and_the_return_is_remembered() {
        let liveness = Liveness::new();
        let _guard = liveness.running();
        assert_eq!(liveness.health(), Health::Ok);
        assert_eq!(liveness.database_back_at(), None);
        liveness.database_unreachable("connection refused");
        liveness.database_unreachable("again");
        match liveness.health() {
            Health::Degraded { error, .. } => assert_eq!(error, "connection refused"),
            other => panic!("{other:?}"),
        }
        assert!(liveness.database_down());
        liveness.database_reachable();
        assert_eq!(liveness.health(), Health::Ok);
        assert!(liveness.database_back_at().is_some());
    }
}
