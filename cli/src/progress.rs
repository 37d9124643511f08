//! Live step progress of `orch run` on stdout: one line per step event as it happens.

use std::io::Write;
use std::sync::Arc;

use orchestrator::domain::{EventKind, Metadata, NewEvent};
use worker::EventObserver;

/// Prints step starts, retries, successes, failures, skips and materializations.
pub fn observer() -> EventObserver {
    Arc::new(|event: &NewEvent| {
        let Some(step) = &event.step else {
            return;
        };
        let line = match &event.kind {
            EventKind::StepStart { attempt: 1 } => "STARTED".to_owned(),
            EventKind::StepStart { attempt } => format!("STARTED   attempt {attempt}"),
            EventKind::StepUpRetry {
                error,
                attempt,
                delay_ms,
            } => format!("RETRY     attempt {attempt} failed: {error}; next in {delay_ms} ms"),
            EventKind::StepSuccess { duration_ms } => format!("SUCCESS   {duration_ms} ms"),
            EventKind::StepFailure { error, .. } => format!("FAILURE   {error}"),
            EventKind::StepSkipped { reason } => format!("SKIPPED   {reason}"),
            EventKind::StepOutputReused { from_run, .. } => {
                format!("REUSED    output of run {from_run}")
            }
            EventKind::AssetMaterialization { metadata, .. } => {
                format!("MATERIALIZED {}", describe(metadata))
            }
            _ => return,
        };
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) must not fail the run.
        let _ = writeln!(out, "  {:<14} {line}", step.as_str());
    })
}

/// `uri=… size_bytes=… count=…`, strings unquoted.
pub fn describe(metadata: &Metadata) -> String {
    metadata
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => format!("{k}={s}"),
            None => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
