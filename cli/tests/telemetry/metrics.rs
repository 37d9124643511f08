//! The daemon's `/metrics` and `/healthz` on ORCH_METRICS_ADDR.

use std::time::{Duration, Instant};

use orchestrator::domain::RunStatus;
use prometheus_parse::{Scrape, Value};

use crate::support::file_source;
use crate::support::*;
use crate::{ended, queue};

/// A free port on loopback (bound, read, released).
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

async fn scrape(addr: &str) -> Scrape {
    let body = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// A counter's or gauge's value with these labels (among others); a histogram's count.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            Value::Summary(_) => panic!("{metric} is a summary"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_metrics_whose_counters_move_as_runs_run() {
    init();
    let db = TestDb::create().await;
    let addr = free_addr();
    let orch = Orch::local()
        .on_postgres(&db)
        .env("ORCH_LOG", "info")
        .env("ORCH_MONITOR_INTERVAL", "200ms")
        .env("ORCH_METRICS_ADDR", &addr);
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    // It listens at once; `/healthz` says "degraded" (200) until the store is open and the
    // loops run, then "ok".
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = match reqwest::get(format!("http://{addr}/healthz")).await {
            Ok(reply) => (
                reply.status().as_u16(),
                reply.text().await.unwrap_or_default(),
            ),
            Err(e) => (0, e.to_string()),
        };
        if reply.0 == 200 && reply.1.contains("\"ok\"") {
            break;
        }
        assert!(
            reply.0 == 0 || (reply.0 == 200 && reply.1.contains("degraded")),
            "{reply:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the daemon never became healthy on {addr}: {reply:?}\n{}",
            orch.log("daemon.log")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = scrape(&addr).await;
    assert_eq!(value(&before, "orch_runs_total", &[]), None);
    assert_eq!(value(&before, "orch_queue_depth", &[]), Some(0.0));
    assert!(value(&before, "orch_build_info", &[]).is_some());
    assert!(value(&before, "orch_db_pool_max_connections", &[]).unwrap() >= 1.0);

    let store = orch.store().await;
    let good = queue(&store, &file_source()).await;
    let bad = queue(&store, "file:///no/such/posts.json").await;
    let good_run = ended(&store, good, Duration::from_secs(60)).await;
    let bad_run = ended(&store, bad, Duration::from_secs(60)).await;
    assert_eq!(
        good_run.status,
        RunStatus::Success,
        "{}",
        orch.log("daemon.log")
    );
    assert_eq!(bad_run.status, RunStatus::Failure);

    // The observer reads ended runs once a second.
    let job = [("job", JOB)];
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = scrape(&addr).await;
        let failed = value(
            &after,
            "orch_runs_total",
            &[("job", JOB), ("status", "FAILURE")],
        );
        let succeeded = value(
            &after,
            "orch_runs_total",
            &[("job", JOB), ("status", "SUCCESS")],
        );
        if failed == Some(1.0) && succeeded == Some(1.0) {
            break after;
        }
        assert!(
            Instant::now() < deadline,
            "orch_runs_total never counted both runs: {succeeded:?} {failed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(value(&after, "orch_queue_depth", &[]), Some(0.0));
    assert_eq!(
        value(&after, "orch_runs_in_progress", &[("status", "STARTED")]),
        Some(0.0)
    );
    assert_eq!(
        value(&after, "orch_launch_latency_seconds", &job),
        Some(2.0)
    );
    for step in STEPS {
        let labels = [("job", JOB), ("step", step), ("outcome", "success")];
        assert_eq!(
            value(&after, "orch_step_duration_seconds", &labels),
            Some(1.0),
            "{step}"
        );
    }
    let failed_fetch = [("job", JOB), ("step", "fetch_data"), ("outcome", "failure")];
    assert_eq!(
        value(&after, "orch_step_duration_seconds", &failed_fetch),
        Some(1.0)
    );
    daemon.kill().await.unwrap();
    db.drop_database().await;
}
