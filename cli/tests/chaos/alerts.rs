//! The alert outbox across a daemon kill and a Slack outage, through real `orch daemon`
//! processes on the test's own PostgreSQL cluster: a run of
//! `product_pipeline_job` fails, the daemon's failure sensor queues its alert, the Slack
//! stand-in answers 503, and the daemon is killed (SIGKILL) while the alert waits for its retry.
//! The next daemon delivers it, exactly once, and the CLI shows it delivered.

use std::time::Duration;

use orch_test_support::wait::until_ok;

use orchestrator::domain::{AlertState, RunId};
use orchestrator::storage::AlertFilter;

use orch_test_support::slack::{Reply, SlackStandIn};

use super::support::*;
use super::{Cluster, queue};

/// The webhook's secret path fragment, which must never reach a log.
const SECRET: &str = "s3cr3tT0k3n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_while_an_alert_waits_for_its_retry_delivers_it_once_after_restart() {
    let slack = SlackStandIn::start().await;
    slack.script([Reply::status(503), Reply::status(503), Reply::status(503)]);
    let cluster = Cluster::start().await;
    let store = cluster.store.clone();
    let with_slack = |orch: Orch| {
        orch.env("ALERT_WEBHOOK_URL", slack.url())
            .env("ORCH_UI_URL", "http://orch.example")
    };
    let first = with_slack(cluster.orch(4));
    let mut daemon = first.spawn(&["daemon"], "daemon.log");
    let ids = queue(&store, 1, "file:///nonexistent/posts.json").await;
    let run: RunId = ids[0];

    // Kill the daemon once the first attempt got its 503 and the alert waits for a retry.
    let waiting = until_ok(
        "an alert waits for a retry",
        Duration::from_secs(60),
        async || {
            let alerts = store.list_alerts(&AlertFilter::default()).await.unwrap();
            match alerts.as_slice() {
                [alert] if alert.state == AlertState::Pending && alert.attempts >= 1 => {
                    Ok(alert.run_id)
                }
                _ => Err(format!("{alerts:?}\n{}", first.log("daemon.log"))),
            }
        },
    )
    .await;
    assert_eq!(waiting, run);
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    assert!(
        slack.delivered().is_empty(),
        "delivered before the kill: the test proves nothing"
    );
    let before_restart = slack.received().len();
    assert!(before_restart >= 1);

    let second = with_slack(cluster.orch(4));
    let mut restarted = second.spawn(&["daemon"], "daemon.log");
    slack
        .wait_for(Duration::from_secs(30), |r| {
            r.iter().any(|r| r.status == 200)
        })
        .await;
    // Longer than the pace and a retry: a second delivery would show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = slack.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert_eq!(delivered[0].run_ids(), [run.to_string()]);
    assert!(
        delivered[0]
            .body
            .to_string()
            .contains(&format!("http://orch.example/runs/{run}"))
    );
    assert!(
        slack
            .received()
            .iter()
            .all(|r| r.run_ids() == [run.to_string()])
    );

    let shown = second
        .run(&["sensors", "alerts", "--json"])
        .await
        .assert_exit(0)
        .json();
    let alert = &shown[0];
    assert_eq!(alert["state"], "DELIVERED", "{shown:#}");
    assert_eq!(alert["run_id"], run.to_string());
    assert_eq!(alert["sensor"], "product_pipeline_failure_sensor");
    assert!(alert["attempts"].as_u64().unwrap() >= 2, "{alert}");
    let sensors = second
        .run(&["sensors", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    assert_eq!(sensors[0]["name"], "product_pipeline_failure_sensor");
    assert_eq!(sensors[0]["enabled"], true);

    restarted.kill().await.unwrap();
    for log in [first.log("daemon.log"), second.log("daemon.log")] {
        assert!(
            !log.contains(SECRET),
            "the webhook URL leaked into a log:\n{log}"
        );
    }
    assert!(second.log("daemon.log").contains("/[redacted]"));
}
