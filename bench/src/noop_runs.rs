//! Orchestration overhead: runs a 3-asset no-op job (`a` → `b` → `c`) N times, one after the
//! other, in one process, and prints runs per second. Every run does what a real run does —
//! create, STARTED, 3 steps with their events and persisted outputs, SUCCESS — so the figure is
//! the cost of orch itself. Usage: `noop-runs <database-url> [runs] [io-dir]`; step outputs go
//! to a temporary directory under `io-dir` (default: the system temp directory).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, JobDef};
use orchestrator::domain::{JobName, NewRun, RunStatus, Tags};
use orchestrator::storage::{self, StoreOptions};
use serde_json::{Map, json};
use worker::object_store::LocalStore;
use worker::{IoManager, Worker};

fn noop(key: &str, upstream: &[&str]) -> anyhow::Result<AssetDef> {
    Ok(AssetDef::builder(key)
        .upstream(upstream)
        .compute(|_| async { Ok(AssetOutput::new(json!(null))) })?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: noop-runs <database-url> [runs]")?;
    let runs: u32 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1000);
    let io_root = args
        .next()
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let store = storage::connect(&url, &StoreOptions::default()).await?;
    let job = JobDef::new(
        "noop3",
        "three no-op assets in a chain",
        vec![noop("a", &[])?, noop("b", &["a"])?, noop("c", &["b"])?],
        Map::new(),
    )?;
    let dir = tempfile::tempdir_in(io_root)?;
    let io = IoManager::new(Arc::new(LocalStore::new(dir.path())));
    let worker = Worker::new(store.clone(), Arc::new(Definitions::new(vec![job])?), io);
    let name = JobName::parse("noop3")?;

    // Warm up connections and caches.
    for _ in 0..20 {
        let run = store
            .create_run(&NewRun::in_process(name.clone(), json!({}), Tags::new()))
            .await?;
        worker.execute(run.id, None).await?;
    }
    let started = Instant::now();
    for _ in 0..runs {
        let run = store
            .create_run(&NewRun::in_process(name.clone(), json!({}), Tags::new()))
            .await?;
        let run = worker.execute(run.id, None).await?;
        anyhow::ensure!(
            run.status == RunStatus::Success,
            "run {} ended {}",
            run.id,
            run.status
        );
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{runs} runs in {secs:.2} s: {:.0} runs/s, {:.2} ms per run",
        f64::from(runs) / secs,
        secs * 1000.0 / f64::from(runs)
    );
    Ok(())
}
