//! Alerts on assets, end to end to the Slack stand-in on both backends, with two replicas
//! (two stores on one database, each with its own freshness evaluator, sensor evaluator and
//! alert sender, running at once): a run whose ERROR check failed posts "Check failed: …" once,
//! a run with only a WARN failure posts nothing to an ERROR sensor; an asset that turns overdue
//! posts "Asset overdue: …" once, and its recovery "Asset fresh again: …" once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orchestrator::daemon::alerts::{AlertOptions, AlertSender, Webhook};
use orchestrator::daemon::{FreshnessEvaluator, SensorEvaluator};
use orchestrator::definitions::{
    AssetDef, AssetOutput, Definitions, FreshnessPolicy, JobDef, SensorDef,
};
use orchestrator::domain::{
    AlertState, AlertSubject, AssetKey, CheckSeverity, EventKind, FreshnessState, JobName,
    NewEvent, NewRun, RunId, RunStatus,
};
use orchestrator::retry::Backoff;
use orchestrator::secrets::Secret;
use orchestrator::storage::{AlertFilter, RunStorage};
use serde_json::{Map, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::support::both_backends;
use orch_test_support::slack::{Received, SlackStandIn};

both_backends!(
    a_failed_error_check_is_alerted_once_across_two_daemons,
    an_overdue_asset_and_its_recovery_are_alerted_once_each_across_two_daemons,
);

const UI: &str = "http://orch.example:3000";

fn sensors() -> Vec<SensorDef> {
    vec![
        SensorDef::check_failures("check_failures", CheckSeverity::Error)
            .build()
            .unwrap(),
        SensorDef::freshness("overdue_assets")
            .freshness_state(FreshnessState::Fresh)
            .job("job")
            .build()
            .unwrap(),
    ]
}

fn definitions() -> Definitions {
    let policy = FreshnessPolicy::max_lag(Duration::from_secs(7 * 3600), None).unwrap();
    let daily = AssetDef::builder("daily")
        .freshness(policy)
        .compute(|_| async { Ok(AssetOutput::default()) })
        .unwrap();
    let job = JobDef::new("job", "", vec![daily], Map::new()).unwrap();
    Definitions::new(vec![job]).unwrap()
}

/// One replica's alerting loops, as `orch daemon` wires them.
fn replica(
    store: &Arc<dyn RunStorage>,
    slack: &SlackStandIn,
    shutdown: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let wake = Arc::new(Notify::new());
    let evaluator = SensorEvaluator::new(store.clone(), sensors(), wake.clone());
    let options = AlertOptions {
        ui_url: UI.into(),
        min_interval: Duration::ZERO,
        timeout: Duration::from_secs(2),
        backoff: Backoff::exponential(Duration::from_millis(40), Duration::from_millis(200)),
        idle_poll: Duration::from_millis(50),
        ..AlertOptions::default()
    };
    let webhook = Webhook::parse(&Secret::new(slack.url())).unwrap();
    let sender = AlertSender::new(store.clone(), webhook, options, wake).unwrap();
    vec![
        tokio::spawn(evaluator.run(shutdown.clone())),
        tokio::spawn(sender.run(shutdown.clone())),
    ]
}

/// A run of `job` that ends SUCCESS with these check verdicts on asset `a`.
async fn run_with_checks(store: &dyn RunStorage, checks: &[(&str, bool, CheckSeverity)]) -> RunId {
    let mut new = NewRun::queued(
        JobName::parse("job").unwrap(),
        json!({}),
        Default::default(),
    );
    new.status = RunStatus::Starting;
    let run = store.create_run(&new).await.unwrap();
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await
        .unwrap();
    let asset = AssetKey::parse("a").unwrap();
    let events: Vec<NewEvent> = checks
        .iter()
        .map(|(check, passed, severity)| {
            NewEvent::step(
                &asset,
                EventKind::AssetCheckEvaluation {
                    asset: asset.clone(),
                    check: (*check).into(),
                    passed: *passed,
                    severity: *severity,
                    metadata: Default::default(),
                    partition: None,
                },
            )
        })
        .collect();
    store.append_events(run.id, &events).await.unwrap();
    store
        .transition_run(run.id, RunStatus::Success, None)
        .await
        .unwrap();
    run.id
}

async fn wait_delivered(store: &dyn RunStorage, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all = store
            .list_alerts(&AlertFilter {
                limit: 1_000,
                ..Default::default()
            })
            .await
            .unwrap();
        if all.len() >= n && all.iter().all(|a| a.state == AlertState::Delivered) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn headers(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| {
            r.body["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn a_failed_error_check_is_alerted_once_across_two_daemons(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    let shutdown = CancellationToken::new();
    let mut loops = replica(&first, &slack, &shutdown);
    loops.extend(replica(&second, &slack, &shutdown));

    let failed = run_with_checks(
        &*first,
        &[
            ("has_rows", false, CheckSeverity::Error),
            ("titles", false, CheckSeverity::Warn),
            ("fresh", true, CheckSeverity::Error),
        ],
    )
    .await;
    let warned = run_with_checks(&*second, &[("titles", false, CheckSeverity::Warn)]).await;
    let passed = run_with_checks(&*second, &[("has_rows", true, CheckSeverity::Error)]).await;
    wait_delivered(&*first, 1).await;
    // Time for a second, wrong, delivery to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.cancel();
    for l in loops {
        l.await.unwrap();
    }

    let received = slack.delivered();
    assert_eq!(
        headers(&received),
        ["Check failed: a.has_rows (ERROR)"],
        "{received:#?}"
    );
    let body = received[0].body.to_string();
    assert!(body.contains(&format!("{UI}/runs/{failed}")), "{body}");
    assert!(
        !body.contains("a.titles"),
        "below the sensor's severity: {body}"
    );
    let alerts = first.list_alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].subject, AlertSubject::ChecksFailed);
    assert_eq!(alerts[0].run_id, failed);
    assert!(![warned, passed].contains(&alerts[0].run_id));
}

async fn an_overdue_asset_and_its_recovery_are_alerted_once_each_across_two_daemons(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    let shutdown = CancellationToken::new();
    let mut loops = replica(&first, &slack, &shutdown);
    loops.extend(replica(&second, &slack, &shutdown));
    let defs = definitions();
    let one = FreshnessEvaluator::new(first.clone(), &defs);
    let two = FreshnessEvaluator::new(second.clone(), &defs);

    let t0 = materialize(&*first).await;
    // Both replicas judge the same instants (a controlled clock): fresh, then overdue.
    for now in [t0 + TimeDelta::hours(1), t0 + TimeDelta::hours(8)] {
        let (a, b) = tokio::join!(one.tick_once(now), two.tick_once(now));
        a.unwrap();
        b.unwrap();
    }
    wait_delivered(&*first, 1).await;
    // Recovery: a new materialization, judged by both at once.
    let t1 = materialize(&*second).await;
    let now = t1 + TimeDelta::minutes(1);
    let (a, b) = tokio::join!(one.tick_once(now), two.tick_once(now));
    a.unwrap();
    b.unwrap();
    wait_delivered(&*first, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    shutdown.cancel();
    for l in loops {
        l.await.unwrap();
    }

    let received = slack.delivered();
    assert_eq!(
        headers(&received),
        ["Asset overdue: daily", "Asset fresh again: daily"],
        "the first FRESH is no recovery and is not alerted: {received:#?}"
    );
    let body = received[0].body.to_string();
    assert!(body.contains(&format!("{UI}/assets/daily")), "{body}");
    assert!(body.contains("7h"), "the reason names the policy: {body}");
}

/// Materializes `daily` in a finished run; returns the materialization's time.
async fn materialize(store: &dyn RunStorage) -> DateTime<Utc> {
    let run = store
        .create_run(&NewRun::in_process(
            JobName::parse("job").unwrap(),
            json!({}),
            Default::default(),
        ))
        .await
        .unwrap();
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await
        .unwrap();
    let key = AssetKey::parse("daily").unwrap();
    store
        .append_events(
            run.id,
            &[NewEvent::step(
                &key,
                EventKind::AssetMaterialization {
                    asset_key: key.clone(),
                    metadata: Default::default(),
                },
            )],
        )
        .await
        .unwrap();
    store
        .list_assets()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.key == key)
        .unwrap()
        .latest
        .timestamp
}
