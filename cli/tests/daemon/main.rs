//! The daemon end to end: `orch daemon` processes (two at once where it matters) on a real
//! PostgreSQL database, launching real `orch worker` processes of `product_pipeline_job`;
//! `orch dev` and `orch launch --wait` on the embedded default. Kills, restarts and cuts are the
//! chaos suite's (`cli/tests/chaos`).
//!
//! Needs the test services: `eval "$(scripts/test-services.sh)"`.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../e2e/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator::domain::{EventKind, Run, RunId, RunStatus};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use serde_json::json;
use support::*;

async fn open(db: &TestDb) -> Arc<dyn RunStorage> {
    let options = StoreOptions {
        max_connections: 4,
        migrate: true,
    };
    storage::connect(&db.url, &options).await.unwrap()
}

/// A daemon's environment on `db`: quick monitoring, logs at info for post-mortems.
fn daemon_on(db: &TestDb, max_concurrent: u32) -> Orch {
    Orch::local()
        .on_postgres(db)
        .env("ORCH_LOG", "info")
        .env("ORCH_MAX_CONCURRENT_RUNS", max_concurrent.to_string())
        .env("ORCH_MONITOR_INTERVAL", "200ms")
}

async fn queue(store: &Arc<dyn RunStorage>, n: usize, source: &str) -> Vec<RunId> {
    queue_runs(store, n, source).await
}

/// Waits until every run is finished (test-support's one wait); panics with the stragglers.
async fn all_ended(store: &Arc<dyn RunStorage>, ids: &[RunId], within: Duration) -> Vec<Run> {
    orch_test_support::wait::runs_ended(store.as_ref(), ids, within).await
}

/// How many events of each type the run has.
async fn counts(store: &Arc<dyn RunStorage>, id: RunId) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for e in store.list_events(id, None, 0).await.unwrap() {
        *counts.entry(e.kind.type_name()).or_default() += 1;
    }
    counts
}

/// Asserts each run was claimed once and started once: no run was launched twice.
async fn assert_launched_once(store: &Arc<dyn RunStorage>, ids: &[RunId]) {
    for id in ids {
        let c = counts(store, *id).await;
        assert_eq!(c.get("RUN_STARTING"), Some(&1), "run {id}: {c:?}");
        assert!(
            c.get("RUN_START").copied().unwrap_or(0) <= 1,
            "run {id}: {c:?}"
        );
    }
}

fn assert_all_success(runs: &[Run], daemons: &[&Orch]) {
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| r.status != RunStatus::Success)
        .map(|r| format!("{} {}", r.id, r.status))
        .collect();
    assert!(
        failed.is_empty(),
        "not all SUCCESS: {failed:?}\n{}",
        daemons
            .iter()
            .map(|d| d.log("daemon.log"))
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_run_200_queued_runs_each_once_never_more_than_4_at_a_time() {
    init();
    let db = TestDb::create().await;
    let store = open(&db).await;
    let (a, b) = (daemon_on(&db, 4), daemon_on(&db, 4));
    let mut da = a.spawn(&["daemon"], "daemon.log");
    let mut db_ = b.spawn(&["daemon"], "daemon.log");
    let ids = queue(&store, 200, &file_source()).await;
    let runs = all_ended(&store, &ids, Duration::from_secs(240)).await;
    assert_all_success(&runs, &[&a, &b]);
    assert_launched_once(&store, &ids).await;
    // From the event log: the most runs between RUN_START and their end at any instant.
    let mut edges = Vec::new();
    for id in &ids {
        for e in store.list_events(*id, None, 0).await.unwrap() {
            match e.kind {
                EventKind::RunStart => edges.push((e.timestamp, 1)),
                EventKind::RunSuccess | EventKind::RunFailure { .. } => {
                    edges.push((e.timestamp, -1))
                }
                _ => {}
            }
        }
    }
    edges.sort();
    let (mut now, mut peak) = (0, 0);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    assert!(peak <= 4, "{peak} runs STARTED at once with a limit of 4");
    assert!(
        peak >= 2,
        "runs never overlapped (peak {peak}): the limit was not exercised"
    );
    da.kill().await.unwrap();
    db_.kill().await.unwrap();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orch_dev_runs_what_orch_launch_and_its_api_queue_on_the_embedded_default() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local()
        .env("ORCH_LOG", "info")
        .env("ORCH_WEB_ADDR", "127.0.0.1:0");
    orch.run(&["migrate"]).await.assert_exit(0);
    let mut dev = orch.spawn(&["dev"], "daemon.log");
    let source = format!("source_url={}", file_source());
    let waited = orch
        .run(&["launch", JOB, "--config", &source, "--wait"])
        .await;
    waited
        .assert_exit(0)
        .assert_says(&["fetch_data", "store_to_s3", "SUCCESS"]);
    let last = waited.stdout.lines().last().unwrap();
    assert!(
        RunId::parse(last).is_ok(),
        "last line is not a run id: {last:?}"
    );
    // Without --wait: the id alone; the run fails on its own, in the daemon.
    let bad = format!("source_url={}", upstream.url(Route::ServerError));
    let queued = orch.run(&["launch", JOB, "--config", &bad]).await;
    queued.assert_exit(0);
    let id = queued.stdout.trim();
    assert_eq!(queued.stdout.lines().count(), 1, "{queued}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = orch.show(id).await;
        if run["status"] == "FAILURE" {
            break;
        }
        assert!(Instant::now() < deadline, "never failed: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Bad input creates nothing.
    orch.run(&["launch", "no_such_job"])
        .await
        .assert_exit(2)
        .assert_says(&["unknown job 'no_such_job'"]);
    orch.run(&["launch", JOB, "--config", "no_such_key=1"])
        .await
        .assert_exit(2);
    assert_eq!(orch.list_ids(&[]).await.len(), 2);

    // The same process serves the API: a launch through it runs at once (in-process wake-up).
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let log = orch.log("daemon.log");
        if let Some(rest) = log.split("orch dev: http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "orch dev never listened:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let launched: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/jobs/{JOB}/launch"))
        .json(&json!({"config": {"source_url": file_source()}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = RunId::parse(launched["id"].as_str().unwrap()).unwrap();
    let store = orch.store().await;
    let ended = all_ended(&store, &[id], Duration::from_secs(30)).await;
    assert_all_success(&ended, &[&orch]);
    dev.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_tick_an_every_second_schedule_60_times_with_one_run_per_tick() {
    init();
    let db = TestDb::create().await;
    let store = open(&db).await;
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("orch.toml");
    std::fs::write(
        &config,
        format!(
            "[schedules.every_second]\njob = \"{JOB}\"\ncron = \"* * * * * *\"\n\
             config = {{ source_url = \"{}\" }}\n",
            file_source()
        ),
    )
    .unwrap();
    let daemon = |_| daemon_on(&db, 10).env("ORCH_CONFIG", config.display().to_string());
    let (a, b) = (daemon(0), daemon(1));
    let mut da = a.spawn(&["daemon"], "daemon.log");
    let mut db_ = b.spawn(&["daemon"], "daemon.log");
    // Until 60 ticks have runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    let tag = orchestrator::domain::TagKey::parse("schedule").unwrap();
    let filter = |before| orchestrator::domain::RunFilter {
        tag: Some((tag.clone(), "every_second".into())),
        before,
        limit: 1000,
        ..Default::default()
    };
    while store.list_runs(&filter(None)).await.unwrap().len() < 60 {
        assert!(
            Instant::now() < deadline,
            "60 ticks never came\n{}",
            a.log("daemon.log")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    da.kill().await.unwrap();
    db_.kill().await.unwrap();
    let runs = store.list_runs(&filter(None)).await.unwrap();
    let tick = orchestrator::domain::TagKey::parse("tick").unwrap();
    let mut ticks: Vec<chrono::DateTime<chrono::Utc>> = runs
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(&r.tags[&tick])
                .unwrap()
                .with_timezone(&chrono::Utc)
        })
        .collect();
    ticks.sort();
    let distinct: std::collections::BTreeSet<_> = ticks.iter().collect();
    assert_eq!(
        distinct.len(),
        runs.len(),
        "a tick launched twice: {ticks:?}"
    );
    // One run per second from the first tick to the last, none missing.
    let span = (*ticks.last().unwrap() - ticks[0]).num_seconds() + 1;
    assert_eq!(span as usize, runs.len(), "a tick was missed: {ticks:?}");
    assert!(runs.len() >= 60);
    // And the runs themselves complete (the workers outlive the killed daemons).
    let ids: Vec<RunId> = runs.iter().map(|r| r.id).collect();
    let third = daemon_on(&db, 10);
    let mut dc = third.spawn(&["daemon"], "daemon.log");
    let ended = all_ended(&store, &ids, Duration::from_secs(120)).await;
    assert_all_success(&ended, &[&a, &b, &third]);
    assert_launched_once(&store, &ids).await;
    dc.kill().await.unwrap();
    db.drop_database().await;
}
