//! Re-executing a finished run: a new QUEUED run of the same job with the same config, linked to
//! its parent. From failure, it selects only the parent's steps that did not succeed; the worker
//! then loads the outputs of the steps that did from the parent (IO manager) instead of computing
//! them again.

use std::collections::BTreeSet;

use crate::definitions::{Definitions, JobDef};
use crate::domain::{
    AssetKey, EventKind, EventRecord, IdError, JobName, NewRun, Run, RunId, RunStatus, TagKey, Tags,
};
use crate::storage::{RunStorage, StorageError};

/// The tag naming the run a re-execution re-executes.
pub const PARENT_RUN_TAG: &str = "orch/parent_run_id";
/// The tag naming the first run of a chain of re-executions.
pub const ROOT_RUN_TAG: &str = "orch/root_run_id";

/// Which steps a re-execution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReexecuteFrom {
    /// The same steps as the parent.
    AllSteps,
    /// Only the parent's steps that did not succeed.
    Failure,
}

/// A request to re-execute a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Reexecution {
    pub from: ReexecuteFrom,
    /// Tags added to (or replacing) the parent's.
    pub tags: Tags,
}

/// Why a run cannot be re-executed.
#[derive(Debug, thiserror::Error)]
pub enum ReexecuteError {
    #[error("run {run} is {status}; only a finished run can be re-executed")]
    NotFinished { run: RunId, status: RunStatus },
    #[error(
        "run {run} ended SUCCESS, so there is no failure to re-execute from; re-execute all its steps instead"
    )]
    NoFailure { run: RunId },
    #[error("every step of run {run} succeeded; there is nothing to re-execute from failure")]
    NothingFailed { run: RunId },
    #[error("run {run} is of job '{job}', which is no longer defined in this build of orch")]
    JobGone { run: RunId, job: JobName },
    /// Never in practice: the system tag keys are constants that parse (a unit test checks).
    #[error("invalid system tag: {0}")]
    Tag(#[from] IdError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The steps of `parent` that did not succeed, in the job's dependency order: of the steps it
/// selected (all of the job's when it selected none), those without a `STEP_SUCCESS` event.
/// Steps the job no longer has are left out.
pub fn steps_that_did_not_succeed(
    job: &JobDef,
    parent: &Run,
    events: &[EventRecord],
) -> Vec<AssetKey> {
    let succeeded: BTreeSet<&AssetKey> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::StepSuccess { .. }))
        .filter_map(|e| e.step.as_ref())
        .collect();
    job.graph()
        .order()
        .iter()
        .filter(|key| {
            parent
                .step_selection
                .as_ref()
                .is_none_or(|selected| selected.contains(key))
        })
        .filter(|key| !succeeded.contains(key))
        .cloned()
        .collect()
}

/// The run that re-executes `parent` (whose events are `events`) as `request` asks.
pub fn plan_reexecution(
    job: &JobDef,
    parent: &Run,
    events: &[EventRecord],
    request: &Reexecution,
) -> Result<NewRun, ReexecuteError> {
    if !parent.status.is_terminal() {
        return Err(ReexecuteError::NotFinished {
            run: parent.id,
            status: parent.status,
        });
    }
    let step_selection = match request.from {
        ReexecuteFrom::AllSteps => parent.step_selection.clone(),
        ReexecuteFrom::Failure if parent.status == RunStatus::Success => {
            return Err(ReexecuteError::NoFailure { run: parent.id });
        }
        ReexecuteFrom::Failure => {
            let steps = steps_that_did_not_succeed(job, parent, events);
            if steps.is_empty() {
                return Err(ReexecuteError::NothingFailed { run: parent.id });
            }
            Some(steps)
        }
    };
    let mut tags = parent.tags.clone();
    tags.extend(request.tags.clone());
    let root = parent
        .tags
        .iter()
        .find(|(k, _)| k.as_str() == ROOT_RUN_TAG)
        .map_or_else(|| parent.id.to_string(), |(_, v)| v.clone());
    tags.insert(TagKey::parse(PARENT_RUN_TAG)?, parent.id.to_string());
    tags.insert(TagKey::parse(ROOT_RUN_TAG)?, root);
    // The job as it is now (like Dagster, a re-execution runs the current code: the fix of
    // what failed), snapshotted so that a later edit does not change the new run either.
    let mut run = NewRun::queued(job.name.clone(), parent.config.clone(), tags)
        .with_definition(crate::snapshot::JobSnapshot::of(job).stored())
        .launched_by(crate::domain::launched_by::reexecute(parent.id));
    run.parent_run_id = Some(parent.id);
    run.step_selection = step_selection;
    // A re-execution computes the same partitions as its parent (the tags came with `tags`).
    run.partition = parent.partition.clone();
    Ok(run)
}

/// Creates the re-execution of run `parent` as a QUEUED run and returns it.
pub async fn reexecute(
    store: &dyn RunStorage,
    definitions: &Definitions,
    parent: RunId,
    request: &Reexecution,
) -> Result<Run, ReexecuteError> {
    let parent = store.get_run(parent).await?;
    let Some(job) = definitions.job(parent.job.as_str()) else {
        return Err(ReexecuteError::JobGone {
            run: parent.id,
            job: parent.job,
        });
    };
    let events = if request.from == ReexecuteFrom::Failure {
        all_events(store, parent.id).await?
    } else {
        Vec::new()
    };
    let new_run = plan_reexecution(job, &parent, &events, request)?;
    Ok(store.create_run(&new_run).await?)
}

async fn all_events(store: &dyn RunStorage, id: RunId) -> Result<Vec<EventRecord>, StorageError> {
    const PAGE: u32 = 10_000;
    let mut events: Vec<EventRecord> = Vec::new();
    loop {
        let page = store
            .list_events(id, events.last().map(|e| e.id), PAGE)
            .await?;
        let done = page.len() < PAGE as usize;
        events.extend(page);
        if done {
            return Ok(events);
        }
    }
}

#[cfg(test)]
mod tests;
