//! Executes a run: claims it (STARTED), runs its steps in dependency order with independent steps
//! concurrently, skips what depends on a failure, and ends it SUCCESS or FAILURE — or, when its
//! [`Cancellation`] fires, stops the steps in flight and ends it CANCELED.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use orchestrator::definitions::{Definitions, EventSink, Inputs, JobDef};
use orchestrator::domain::{AssetKey, EventKind, NewEvent, Run, RunId, RunStatus};
use orchestrator::retry::RECONNECT;
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::Value;
use tokio::task::{Id as TaskId, JoinSet};
use tracing::Instrument;

use crate::cancel::Cancellation;
use crate::checks::{StepEnd, run_step_with_checks};
use crate::command::{Commands, Reaper};
use crate::event_writer::{EventObserver, EventWriter};
use crate::io_manager::IoManager;
use crate::step::StepRun;

/// Why a run could not be executed at all (as opposed to a run that executed and failed).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(
        "run {run} is {status}; a worker executes only a STARTING run (the daemon moves a queued run to STARTING when it launches it)"
    )]
    NotStarting { run: RunId, status: RunStatus },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a run's steps ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Success,
    Failure {
        message: String,
    },
    /// The run was asked to stop; `message` says why.
    Canceled {
        message: String,
    },
}

/// How to execute a run.
#[derive(Clone, Default)]
pub struct ExecuteOptions {
    /// Sees every event as it is emitted (the CLI's live progress).
    pub observer: Option<EventObserver>,
    /// Stops the run when canceled.
    pub cancellation: Cancellation,
}

impl std::fmt::Debug for ExecuteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecuteOptions")
            .field("observer", &self.observer.as_ref().map(|_| "…"))
            .field("cancellation", &self.cancellation)
            .finish()
    }
}

/// The task ids of the steps in flight, by step.
type InFlight = HashMap<TaskId, AssetKey>;

/// Executes runs of the jobs in `definitions`, recording into `store`.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Arc<dyn RunStorage>,
    definitions: Arc<Definitions>,
    io: IoManager,
    command_grace: Duration,
    command_env: Arc<Vec<(String, String)>>,
    event_buffer: usize,
}

/// Between SIGTERM and SIGKILL for a command asset's process group, by default: half of the
/// launcher's default grace for the worker itself, so the worker records the end first.
pub const DEFAULT_COMMAND_GRACE: Duration = Duration::from_secs(5);

impl Worker {
    pub fn new(store: Arc<dyn RunStorage>, definitions: Arc<Definitions>, io: IoManager) -> Self {
        Self {
            store,
            definitions,
            io,
            command_grace: DEFAULT_COMMAND_GRACE,
            command_env: Arc::default(),
            event_buffer: crate::event_writer::DEFAULT_BUFFER,
        }
    }

    /// How many events not yet stored (the database is away) a run may hold before its steps
    /// pause.
    pub fn with_event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events;
        self
    }

    /// Variables every command asset gets on top of the worker's environment (and under its
    /// own `env`): e.g. `ORCH_HOME` as an absolute path, since a command runs in its own
    /// directory.
    pub fn with_command_env(mut self, env: Vec<(String, String)>) -> Self {
        self.command_env = Arc::new(env);
        self
    }

    /// How long a command asset's processes get between SIGTERM and SIGKILL when a cancel or a
    /// timeout stops them.
    pub fn with_command_grace(mut self, grace: Duration) -> Self {
        self.command_grace = grace;
        self
    }

    /// Executes run `id`, which must be STARTING, to its end, and returns it as stored last.
    pub async fn execute(
        &self,
        id: RunId,
        observer: Option<EventObserver>,
    ) -> Result<Run, WorkerError> {
        let options = ExecuteOptions {
            observer,
            ..ExecuteOptions::default()
        };
        self.execute_with(id, options).await
    }

    /// [`Worker::execute`] with options: an observer and a [`Cancellation`]. A run found
    /// CANCELING before it started (canceled between launch and start) is ended CANCELED without
    /// running anything.
    pub async fn execute_with(
        &self,
        id: RunId,
        options: ExecuteOptions,
    ) -> Result<Run, WorkerError> {
        let span = tracing::info_span!("run", run_id = %id);
        async move {
            let run = orchestrator::storage::until_reachable(|| self.store.get_run(id)).await?;
            match run.status {
                RunStatus::Starting => {}
                RunStatus::Canceling => return self.end_unstarted(id).await,
                status => return Err(WorkerError::NotStarting { run: id, status }),
            }
            let snapshot = match orchestrator::snapshot::job_for_run(
                self.store.as_ref(),
                &self.definitions,
                &run,
            )
            .await
            {
                Ok(job) => job,
                Err(orchestrator::snapshot::SnapshotError::Storage(e)) => return Err(e.into()),
                Err(e) => {
                    return Ok(self
                        .store
                        .transition_run(id, RunStatus::Failure, Some(&e.to_string()))
                        .await?);
                }
            };
            let Some(job) = snapshot
                .as_ref()
                .or_else(|| self.definitions.job(run.job.as_str()))
            else {
                let message = format!("job '{}' is not defined in this build of orch", run.job);
                return Ok(self
                    .store
                    .transition_run(id, RunStatus::Failure, Some(&message))
                    .await?);
            };
            let run = match self.start(id).await {
                Ok(run) => run,
                Err(StorageError::IllegalTransition {
                    from: RunStatus::Canceling,
                    ..
                }) => {
                    return self.end_unstarted(id).await;
                }
                Err(StorageError::IllegalTransition { from, .. }) => {
                    return Err(WorkerError::NotStarting {
                        run: id,
                        status: from,
                    });
                }
                Err(e) => return Err(e.into()),
            };
            tracing::info!(job = %run.job, "run started");
            let events = EventWriter::spawn_with_buffer(
                self.store.clone(),
                id,
                options.observer,
                self.event_buffer,
            );
            let mut outcome = self
                .execute_graph(&run, job, &events, &options.cancellation)
                .await;
            let trailing = match events.finish().await {
                Ok(trailing) => trailing,
                Err(e) => {
                    outcome = RunOutcome::Failure {
                        message: format!("the run's events could not all be recorded: {e}"),
                    };
                    Vec::new()
                }
            };
            let run = crate::ending::end_run(self.store.as_ref(), id, &outcome, &trailing).await?;
            tracing::info!(status = %run.status, "run ended");
            Ok(run)
        }
        .instrument(span)
        .await
    }

    /// STARTING → STARTED, tried again while the database is away. A try whose commit landed
    /// with its answer lost shows as the run STARTED already: this worker's own start.
    async fn start(&self, id: RunId) -> Result<Run, StorageError> {
        let mut retrying = RECONNECT.start();
        loop {
            match self
                .store
                .transition_run(id, RunStatus::Started, None)
                .await
            {
                Err(e) if e.is_unavailable() => {
                    tracing::warn!(run_id = %id, error = %e, "cannot start the run: the database is away; trying again");
                    retrying.wait().await;
                }
                Err(StorageError::IllegalTransition {
                    from: RunStatus::Started,
                    ..
                }) if retrying.failures() > 0 => return self.store.get_run(id).await,
                other => return other,
            }
        }
    }

    /// Ends a run that was canceled before its worker started it.
    async fn end_unstarted(&self, id: RunId) -> Result<Run, WorkerError> {
        let outcome = RunOutcome::Canceled {
            message: "canceled before its worker started it".to_owned(),
        };
        let run = crate::ending::end_run(self.store.as_ref(), id, &outcome, &[]).await?;
        tracing::info!(status = %run.status, "run canceled before it started");
        Ok(run)
    }

    async fn execute_graph(
        &self,
        run: &Run,
        job: &JobDef,
        events: &Arc<EventWriter>,
        cancellation: &Cancellation,
    ) -> RunOutcome {
        let graph = job.graph();
        let selected: BTreeSet<AssetKey> = match &run.step_selection {
            Some(keys) => keys.iter().cloned().collect(),
            None => graph.order().iter().cloned().collect(),
        };
        let checks_only = run
            .tags
            .iter()
            .any(|(k, v)| k.as_str() == orchestrator::run_control::CHECKS_ONLY_TAG && v == "true");
        if checks_only {
            return self.checks_only(run, job, &selected, events).await;
        }
        let mut outputs: BTreeMap<AssetKey, Arc<Value>> = BTreeMap::new();
        if let Err(message) = self
            .reuse_outputs(run, job, &selected, &mut outputs, events)
            .await
        {
            return RunOutcome::Failure { message };
        }
        let partition = match orchestrator::run_control::run_scope(
            self.store.as_ref(),
            job,
            run.partition.as_ref(),
            chrono::Utc::now(),
        )
        .await
        {
            Ok(scope) => scope,
            Err(e) => {
                return RunOutcome::Failure {
                    message: format!("the run's partition cannot be resolved: {e}"),
                };
            }
        };
        // Step tasks are spawned only after this point; a cancel before it needs no stopping.
        let config = Arc::new(run.config.clone());
        let mut failures: Vec<String> = Vec::new();
        let mut blocked: BTreeSet<AssetKey> = BTreeSet::new();
        // Steps that materialized but whose blocking check failed, with the check.
        let mut check_blocked: BTreeMap<AssetKey, String> = BTreeMap::new();
        let mut pending: Vec<AssetKey> = graph
            .order()
            .iter()
            .filter(|k| selected.contains(*k))
            .cloned()
            .collect();
        let mut running: JoinSet<(AssetKey, StepEnd)> = JoinSet::new();
        let mut in_flight = InFlight::new();
        let commands = Commands {
            reaper: Reaper::new(),
            grace: self.command_grace,
            env: self.command_env.clone(),
        };
        loop {
            if cancellation.is_canceled() {
                return stop_steps(running, in_flight, events, cancellation, &commands).await;
            }
            // Past the event buffer's bound (the database is away), no further step starts.
            tokio::select! {
                biased;
                () = cancellation.canceled() => continue,
                () = events.room() => {}
            }
            // `pending` is in dependency order, so one pass propagates skips down a chain.
            let mut still_pending = Vec::new();
            for key in pending {
                let upstream = graph.upstream_of(&key);
                if let Some(bad) = upstream.iter().find(|u| blocked.contains(*u)) {
                    let reason = match check_blocked.get(bad) {
                        Some(check) => {
                            format!("upstream asset '{bad}' failed its blocking check '{check}'")
                        }
                        None => format!("upstream step '{bad}' did not succeed"),
                    };
                    events.emit(NewEvent::step(&key, EventKind::StepSkipped { reason }));
                    blocked.insert(key);
                } else if upstream.iter().all(|u| outputs.contains_key(u)) {
                    let Some(def) = job.asset(&key) else {
                        continue;
                    };
                    let inputs: Inputs = upstream
                        .iter()
                        .filter_map(|u| outputs.get(u).map(|v| (u.clone(), v.clone())))
                        .collect();
                    let step = StepRun {
                        run_id: run.id,
                        job: run.job.clone(),
                        def: def.clone(),
                        config: config.clone(),
                        inputs: Arc::new(inputs),
                        events: events.clone(),
                        io: self.io.clone(),
                        commands: commands.clone(),
                        partition: partition.clone(),
                    };
                    // In the run's span, so the step's span (and its logs) are the run's.
                    let task = running.spawn(
                        {
                            let key = key.clone();
                            async move { (key, run_step_with_checks(step).await) }
                        }
                        .in_current_span(),
                    );
                    in_flight.insert(task.id(), key);
                } else {
                    still_pending.push(key);
                }
            }
            pending = still_pending;
            let joined = tokio::select! {
                biased;
                () = cancellation.canceled() => continue,
                joined = running.join_next_with_id() => joined,
            };
            let Some(joined) = joined else {
                break;
            };
            match joined {
                Ok((task, (key, StepEnd::Done(value)))) => {
                    in_flight.remove(&task);
                    outputs.insert(key, value);
                }
                Ok((task, (key, StepEnd::Blocked { check }))) => {
                    in_flight.remove(&task);
                    blocked.insert(key.clone());
                    check_blocked.insert(key, check);
                }
                Ok((task, (key, StepEnd::Failed(message)))) => {
                    in_flight.remove(&task);
                    failures.push(message);
                    blocked.insert(key);
                }
                Err(e) => {
                    let step = in_flight.remove(&e.id());
                    let step = step.as_ref().map_or("?", AssetKey::as_str);
                    failures.push(format!("{step}: the step's task died: {e}"));
                }
            }
        }
        match failures.len() {
            0 if pending.is_empty() => RunOutcome::Success,
            0 => RunOutcome::Failure {
                message: "some steps could not run".to_owned(),
            },
            1 => RunOutcome::Failure {
                message: failures.remove(0),
            },
            n => RunOutcome::Failure {
                message: format!("{n} steps failed; first: {}", failures.remove(0)),
            },
        }
    }

    /// A checks-only run (`orch checks run`): each selected asset's checks over the output of
    /// its latest materialization, in graph order; no step materializes anything. Fails when an
    /// asset was never materialized or its output is gone.
    async fn checks_only(
        &self,
        run: &Run,
        job: &JobDef,
        selected: &BTreeSet<AssetKey>,
        events: &Arc<EventWriter>,
    ) -> RunOutcome {
        let partition = match orchestrator::run_control::run_scope(
            self.store.as_ref(),
            job,
            run.partition.as_ref(),
            chrono::Utc::now(),
        )
        .await
        {
            Ok(scope) => scope,
            Err(e) => {
                return RunOutcome::Failure {
                    message: format!("the run's partition cannot be resolved: {e}"),
                };
            }
        };
        let commands = Commands {
            reaper: Reaper::new(),
            grace: self.command_grace,
            env: self.command_env.clone(),
        };
        for key in job.graph().order().iter().filter(|k| selected.contains(*k)) {
            let Some(def) = job.asset(key) else { continue };
            let latest = match self.store.asset_history(key, None, 1).await {
                Ok(latest) => latest,
                Err(e) => {
                    return RunOutcome::Failure {
                        message: format!("{key}: cannot read its latest materialization: {e}"),
                    };
                }
            };
            let Some(m) = latest.first() else {
                return RunOutcome::Failure {
                    message: format!(
                        "{key}: never materialized, so its checks have nothing to check"
                    ),
                };
            };
            let value = match self.io.load_output(m.run_id, key).await {
                Ok(value) => Arc::new(value),
                Err(e) => {
                    return RunOutcome::Failure {
                        message: format!(
                            "{key}: the output of run {} (its latest materialization) is not available: {e}",
                            m.run_id
                        ),
                    };
                }
            };
            let step = StepRun {
                run_id: run.id,
                job: run.job.clone(),
                def: def.clone(),
                config: Arc::new(run.config.clone()),
                inputs: Arc::new(Inputs::default()),
                events: events.clone(),
                io: self.io.clone(),
                commands: commands.clone(),
                partition: partition.clone(),
            };
            let failed = crate::checks::run_checks_only(step, value).await;
            tracing::info!(asset = %key, from_run = %m.run_id, failed, "checks evaluated on their own");
        }
        RunOutcome::Success
    }

    /// For a run that executes only some steps, loads the outputs of the unselected upstream
    /// steps and stores them under this run, so a chain of re-executions keeps finding them:
    /// from the parent run for a re-execution, else (a launched selection) from each asset's
    /// latest materialization.
    async fn reuse_outputs(
        &self,
        run: &Run,
        job: &JobDef,
        selected: &BTreeSet<AssetKey>,
        outputs: &mut BTreeMap<AssetKey, Arc<Value>>,
        events: &Arc<EventWriter>,
    ) -> Result<(), String> {
        let selected: Vec<AssetKey> = selected.iter().cloned().collect();
        for key in orchestrator::run_control::upstream_outside(job, &selected) {
            let (from, whose) = match run.parent_run_id {
                Some(parent) => (parent, "the parent run"),
                None => match self.store.asset_history(&key, None, 1).await {
                    Ok(latest) => match latest.first() {
                        Some(m) => (m.run_id, "its latest materialization"),
                        None => {
                            return Err(format!(
                                "{key}: the selection needs its output, but it was never materialized"
                            ));
                        }
                    },
                    Err(e) => {
                        return Err(format!(
                            "{key}: cannot read its latest materialization: {e}"
                        ));
                    }
                },
            };
            let value = self.io.load_output(from, &key).await.map_err(|e| {
                format!("{key}: the output of run {from} ({whose}) is not available: {e}")
            })?;
            let stored = self
                .io
                .store_output(run.id, &key, &value)
                .await
                .map_err(|e| format!("{key}: could not copy the output of run {from}: {e}"))?;
            events.emit(NewEvent::step(
                &key,
                EventKind::StepOutputReused {
                    from_run: from.to_string(),
                    location: stored.uri,
                },
            ));
            outputs.insert(key, Arc::new(value));
        }
        Ok(())
    }
}

/// Stops the steps in flight: each is aborted at its next await point and records
/// `STEP_CANCELED`; a step that finished before the abort took keeps the outcome it recorded.
async fn stop_steps(
    mut running: JoinSet<(AssetKey, StepEnd)>,
    mut in_flight: InFlight,
    events: &Arc<EventWriter>,
    cancellation: &Cancellation,
    commands: &Commands,
) -> RunOutcome {
    running.abort_all();
    while let Some(joined) = running.join_next_with_id().await {
        match joined {
            Ok((task, _finished_first)) => {
                in_flight.remove(&task);
            }
            Err(e) => {
                let Some(key) = in_flight.remove(&e.id()) else {
                    continue;
                };
                if e.is_cancelled() {
                    tracing::info!(step = %key, "step canceled");
                    events.emit(NewEvent::step(&key, EventKind::StepCanceled));
                } else {
                    // Asset panics are caught inside the step; this is a panic of orch's own.
                    tracing::error!(step = %key, error = %e, "the step's task died while the run was being canceled");
                }
            }
        }
    }
    // The aborted command steps left their process groups with the reaper: none outlives
    // the run.
    commands.reaper.end_all(commands.grace).await;
    RunOutcome::Canceled {
        message: cancellation.reason().unwrap_or("canceled").to_owned(),
    }
}
