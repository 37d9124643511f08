//! The daemon's side of a run's trace (OpenTelemetry): one trace per run, rooted when the daemon
//! claims it. [`RunTrace::claimed`] opens the root span `orch.run` (from the run's creation), records
//! its `queue` span (creation → claim) and opens the `launch` span; the launcher runs inside the
//! launch span's context, and [`worker_env`] turns that context into the `TRACEPARENT` the worker
//! continues (W3C Trace Context), so the worker's spans join the same trace.
//!
//! Spans go to the global tracer provider, which the binary installs only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise every span here is a no-op and there is no
//! trace context to pass on. Span attributes: `run_id` and `job`, as on the worker's spans.

use std::time::SystemTime;

use opentelemetry::trace::{Span, SpanContext, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, global};

use crate::domain::Run;

/// The instrumentation scope of orch's own spans.
pub const TRACER: &str = "orch";
/// The name of a run's root span (the worker's execution is its `run` span, further down).
pub const ROOT_SPAN: &str = "orch.run";
/// The environment variable a worker reads its parent span from.
pub const TRACEPARENT_ENV: &str = "TRACEPARENT";

/// A run's trace while the daemon launches it.
#[derive(Debug)]
pub struct RunTrace {
    root: Context,
    launch: Context,
}

impl RunTrace {
    /// Starts the trace of a run the daemon claimed at `claimed_at`.
    pub fn claimed(run: &Run, claimed_at: SystemTime) -> Self {
        let tracer = global::tracer(TRACER);
        let created: SystemTime = run.created_at.into();
        let attributes = || {
            [
                KeyValue::new("run_id", run.id.to_string()),
                KeyValue::new("job", run.job.as_str().to_owned()),
            ]
        };
        let root = tracer
            .span_builder(ROOT_SPAN)
            .with_start_time(created)
            .with_attributes(attributes())
            .start_with_context(&tracer, &Context::new());
        let root = Context::new().with_span(root);
        let mut queue = tracer
            .span_builder("queue")
            .with_start_time(created)
            .with_attributes(attributes())
            .start_with_context(&tracer, &root);
        queue.end_with_timestamp(claimed_at);
        let launch = tracer
            .span_builder("launch")
            .with_start_time(claimed_at)
            .with_attributes(attributes())
            .start_with_context(&tracer, &root);
        let launch = root.with_span(launch);
        Self { root, launch }
    }

    /// The context the launcher runs in (its current span is `launch`).
    pub fn launch_context(&self) -> Context {
        self.launch.clone()
    }

    /// The `traceparent` the worker continues from, if tracing is on.
    pub fn traceparent(&self) -> Option<String> {
        traceparent(self.launch.span().span_context())
    }

    /// Ends the launch and root spans; `error` says why the launch failed, if it did.
    pub fn launched(self, error: Option<&str>) {
        let span = self.launch.span();
        if let Some(error) = error {
            span.set_status(Status::error(error.to_owned()));
        }
        span.end();
        self.root.span().end();
    }
}

/// The W3C `traceparent` of a valid span context: `00-<trace id>-<span id>-<flags>`.
pub fn traceparent(context: &SpanContext) -> Option<String> {
    context.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            context.trace_id(),
            context.span_id(),
            context.trace_flags().to_u8()
        )
    })
}

/// The environment a launcher adds to the worker it starts so the worker continues the current
/// trace: `TRACEPARENT`, or nothing when there is no trace (tracing off). Launchers call it
/// inside the launch (the coordinator runs `Launcher::launch` in the launch span's context).
pub fn worker_env() -> Vec<(String, String)> {
    let context = Context::current();
    traceparent(context.span().span_context())
        .map(|value| vec![(TRACEPARENT_ENV.to_owned(), value)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn traceparents_follow_w3c_trace_context() {
        let context = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap_or(TraceId::INVALID),
            SpanId::from_hex("00f067aa0ba902b7").unwrap_or(SpanId::INVALID),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        assert_eq!(
            traceparent(&context).as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        assert_eq!(traceparent(&SpanContext::empty_context()), None);
    }

    #[test]
    fn without_a_trace_there_is_nothing_to_pass_on() {
        assert!(worker_env().is_empty());
    }
}
