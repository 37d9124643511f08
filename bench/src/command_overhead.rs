//! Command-asset overhead: the same job run with Rust no-op assets and with `true` commands, in
//! one process on one store, so the difference is what running an asset as a child process
//! costs (its files, spawn, Pipes messages file, stream capture, wait). Two shapes:
//! `chain` (`a` → `b` → `c`, the 3-step job) and `wide` (N assets in layers of 50, each
//! depending on one asset of the layer above: a wide, deep DAG).
//! Usage: `command-overhead <database-url> [chain|wide] [runs|assets]`.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use orchestrator::definitions::{AssetDef, AssetOutput, CommandSpec, Definitions, JobDef};
use orchestrator::domain::{JobName, NewRun, RunStatus, Tags};
use orchestrator::storage::{self, RunStorage, StoreOptions};
use serde_json::{Map, json};
use worker::object_store::LocalStore;
use worker::{IoManager, Worker};

#[derive(Clone, Copy)]
enum Kind {
    Rust,
    Command,
}

fn asset(kind: Kind, key: &str, upstream: &[&str]) -> anyhow::Result<AssetDef> {
    Ok(match kind {
        Kind::Rust => AssetDef::builder(key)
            .upstream(upstream)
            .compute(|_| async { Ok(AssetOutput::new(json!(null))) })?,
        Kind::Command => AssetDef::command(key)
            .upstream(upstream)
            .command(CommandSpec::new(["true"]))?,
    })
}

fn chain(kind: Kind) -> anyhow::Result<Vec<AssetDef>> {
    Ok(vec![
        asset(kind, "a", &[])?,
        asset(kind, "b", &["a"])?,
        asset(kind, "c", &["b"])?,
    ])
}

/// `n` assets in layers of 50; asset i of a layer depends on asset i of the layer above.
fn wide(kind: Kind, n: usize) -> anyhow::Result<Vec<AssetDef>> {
    const WIDTH: usize = 50;
    (0..n)
        .map(|i| {
            let key = format!("a{i}");
            let upstream = (i >= WIDTH).then(|| format!("a{}", i - WIDTH));
            let upstream: Vec<&str> = upstream.iter().map(String::as_str).collect();
            asset(kind, &key, &upstream)
        })
        .collect()
}

async fn time_runs(
    store: &Arc<dyn RunStorage>,
    assets: Vec<AssetDef>,
    runs: u32,
    warmup: u32,
) -> anyhow::Result<f64> {
    let job = JobDef::new("bench", "", assets, Map::new())?;
    let dir = tempfile::tempdir()?;
    let io = IoManager::new(Arc::new(LocalStore::new(dir.path())));
    let worker = Worker::new(store.clone(), Arc::new(Definitions::new(vec![job])?), io);
    let name = JobName::parse("bench")?;
    let mut elapsed = 0.0;
    for i in 0..warmup + runs {
        let run = store
            .create_run(&NewRun::in_process(name.clone(), json!({}), Tags::new()))
            .await?;
        let started = Instant::now();
        let run = worker.execute(run.id, None).await?;
        if i >= warmup {
            elapsed += started.elapsed().as_secs_f64();
        }
        anyhow::ensure!(
            run.status == RunStatus::Success,
            "run {} ended {}",
            run.id,
            run.status
        );
    }
    Ok(elapsed * 1000.0 / f64::from(runs))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: command-overhead <database-url> [chain|wide] [runs|assets]")?;
    let shape = args.next().unwrap_or_else(|| "chain".to_owned());
    let n: Option<u32> = args.next().map(|n| n.parse()).transpose()?;
    let store = storage::connect(&url, &StoreOptions::default()).await?;
    match shape.as_str() {
        "chain" => {
            let runs = n.unwrap_or(200);
            let rust = time_runs(&store, chain(Kind::Rust)?, runs, 20).await?;
            let command = time_runs(&store, chain(Kind::Command)?, runs, 20).await?;
            println!(
                "3-step chain, {runs} runs: Rust no-ops {rust:.2} ms per run, `true` commands {command:.2} ms per run: +{:.2} ms",
                command - rust
            );
        }
        "wide" => {
            let assets = usize::try_from(n.unwrap_or(1000))?;
            let rust = time_runs(&store, wide(Kind::Rust, assets)?, 3, 1).await?;
            let command = time_runs(&store, wide(Kind::Command, assets)?, 3, 1).await?;
            println!(
                "{assets} assets in layers of 50: Rust no-ops {rust:.0} ms per run, `true` commands {command:.0} ms per run"
            );
        }
        other => anyhow::bail!("unknown shape {other:?}: chain or wide"),
    }
    Ok(())
}
