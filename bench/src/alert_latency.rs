//! Alert benchmarks against a running `orch daemon` whose `ALERT_WEBHOOK_URL` points at the
//! Slack stand-in this program serves (see `bench/alerts.sh`). Runs fail the way a worker fails
//! them (STARTED, then FAILURE with a `STEP_FAILURE` in the same commit); the latency of a run is
//! from its `ended_at` in the store to the arrival at the stand-in of the message naming it.
//!
//! Usage:
//!   alert-latency <database-url> <listen-addr> latency <runs> <interval>   spaced failures
//!   alert-latency <database-url> <listen-addr> burst <runs>                all at once

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use axum::Router;
use axum::routing::post;
use chrono::{DateTime, Utc};
use orchestrator::domain::{AssetKey, EventKind, JobName, NewEvent, NewRun, RunId, RunStatus};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use serde_json::json;

const JOB: &str = "product_pipeline_job";

/// What the stand-in saw: per run id, when the message naming it arrived; and how many messages.
#[derive(Debug, Default)]
struct Seen {
    at: HashMap<String, DateTime<Utc>>,
    messages: usize,
    duplicates: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: alert-latency <database-url> <listen-addr> latency <runs> <interval> | burst <runs>";
    let [url, addr, mode, rest @ ..] = args.as_slice() else {
        bail!(usage)
    };
    let options = StoreOptions {
        max_connections: 8,
        migrate: false,
    };
    let store = storage::connect(url, &options).await?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    serve(addr, seen.clone()).await?;
    match (mode.as_str(), rest) {
        ("latency", [n, interval]) => {
            let interval = humantime::parse_duration(interval)?;
            latency(&store, &seen, n.parse()?, interval).await
        }
        ("burst", [n]) => burst(&store, &seen, n.parse()?).await,
        _ => bail!(usage),
    }
}

/// The Slack stand-in: records the run ids each message links to, answers `200 ok`.
async fn serve(addr: &str, seen: Arc<Mutex<Seen>>) -> anyhow::Result<()> {
    let app = Router::new().route(
        "/services/{*path}",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                let now = Utc::now();
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.messages += 1;
                // A single alert links its run twice (the id and the button): count runs once
                // per message, and a run in two messages as a duplicate.
                let ids: std::collections::BTreeSet<String> = body
                    .split("/runs/")
                    .skip(1)
                    .map(|part| part.chars().take(36).collect())
                    .collect();
                for id in ids {
                    if seen.at.insert(id, now).is_some() {
                        seen.duplicates += 1;
                    }
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}

/// Fails a new run of the job in one step, as a worker would; returns its id and end time.
async fn fail_one(store: &Arc<dyn RunStorage>, n: usize) -> anyhow::Result<(RunId, DateTime<Utc>)> {
    let new = NewRun::in_process(JobName::parse(JOB)?, json!({}), Default::default());
    let run = store.create_run(&new).await?;
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await?;
    let failure = NewEvent {
        timestamp: Utc::now(),
        step: Some(AssetKey::parse("fetch_data")?),
        kind: EventKind::StepFailure {
            error: format!("GET http://bench/posts returned 503 (run {n})"),
            attempt: 3,
        },
    };
    let ended = store
        .transition_run_with_events(
            run.id,
            RunStatus::Failure,
            Some("step fetch_data failed"),
            &[failure],
        )
        .await?;
    Ok((run.id, ended.ended_at.unwrap_or_else(Utc::now)))
}

/// Waits until the stand-in saw every run of `ended`; returns when the last arrived.
async fn wait_all(
    seen: &Arc<Mutex<Seen>>,
    ended: &[(RunId, DateTime<Utc>)],
) -> anyhow::Result<DateTime<Utc>> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        {
            let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            let arrivals: Option<Vec<DateTime<Utc>>> = ended
                .iter()
                .map(|(id, _)| seen.at.get(&id.to_string()).copied())
                .collect();
            if let Some(arrivals) = arrivals {
                return Ok(arrivals.into_iter().max().unwrap_or_else(Utc::now));
            }
        }
        if Instant::now() > deadline {
            bail!("not every failure reached the stand-in within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ms(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn latency(
    store: &Arc<dyn RunStorage>,
    seen: &Arc<Mutex<Seen>>,
    n: usize,
    interval: Duration,
) -> anyhow::Result<()> {
    let mut ended = Vec::with_capacity(n);
    for i in 0..n {
        ended.push(fail_one(store, i).await?);
        tokio::time::sleep(interval).await;
    }
    wait_all(seen, &ended).await?;
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let mut latencies: Vec<f64> = ended
        .iter()
        .map(|(id, at)| ms(seen.at[&id.to_string()] - *at))
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "failure → Slack, {n} failures every {}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {} messages, {} duplicates",
        humantime::format_duration(interval),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(0.0),
        seen.messages,
        seen.duplicates
    );
    Ok(())
}

async fn burst(
    store: &Arc<dyn RunStorage>,
    seen: &Arc<Mutex<Seen>>,
    n: usize,
) -> anyhow::Result<()> {
    let start = Utc::now();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ended = Vec::new();
            for i in (worker..n).step_by(4) {
                ended.push(fail_one(&store, i).await?);
            }
            anyhow::Ok(ended)
        }));
    }
    let mut ended = Vec::with_capacity(n);
    for task in tasks {
        ended.extend(task.await??);
    }
    let failed_by = Utc::now();
    let last = wait_all(seen, &ended).await?;
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "burst of {n} failures: all failed in {:.1} s; last alert {:.1} s after the first failure; {} messages, {} duplicates",
        ms(failed_by - start) / 1000.0,
        ms(last - start) / 1000.0,
        seen.messages,
        seen.duplicates
    );
    Ok(())
}
