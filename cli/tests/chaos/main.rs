//! The chaos suite (issue 14): real `orch daemon`, `orch worker` and `orch web` processes on a
//! PostgreSQL cluster of each test's own (test-support's `PgCluster`, so it can be restarted
//! without touching anyone's server), with test-support's `FaultProxy` where a connection must
//! be cut. Faults: daemons killed -9 at chosen moments while 200 runs flow through two
//! replicas (`daemon_kill`), PostgreSQL restarted `fast` and `immediate` under load
//! (`postgres_restart`), a 10 s cut between the workers and PostgreSQL mid-step (`worker_cut`), a
//! worker SIGKILLed (`worker_kill`, with its one Slack alert), the daemon and web through a cut
//! database (`outage`), and the alert outbox across a daemon kill and a Slack outage (`alerts`).
//! After each, [`assert_sound`] holds the invariants: every run ended, none started twice (one
//! `RUN_START`), none failed for a reason of orch's own, every event log complete and in order.
//!
//! Each test prints what it measured (`chaos: …` lines); RELIABILITY.md keeps the figures.
//! Needs PostgreSQL's binaries (`scripts/test-services.sh` installs them).

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../e2e/support/mod.rs"]
mod support;

mod alerts;
mod daemon_kill;
mod outage;
mod postgres_restart;
mod worker_cut;
mod worker_kill;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use orch_test_support::pg_cluster::PgCluster;
use orchestrator::domain::{EventKind, EventRecord, Run, RunId, RunStatus};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use support::*;

/// The sample posts, read from a file: runs of `product_pipeline_job` that take well under a
/// second, so hundreds of them flow through in a CI-sized time.
fn file_source() -> String {
    format!(
        "file://{}/../pipelines/samples/posts.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A PostgreSQL cluster of the test's own with the `orch` database, migrated.
struct Cluster {
    pg: PgCluster,
    url: String,
    store: Arc<dyn RunStorage>,
}

impl Cluster {
    async fn start() -> Self {
        init();
        let pg = PgCluster::start().await.unwrap();
        pg.create_database("orch").await.unwrap();
        let url = pg.url("orch");
        let store = open(&url).await;
        Self { pg, url, store }
    }

    /// An `orch` on this cluster (DATABASE_URL), quick to monitor, logging at info.
    fn orch(&self, max_concurrent: u32) -> Orch {
        Orch::local()
            .env("DATABASE_URL", self.url.clone())
            .env("ORCH_LOG", "info,sqlx=warn")
            .env("ORCH_DB_MAX_CONNECTIONS", "4")
            .env("ORCH_MAX_CONCURRENT_RUNS", max_concurrent.to_string())
            .env("ORCH_MONITOR_INTERVAL", "200ms")
            .env("ORCH_HEARTBEAT_INTERVAL", "1s")
    }

    /// A raw connection pool, for what the store's interface does not say (who claimed what).
    async fn pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

/// The store at `url`, migrated; waits while the server restarts.
async fn open(url: &str) -> Arc<dyn RunStorage> {
    let options = StoreOptions {
        max_connections: 4,
        migrate: true,
    };
    storage::until_reachable(|| storage::connect(url, &options))
        .await
        .unwrap()
}

/// Queues `n` runs of the job reading `source`.
async fn queue(store: &Arc<dyn RunStorage>, n: usize, source: &str) -> Vec<RunId> {
    queue_runs(store, n, source).await
}

/// Every event of a run, oldest first.
async fn events(store: &Arc<dyn RunStorage>, id: RunId) -> Vec<EventRecord> {
    storage::until_reachable(|| store.list_events(id, None, 10_000))
        .await
        .unwrap()
}

use orch_test_support::runs::end_message;

/// The invariants every scenario ends with: every run of `ids` ended within `within`; each
/// SUCCESS but those in `failed_on_purpose` (whose failure the test caused); one `RUN_START`
/// each; and a complete event log in order: claimed, started, each step's start before its
/// success in dependency order, the run's end last, ids increasing.
async fn assert_sound(
    store: &Arc<dyn RunStorage>,
    ids: &[RunId],
    within: Duration,
    failed_on_purpose: &[RunId],
    logs: &[&Orch],
) -> Vec<Run> {
    let runs = orch_test_support::wait::runs_ended(store.as_ref(), ids, within).await;
    let daemon_logs = || {
        logs.iter()
            .map(|o| o.log("daemon.log"))
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    for run in &runs {
        let events = events(store, run.id).await;
        let purposeful = failed_on_purpose.contains(&run.id);
        assert!(
            run.status == RunStatus::Success || purposeful,
            "run {} ended {}: {}\n{}",
            run.id,
            run.status,
            end_message(&events),
            daemon_logs()
        );
        assert!(
            events.windows(2).all(|w| w[0].id < w[1].id),
            "run {}: event ids do not increase",
            run.id
        );
        // A batch stored twice shows as the same event (instant, step, kind) twice.
        let mut distinct = std::collections::HashSet::new();
        for e in &events {
            let event = format!("{} {:?} {:?}", e.timestamp, e.step, e.kind);
            assert!(
                distinct.insert(event),
                "run {}: event {} doubled",
                run.id,
                e.id
            );
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for e in &events {
            *counts.entry(e.kind.type_name()).or_default() += 1;
        }
        assert_eq!(
            counts.get("RUN_START"),
            Some(&1),
            "run {}: {counts:?}",
            run.id
        );
        assert_eq!(
            counts.get("RUN_STARTING"),
            Some(&1),
            "run {}: {counts:?}",
            run.id
        );
        if purposeful {
            continue;
        }
        // Claimed, started, then each step's start and success in dependency order, then the end.
        let mut expected = vec!["RUN_STARTING".to_owned(), "RUN_START".to_owned()];
        for step in STEPS {
            expected.push(format!("STEP_START {step}"));
            expected.push(format!("STEP_SUCCESS {step}"));
        }
        expected.push("RUN_SUCCESS".to_owned());
        let milestones: Vec<String> = events
            .iter()
            .filter_map(|e| {
                let name = e.kind.type_name();
                match (&e.kind, &e.step) {
                    (EventKind::StepStart { .. } | EventKind::StepSuccess { .. }, Some(step)) => {
                        Some(format!("{name} {step}"))
                    }
                    (EventKind::RunStarting | EventKind::RunStart | EventKind::RunSuccess, _) => {
                        Some(name.to_owned())
                    }
                    _ => None,
                }
            })
            .collect();
        assert_eq!(milestones, expected, "run {}: incomplete event log", run.id);
    }
    runs
}

/// Sends `signal` (`KILL`, `STOP`, `CONT`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The `p`-th percentile (0–100) of `values`, nearest rank.
fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
