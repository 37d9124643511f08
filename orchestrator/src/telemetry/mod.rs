//! Telemetry: the Prometheus metrics every process records (`metrics`: one named function per
//! measurement, so call sites stay one line and names live in one place), step durations derived
//! from a run's events (`steps`), and the run's OpenTelemetry trace on the daemon's side
//! (`trace`: the queueing and launch spans, and the `TRACEPARENT` handed to workers).
//!
//! Everything here is cheap when nobody looks: without an installed recorder the metric calls
//! do nothing, and without a tracer provider the spans are no-ops and no trace context is made.

pub mod metrics;
pub mod steps;
pub mod trace;
