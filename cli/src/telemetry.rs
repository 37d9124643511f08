//! Logs and traces of the binary, set up once in `main` before the runtime starts and flushed
//! after it ends (a worker is short-lived: its last spans must leave before it exits).
//!
//! Logs: `tracing` on stderr, filtered by ORCH_LOG, human text by default or one JSON object a
//! line with ORCH_LOG_FORMAT=json. Lines inside a run carry its spans' fields (`run_id`, and
//! `step` inside a step): inline in text, under `span`/`spans` in JSON.
//!
//! Traces: only when OTEL_EXPORTER_OTLP_ENDPOINT is set, spans go to `<endpoint>/v1/traces` as
//! OTLP over HTTP with JSON bodies, through a batch processor on its own thread (the blocking
//! reqwest client; no gRPC). orch's own crates' `tracing` spans are exported at INFO and above
//! whatever ORCH_LOG says, and the daemon's run spans (`orchestrator::telemetry::trace`) go to
//! the same provider. Unset, no layer and no provider exist: tracing costs nothing.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::{LogFormat, Settings};

/// The crates whose spans are exported: orch's own, not its dependencies' (the exporter's own
/// HTTP client among them).
const TRACED_CRATES: [&str; 5] = ["orch", "orchestrator", "worker", "pipelines", "web"];

/// What must be flushed before the process exits.
#[derive(Debug)]
#[must_use = "call shutdown() before exiting so the last spans are exported"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sets up logging, and tracing when an OTLP endpoint is configured. A tracing setup that
    /// fails is reported on stderr and the process goes on without it.
    pub fn init(settings: &Settings) -> Self {
        let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        // Colours only on a terminal, so `2>log` files stay plain text.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("NO_COLOR").is_none();
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr);
        let fmt = match settings.log_format {
            LogFormat::Json => fmt.json().boxed(),
            LogFormat::Text => fmt.boxed(),
        };
        let provider = settings.otel_endpoint.as_deref().and_then(|endpoint| {
            provider(endpoint)
                .inspect_err(|e| {
                    eprintln!("warning: traces are off: cannot export to {endpoint}: {e}");
                })
                .ok()
        });
        let otel = provider.as_ref().map(|provider| {
            let targets = TRACED_CRATES
                .iter()
                .fold(Targets::new(), |t, name| t.with_target(*name, Level::INFO));
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(orchestrator::telemetry::trace::TRACER))
                .with_filter(targets)
        });
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .with(otel)
            .init();
        Self { provider }
    }

    /// Exports the spans not sent yet and stops the exporter (waits up to 5 s).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5))
        {
            eprintln!("warning: the last spans may not have been exported: {e}");
        }
    }
}

/// The tracer provider exporting to `endpoint` (the OTLP base URL), installed globally.
fn provider(endpoint: &str) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("orch").build())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(provider)
}

/// The remote parent a worker continues: a W3C `traceparent` (from TRACEPARENT, or as stored
/// with the run). `None` when it does not parse.
pub fn remote_parent(traceparent: &str) -> Option<Context> {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    context.span().span_context().is_valid().then_some(context)
}

/// Whether spans are exported at all.
pub fn tracing_enabled(settings: &Settings) -> bool {
    settings.otel_endpoint.is_some()
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn a_worker_continues_a_w3c_traceparent_and_refuses_garbage() {
        let parent =
            super::remote_parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .map(|cx| cx.span().span_context().trace_id().to_string());
        assert_eq!(parent.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(super::remote_parent("not a traceparent").is_none());
    }
}
