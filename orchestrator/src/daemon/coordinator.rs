//! The run queue's coordinator: claims queued runs under the concurrency limits and hands each
//! to the launcher. It wakes when a run is queued or a slot frees up (change notifications), so
//! a launched run starts in milliseconds; a fallback poll covers lost notifications.
//!
//! Each claim is made under this daemon's lease (`lease.rs`). Every `lease_interval` the
//! coordinator also takes over the runs a dead replica claimed and never gave a worker, and
//! launches them: launches are idempotent (a launcher adopts a worker the dead replica may
//! already have started), and the worker handle is recorded only by the claim's holder.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::context::FutureExt;

use tokio_util::sync::CancellationToken;

use super::Liveness;
use crate::domain::{DaemonId, EventKind, LogLevel, NewEvent, QueueLimits, Run, RunStatus};
use crate::launcher::Launcher;
use crate::retry::RECONNECT;
use crate::storage::{Change, RunStorage, StorageError};
use crate::telemetry::metrics;
use crate::telemetry::trace::RunTrace;

/// Whether a run was just claimed from the queue or taken over from a dead replica (which may
/// have started its worker).
#[derive(Debug, Clone, Copy)]
enum Launch {
    Claimed,
    TakenOver,
}

/// Claims and launches queued runs.
#[derive(Debug)]
pub struct Coordinator {
    store: Arc<dyn RunStorage>,
    launcher: Arc<dyn Launcher>,
    limits: QueueLimits,
    daemon: DaemonId,
    lease: LeaseTiming,
    liveness: Liveness,
}

/// How long a replica's lease lasts and how often claims are checked against the leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// A replica whose heartbeat is older than this is dead to the others.
    pub lease: Duration,
    /// Heartbeats, and the search for orphaned claims, this often.
    pub interval: Duration,
}

impl LeaseTiming {
    /// A lease of `lease`, beaten every third of it, at most every second.
    pub fn for_lease(lease: Duration) -> Self {
        Self {
            lease,
            interval: (lease / 3).min(Duration::from_secs(1)),
        }
    }
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(3),
            interval: Duration::from_secs(1),
        }
    }
}

impl Coordinator {
    /// Records the handle if this daemon still holds the run's claim. A replica that took the
    /// claim over meanwhile launched (or adopted) its own worker: ours is stopped unless it is
    /// that very worker.
    async fn keep_worker(&self, run: &Run, handle: &crate::launcher::WorkerHandle) {
        match self
            .store
            .set_worker_as(run.id, &handle.0, self.daemon)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                let theirs = self.store.get_run(run.id).await.ok().and_then(|r| r.worker);
                if theirs.as_ref() == Some(&handle.0) {
                    return;
                }
                tracing::warn!(run_id = %run.id, "another daemon took the run over; stopping our worker");
                if let Err(e) = self
                    .launcher
                    .terminate(run.id, handle, Duration::from_secs(10))
                    .await
                {
                    tracing::warn!(run_id = %run.id, error = %e, "cannot stop the duplicate worker");
                }
            }
            Err(e) => {
                tracing::warn!(run_id = %run.id, error = %e, "cannot record the worker handle");
            }
        }
    }

    pub fn new(
        store: Arc<dyn RunStorage>,
        launcher: Arc<dyn Launcher>,
        limits: QueueLimits,
        daemon: DaemonId,
        lease: LeaseTiming,
    ) -> Self {
        Self {
            store,
            launcher,
            limits,
            daemon,
            lease,
            liveness: Liveness::new(),
        }
    }

    /// Shares the daemon's view of the database. Just after an outage every replica's
    /// heartbeat is old: claims are not taken over until the others had a lease to beat again.
    pub fn with_liveness(mut self, liveness: Liveness) -> Self {
        self.liveness = liveness;
        self
    }

    /// Whether the database was away from this daemon within the last lease (so the others'
    /// heartbeats may be old for the same reason, not because they died).
    fn just_back(&self) -> bool {
        if self.liveness.database_down() {
            return true;
        }
        let lease = chrono::TimeDelta::from_std(self.lease.lease).unwrap_or(chrono::TimeDelta::MAX);
        self.liveness
            .database_back_at()
            .is_some_and(|back| chrono::Utc::now() - back < lease)
    }

    /// Runs until `shutdown`. Storage errors (a lost database) are logged and retried.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.store.subscribe().await;
        let mut pending = true;
        let mut leases = tokio::time::interval(self.lease.interval);
        leases.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retrying = RECONNECT.start();
        loop {
            if pending {
                match self.dequeue().await {
                    Ok(_) => retrying.succeeded(),
                    Err(e) => {
                        if e.is_unavailable() {
                            self.liveness.database_unreachable(&e.to_string());
                        }
                        tracing::warn!(error = %e, "run queue: claim failed; retrying");
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(retrying.failed()) => {}
                        }
                        continue;
                    }
                }
            }
            let change = tokio::select! {
                () = shutdown.cancelled() => return,
                change = changes.next_or_poll() => change,
                _ = leases.tick() => {
                    if let Err(e) = self.take_over_orphans().await {
                        tracing::warn!(error = %e, "run queue: cannot look for orphaned claims");
                    }
                    continue;
                }
            };
            pending = match change {
                None => return,
                Some(Change::Run(_, status)) => status == RunStatus::Queued || status.is_terminal(),
                Some(Change::Schedules) => false,
                // A poll or a possibly missed notification: claim only if something waits, so
                // an idle daemon does not take the queue lock several times a second.
                Some(Change::Resync) => self.anything_queued().await,
            };
        }
    }

    async fn anything_queued(&self) -> bool {
        match self.store.count_unfinished().await {
            Ok(counts) => counts
                .iter()
                .any(|(s, n)| *s == RunStatus::Queued && *n > 0),
            Err(e) => {
                tracing::warn!(error = %e, "run queue: cannot count queued runs");
                true
            }
        }
    }

    /// Claims what the limits allow and launches it, until nothing more can be claimed.
    /// Returns how many runs were launched.
    pub async fn dequeue(&self) -> Result<usize, StorageError> {
        let mut launched = 0;
        loop {
            let claimed = self
                .store
                .claim_queued_runs(&self.limits, self.daemon)
                .await?;
            if claimed.is_empty() {
                return Ok(launched);
            }
            launched += claimed.len();
            for run in claimed {
                self.launch(run).await;
            }
        }
    }

    /// Takes over and launches the runs that replicas with expired leases claimed and never
    /// gave a worker. Returns how many this daemon took.
    pub async fn take_over_orphans(&self) -> Result<usize, StorageError> {
        let mut taken = 0;
        if self.just_back() {
            return Ok(0);
        }
        for (run, dead) in self.store.orphaned_claims(self.lease.lease).await? {
            if dead == self.daemon {
                continue;
            }
            let Some(run) = self.store.take_over_claim(run, dead, self.daemon).await? else {
                continue;
            };
            taken += 1;
            let message = format!(
                "daemon {} took over the claim of daemon {dead}, whose lease expired before the run had a worker",
                self.daemon
            );
            tracing::warn!(run_id = %run.id, %dead, "took over an orphaned claim");
            let event = NewEvent::run(EventKind::Log {
                level: LogLevel::Warn,
                message,
            });
            if let Err(e) = self.store.append_events(run.id, &[event]).await {
                tracing::warn!(run_id = %run.id, error = %e, "cannot record the take-over");
            }
            self.record(&format!("took over run {} from daemon {dead}", run.id))
                .await;
            self.launch_as(run, Launch::TakenOver).await;
        }
        Ok(taken)
    }

    async fn record(&self, action: &str) {
        if let Err(e) = self.store.record_daemon_action(self.daemon, action).await {
            tracing::debug!(error = %e, "cannot record the daemon's last action");
        }
    }

    async fn launch(&self, run: Run) {
        self.launch_as(run, Launch::Claimed).await;
    }

    async fn launch_as(&self, run: Run, how: Launch) {
        let trace = RunTrace::claimed(&run, SystemTime::now());
        if let Some(traceparent) = trace.traceparent()
            && let Err(e) = self.store.set_trace_parent(run.id, &traceparent).await
        {
            tracing::warn!(run_id = %run.id, error = %e, "cannot record the run's trace context");
        }
        let launched = match how {
            Launch::Claimed => self.launcher.launch(&run),
            Launch::TakenOver => self.launcher.relaunch(&run),
        }
        .with_context(trace.launch_context())
        .await;
        trace.launched(launched.as_ref().err().map(ToString::to_string).as_deref());
        match launched {
            Ok(handle) => {
                tracing::info!(run_id = %run.id, job = %run.job, "run launched");
                let queued_for = (chrono::Utc::now() - run.created_at).to_std();
                metrics::run_launched(&run.job, queued_for.unwrap_or_default());
                self.keep_worker(&run, &handle).await;
                self.record(&format!("launched run {}", run.id)).await;
            }
            Err(e) => {
                tracing::warn!(run_id = %run.id, error = %e, "launch failed");
                let message = e.to_string();
                if let Err(e) = self
                    .store
                    .transition_run(run.id, RunStatus::Failure, Some(&message))
                    .await
                {
                    tracing::warn!(run_id = %run.id, error = %e, "cannot fail the run");
                }
            }
        }
    }
}
