//! Step durations from a run's events: the worker is a short-lived process that nobody scrapes,
//! so the daemon derives them when it sees a run end. A step's duration runs from its first
//! `STEP_START` to its `STEP_SUCCESS` or `STEP_FAILURE` (so retries count), by the events'
//! timestamps. Pure: no IO.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::{AssetKey, EventKind, EventRecord};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Success,
    Failure,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// One finished step of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDuration {
    pub step: AssetKey,
    pub outcome: StepOutcome,
    pub duration: Duration,
}

/// The steps that started and ended in `events` (in the order they ended). Steps that never
/// ended (canceled, skipped) are left out.
pub fn step_durations(events: &[EventRecord]) -> Vec<StepDuration> {
    let mut started: BTreeMap<&AssetKey, DateTime<Utc>> = BTreeMap::new();
    let mut ended = Vec::new();
    for event in events {
        let Some(step) = &event.step else { continue };
        let outcome = match event.kind {
            EventKind::StepStart { .. } => {
                started.entry(step).or_insert(event.timestamp);
                continue;
            }
            EventKind::StepSuccess { .. } => StepOutcome::Success,
            EventKind::StepFailure { .. } => StepOutcome::Failure,
            _ => continue,
        };
        if let Some(start) = started.remove(step) {
            ended.push(StepDuration {
                step: step.clone(),
                outcome,
                duration: (event.timestamp - start).to_std().unwrap_or(Duration::ZERO),
            });
        }
    }
    ended
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::RunId;

    fn event(ms: i64, step: &str, kind: EventKind) -> EventRecord {
        EventRecord {
            id: ms,
            run_id: RunId::new(),
            timestamp: DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap(),
            step: Some(AssetKey::parse(step).unwrap()),
            kind,
        }
    }

    #[test]
    fn a_step_lasts_from_its_first_start_to_its_end_retries_included() {
        let events = [
            event(0, "fetch", EventKind::StepStart { attempt: 1 }),
            event(100, "fetch", EventKind::StepStart { attempt: 2 }),
            event(250, "fetch", EventKind::StepSuccess { duration_ms: 250 }),
            event(300, "store", EventKind::StepStart { attempt: 1 }),
            event(
                1_300,
                "store",
                EventKind::StepFailure {
                    error: "boom".into(),
                    attempt: 1,
                },
            ),
            event(1_400, "never_ends", EventKind::StepStart { attempt: 1 }),
        ];
        let got = step_durations(&events);
        assert_eq!(
            got,
            vec![
                StepDuration {
                    step: AssetKey::parse("fetch").unwrap(),
                    outcome: StepOutcome::Success,
                    duration: Duration::from_millis(250),
                },
                StepDuration {
                    step: AssetKey::parse("store").unwrap(),
                    outcome: StepOutcome::Failure,
                    duration: Duration::from_millis(1_000),
                },
            ]
        );
    }
}
