//! Issue 15's scale figures: N assets (jobs of 50, each asset after the one 5 before it), each
//! with a freshness
//! policy (max lag 7 h, warning at 6 h) and each materialized once, in a store at `<database-url>`
//! (a `sqlite://…?mode=rwc` file or PostgreSQL). Times, in process:
//!  1. the freshness evaluator's passes: the first (N FRESH changes recorded), steady passes
//!     (nothing changes: the criterion, ≤ 100 ms), and the pass 8 h later (N OVERDUE changes);
//!  2. asset health of every asset (`orchestrator::assets::asset_health`), and the catalog page
//!     with health (`GET /assets`) and `GET /api/v1/asset-health` through the real router,
//!     sequential requests, p50/p99.
//!
//! Usage: `asset-scale <database-url> [assets] [requests]` (default 10000, 100). The database
//! should be empty (a fresh file or database).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::Request;
use chrono::{TimeDelta, Utc};
use orchestrator::daemon::FreshnessEvaluator;
use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, FreshnessPolicy, JobDef};
use orchestrator::domain::{AssetKey, EventKind, JobName, NewEvent, NewRun, RunStatus};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use serde_json::{Map, json};
use tower::ServiceExt;

const PER_JOB: usize = 50;

fn key(i: usize) -> String {
    format!("j{}_a{}", i / PER_JOB, i % PER_JOB)
}

fn definitions(n: usize) -> anyhow::Result<Definitions> {
    let policy = FreshnessPolicy::max_lag(
        Duration::from_secs(7 * 3600),
        Some(Duration::from_secs(6 * 3600)),
    )?;
    let mut jobs = Vec::new();
    for j in 0..n.div_ceil(PER_JOB) {
        let mut assets = Vec::with_capacity(PER_JOB);
        for i in j * PER_JOB..n.min((j + 1) * PER_JOB) {
            let mut builder = AssetDef::builder(&key(i)).freshness(policy.clone());
            let up = key(i.saturating_sub(5));
            if i % PER_JOB >= 5 {
                builder = builder.upstream(&[up.as_str()]);
            }
            assets.push(builder.compute(|_| async { Ok(AssetOutput::default()) })?);
        }
        jobs.push(JobDef::new(
            &format!("job{j}"),
            "generated",
            assets,
            Map::new(),
        )?);
    }
    Ok(Definitions::new(jobs)?)
}

async fn materialize_all(store: &dyn RunStorage, n: usize) -> anyhow::Result<()> {
    let run = store
        .create_run(&NewRun::in_process(
            JobName::parse("job0")?,
            json!({}),
            Default::default(),
        ))
        .await?;
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await?;
    let keys: Vec<AssetKey> = (0..n)
        .map(|i| AssetKey::parse(&key(i)))
        .collect::<Result<_, _>>()?;
    for chunk in keys.chunks(2_000) {
        let events: Vec<NewEvent> = chunk
            .iter()
            .map(|key| {
                NewEvent::step(
                    key,
                    EventKind::AssetMaterialization {
                        asset_key: key.clone(),
                        metadata: Default::default(),
                    },
                )
            })
            .collect();
        store.append_events(run.id, &events).await?;
    }
    store
        .transition_run(run.id, RunStatus::Success, None)
        .await?;
    Ok(())
}

fn quantiles(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:.1} ms, p99 {:.1} ms, max {:.1} ms over {}",
        at(0.5),
        at(0.99),
        at(1.0),
        ms.len()
    )
}

async fn get(router: &axum::Router, uri: &str) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let reply = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty())?)
        .await?;
    let status = reply.status();
    let body = axum::body::to_bytes(reply.into_body(), usize::MAX).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        bail!("GET {uri}: {status}");
    }
    Ok((ms, body.len()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = args.first() else {
        bail!("usage: asset-scale <database-url> [assets] [requests]")
    };
    let n: usize = args.get(1).map_or(Ok(10_000), |s| s.parse())?;
    let requests: usize = args.get(2).map_or(Ok(100), |s| s.parse())?;
    let store = storage::connect(
        url,
        &StoreOptions {
            max_connections: 8,
            migrate: true,
        },
    )
    .await
    .context("opening the store")?;
    let started = Instant::now();
    let defs = Arc::new(definitions(n)?);
    println!(
        "definitions of {n} assets with freshness policies: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    materialize_all(store.as_ref(), n).await?;
    println!(
        "materialized {n} assets: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let evaluator = FreshnessEvaluator::new(store.clone(), &defs);
    let now = Utc::now();
    let timed = async |at| -> anyhow::Result<(f64, usize)> {
        let started = Instant::now();
        let pass = evaluator.tick_once(at).await?;
        Ok((started.elapsed().as_secs_f64() * 1000.0, pass.changed.len()))
    };
    let (ms, changed) = timed(now).await?;
    println!("freshness, first pass: {ms:.0} ms, {changed} changes recorded (FRESH)");
    let mut steady = Vec::new();
    for i in 0..20 {
        let (ms, changed) = timed(now + TimeDelta::seconds(i)).await?;
        if changed != 0 {
            bail!("a steady pass changed {changed} assets");
        }
        steady.push(ms);
    }
    println!(
        "freshness, steady pass ({n} assets judged, nothing changes): {}",
        quantiles(steady)
    );
    let (ms, changed) = timed(now + TimeDelta::hours(8)).await?;
    println!("freshness, pass 8 h later: {ms:.0} ms, {changed} changes recorded (OVERDUE)");

    let mut health = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let all = orchestrator::assets::asset_health(store.as_ref(), &defs).await?;
        health.push(started.elapsed().as_secs_f64() * 1000.0);
        if all.len() != n {
            bail!("health of {} assets, not {n}", all.len());
        }
    }
    println!(
        "asset_health of {n} assets (3 reads + judging): {}",
        quantiles(health)
    );

    let router = web::router(web::AppState::new(store.clone(), defs, Vec::new()));
    for uri in ["/assets", "/api/v1/asset-health"] {
        let mut ms = Vec::with_capacity(requests);
        let mut bytes = 0;
        for _ in 0..requests {
            let (t, len) = get(&router, uri).await?;
            ms.push(t);
            bytes = len;
        }
        println!("GET {uri} ({n} assets, {bytes} bytes): {}", quantiles(ms));
    }
    Ok(())
}
