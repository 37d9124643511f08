//! Daemon replicas as the store knows them: each process registers, heartbeats about once a
//! second, and holds a lease on the runs it claimed until they have a worker. A replica whose
//! heartbeat is older than the lease is dead to the others: they take its claimed runs over.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Identifies one daemon process (a fresh UUIDv7 per start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DaemonId(Uuid);

impl DaemonId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for DaemonId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for DaemonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A registered daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonInfo {
    pub id: DaemonId,
    pub host: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// What it last did ("launched run …", "took over run … from …"), if anything.
    pub last_action: Option<String>,
    pub last_action_at: Option<DateTime<Utc>>,
}

impl DaemonInfo {
    /// Whether its lease has run out at `now`.
    pub fn expired(&self, now: DateTime<Utc>, lease: Duration) -> bool {
        (now - self.heartbeat_at).to_std().unwrap_or_default() > lease
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_runs_out_only_after_its_duration() {
        let beat = Utc::now();
        let daemon = DaemonInfo {
            id: DaemonId::new(),
            host: "h".into(),
            pid: 1,
            started_at: beat,
            heartbeat_at: beat,
            last_action: None,
            last_action_at: None,
        };
        let lease = Duration::from_secs(3);
        assert!(!daemon.expired(beat + chrono::Duration::seconds(3), lease));
        assert!(daemon.expired(beat + chrono::Duration::milliseconds(3_001), lease));
        assert!(!daemon.expired(beat - chrono::Duration::seconds(10), lease));
    }
}
