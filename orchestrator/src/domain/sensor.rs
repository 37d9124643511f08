//! Run-status sensors as stored: a sensor's on/off state, the status changes waiting to be
//! evaluated, the ticks that record each evaluation, and the alerts of the delivery outbox with
//! their state machine (PENDING → SENDING → DELIVERED | PENDING again | FAILED | UNCERTAIN).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::{AssetKey, CheckSeverity, FreshnessState, JobName, RunId, RunStatus, SensorName};

/// Switching a sensor on or off (persisted: it outlives the default of its definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorSwitch {
    On,
    Off,
}

impl SensorSwitch {
    pub fn is_on(self) -> bool {
        self == Self::On
    }
}

/// A sensor's stored state: someone switched it on or off at `updated_at`. A sensor without one
/// follows its definition's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorState {
    pub name: SensorName,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// A run that reached a terminal status (SUCCESS, FAILURE or CANCELED), recorded by the
/// transaction that made the change and waiting for the sensors to evaluate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub id: i64,
    pub run_id: RunId,
    pub job: JobName,
    pub status: RunStatus,
    /// The message of the run event (e.g. the reason the monitor failed the run).
    pub message: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// The run's asset checks that failed, in the order evaluated (read by the store when it
    /// takes the change, for check-failure sensors).
    pub failed_checks: Vec<FailedCheck>,
}

/// One failed asset check of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCheck {
    pub asset: AssetKey,
    pub check: String,
    pub severity: CheckSeverity,
}

impl std::fmt::Display for FailedCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} ({})", self.asset, self.check, self.severity)
    }
}

/// A change of an asset's freshness, recorded by the transaction that changed it and waiting
/// for the freshness sensors to evaluate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshnessAlertChange {
    pub id: i64,
    pub asset_key: AssetKey,
    /// The job whose policy judged it.
    pub job: JobName,
    pub previous: Option<FreshnessState>,
    pub state: FreshnessState,
    pub reason: String,
    pub changed_at: DateTime<Utc>,
}

/// What an alert is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertSubject {
    /// A run reached the status in `Alert::run_status` (run-status sensors).
    RunStatus,
    /// A run's asset checks failed: `Alert::error` lists them.
    ChecksFailed,
    /// An asset's freshness changed to `state` (`Alert::error` says why); `Alert::run_id` is
    /// the alert's own id, not a run's.
    Freshness {
        asset: AssetKey,
        state: FreshnessState,
    },
}

impl AlertSubject {
    /// The stored `subject` column.
    pub fn as_str(&self) -> Option<&'static str> {
        match self {
            Self::RunStatus => None,
            Self::ChecksFailed => Some("CHECKS"),
            Self::Freshness { .. } => Some("FRESHNESS"),
        }
    }
}

/// Whether an evaluation of a sensor found runs to alert on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SensorTickStatus {
    /// Some changes matched: an alert is queued for each of their runs.
    Success,
    /// Changes were evaluated; none matched the sensor's statuses and jobs.
    Skipped,
}

impl SensorTickStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Skipped => "SKIPPED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "SUCCESS" => Some(Self::Success),
            "SKIPPED" => Some(Self::Skipped),
            _ => None,
        }
    }
}

/// What one sensor decided about one batch of status changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSensorTick {
    pub sensor: SensorName,
    /// How many changes the sensor looked at.
    pub evaluated: u32,
    /// The runs it alerts on, in the order of their changes.
    pub matched: Vec<RunId>,
    /// For a check-failure sensor, the least severity it alerts on: its alerts list the run's
    /// failed checks at or above it ("Check failed: …") instead of the run's status.
    pub checks: Option<CheckSeverity>,
}

impl NewSensorTick {
    pub fn status(&self) -> SensorTickStatus {
        if self.matched.is_empty() {
            SensorTickStatus::Skipped
        } else {
            SensorTickStatus::Success
        }
    }
}

/// The sensors' verdict on a batch: one tick per sensor that was on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorEvaluation {
    pub ticks: Vec<NewSensorTick>,
}

/// One recorded evaluation of a sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorTick {
    pub id: i64,
    pub sensor: SensorName,
    pub tick_time: DateTime<Utc>,
    pub status: SensorTickStatus,
    pub evaluated: u32,
    pub run_ids: Vec<RunId>,
}

/// Where an alert is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// A sender holds its lease and is posting it now.
    Sending,
    Delivered,
    /// Refused for good (a 4xx other than 429), or retried for too long; `last_error` says why.
    Failed,
    /// Its sender died during the request: it may or may not have reached Slack, and it is not
    /// sent again (at most one delivery per sensor and run).
    Uncertain,
}

/// A stored alert state that orch does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an alert state (PENDING, SENDING, DELIVERED, FAILED, UNCERTAIN)")]
pub struct UnknownAlertState(pub String);

impl AlertState {
    pub const ALL: [AlertState; 5] = [
        Self::Pending,
        Self::Sending,
        Self::Delivered,
        Self::Failed,
        Self::Uncertain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sending => "SENDING",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
            Self::Uncertain => "UNCERTAIN",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertState {
    type Err = UnknownAlertState;
    /// Case-insensitive: `failed` and `FAILED` are the same state.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == upper)
            .ok_or_else(|| UnknownAlertState(s.to_owned()))
    }
}

/// An alert queued by a sensor for one run: what the message says, and how its delivery goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: i64,
    pub sensor: SensorName,
    pub run_id: RunId,
    pub job: JobName,
    pub run_status: RunStatus,
    pub ended_at: DateTime<Utc>,
    /// The step that failed last (FAILURE runs whose failure came from a step).
    pub step: Option<String>,
    /// The step's error, else the run's failure message.
    pub error: Option<String>,
    pub state: AlertState,
    /// Requests made so far (a request counts when it starts).
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt did not deliver it.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub subject: AlertSubject,
}

/// What a sender learned from one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// A transient failure (timeout, 5xx, 429): try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// A permanent failure: never try again.
    Failed {
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_states_round_trip_case_insensitively() {
        for state in AlertState::ALL {
            assert_eq!(state.as_str().parse::<AlertState>(), Ok(state));
            assert_eq!(
                state.as_str().to_lowercase().parse::<AlertState>(),
                Ok(state)
            );
        }
        let err = "LOST".parse::<AlertState>().unwrap_err().to_string();
        assert!(err.contains("'LOST' is not an alert state"), "{err}");
    }

    #[test]
    fn a_tick_without_matches_is_skipped() {
        let mut tick = NewSensorTick {
            sensor: SensorName::parse("s").unwrap(),
            evaluated: 3,
            matched: vec![],
            checks: None,
        };
        assert_eq!(tick.status(), SensorTickStatus::Skipped);
        tick.matched.push(RunId::new());
        assert_eq!(tick.status(), SensorTickStatus::Success);
    }
}
