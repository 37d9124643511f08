//! Run monitoring: ends runs whose worker is gone, never started, stopped heartbeating or ran
//! past its max runtime, and carries out cancellations (terminate the worker, then CANCELED).
//!
//! Every decision is a conditional status change, so several daemon replicas monitoring the
//! same runs agree: one change applies, the others get `IllegalTransition` and let it be.
//!
//! A database outage is nobody's fault: the timeouts that read the workers' signs from the
//! database (start, heartbeat) count from the end of the last outage this daemon saw at the
//! latest, so each worker gets a whole timeout to beat again once the database is back.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{DaemonOptions, Liveness};
use crate::definitions::LiveDefinitions;
use crate::domain::{EventKind, LogLevel, NewEvent, Run, RunId, RunStatus, TagKey};
use crate::launcher::{Launcher, WorkerExit, WorkerHandle, WorkerState};
use crate::storage::{Change, RunStorage, StorageError};

/// The tag that overrides a job's max runtime for one run, e.g. `orch/max_runtime=30m`.
pub const MAX_RUNTIME_TAG: &str = "orch/max_runtime";

/// Watches the runs in progress.
#[derive(Debug, Clone)]
pub struct Monitor {
    store: Arc<dyn RunStorage>,
    launcher: Arc<dyn Launcher>,
    definitions: LiveDefinitions,
    options: DaemonOptions,
    /// Runs whose worker this monitor is terminating now.
    terminating: Arc<Mutex<HashSet<RunId>>>,
    /// Where the database's outages are seen (and reported).
    liveness: Liveness,
}

impl Monitor {
    pub fn new(
        store: Arc<dyn RunStorage>,
        launcher: Arc<dyn Launcher>,
        definitions: LiveDefinitions,
        options: DaemonOptions,
    ) -> Self {
        Self {
            store,
            launcher,
            definitions,
            options,
            terminating: Arc::default(),
            liveness: Liveness::new(),
        }
    }

    /// Shares the daemon's view of the database: its outages excuse missed heartbeats.
    pub fn with_liveness(mut self, liveness: Liveness) -> Self {
        self.liveness = liveness;
        self
    }

    /// Runs until `shutdown`: checks every run in progress each `monitor_interval`, at once on
    /// a cancellation, and reacts to worker exits the launcher reports.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.store.subscribe().await;
        let mut exits = self.launcher.exits();
        let mut interval = tokio::time::interval(self.options.monitor_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                exit = next_exit(&mut exits) => match exit {
                    Some(exit) => self.on_exit(exit).await,
                    None => exits = None,
                },
                change = changes.recv() => match change {
                    Some(Change::Run(id, RunStatus::Canceling)) => self.check_one(id).await,
                    Some(_) => {}
                    None => return,
                },
                _ = interval.tick() => self.check_all().await,
            }
        }
    }

    /// Checks every run in progress once.
    pub async fn check_all(&self) {
        match self.store.list_active_runs().await {
            Ok(runs) => {
                self.liveness.database_reachable();
                for run in runs {
                    self.check(&run).await;
                }
            }
            Err(e) if e.is_unavailable() => {
                self.liveness.database_unreachable(&e.to_string());
                tracing::debug!(error = %e, "monitor: cannot list runs in progress");
            }
            Err(e) => tracing::warn!(error = %e, "monitor: cannot list runs in progress"),
        }
    }

    async fn check_one(&self, id: RunId) {
        match self.store.get_run(id).await {
            Ok(run) => self.check(&run).await,
            Err(e) => tracing::warn!(run_id = %id, error = %e, "monitor: cannot read run"),
        }
    }

    async fn check(&self, run: &Run) {
        let now = Utc::now();
        let back_at = self.liveness.database_back_at();
        // Signs the database could not take during an outage are not missing: time counts
        // from the outage's end at the earliest.
        let age = |since: chrono::DateTime<Utc>| {
            let since = back_at.map_or(since, |back| since.max(back));
            (now - since).to_std().unwrap_or_default()
        };
        let handle = run.worker.clone().map(WorkerHandle);
        match run.status {
            RunStatus::Canceling => match handle {
                Some(handle) => self.terminate(run.id, handle, true),
                // Canceled before a worker was launched: once nothing can still launch it.
                None if age(run.updated_at) > self.options.start_timeout => {
                    self.end(
                        run.id,
                        RunStatus::Canceled,
                        "canceled before its worker started",
                    )
                    .await;
                }
                None => {}
            },
            RunStatus::Starting if age(run.updated_at) > self.options.start_timeout => {
                let message = format!(
                    "worker did not start within {}",
                    humantime::format_duration(self.options.start_timeout)
                );
                self.fail(run, handle, &message).await;
            }
            RunStatus::Started => self.check_started(run, handle, age).await,
            _ => {}
        }
    }

    async fn check_started(
        &self,
        run: &Run,
        handle: Option<WorkerHandle>,
        age: impl Fn(chrono::DateTime<Utc>) -> Duration,
    ) {
        if let Some(max) = self.max_runtime(run)
            // Wall-clock time: an outage does not lengthen a run's allowance.
            && run
                .started_at
                .is_some_and(|t| (Utc::now() - t).to_std().unwrap_or_default() > max)
        {
            let message = format!(
                "exceeded max runtime of {}",
                humantime::format_duration(max)
            );
            self.fail(run, handle, &message).await;
            return;
        }
        let state = match &handle {
            Some(h) => self.launcher.inspect(run.id, h).await,
            None => WorkerState::Unknown,
        };
        if let WorkerState::Gone { reason } = state {
            // Read again: a worker that ended the run and exited is not a failure.
            if let Ok(now) = self.store.get_run(run.id).await
                && !now.status.is_terminal()
            {
                self.on_gone(&now, &reason).await;
            }
            return;
        }
        let last_sign = run
            .heartbeat_at
            .or(run.started_at)
            .unwrap_or(run.updated_at);
        if age(last_sign) > self.options.heartbeat_timeout {
            let message = format!(
                "no heartbeat from the worker for {}",
                humantime::format_duration(self.options.heartbeat_timeout)
            );
            self.fail(run, handle, &message).await;
        }
    }

    /// A run's max runtime: its tag, else its job's.
    fn max_runtime(&self, run: &Run) -> Option<Duration> {
        let tag = TagKey::parse(MAX_RUNTIME_TAG)
            .ok()
            .and_then(|key| run.tags.get(&key))
            .and_then(|v| humantime::parse_duration(v).ok());
        tag.or_else(|| {
            self.definitions
                .current()
                .definitions
                .job(run.job.as_str())?
                .max_runtime
        })
    }

    async fn on_exit(&self, exit: WorkerExit) {
        match self.store.get_run(exit.run).await {
            Ok(mut run) if !run.status.is_terminal() => {
                // A worker that exits at once can beat the coordinator storing its handle.
                run.worker.get_or_insert(exit.handle.0);
                self.on_gone(&run, &exit.reason).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(run_id = %exit.run, error = %e, "monitor: cannot read run"),
        }
    }

    /// The worker of an unfinished run is gone.
    async fn on_gone(&self, run: &Run, reason: &str) {
        self.attach_log_tail(run).await;
        if run.status == RunStatus::Canceling {
            let message = format!("canceled; worker {reason}");
            self.end(run.id, RunStatus::Canceled, &message).await;
        } else {
            let message = format!("worker {reason} before the run ended");
            self.end(run.id, RunStatus::Failure, &message).await;
        }
    }

    /// Records the last lines the worker wrote, so the reason of a crash is in the run's events.
    async fn attach_log_tail(&self, run: &Run) {
        let Some(path) = run.worker.as_ref().and_then(WorkerHandle::log_path) else {
            return;
        };
        let Ok(text) = tokio::fs::read_to_string(path).await else {
            return;
        };
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            return;
        }
        let event = NewEvent::run(EventKind::Log {
            level: LogLevel::Error,
            message: format!("last lines of the worker's output ({path}):\n{tail}"),
        });
        if let Err(e) = self.store.append_events(run.id, &[event]).await {
            tracing::warn!(run_id = %run.id, error = %e, "cannot record the worker's output");
        }
    }

    /// Fails the run, then stops its worker if it still runs.
    async fn fail(&self, run: &Run, handle: Option<WorkerHandle>, message: &str) {
        if self.end(run.id, RunStatus::Failure, message).await
            && let Some(handle) = handle
        {
            self.terminate(run.id, handle, false);
        }
    }

    /// Moves the run to a terminal status; false if another writer ended it first.
    async fn end(&self, id: RunId, to: RunStatus, message: &str) -> bool {
        match self.store.transition_run(id, to, Some(message)).await {
            Ok(_) => {
                tracing::warn!(run_id = %id, status = %to, message, "monitor ended the run");
                true
            }
            Err(StorageError::IllegalTransition { .. }) => false,
            Err(e) => {
                tracing::warn!(run_id = %id, error = %e, "monitor: cannot end the run");
                false
            }
        }
    }

    /// Terminates the worker in the background (once per run at a time). For a cancellation,
    /// the run becomes CANCELED when its worker is gone, unless the worker ended it itself.
    fn terminate(&self, id: RunId, handle: WorkerHandle, cancel: bool) {
        if !self
            .terminating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let grace = this.options.termination_grace;
            match this.launcher.terminate(id, &handle, grace).await {
                Ok(()) if cancel => {
                    // Give a worker that handled SIGTERM the moment it needs to record CANCELED.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    this.end(id, RunStatus::Canceled, "canceled; worker terminated")
                        .await;
                }
                Ok(()) => {}
                Err(e) => tracing::warn!(run_id = %id, error = %e, "cannot terminate the worker"),
            }
            this.terminating
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        });
    }
}

async fn next_exit(
    exits: &mut Option<tokio::sync::mpsc::UnboundedReceiver<WorkerExit>>,
) -> Option<WorkerExit> {
    match exits {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
