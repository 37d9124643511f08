//! The worker's heartbeat: records every `interval` that the worker is alive
//! (`runs.heartbeat_at`, which the daemon's run monitor watches) and learns the run's status in
//! the same statement. A run found CANCELING, or ended by someone else (the monitor gave up on
//! it), cancels the worker's [`Cancellation`]. A failed heartbeat is logged and tried again at
//! the next beat: the worker keeps executing while the database is briefly away.

use std::sync::Arc;
use std::time::Duration;

use orchestrator::domain::{RunId, RunStatus};
use orchestrator::storage::RunStorage;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::cancel::Cancellation;

/// The shortest interval the heartbeat accepts; shorter ones are raised to it.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// A running heartbeat task; [`Heartbeat::stop`] ends it.
#[derive(Debug)]
pub struct Heartbeat {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// Starts beating for `run` at once, then every `interval`.
    pub fn spawn(
        store: Arc<dyn RunStorage>,
        run: RunId,
        interval: Duration,
        cancellation: Cancellation,
    ) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(beat(
            store,
            run,
            interval.max(MIN_INTERVAL),
            cancellation,
            stop.clone(),
        ));
        Self { stop, task }
    }

    /// Stops beating and waits for the task to end.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn beat(
    store: Arc<dyn RunStorage>,
    run: RunId,
    interval: Duration,
    cancellation: Cancellation,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match store.heartbeat(run).await {
            Ok(RunStatus::Canceling) if !cancellation.is_canceled() => {
                tracing::info!(run_id = %run, "the run is CANCELING; stopping its steps");
                cancellation.cancel("the run was canceled");
            }
            Ok(status) if status.is_terminal() && !cancellation.is_canceled() => {
                tracing::warn!(run_id = %run, %status, "the run was ended outside this worker; stopping its steps");
                cancellation.cancel(format!("the run was ended {status} outside its worker"));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(run_id = %run, error = %e, "heartbeat failed; trying again at the next beat");
            }
        }
    }
}
