//! The daemon loops that are built from the definitions: the scheduler (the effective
//! schedules), the sensor evaluator (the sensors) and the freshness evaluator (the policies).
//! When a new version of the definitions is put in force (a reload), the running ones are
//! stopped at a pass boundary and started again on it. Nothing they own is lost: their cursors
//! and evaluations are in the store, which is what makes a restart safe across replicas too.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{FreshnessEvaluator, Scheduler, SchedulerOptions, SensorEvaluator};
use crate::definitions::{LiveDefinitions, Loaded};
use crate::storage::RunStorage;

/// Runs the definition-built loops until `shutdown`, on each version `live` puts in force.
pub(super) async fn run(
    store: Arc<dyn RunStorage>,
    live: LiveDefinitions,
    alerts_queued: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut versions = live.subscribe();
    let mut loaded = versions.borrow_and_update().clone();
    loop {
        let generation = shutdown.child_token();
        let loops = one_version(
            store.clone(),
            loaded.clone(),
            alerts_queued.clone(),
            generation.clone(),
        );
        tokio::pin!(loops);
        tokio::select! {
            () = &mut loops => return,
            changed = versions.changed() => {
                generation.cancel();
                loops.await;
                if changed.is_err() {
                    // The definitions' owner is gone: nothing new will come; run on this set.
                    one_version(store, loaded, alerts_queued, shutdown).await;
                    return;
                }
                loaded = versions.borrow_and_update().clone();
                tracing::info!(version = loaded.version, "daemon loops restarted on the reloaded definitions");
            }
        }
    }
}

async fn one_version(
    store: Arc<dyn RunStorage>,
    loaded: Arc<Loaded>,
    alerts_queued: Arc<Notify>,
    stop: CancellationToken,
) {
    let scheduler = Scheduler::new(
        store.clone(),
        loaded.definitions.clone(),
        loaded.schedules.to_vec(),
        SchedulerOptions::default(),
    );
    let sensors = SensorEvaluator::new(
        store.clone(),
        loaded.definitions.sensors().to_vec(),
        alerts_queued,
    );
    let backfills = super::BackfillDaemon::new(store.clone(), loaded.definitions.clone());
    let freshness = FreshnessEvaluator::new(store, &loaded.definitions)
        .notify_changes(sensors.freshness_changed());
    tokio::join!(
        scheduler.run(stop.clone()),
        sensors.run(stop.clone()),
        backfills.run(stop.clone()),
        freshness.run(stop),
    );
}
