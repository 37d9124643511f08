//! A small OTLP/HTTP receiver on 127.0.0.1: the stand-in for an OpenTelemetry collector. It
//! accepts `POST /v1/traces` with JSON bodies (OTLP/HTTP JSON, what orch exports) and keeps
//! every span with its resource's and its own attributes flattened to strings. Like a collector
//! it answers 200 with an empty `ExportTraceServiceResponse`; it does not speak protobuf or gRPC.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;

/// One received span.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: HashMap<String, String>,
    pub service: String,
}

#[derive(Debug)]
pub struct OtlpReceiver {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    server: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            spans,
            server,
        }
    }

    /// The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<ReceivedSpan>>>>,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let request: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "the export is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    let mut received = Vec::new();
    for resource in request["resourceSpans"].as_array().into_iter().flatten() {
        let service = attributes(&resource["resource"]["attributes"])
            .remove("service.name")
            .unwrap_or_default();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                let text = |key: &str| span[key].as_str().unwrap_or_default().to_owned();
                received.push(ReceivedSpan {
                    name: text("name"),
                    trace_id: text("traceId"),
                    span_id: text("spanId"),
                    parent_span_id: text("parentSpanId"),
                    attributes: attributes(&span["attributes"]),
                    service: service.clone(),
                });
            }
        }
    }
    spans.lock().unwrap().extend(received);
    axum::Json(serde_json::json!({}))
}

/// OTLP `KeyValue`s as strings: `{"key":"k","value":{"stringValue":"v"}}` (or intValue, …).
fn attributes(list: &Value) -> HashMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            let key = kv["key"].as_str()?.to_owned();
            let value = kv["value"].as_object()?.values().next()?;
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((key, value))
        })
        .collect()
}
