//! The long-running processes through a database that goes away and comes back, behind
//! test-support's fault proxy: `orch daemon`'s `/healthz` says degraded (200) and its loops
//! keep retrying, `orch web` answers 503 on `/readyz`, its API and its pages (a clear page,
//! not a 500), and both recover by themselves once the proxy heals; neither exits. A daemon
//! and a web server started while the database is away wait for it instead of exiting.

use std::time::Instant;

use orch_test_support::fault_proxy::FaultProxy;

use super::*;

async fn get(url: &str) -> (u16, String) {
    match reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(15))
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// Polls `url` until `check` accepts its answer.
async fn until(url: &str, what: &str, check: impl Fn(u16, &str) -> bool) -> (u16, String) {
    until_ok(what, Duration::from_secs(60), async || {
        let (status, body) = get(url).await;
        if check(status, &body) {
            Ok((status, body))
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_and_web_ride_out_a_cut_database_and_recover_by_themselves() {
    let cluster = Cluster::start().await;
    let proxy = FaultProxy::start(cluster.pg.addr().parse().unwrap())
        .await
        .unwrap();
    // Both start while the database is unreachable: they must wait, not exit.
    proxy.cut();
    let orch = cluster
        .orch(4)
        .env("DATABASE_URL", proxy.url_through(&cluster.url))
        .env("ORCH_METRICS_ADDR", "127.0.0.1:0")
        .env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    let mut web = orch.spawn(&["web"], "web.log");
    let metrics = served_at(&orch, "daemon.log", "metrics at http://").await;
    let metrics = metrics.trim_end_matches("/metrics").to_owned();
    let site = served_at(&orch, "web.log", "listening on http://").await;
    let healthz = format!("http://{metrics}/healthz");
    let readyz = format!("http://{site}/readyz");
    until(&healthz, "daemon waiting", |s, b| {
        s == 200 && b.contains("degraded")
    })
    .await;
    until(&readyz, "web waiting", |s, _| s == 503).await;
    let (status, page) = get(&format!("http://{site}/runs")).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("waiting for its database"), "{page}");

    // The database appears: both open their stores and serve; a run goes through.
    proxy.heal();
    until(&healthz, "daemon up", |s, b| {
        s == 200 && b.contains("\"ok\"")
    })
    .await;
    until(&readyz, "web ready", |s, _| s == 200).await;
    let first = queue(&cluster.store, 1, &file_source()).await;
    assert_sound(
        &cluster.store,
        &first,
        Duration::from_secs(60),
        &[],
        &[&orch],
    )
    .await;

    // It goes away while they run: degraded, 503 with a clear page, and back by themselves.
    proxy.cut();
    let cut = Instant::now();
    let (_, health) = until(&healthz, "daemon degraded", |s, b| {
        s == 200 && b.contains("degraded")
    })
    .await;
    assert!(health.contains("unreachable"), "{health}");
    until(&readyz, "web not ready", |s, _| s == 503).await;
    let (status, page) = until(&format!("http://{site}/runs"), "the runs page", |s, _| {
        s != 200
    })
    .await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("The database does not answer"), "{page}");
    let (status, api) = get(&format!("http://{site}/api/v1/runs")).await;
    assert_eq!(status, 503, "{api}");
    eprintln!(
        "chaos: cut database seen as degraded/503 within {:?}",
        cut.elapsed()
    );
    // Runs queued meanwhile (straight to the database) run once it is back.
    let second = queue(&cluster.store, 2, &file_source()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.heal();
    let healed = Instant::now();
    until(&readyz, "web ready again", |s, _| s == 200).await;
    until(&healthz, "daemon ok again", |s, b| {
        s == 200 && b.contains("\"ok\"")
    })
    .await;
    assert_sound(
        &cluster.store,
        &second,
        Duration::from_secs(60),
        &[],
        &[&orch],
    )
    .await;
    eprintln!(
        "chaos: daemon and web recovered {:?} after the heal",
        healed.elapsed()
    );
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon exited");
    assert!(web.try_wait().unwrap().is_none(), "the web server exited");
    daemon.kill().await.unwrap();
    web.kill().await.unwrap();
}
