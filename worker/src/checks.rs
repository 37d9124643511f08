//! A step with its asset checks: the step runs (`step::run_step`), then each declared check of
//! the asset, in declaration order, each verdict an `ASSET_CHECK_EVALUATION` event: a Rust
//! function over the output, a command given the output, or the verdict the asset reported
//! itself (Pipes' `report_asset_check`), which counts as failed when never reported. Checks the
//! asset reported without declaring them are recorded after, blocking nothing. A check that
//! errs or panics counts as failed with its declared severity and the error in its metadata.
//! A blocking check failing with severity `Error` ends the step `Blocked`: its output is kept
//! (the asset did materialize) but downstream steps are skipped, naming the check.

use std::sync::Arc;

use orchestrator::definitions::{AssetCheckDef, AssetContext, CheckCompute, CheckFn, EventSink};
use orchestrator::domain::{AssetKey, CheckResult, EventKind, NewEvent};
use serde_json::Value;

use crate::command;
use crate::event_writer::EventWriter;
use crate::step::{StepRun, run_step};

/// How a step ended, checks included.
#[derive(Debug)]
pub(crate) enum StepEnd {
    Done(Arc<Value>),
    /// Materialized, but the named blocking check failed with severity `Error`.
    Blocked {
        check: String,
    },
    /// The step failed with this message.
    Failed(String),
}

/// Runs the step, then its checks.
pub(crate) async fn run_step_with_checks(step: StepRun) -> StepEnd {
    if step.def.checks.is_empty() {
        // The common case, without cloning the step: only what the asset reported, if anything.
        let (key, events) = (step.def.key.clone(), step.events.clone());
        let partition = step.partition.label();
        return match run_step(step).await {
            Ok(done) => {
                for (name, result) in done.checks {
                    record(&events, &key, partition.clone(), name, result);
                }
                StepEnd::Done(done.value)
            }
            Err(message) => StepEnd::Failed(message),
        };
    }
    let context = step.clone();
    let done = match run_step(step).await {
        Ok(done) => done,
        Err(message) => return StepEnd::Failed(message),
    };
    let mut reported = done.checks;
    let mut blocked = None;
    for check in &context.def.checks {
        let result = match &check.compute {
            CheckCompute::Rust(compute) => {
                evaluate(&context, check, compute, done.value.clone()).await
            }
            CheckCompute::Command(spec) => {
                command::check(&context, check, spec, done.value.clone()).await
            }
            CheckCompute::Reported => {
                take_reported(&mut reported, &check.name).unwrap_or_else(|| {
                    CheckResult::failed(check.severity).with_metadata("error", "not reported")
                })
            }
        };
        if check.blocking && result.blocks() && blocked.is_none() {
            blocked = Some(check.name.clone());
        }
        record(
            &context.events,
            &context.def.key,
            context.partition.label(),
            check.name.clone(),
            result,
        );
    }
    for (name, result) in reported {
        record(
            &context.events,
            &context.def.key,
            context.partition.label(),
            name,
            result,
        );
    }
    match blocked {
        Some(check) => StepEnd::Blocked { check },
        None => StepEnd::Done(done.value),
    }
}

/// A checks-only run's step: the asset's declared Rust and command checks over `value` (its
/// latest materialization's output), recorded as for a materialization. Checks the asset's own
/// code reports are skipped: only materializing it can report them. Returns how many failed.
pub(crate) async fn run_checks_only(step: StepRun, value: Arc<Value>) -> usize {
    let mut failed = 0;
    for check in &step.def.checks {
        let result = match &check.compute {
            CheckCompute::Rust(compute) => evaluate(&step, check, compute, value.clone()).await,
            CheckCompute::Command(spec) => command::check(&step, check, spec, value.clone()).await,
            CheckCompute::Reported => continue,
        };
        if !result.passed {
            failed += 1;
        }
        record(
            &step.events,
            &step.def.key,
            step.partition.label(),
            check.name.clone(),
            result,
        );
    }
    failed
}

/// Records a verdict on `asset`, about the run's `partition` (its label) if it has one.
fn record(
    events: &EventWriter,
    asset: &AssetKey,
    partition: Option<String>,
    check: String,
    result: CheckResult,
) {
    events.emit(NewEvent::step(
        asset,
        EventKind::AssetCheckEvaluation {
            asset: asset.clone(),
            check,
            passed: result.passed,
            severity: result.severity,
            metadata: result.metadata,
            partition,
        },
    ));
}

/// The last verdict the asset reported for `name`; every report of it is taken.
fn take_reported(reported: &mut Vec<(String, CheckResult)>, name: &str) -> Option<CheckResult> {
    let mut last = None;
    reported.retain(|(n, result)| {
        if n == name {
            last = Some(result.clone());
            false
        } else {
            true
        }
    });
    last
}

/// One Rust check, in its own task so a panic becomes a failed verdict.
async fn evaluate(
    step: &StepRun,
    check: &AssetCheckDef,
    compute: &CheckFn,
    value: Arc<Value>,
) -> CheckResult {
    let sink: Arc<dyn EventSink> = step.events.clone();
    let ctx = AssetContext::new(
        step.run_id,
        step.job.clone(),
        step.def.key.clone(),
        1,
        step.config.clone(),
        step.inputs.clone(),
        sink,
    )
    .with_partition(step.partition.clone());
    let call = std::panic::AssertUnwindSafe(compute(ctx, value));
    let error = match futures::FutureExt::catch_unwind(call).await {
        Ok(Ok(result)) => return result,
        Ok(Err(e)) => e.message,
        Err(_) => "the check panicked".to_owned(),
    };
    tracing::warn!(check = %check.name, %error, "check could not be evaluated");
    CheckResult::failed(check.severity).with_metadata("error", error)
}
