//! Partition and backfill figures at scale (issue 12), in process against a database:
//! - a backfill of 10 000 daily partitions (one run each, no-op asset): planning, storing, and
//!   the daemon's backfill loop (`BackfillDaemon::tick_once`) until every run is created;
//! - the partition status of a job with 100 000 hourly partitions in mixed statuses
//!   (`partition_status::read_status`, what `GET /jobs/{job}/partitions` answers) and a
//!   backfill dry run over 10 000 of its keys;
//! - the upkeep of the status index per materialization.
//!
//! Usage: partition-scale <database-url> (a fresh database: it creates its own runs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use orchestrator::backfill::{self, BackfillRequest, KeySpan};
use orchestrator::daemon::BackfillDaemon;
use orchestrator::definitions::{
    AssetDef, AssetOutput, Cadence, Definitions, JobDef, PartitionsDef, TimeWindowSpec,
};
use orchestrator::domain::{
    AssetKey, BackfillMode, EventKind, NewEvent, NewRun, PartitionRange, PartitionTargets,
    RunStatus,
};
use orchestrator::partition_status::{StatusQuery, read_status};
use orchestrator::storage::{self, StoreOptions};

fn job(name: &str, partitions: PartitionsDef) -> anyhow::Result<JobDef> {
    let asset = AssetDef::builder("a").compute(|_ctx| async { Ok(AssetOutput::default()) })?;
    Ok(JobDef::new(name, "bench", vec![asset], Default::default())?.with_partitions(partitions)?)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(url) = std::env::args().nth(1) else {
        bail!("usage: partition-scale <database-url>");
    };
    let store = storage::connect(&url, &StoreOptions::default()).await?;
    let now = chrono::Utc::now();

    // 10 000 daily partitions from 1999-01-01.
    let daily = job("daily_bench", PartitionsDef::daily("1999-01-01", "UTC")?)?;
    let definitions = Arc::new(Definitions::new(vec![daily.clone()])?);
    let request = BackfillRequest {
        keys: KeySpan::Range {
            from: "1999-01-01".to_owned(),
            to: "2026-05-18".to_owned(),
        },
        mode: BackfillMode::All,
        reverse: false,
        max_concurrent: 0,
        step_selection: None,
    };
    let started = Instant::now();
    let plan = backfill::plan(store.as_ref(), &daily, &request, now).await?;
    let planned = started.elapsed();
    let created = store.create_backfill(&plan).await?;
    let stored = started.elapsed();
    let daemon = BackfillDaemon::new(store.clone(), definitions);
    let mut runs = 0;
    loop {
        let n = daemon.tick_once(now).await?;
        if n == 0 {
            break;
        }
        runs += n;
    }
    let all_created = started.elapsed();
    println!(
        "backfill of {} daily partitions: planned in {planned:?}, stored in {stored:?}, \
         {runs} runs created after {all_created:?} ({:.0} runs/s)",
        created.partitions,
        runs as f64 / (all_created - stored).as_secs_f64()
    );

    // 100 000 hourly partitions, mixed statuses: 1 000 range runs of 80 keys each, cycling
    // success / failure / in progress / never started; the last 20 000 keys missing.
    let hourly_def = PartitionsDef::time_window(TimeWindowSpec {
        end: Some("2026-05-30-16:00".to_owned()),
        ..TimeWindowSpec::new(Cadence::Hourly, "2015-03-01-00:00")
    })?;
    let hourly = job("hourly_bench", hourly_def.clone())?;
    let keys = orchestrator::partition_status::keys_between(
        &hourly_def,
        now,
        &[],
        "2015-03-01-00:00",
        "2026-05-30-15:00",
    )?;
    println!("hourly job: {} keys", keys.len());
    let asset = AssetKey::parse("a")?;
    let mut upkeep = Vec::new();
    for (i, block) in keys.chunks(80).take(1000).enumerate() {
        let range = PartitionRange {
            start: block[0].clone(),
            end: block[block.len() - 1].clone(),
        };
        let run = NewRun::queued(hourly.name.clone(), Default::default(), Default::default())
            .with_partition(range);
        let targets = PartitionTargets {
            assets: vec![asset.clone()],
            keys: block.to_vec(),
        };
        let run = store.create_targeted_run(&run, &targets).await?;
        match i % 4 {
            0 => {
                store
                    .transition_run(run.id, RunStatus::Starting, None)
                    .await?;
                store
                    .transition_run(run.id, RunStatus::Started, None)
                    .await?;
                let event = NewEvent::step(
                    &asset,
                    EventKind::AssetMaterialization {
                        asset_key: asset.clone(),
                        metadata: Default::default(),
                    },
                );
                let t = Instant::now();
                store.append_events(run.id, &[event]).await?;
                upkeep.push(t.elapsed());
                store
                    .transition_run(run.id, RunStatus::Success, None)
                    .await?;
            }
            1 => {
                store
                    .transition_run(run.id, RunStatus::Starting, None)
                    .await?;
                store
                    .transition_run(run.id, RunStatus::Started, None)
                    .await?;
                store
                    .transition_run(run.id, RunStatus::Failure, None)
                    .await?;
            }
            2 => {}
            _ => {
                store
                    .transition_run(run.id, RunStatus::Canceled, None)
                    .await?;
            }
        }
    }
    println!(
        "materialization event of an 80-key range run, with the index upkeep: p50 {:?}, p99 {:?}",
        percentile(&mut upkeep, 0.5),
        percentile(&mut upkeep, 0.99)
    );
    let mut samples = Vec::new();
    let mut ranges = 0;
    for _ in 0..30 {
        let t = Instant::now();
        let report = read_status(store.as_ref(), &hourly, &StatusQuery::default(), now).await?;
        samples.push(t.elapsed());
        ranges = report.ranges.len();
        if samples.len() == 1 {
            println!("status summary: {:?}", report.summary);
        }
    }
    println!(
        "status of 100 000 partitions ({ranges} ranges, first page of 1 000 keys): p50 {:?}, p99 {:?}",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99)
    );
    let mut dry = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let plan = backfill::plan(
            store.as_ref(),
            &hourly,
            &BackfillRequest {
                keys: KeySpan::Range {
                    from: keys[50_000].clone(),
                    to: keys[59_999].clone(),
                },
                mode: BackfillMode::Missing,
                reverse: false,
                max_concurrent: 0,
                step_selection: None,
            },
            now,
        )
        .await?;
        dry.push(t.elapsed());
        std::hint::black_box(plan);
    }
    println!(
        "backfill dry run over 10 000 of the 100 000 keys: p50 {:?}, p99 {:?}",
        percentile(&mut dry, 0.5),
        percentile(&mut dry, 0.99)
    );
    Ok(())
}
