//! A worker SIGKILLed mid-step while other runs go on: its run ends FAILURE with the reason (the
//! signal) within 5 s, the failure sensor posts exactly one alert for it to the Slack stand-in
//! on loopback, and the other runs succeed untouched.

use std::time::Instant;

use orch_test_support::slack::SlackStandIn;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_step_fails_its_run_within_5_s_with_one_alert() {
    let cluster = Cluster::start().await;
    let upstream = Upstream::start().await;
    let slack = SlackStandIn::start().await;
    let orch = cluster
        .orch(4)
        .env("ALERT_WEBHOOK_URL", slack.url())
        .env("ORCH_UI_URL", "http://orch.example");
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    let victim = queue(&cluster.store, 1, &upstream.url(Route::Slow)).await[0];
    let others = queue(&cluster.store, 3, &file_source()).await;
    // Mid-step: the victim's worker runs fetch_data (5 s against the slow upstream).
    let run = orch_test_support::wait::runs_where(
        cluster.store.as_ref(),
        &[victim],
        Duration::from_secs(60),
        |r| r.status == RunStatus::Started && r.worker.is_some(),
    )
    .await
    .remove(0);
    until("the step starts", Duration::from_secs(30), async || {
        events(&cluster.store, victim)
            .await
            .iter()
            .any(|e| e.kind.type_name() == "STEP_START")
    })
    .await;
    let pid = run.worker.as_ref().unwrap()["pid"].as_u64().unwrap() as u32;
    let killed = Instant::now();
    signal(pid, "KILL");
    let ended =
        orch_test_support::wait::run_ended(cluster.store.as_ref(), victim, Duration::from_secs(30))
            .await;
    let detected = killed.elapsed();
    assert_eq!(ended.status, RunStatus::Failure);
    let message = end_message(&events(&cluster.store, victim).await);
    assert!(
        message.contains("killed by signal 9 (SIGKILL)"),
        "{message}"
    );
    assert!(
        detected <= Duration::from_secs(5),
        "FAILURE after {detected:?}"
    );
    let mut ids = others.clone();
    ids.push(victim);
    assert_sound(
        &cluster.store,
        &ids,
        Duration::from_secs(60),
        &[victim],
        &[&orch],
    )
    .await;
    slack
        .wait_for(Duration::from_secs(30), |r| {
            r.iter().any(|r| r.status == 200)
        })
        .await;
    // Longer than the pace (1 s) and a retry: a second message would show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = slack.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert_eq!(delivered[0].run_ids(), [victim.to_string()]);
    eprintln!("chaos: worker SIGKILL -> FAILURE in {detected:?}, 1 alert");
    daemon.kill().await.unwrap();
}
