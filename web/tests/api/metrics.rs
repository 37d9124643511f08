//! `GET /metrics`: the Prometheus text format, parsed with a Prometheus text parser; the store
//! gauges follow the runs as they are queued and claimed; scrapes need no token.

use axum::http::StatusCode;
use orchestrator::domain::{DaemonId, QueueLimits};
use prometheus_parse::{Scrape, Value};
use serde_json::json;

use crate::support::{TestApp, api_tests};

api_tests!(
    metrics_follow_the_queue_as_runs_are_queued_and_claimed,
    metrics_are_open_to_scrapers_when_reads_need_a_token,
    metrics_are_404_where_no_recorder_is_installed,
);

async fn scrape(app: &TestApp) -> Scrape {
    let (status, content_type, body) = app.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, web::METRICS_CONTENT_TYPE);
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample of `metric` with exactly these labels (among others).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{metric} is not a single value: {other:?}"),
        })
}

async fn metrics_follow_the_queue_as_runs_are_queued_and_claimed(app: TestApp) {
    let app = app.with_metrics();
    let first = scrape(&app).await;
    assert_eq!(value(&first, "orch_queue_depth", &[]), Some(0.0));
    assert_eq!(
        value(
            &first,
            "orch_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    let max = value(&first, "orch_db_pool_max_connections", &[]).unwrap();
    let in_use = value(&first, "orch_db_pool_connections", &[("state", "in_use")]).unwrap();
    let idle = value(&first, "orch_db_pool_connections", &[("state", "idle")]).unwrap();
    assert!(
        max >= 1.0 && in_use + idle <= max,
        "pool {in_use}+{idle} of {max}"
    );

    for _ in 0..2 {
        app.post("/api/v1/jobs/etl/launch", Some(json!({})))
            .await
            .assert_status(StatusCode::CREATED);
    }
    let queued = scrape(&app).await;
    assert_eq!(value(&queued, "orch_queue_depth", &[]), Some(2.0));
    assert_eq!(
        value(&queued, "orch_runs_in_progress", &[("status", "STARTING")]),
        Some(0.0)
    );

    let limits = QueueLimits {
        max_concurrent_runs: Some(1),
        tag_limits: Vec::new(),
    };
    assert_eq!(
        app.store
            .claim_queued_runs(&limits, DaemonId::new())
            .await
            .unwrap()
            .len(),
        1
    );
    let claimed = scrape(&app).await;
    assert_eq!(value(&claimed, "orch_queue_depth", &[]), Some(1.0));
    assert_eq!(
        value(&claimed, "orch_runs_in_progress", &[("status", "STARTING")]),
        Some(1.0)
    );
}

async fn metrics_are_open_to_scrapers_when_reads_need_a_token(app: TestApp) {
    let app = app.with_metrics();
    let app = TestApp {
        router: web::router_with_auth(
            web::AppState::new(
                app.store.clone(),
                crate::support::definitions(),
                crate::support::schedules(),
            )
            .with_metrics(orchestrator::telemetry::metrics::install().unwrap()),
            web::AuthPolicy {
                token: web::AuthToken::new("s3cret"),
                protect_reads: true,
            },
        ),
        ..app
    };
    let (status, _, body) = app.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("orch_queue_depth"), "{body}");
    // The API itself still needs the token.
    let (status, _, _) = app.get_text("/api/v1/runs").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn metrics_are_404_where_no_recorder_is_installed(app: TestApp) {
    app.get("/metrics")
        .await
        .assert_error(StatusCode::NOT_FOUND, "metrics are not recorded");
}
