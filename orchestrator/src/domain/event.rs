//! The typed event log of a run. Event payloads are a deliberate, versioned wire format (they are
//! stored as JSON and served by the API), so unlike other domain types they are `Serialize`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AssetKey, CheckSeverity, RunId, RunStatus};

/// Metadata attached to a materialization: `uri`, `size_bytes`, `count`, …
pub type Metadata = BTreeMap<String, Value>;

/// Severity of a captured log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// What happened. The `type` names follow Dagster's event names where one exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    RunEnqueued,
    RunStarting,
    RunStart,
    RunSuccess,
    RunFailure {
        message: Option<String>,
    },
    RunCanceling {
        message: Option<String>,
    },
    RunCanceled {
        message: Option<String>,
    },
    StepStart {
        attempt: u32,
    },
    StepSuccess {
        duration_ms: u64,
    },
    StepFailure {
        error: String,
        attempt: u32,
    },
    StepUpRetry {
        error: String,
        attempt: u32,
        delay_ms: u64,
    },
    StepSkipped {
        reason: String,
    },
    StepCanceled,
    /// The step's output was persisted by the IO manager at `location`.
    StepOutput {
        location: String,
    },
    /// A step's output was reused from an earlier run instead of being computed again.
    StepOutputReused {
        from_run: String,
        location: String,
    },
    AssetMaterialization {
        asset_key: AssetKey,
        metadata: Metadata,
    },
    Log {
        level: LogLevel,
        message: String,
    },
    /// A check's verdict on the asset `asset` (the step's own asset, or one it reported).
    AssetCheckEvaluation {
        asset: AssetKey,
        check: String,
        passed: bool,
        severity: CheckSeverity,
        metadata: Metadata,
        /// The partition the verdict is about: the run's key, or `start...end` for a range;
        /// absent for an unpartitioned run (and in events recorded before partitions had it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<String>,
    },
}

impl EventKind {
    /// The stored `event_type` column: the serde tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::RunEnqueued => "RUN_ENQUEUED",
            Self::RunStarting => "RUN_STARTING",
            Self::RunStart => "RUN_START",
            Self::RunSuccess => "RUN_SUCCESS",
            Self::RunFailure { .. } => "RUN_FAILURE",
            Self::RunCanceling { .. } => "RUN_CANCELING",
            Self::RunCanceled { .. } => "RUN_CANCELED",
            Self::StepStart { .. } => "STEP_START",
            Self::StepSuccess { .. } => "STEP_SUCCESS",
            Self::StepFailure { .. } => "STEP_FAILURE",
            Self::StepUpRetry { .. } => "STEP_UP_RETRY",
            Self::StepSkipped { .. } => "STEP_SKIPPED",
            Self::StepCanceled => "STEP_CANCELED",
            Self::StepOutput { .. } => "STEP_OUTPUT",
            Self::StepOutputReused { .. } => "STEP_OUTPUT_REUSED",
            Self::AssetMaterialization { .. } => "ASSET_MATERIALIZATION",
            Self::Log { .. } => "LOG",
            Self::AssetCheckEvaluation { .. } => "ASSET_CHECK_EVALUATION",
        }
    }

    /// The event the storage layer records when a run enters `status`.
    pub fn for_status(status: RunStatus, message: Option<String>) -> Self {
        match status {
            RunStatus::Queued => Self::RunEnqueued,
            RunStatus::Starting => Self::RunStarting,
            RunStatus::Started => Self::RunStart,
            RunStatus::Success => Self::RunSuccess,
            RunStatus::Failure => Self::RunFailure { message },
            RunStatus::Canceling => Self::RunCanceling { message },
            RunStatus::Canceled => Self::RunCanceled { message },
        }
    }

    /// The asset this event materializes, kept in its own indexed column for asset history.
    pub fn asset_key(&self) -> Option<&AssetKey> {
        match self {
            Self::AssetMaterialization { asset_key, .. } => Some(asset_key),
            _ => None,
        }
    }
}

/// An event not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub timestamp: DateTime<Utc>,
    /// The step it belongs to; `None` for run-level events.
    pub step: Option<AssetKey>,
    pub kind: EventKind,
}

impl NewEvent {
    pub fn run(kind: EventKind) -> Self {
        Self {
            timestamp: Utc::now(),
            step: None,
            kind,
        }
    }

    pub fn step(step: &AssetKey, kind: EventKind) -> Self {
        Self {
            timestamp: Utc::now(),
            step: Some(step.clone()),
            kind,
        }
    }
}

/// A stored event; `id` grows with insertion order across the whole store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub run_id: RunId,
    pub timestamp: DateTime<Utc>,
    pub step: Option<AssetKey>,
    pub kind: EventKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_name_matches_the_serialized_tag() {
        let key = AssetKey::parse("a").unwrap();
        let kinds = [
            EventKind::RunEnqueued,
            EventKind::RunFailure { message: None },
            EventKind::StepUpRetry {
                error: "e".into(),
                attempt: 1,
                delay_ms: 5,
            },
            EventKind::StepOutputReused {
                from_run: "r".into(),
                location: "l".into(),
            },
            EventKind::AssetMaterialization {
                asset_key: key,
                metadata: Metadata::new(),
            },
            EventKind::Log {
                level: LogLevel::Info,
                message: "m".into(),
            },
            EventKind::AssetCheckEvaluation {
                asset: AssetKey::parse("a").unwrap(),
                check: "has_rows".into(),
                passed: false,
                severity: CheckSeverity::Warn,
                metadata: Metadata::new(),
                partition: Some("2026-03-01".into()),
            },
        ];
        for kind in kinds {
            let json = serde_json::to_value(&kind).unwrap();
            assert_eq!(json["type"], kind.type_name());
            let back: EventKind = serde_json::from_value(json).unwrap();
            assert_eq!(back, kind);
        }
    }
}
