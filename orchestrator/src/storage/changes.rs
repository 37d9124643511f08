//! Change notifications: how daemon loops wake on a new queued run or a status change instead of
//! sleeping on fixed intervals. PostgreSQL delivers them between processes (a trigger on `runs`
//! calls `pg_notify`, a `PgListener` receives); SQLite delivers them within the process that
//! wrote. Notifications are hints, never the source of truth: a loop that wakes re-reads the
//! store, and [`Change::Resync`] (a lost connection, a lagging receiver) means "re-read all".

use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::{RunId, RunStatus};

/// The PostgreSQL channel the `runs` trigger notifies on.
pub(crate) const PG_CHANNEL: &str = "orch_changes";

/// Something changed in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A run was created in, or moved to, this status.
    Run(RunId, RunStatus),
    /// A schedule was switched on or off (`ScheduleStorage::switch_schedule`). Recorded ticks
    /// are not announced: every replica computes them from the clock.
    Schedules,
    /// Notifications may have been missed: re-read everything.
    Resync,
}

impl Change {
    /// Parses a PostgreSQL notification payload: `run <uuid> <STATUS>` or `schedules`.
    pub(crate) fn from_payload(payload: &str) -> Option<Self> {
        let mut parts = payload.split(' ');
        match parts.next()? {
            "run" => {
                let id = RunId::parse(parts.next()?).ok()?;
                let status = parts.next()?.parse().ok()?;
                Some(Self::Run(id, status))
            }
            "schedules" => Some(Self::Schedules),
            _ => None,
        }
    }
}

/// A receiver of [`Change`]s. Lagging behind is reported as [`Change::Resync`], never an error.
#[derive(Debug)]
pub struct Changes {
    rx: broadcast::Receiver<Change>,
    /// How often a loop should re-read the store even without a notification: short where
    /// other processes' writes are not notified (SQLite), long where they are (PostgreSQL).
    pub fallback_poll: Duration,
}

impl Changes {
    pub(crate) fn new(rx: broadcast::Receiver<Change>, fallback_poll: Duration) -> Self {
        Self { rx, fallback_poll }
    }

    /// The next change, or `None` once the store is gone.
    pub async fn recv(&mut self) -> Option<Change> {
        match self.rx.recv().await {
            Ok(change) => Some(change),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next change, or [`Change::Resync`] after `fallback_poll` without one.
    pub async fn next_or_poll(&mut self) -> Option<Change> {
        match tokio::time::timeout(self.fallback_poll, self.recv()).await {
            Ok(change) => change,
            Err(_) => Some(Change::Resync),
        }
    }
}

/// The sending side, held by a store.
#[derive(Debug, Clone)]
pub(crate) struct ChangeHub {
    tx: broadcast::Sender<Change>,
}

impl ChangeHub {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
        }
    }

    pub fn send(&self, change: Change) {
        // No receiver is fine: nobody is waiting.
        let _ = self.tx.send(change);
    }

    pub fn subscribe(&self, fallback_poll: Duration) -> Changes {
        Changes::new(self.tx.subscribe(), fallback_poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse() {
        let id = RunId::new();
        assert_eq!(
            Change::from_payload(&format!("run {id} QUEUED")),
            Some(Change::Run(id, RunStatus::Queued))
        );
        assert_eq!(Change::from_payload("schedules"), Some(Change::Schedules));
        assert_eq!(Change::from_payload("run nonsense QUEUED"), None);
        assert_eq!(Change::from_payload("other"), None);
    }
}
