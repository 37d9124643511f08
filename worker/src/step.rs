//! One step: the attempts of one asset under its retry policy, with its events, panic capture and
//! output persistence.

use std::sync::Arc;
use std::time::Instant;

use orchestrator::definitions::{
    AssetCompute, AssetContext, AssetDef, AssetError, AssetOutput, EventSink, Inputs,
};
use orchestrator::domain::{CheckResult, EventKind, JobName, NewEvent, PartitionScope, RunId};
use serde_json::Value;
use tracing::Instrument;

use crate::command::{self, Commands};
use crate::event_writer::EventWriter;
use crate::io_manager::IoManager;

/// Everything one step needs.
#[derive(Clone)]
pub(crate) struct StepRun {
    pub run_id: RunId,
    pub job: JobName,
    pub def: AssetDef,
    pub config: Arc<Value>,
    pub inputs: Arc<Inputs>,
    pub events: Arc<EventWriter>,
    pub io: IoManager,
    pub commands: Commands,
    /// The run's partition key or range and its time window (all `None` when unpartitioned).
    pub partition: PartitionScope,
}

/// A step that succeeded: its output, and the checks its asset evaluated itself.
#[derive(Debug)]
pub(crate) struct Materialized {
    pub value: Arc<Value>,
    pub checks: Vec<(String, CheckResult)>,
}

/// Runs the step to success or to its last failed attempt; the error is the step's failure
/// message as recorded.
pub(crate) async fn run_step(step: StepRun) -> Result<Materialized, String> {
    let span = tracing::info_span!("step", run_id = %step.run_id, step = %step.def.key);
    async move {
        let key = &step.def.key;
        let emit = |kind| step.events.emit(NewEvent::step(key, kind));
        let started = Instant::now();
        let max = step.def.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            // Past the event buffer's bound (the database is away), the attempt waits.
            step.events.room().await;
            emit(EventKind::StepStart { attempt });
            let error = match attempt_once(&step, attempt).await {
                Ok(output) => match persist(&step, output).await {
                    Ok(done) => {
                        let duration_ms =
                            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        tracing::info!(attempt, duration_ms, "step succeeded");
                        emit(EventKind::StepSuccess { duration_ms });
                        return Ok(done);
                    }
                    Err(e) => e,
                },
                Err(e) => e,
            };
            let delay = error
                .retryable
                .then(|| step.def.retry.delay_before(attempt + 1))
                .flatten();
            if let Some(delay) = delay {
                tracing::warn!(attempt, error = %error.message, "step failed; retrying");
                emit(EventKind::StepUpRetry {
                    error: error.message.clone(),
                    attempt,
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                });
                tokio::time::sleep(delay).await;
                attempt += 1;
                continue;
            }
            let message = format!("{key}: {} (attempt {attempt} of {max})", error.message);
            tracing::error!(error = %message, "step failed");
            emit(EventKind::StepFailure {
                error: message.clone(),
                attempt,
            });
            return Err(message);
        }
    }
    .instrument(span)
    .await
}

/// One call of the asset function, in its own task so a panic becomes an error.
async fn attempt_once(step: &StepRun, attempt: u32) -> Result<AssetOutput, AssetError> {
    let sink: Arc<dyn EventSink> = step.events.clone();
    let compute = match &step.def.compute {
        AssetCompute::Rust(compute) => compute.clone(),
        AssetCompute::Command(spec) => return command::attempt(step, attempt, spec).await,
    };
    let ctx = AssetContext::new(
        step.run_id,
        step.job.clone(),
        step.def.key.clone(),
        attempt,
        step.config.clone(),
        step.inputs.clone(),
        sink,
    )
    .with_partition(step.partition.clone());
    // A panic in asset code is caught here and becomes the step's error; the task goes on.
    let attempt = std::panic::AssertUnwindSafe(compute(ctx));
    match futures::FutureExt::catch_unwind(attempt).await {
        Ok(result) => result,
        Err(payload) => Err(AssetError::fatal(format!(
            "panicked: {}",
            panic_message(payload)
        ))),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Stores the output through the IO manager and records output and materialization.
async fn persist(step: &StepRun, output: AssetOutput) -> Result<Materialized, AssetError> {
    let key = &step.def.key;
    let stored = step
        .io
        .store_output(step.run_id, key, &output.value)
        .await
        .map_err(|e| AssetError {
            message: format!("could not persist the output: {e}"),
            retryable: e.is_retryable(),
        })?;
    step.events.emit(NewEvent::step(
        key,
        EventKind::StepOutput {
            location: stored.uri,
        },
    ));
    step.events.emit(NewEvent::step(
        key,
        EventKind::AssetMaterialization {
            asset_key: key.clone(),
            metadata: output.metadata,
        },
    ));
    Ok(Materialized {
        value: Arc::new(output.value),
        checks: output.checks,
    })
}
