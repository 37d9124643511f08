//! Executes a run: claims it (STARTED), runs its steps in dependency order with independent steps
//! concurrently, skips what depends on a failure, and ends it SUCCESS or FAILURE.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use orchestrator::definitions::{Definitions, EventSink, Inputs, JobDef};
use orchestrator::domain::{AssetKey, EventKind, NewEvent, Run, RunId, RunStatus};
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::Value;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::event_writer::{EventObserver, EventWriter};
use crate::io_manager::IoManager;
use crate::step::{StepRun, run_step};

/// Why a run could not be executed at all (as opposed to a run that executed and failed).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Success,
    Failure { message: String },
}

/// Executes runs of the jobs in `definitions`, recording into `store`.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Arc<dyn RunStorage>,
    definitions: Arc<Definitions>,
    io: IoManager,
}

impl Worker {
    pub fn new(store: Arc<dyn RunStorage>, definitions: Arc<Definitions>, io: IoManager) -> Self {
        Self {
            store,
            definitions,
            io,
        }
    }

    /// Executes run `id`, which must be STARTING, to its end, and returns it as stored last.
    pub async fn execute(
        &self,
        id: RunId,
        observer: Option<EventObserver>,
    ) -> Result<Run, WorkerError> {
        let span = tracing::info_span!("run", run_id = %id);
        async move {
            let run = self.store.get_run(id).await?;
            let Some(job) = self.definitions.job(run.job.as_str()) else {
                let message = format!("job '{}' is not defined in this build of orch", run.job);
                return Ok(self
                    .store
                    .transition_run(id, RunStatus::Failure, Some(&message))
                    .await?);
            };
            let run = self
                .store
                .transition_run(id, RunStatus::Started, None)
                .await?;
            tracing::info!(job = %run.job, "run started");
            let events = EventWriter::spawn(self.store.clone(), id, observer);
            let mut outcome = self.execute_graph(&run, job, &events).await;
            let trailing = match events.finish().await {
                Ok(trailing) => trailing,
                Err(e) => {
                    outcome = RunOutcome::Failure {
                        message: format!("the run's events could not all be recorded: {e}"),
                    };
                    Vec::new()
                }
            };
            let (to, message) = match &outcome {
                RunOutcome::Success => (RunStatus::Success, None),
                RunOutcome::Failure { message } => (RunStatus::Failure, Some(message.as_str())),
            };
            let ended = self
                .store
                .transition_run_with_events(id, to, message, &trailing)
                .await;
            if let Err(StorageError::IllegalTransition { .. }) = &ended {
                // Someone else ended the run first (e.g. a cancel); its events are still ours.
                self.store.append_events(id, &trailing).await?;
            }
            let run = ended?;
            tracing::info!(status = %run.status, "run ended");
            Ok(run)
        }
        .instrument(span)
        .await
    }

    async fn execute_graph(
        &self,
        run: &Run,
        job: &JobDef,
        events: &Arc<EventWriter>,
    ) -> RunOutcome {
        let graph = job.graph();
        let selected: BTreeSet<AssetKey> = match &run.step_selection {
            Some(keys) => keys.iter().cloned().collect(),
            None => graph.order().iter().cloned().collect(),
        };
        let mut outputs: BTreeMap<AssetKey, Arc<Value>> = BTreeMap::new();
        if let Err(message) = self
            .reuse_outputs(run, job, &selected, &mut outputs, events)
            .await
        {
            return RunOutcome::Failure { message };
        }
        let config = Arc::new(run.config.clone());
        let mut failures: Vec<String> = Vec::new();
        let mut blocked: BTreeSet<AssetKey> = BTreeSet::new();
        let mut pending: Vec<AssetKey> = graph
            .order()
            .iter()
            .filter(|k| selected.contains(*k))
            .cloned()
            .collect();
        let mut running: JoinSet<(AssetKey, Result<Arc<Value>, String>)> = JoinSet::new();
        loop {
            // `pending` is in dependency order, so one pass propagates skips down a chain.
            let mut still_pending = Vec::new();
            for key in pending {
                let upstream = graph.upstream_of(&key);
                if let Some(bad) = upstream.iter().find(|u| blocked.contains(*u)) {
                    events.emit(NewEvent::step(
                        &key,
                        EventKind::StepSkipped {
                            reason: format!("upstream step '{bad}' did not succeed"),
                        },
                    ));
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
                        def: def.clone(),
                        config: config.clone(),
                        inputs: Arc::new(inputs),
                        events: events.clone(),
                        io: self.io.clone(),
                    };
                    running.spawn(async move { (key, run_step(step).await) });
                } else {
                    still_pending.push(key);
                }
            }
            pending = still_pending;
            let Some(joined) = running.join_next().await else {
                break;
            };
            match joined {
                Ok((key, Ok(value))) => {
                    outputs.insert(key, value);
                }
                Ok((key, Err(message))) => {
                    failures.push(message);
                    blocked.insert(key);
                }
                Err(e) => failures.push(format!("a step task died: {e}")),
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

    /// For a run that executes only some steps (re-execution from failure), loads the outputs
    /// of the unselected upstream steps from the parent run and stores them under this run, so a
    /// chain of re-executions keeps finding them.
    async fn reuse_outputs(
        &self,
        run: &Run,
        job: &JobDef,
        selected: &BTreeSet<AssetKey>,
        outputs: &mut BTreeMap<AssetKey, Arc<Value>>,
        events: &Arc<EventWriter>,
    ) -> Result<(), String> {
        let needed: BTreeSet<AssetKey> = selected
            .iter()
            .flat_map(|k| job.graph().upstream_of(k).iter().cloned())
            .filter(|k| !selected.contains(k))
            .collect();
        if needed.is_empty() {
            return Ok(());
        }
        let Some(parent) = run.parent_run_id else {
            return Err(format!(
                "the run selects only some steps but has no parent run to take the outputs of {} from",
                needed
                    .iter()
                    .map(AssetKey::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        for key in needed {
            let value = self.io.load_output(parent, &key).await.map_err(|e| {
                format!("{key}: the output of parent run {parent} is not available: {e}")
            })?;
            let stored = self
                .io
                .store_output(run.id, &key, &value)
                .await
                .map_err(|e| format!("{key}: could not copy the parent run's output: {e}"))?;
            events.emit(NewEvent::step(
                &key,
                EventKind::StepOutputReused {
                    from_run: parent.to_string(),
                    location: stored.uri,
                },
            ));
            outputs.insert(key, Arc::new(value));
        }
        Ok(())
    }
}
