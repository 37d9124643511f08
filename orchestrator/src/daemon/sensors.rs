//! The sensor evaluator: wakes when a run ends (a change notification of a terminal status, or
//! the fallback poll), evaluates the waiting status changes against the run-status sensors in
//! batches until the inbox is empty, and wakes the alert sender when it queued alerts. The store
//! makes each evaluation one transaction (see `storage::sensors`), so a change is evaluated
//! exactly once whatever the number of replicas and however they stop; the evaluator itself
//! keeps no state.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::definitions::{SensorDef, SensorWatch};
use crate::domain::{
    FreshnessAlertChange, NewSensorTick, SensorEvaluation, SensorState, StatusChange,
};
use crate::storage::{Change, EvaluatedBatch, RunStorage, StorageError, freshness_alert_id};

/// Status changes evaluated per transaction.
pub const EVALUATION_BATCH: u32 = 500;

/// What each sensor that is on makes of `changes`: one tick per such sensor, with the runs it
/// matched in the order of their changes. Sensors that are off record nothing.
pub fn evaluate(
    sensors: &[SensorDef],
    changes: &[StatusChange],
    states: &[SensorState],
) -> SensorEvaluation {
    let ticks = sensors
        .iter()
        .filter(|sensor| {
            let stored = states
                .iter()
                .find(|s| s.name == sensor.name)
                .map(|s| s.enabled);
            sensor.is_on(stored)
        })
        .filter(|sensor| !matches!(sensor.watch, SensorWatch::Freshness { .. }))
        .map(|sensor| NewSensorTick {
            sensor: sensor.name.clone(),
            evaluated: u32::try_from(changes.len()).unwrap_or(u32::MAX),
            matched: changes
                .iter()
                .filter(|c| sensor.matches_change(c))
                .map(|c| c.run_id)
                .collect(),
            checks: match sensor.watch {
                SensorWatch::ChecksFailed { min } => Some(min),
                _ => None,
            },
        })
        .collect();
    SensorEvaluation { ticks }
}

/// What each freshness sensor that is on makes of `changes`: one tick per such sensor, matching
/// the changes' alert ids (`storage::freshness_alert_id`).
pub fn evaluate_freshness(
    sensors: &[SensorDef],
    changes: &[FreshnessAlertChange],
    states: &[SensorState],
) -> SensorEvaluation {
    let ticks = sensors
        .iter()
        .filter(|sensor| matches!(sensor.watch, SensorWatch::Freshness { .. }))
        .filter(|sensor| {
            let stored = states
                .iter()
                .find(|s| s.name == sensor.name)
                .map(|s| s.enabled);
            sensor.is_on(stored)
        })
        .map(|sensor| NewSensorTick {
            sensor: sensor.name.clone(),
            evaluated: u32::try_from(changes.len()).unwrap_or(u32::MAX),
            matched: changes
                .iter()
                .filter(|c| sensor.matches_freshness(c))
                .map(|c| freshness_alert_id(c.id))
                .collect(),
            checks: None,
        })
        .collect();
    SensorEvaluation { ticks }
}

/// The evaluator loop.
#[derive(Debug)]
pub struct SensorEvaluator {
    store: Arc<dyn RunStorage>,
    sensors: Arc<[SensorDef]>,
    /// Woken when alerts were queued.
    alerts_queued: Arc<Notify>,
    /// Notified by the freshness evaluator when it recorded a change.
    freshness_changed: Arc<Notify>,
}

impl SensorEvaluator {
    pub fn new(
        store: Arc<dyn RunStorage>,
        sensors: Vec<SensorDef>,
        alerts_queued: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            sensors: sensors.into(),
            alerts_queued,
            freshness_changed: Arc::new(Notify::new()),
        }
    }

    /// The notification the freshness evaluator gives when it recorded a change: the freshness
    /// inbox is evaluated at once instead of at the next poll.
    pub fn freshness_changed(&self) -> Arc<Notify> {
        self.freshness_changed.clone()
    }

    /// Evaluates waiting changes until none is left; returns the totals.
    pub async fn tick_once(&self) -> Result<EvaluatedBatch, StorageError> {
        let sensors = self.sensors.clone();
        let evaluate = move |changes: &[StatusChange],
                             states: &[SensorState]|
              -> SensorEvaluation { evaluate(&sensors, changes, states) };
        let mut total = EvaluatedBatch::default();
        loop {
            let batch = self
                .store
                .evaluate_status_changes(EVALUATION_BATCH, &evaluate)
                .await?;
            total.changes += batch.changes;
            total.alerts += batch.alerts;
            if batch.alerts > 0 {
                self.alerts_queued.notify_one();
            }
            if batch.changes < EVALUATION_BATCH as usize {
                break;
            }
        }
        if !self
            .sensors
            .iter()
            .any(|s| matches!(s.watch, SensorWatch::Freshness { .. }))
        {
            return Ok(total);
        }
        let sensors = self.sensors.clone();
        let evaluate =
            move |changes: &[FreshnessAlertChange], states: &[SensorState]| -> SensorEvaluation {
                evaluate_freshness(&sensors, changes, states)
            };
        loop {
            let batch = self
                .store
                .evaluate_freshness_changes(EVALUATION_BATCH, &evaluate)
                .await?;
            total.changes += batch.changes;
            total.alerts += batch.alerts;
            if batch.alerts > 0 {
                self.alerts_queued.notify_one();
            }
            if batch.changes < EVALUATION_BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Evaluates at every run end (and at the store's fallback poll) until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.store.subscribe().await;
        let mut evaluate_now = true;
        loop {
            if evaluate_now {
                match self.tick_once().await {
                    Ok(done) if done.changes > 0 => tracing::debug!(
                        changes = done.changes,
                        alerts = done.alerts,
                        "status changes evaluated"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "sensor evaluation failed; retrying in 1 s");
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                }
            }
            let change = tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.freshness_changed.notified() => Some(Change::Resync),
                change = changes.next_or_poll() => change,
            };
            evaluate_now = match change {
                Some(Change::Run(_, status)) => status.is_terminal(),
                Some(Change::Resync) => true,
                Some(Change::Schedules) => false,
                None => return,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{JobName, RunId, RunStatus, SensorName, SensorSwitch};

    fn change(job: &str, status: RunStatus) -> StatusChange {
        StatusChange {
            id: 1,
            run_id: RunId::new(),
            job: JobName::parse(job).unwrap(),
            status,
            message: None,
            changed_at: Utc::now(),
            failed_checks: Vec::new(),
        }
    }

    #[test]
    fn sensors_that_are_on_tick_with_the_runs_they_match() {
        let failures = SensorDef::run_failure("failures").job("a").build().unwrap();
        let off = SensorDef::builder("successes")
            .status(RunStatus::Success)
            .default_switch(SensorSwitch::Off)
            .build()
            .unwrap();
        let changes = [
            change("a", RunStatus::Failure),
            change("b", RunStatus::Failure),
            change("a", RunStatus::Success),
        ];
        let sensors = [failures, off];
        let evaluation = evaluate(&sensors, &changes, &[]);
        assert_eq!(
            evaluation.ticks.len(),
            1,
            "the sensor that is off records nothing"
        );
        assert_eq!(evaluation.ticks[0].evaluated, 3);
        assert_eq!(evaluation.ticks[0].matched, [changes[0].run_id]);

        let switched_on = SensorState {
            name: SensorName::parse("successes").unwrap(),
            enabled: true,
            updated_at: Utc::now(),
        };
        let evaluation = evaluate(&sensors, &changes, &[switched_on]);
        assert_eq!(evaluation.ticks.len(), 2);
        assert_eq!(evaluation.ticks[1].matched, [changes[2].run_id]);
    }
}
