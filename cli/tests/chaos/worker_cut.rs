//! A 10 s cut between the workers and PostgreSQL, mid-step. The daemon reaches the database
//! directly (`--database-url`, its own); the workers it launches inherit `DATABASE_URL`, which
//! points through test-support's fault proxy. While cut, the workers keep executing, keep their
//! events, and write them in order once the proxy heals; the monitor sees no heartbeat for 10 s
//! and fails nothing (its timeout is 30 s). Measured: the longest delay of an event between its
//! emission and the moment the test could read it.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use orch_test_support::fault_proxy::FaultProxy;

use super::*;

const RUNS: usize = 6;
const CUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_s_cut_between_workers_and_postgres_mid_step_fails_no_run_and_loses_no_event() {
    let cluster = Cluster::start().await;
    let upstream = Upstream::start().await;
    let proxy = FaultProxy::start(cluster.pg.addr().parse().unwrap())
        .await
        .unwrap();
    let through_proxy = proxy.url_through(&cluster.url);
    let orch = cluster.orch(RUNS as u32).env("DATABASE_URL", through_proxy);
    let mut daemon = orch.spawn(&["--database-url", &cluster.url, "daemon"], "daemon.log");
    let ids = queue(&cluster.store, RUNS, &upstream.url(Route::Slow)).await;

    // Every event, when the test first saw it.
    let mut seen: HashMap<i64, (DateTime<Utc>, Instant)> = HashMap::new();
    let look = async |seen: &mut HashMap<i64, (DateTime<Utc>, Instant)>| {
        let now = Instant::now();
        for id in &ids {
            for e in cluster.store.list_events(*id, None, 10_000).await.unwrap() {
                seen.entry(e.id).or_insert((e.timestamp, now));
            }
        }
    };
    // Mid-step: every run is in fetch_data, which waits 5 s for the slow upstream.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        look(&mut seen).await;
        let mut in_step = 0;
        for id in &ids {
            if events(&cluster.store, *id)
                .await
                .iter()
                .any(|e| e.kind.type_name() == "STEP_START")
            {
                in_step += 1;
            }
        }
        if in_step == RUNS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every run reached its first step\n{}",
            orch.log("daemon.log")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cut_at = Instant::now();
    let cut_wall = Utc::now();
    proxy.cut();
    while cut_at.elapsed() < CUT {
        look(&mut seen).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    proxy.heal();
    let healed = Instant::now();
    // Until every run ended, reading as it goes.
    loop {
        look(&mut seen).await;
        let mut open = 0;
        for id in &ids {
            if !cluster
                .store
                .get_run(*id)
                .await
                .unwrap()
                .status
                .is_terminal()
            {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            healed.elapsed() < Duration::from_secs(90),
            "runs did not end after the heal"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    look(&mut seen).await;
    assert_sound(&cluster.store, &ids, Duration::from_secs(30), &[], &[&orch]).await;
    // What happened during the cut reached the store after it, nothing lost, in order (above).
    let during_cut = seen.values().filter(|(t, _)| *t >= cut_wall).count();
    assert!(
        during_cut > 0,
        "no event was emitted during the cut: it proves nothing"
    );
    let longest = seen
        .values()
        .map(|(emitted, read)| {
            let emitted_ago = (Utc::now() - *emitted).to_std().unwrap_or_default();
            let read_ago = read.elapsed();
            emitted_ago.saturating_sub(read_ago)
        })
        .max()
        .unwrap_or_default();
    eprintln!(
        "chaos: {CUT:?} cut between {RUNS} workers and PostgreSQL: 0 failed, {during_cut} events \
         emitted during the cut, longest event delay {longest:?}, all ended {:?} after the heal",
        healed.elapsed()
    );
    assert!(longest >= CUT / 2, "events were not held back: {longest:?}");
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon exited");
    daemon.kill().await.unwrap();
}
