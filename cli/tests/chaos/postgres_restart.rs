//! PostgreSQL restarted under load, `fast` (open transactions rolled back, connections closed,
//! a checkpoint) and then `immediate` (every server process killed, recovery from the WAL at the
//! next start: a crash), while two daemons launch runs and their workers execute them. Every
//! process reconnects by itself; no run is lost, run twice or failed.
//! `ORCH_CHAOS_RUNS` sets how many runs (the benchmark's load); CI runs the default.

use std::time::Instant;

use orch_test_support::pg_cluster::StopMode;

use super::*;

/// Runs ended (any status) among `ids`.
async fn ended(store: &Arc<dyn RunStorage>, ids: &[RunId]) -> usize {
    let mut n = 0;
    for id in ids {
        if store
            .get_run(*id)
            .await
            .is_ok_and(|r| r.status.is_terminal())
        {
            n += 1;
        }
    }
    n
}

/// Waits until at least `n` of `ids` ended.
async fn until_ended(store: &Arc<dyn RunStorage>, ids: &[RunId], n: usize) -> Duration {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(240);
    while ended(store, ids).await < n {
        assert!(Instant::now() < deadline, "{n} runs never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_fast_then_immediate_under_load_loses_fails_and_doubles_no_run() {
    let mut cluster = Cluster::start().await;
    let runs: usize = std::env::var("ORCH_CHAOS_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(90);
    let (a, b) = (cluster.orch(10), cluster.orch(10));
    let mut da = a.spawn(&["daemon"], "daemon.log");
    let mut db = b.spawn(&["daemon"], "daemon.log");
    let started = Instant::now();
    let ids = queue(&cluster.store, runs, &file_source()).await;
    let mut recovery = Vec::new();
    for (mode, at) in [(StopMode::Fast, runs / 4), (StopMode::Immediate, runs / 2)] {
        until_ended(&cluster.store, &ids, at).await;
        let before = ended(&cluster.store, &ids).await;
        let restarted = Instant::now();
        cluster.pg.restart(mode).await.unwrap();
        let down = restarted.elapsed();
        // Until a run ends that had not ended before: the whole chain works again.
        let back = until_ended(&cluster.store, &ids, before + 1).await + down;
        eprintln!(
            "chaos: PostgreSQL restart {mode:?}: down {down:?}, a run ended again {back:?} after the restart began"
        );
        recovery.push((mode, back));
    }
    let runs_ended = assert_sound(
        &cluster.store,
        &ids,
        Duration::from_secs(300),
        &[],
        &[&a, &b],
    )
    .await;
    let elapsed = started.elapsed();
    eprintln!(
        "chaos: {} runs through two PostgreSQL restarts in {:.1} s ({:.0} runs/min)",
        runs_ended.len(),
        elapsed.as_secs_f64(),
        runs_ended.len() as f64 / elapsed.as_secs_f64() * 60.0
    );
    // Neither daemon exited: they reconnected.
    assert!(
        da.try_wait().unwrap().is_none(),
        "a daemon exited\n{}",
        a.log("daemon.log")
    );
    assert!(
        db.try_wait().unwrap().is_none(),
        "a daemon exited\n{}",
        b.log("daemon.log")
    );
    da.kill().await.unwrap();
    db.kill().await.unwrap();
}
