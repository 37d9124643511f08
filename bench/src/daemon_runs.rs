//! Daemon benchmarks, against a running `orch daemon` on the same database (see
//! `bench/daemon.sh`). Runs are queued the way `orch launch` queues them, and every figure is
//! read back from the event log, so it is what the store recorded, not what this process saw.
//!
//! Usage:
//!   daemon-runs <database-url> latency <runs> <source-url>   launch → STARTED, one at a time
//!   daemon-runs <database-url> burst <runs> <source-url>     runs/min and peak concurrency
//!   daemon-runs <database-url> ticks                         schedule tick → run created

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use orchestrator::domain::{EventKind, JobName, NewRun, Run, RunFilter, RunId, TagKey, Tags};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use serde_json::json;

const JOB: &str = "product_pipeline_job";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: daemon-runs <database-url> latency|burst <runs> <source-url> | ticks";
    let (url, mode) = match args.as_slice() {
        [url, mode, ..] => (url, mode.as_str()),
        _ => bail!(usage),
    };
    let options = StoreOptions {
        max_connections: 4,
        migrate: false,
    };
    let store = storage::connect(url, &options).await?;
    match (mode, args.get(2), args.get(3)) {
        ("latency", Some(n), Some(source)) => latency(&store, n.parse()?, source).await,
        ("burst", Some(n), Some(source)) => burst(&store, n.parse()?, source).await,
        ("ticks", _, _) => ticks(&store).await,
        _ => bail!(usage),
    }
}

async fn queue(store: &Arc<dyn RunStorage>, source: &str) -> anyhow::Result<RunId> {
    let run = NewRun::queued(
        JobName::parse(JOB)?,
        json!({ "source_url": source }),
        Tags::new(),
    );
    Ok(store.create_run(&run).await?.id)
}

async fn wait_ended(store: &Arc<dyn RunStorage>, id: RunId) -> anyhow::Result<Run> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = store.get_run(id).await?;
        if run.status.is_terminal() {
            return Ok(run);
        }
        if Instant::now() > deadline {
            bail!("run {id} did not end within 120 s (status {})", run.status);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The time of the first event of `kind_name` in the run's log.
async fn event_time(
    store: &Arc<dyn RunStorage>,
    id: RunId,
    kind_name: &str,
) -> anyhow::Result<DateTime<Utc>> {
    let events = store.list_events(id, None, 0).await?;
    events
        .iter()
        .find(|e| e.kind.type_name() == kind_name)
        .map(|e| e.timestamp)
        .with_context(|| format!("run {id} has no {kind_name} event"))
}

fn ms(d: chrono::Duration) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn report(label: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label}: n={} p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        values.len(),
        percentile(&values, 0.50),
        percentile(&values, 0.90),
        percentile(&values, 0.99),
        values.last().copied().unwrap_or_default()
    );
}

/// One run at a time, so each launch meets an idle daemon: RUN_ENQUEUED → RUN_START.
async fn latency(store: &Arc<dyn RunStorage>, runs: usize, source: &str) -> anyhow::Result<()> {
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = queue(store, source).await?;
        let run = wait_ended(store, id).await?;
        if run.status != orchestrator::domain::RunStatus::Success {
            bail!("run {id} ended {}", run.status);
        }
        let queued = event_time(store, id, "RUN_ENQUEUED").await?;
        let started = event_time(store, id, "RUN_START").await?;
        latencies.push(ms(started - queued));
    }
    report("launch → STARTED", latencies);
    Ok(())
}

/// All runs queued at once; throughput from the first enqueue to the last end, and the most
/// runs STARTED at any instant according to the event log.
async fn burst(store: &Arc<dyn RunStorage>, runs: usize, source: &str) -> anyhow::Result<()> {
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        ids.push(queue(store, source).await?);
    }
    let mut first = None;
    let mut last = None;
    let mut edges = Vec::new();
    let mut failed = 0;
    for &id in &ids {
        let run = wait_ended(store, id).await?;
        if run.status != orchestrator::domain::RunStatus::Success {
            failed += 1;
        }
        first = first.min(Some(run.created_at)).or(Some(run.created_at));
        last = last.max(run.ended_at);
        for e in store.list_events(id, None, 0).await? {
            match e.kind {
                EventKind::RunStart => edges.push((e.timestamp, 1)),
                EventKind::RunSuccess
                | EventKind::RunFailure { .. }
                | EventKind::RunCanceled { .. } => edges.push((e.timestamp, -1)),
                _ => {}
            }
        }
    }
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    let span = ms(last.context("no run ended")? - first.context("no run")?) / 1000.0;
    println!(
        "burst: {runs} runs ({failed} not SUCCESS) in {span:.2} s = {:.0} runs/min, at most {peak} STARTED at once",
        runs as f64 / span * 60.0
    );
    Ok(())
}

/// Schedule runs: tick time (tag `tick`) → run created.
async fn ticks(store: &Arc<dyn RunStorage>) -> anyhow::Result<()> {
    let tick = TagKey::parse("tick")?;
    let runs = store
        .list_runs(&RunFilter {
            limit: RunFilter::MAX_LIMIT,
            ..RunFilter::default()
        })
        .await?;
    let lateness: Vec<f64> = runs
        .iter()
        .filter_map(|r| {
            let at = DateTime::parse_from_rfc3339(r.tags.get(&tick)?).ok()?;
            Some(ms(r.created_at - at.with_timezone(&Utc)))
        })
        .collect();
    if lateness.is_empty() {
        bail!("no run carries a tick tag");
    }
    report("tick → run created", lateness);
    Ok(())
}
