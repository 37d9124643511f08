//! The wire shape of a daemon replica (the instance's `daemons` table), shared by the JSON API
//! (`GET /api/v1/daemons`), the UI's instance page and `orch daemons --json`.

use chrono::{DateTime, Utc};
use orchestrator::daemon::LeaseTiming;
use orchestrator::domain::DaemonInfo;
use serde::Serialize;
use utoipa::ToSchema;

use crate::json::timestamp;

#[derive(Debug, Serialize, ToSchema)]
pub struct DaemonJson {
    pub id: String,
    pub host: String,
    pub pid: u32,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub heartbeat_at: String,
    /// How old its last heartbeat is, at the time of the answer.
    pub heartbeat_age_ms: i64,
    /// `alive` while its lease holds (heartbeat within the lease), else `dead`: its claims are
    /// taken over by a live replica.
    #[schema(schema_with = crate::openapi::schemas::daemon_state)]
    pub state: &'static str,
    pub last_action: Option<String>,
    #[schema(format = DateTime)]
    pub last_action_at: Option<String>,
}

impl DaemonJson {
    pub fn new(daemon: &DaemonInfo, now: DateTime<Utc>) -> Self {
        let lease = LeaseTiming::default().lease;
        Self {
            id: daemon.id.to_string(),
            host: daemon.host.clone(),
            pid: daemon.pid,
            started_at: timestamp(daemon.started_at),
            heartbeat_at: timestamp(daemon.heartbeat_at),
            heartbeat_age_ms: (now - daemon.heartbeat_at).num_milliseconds().max(0),
            state: if daemon.expired(now, lease) {
                "dead"
            } else {
                "alive"
            },
            last_action: daemon.last_action.clone(),
            last_action_at: daemon.last_action_at.map(timestamp),
        }
    }
}
