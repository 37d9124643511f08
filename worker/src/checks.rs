//! A step with its asset checks: the step runs (`step::run_step`), then each check of the asset
//! over its output, in declaration order, each verdict an `ASSET_CHECK_EVALUATION` event. A
//! check that errs or panics counts as failed with its declared severity and the error in its
//! metadata. A blocking check failing with severity `Error` ends the step `Blocked`: its output
//! is kept (the asset did materialize) but downstream steps are skipped, naming the check.

use std::sync::Arc;

use orchestrator::definitions::{AssetCheckDef, AssetContext, EventSink};
use orchestrator::domain::{CheckResult, EventKind, NewEvent};
use serde_json::Value;

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
        return match run_step(step).await {
            Ok(value) => StepEnd::Done(value),
            Err(message) => StepEnd::Failed(message),
        };
    }
    let context = step.clone();
    let value = match run_step(step).await {
        Ok(value) => value,
        Err(message) => return StepEnd::Failed(message),
    };
    let mut blocked = None;
    for check in &context.def.checks {
        let result = evaluate(&context, check, value.clone()).await;
        if check.blocking && result.blocks() && blocked.is_none() {
            blocked = Some(check.name.clone());
        }
        context.events.emit(NewEvent::step(
            &context.def.key,
            EventKind::AssetCheckEvaluation {
                asset: context.def.key.clone(),
                check: check.name.clone(),
                passed: result.passed,
                severity: result.severity,
                metadata: result.metadata,
            },
        ));
    }
    match blocked {
        Some(check) => StepEnd::Blocked { check },
        None => StepEnd::Done(value),
    }
}

/// One check, in its own task so a panic becomes a failed verdict.
async fn evaluate(step: &StepRun, check: &AssetCheckDef, value: Arc<Value>) -> CheckResult {
    let sink: Arc<dyn EventSink> = step.events.clone();
    let ctx = AssetContext::new(
        step.run_id,
        step.job.clone(),
        step.def.key.clone(),
        1,
        step.config.clone(),
        step.inputs.clone(),
        sink,
    );
    let call = std::panic::AssertUnwindSafe((check.compute)(ctx, value));
    let error = match futures::FutureExt::catch_unwind(call).await {
        Ok(Ok(result)) => return result,
        Ok(Err(e)) => e.message,
        Err(_) => "the check panicked".to_owned(),
    };
    tracing::warn!(check = %check.name, %error, "check could not be evaluated");
    CheckResult::failed(check.severity).with_metadata("error", error)
}
