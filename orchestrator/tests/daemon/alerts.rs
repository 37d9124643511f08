//! The sensor evaluator and the alert sender against the Slack stand-in (`slack.rs`), on both
//! backends: the message of a failed run, an outage retried until delivered once, a 429's
//! Retry-After honoured, a revoked webhook (404) failing visibly without leaking the URL, two
//! senders (two replicas) delivering each alert once, and a burst of 1 000 failures all alerted
//! in paced digests, none twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use orchestrator::daemon::SensorEvaluator;
use orchestrator::daemon::alerts::{AlertOptions, AlertSender, Turn, Webhook};
use orchestrator::definitions::SensorDef;
use orchestrator::domain::{
    AlertState, AssetKey, DeliveryOutcome, EventKind, JobName, NewEvent, NewRun, RunId, RunStatus,
    SensorName, SensorSwitch,
};
use orchestrator::retry::Backoff;
use orchestrator::secrets::Secret;
use orchestrator::storage::{AlertFilter, RunStorage};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::support::both_backends;
use orch_test_support::slack::{Reply, SECRET_PATH, SlackStandIn};
use orch_test_support::wait::until;

both_backends!(
    a_failed_run_posts_the_seeds_message_once,
    a_sensor_that_is_off_or_watches_other_jobs_alerts_nothing,
    an_outage_is_retried_with_backoff_until_delivered_exactly_once,
    a_429_is_retried_no_sooner_than_its_retry_after,
    a_revoked_webhook_fails_the_alert_visibly_without_leaking_the_url,
    two_senders_deliver_each_alert_once,
    a_burst_of_1000_failures_is_alerted_in_paced_digests_none_twice,
);

const UI: &str = "http://orch.example:3000";

fn sensor() -> SensorDef {
    SensorDef::run_failure("on_failure")
        .job("job")
        .build()
        .unwrap()
}

fn options() -> AlertOptions {
    AlertOptions {
        ui_url: UI.into(),
        min_interval: Duration::ZERO,
        timeout: Duration::from_secs(2),
        backoff: Backoff::exponential(Duration::from_millis(40), Duration::from_millis(200))
            .with_jitter(),
        idle_poll: Duration::from_millis(100),
        ..AlertOptions::default()
    }
}

fn sender(store: &Arc<dyn RunStorage>, url: &str, options: AlertOptions) -> AlertSender {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let webhook = Webhook::parse(&Secret::new(url)).unwrap();
    AlertSender::new(store.clone(), webhook, options, Arc::new(Notify::new())).unwrap()
}

fn evaluator(store: &Arc<dyn RunStorage>) -> SensorEvaluator {
    SensorEvaluator::new(store.clone(), vec![sensor()], Arc::new(Notify::new()))
}

/// A run of `job` that failed in step `fetch_data` with `error`.
async fn failed_run(store: &dyn RunStorage, job: &str, error: &str) -> RunId {
    let mut new = NewRun::queued(JobName::parse(job).unwrap(), json!({}), Default::default());
    new.status = RunStatus::Starting;
    let run = store.create_run(&new).await.unwrap();
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await
        .unwrap();
    let failure = NewEvent {
        timestamp: Utc::now(),
        step: Some(AssetKey::parse("fetch_data").unwrap()),
        kind: EventKind::StepFailure {
            error: error.into(),
            attempt: 3,
        },
    };
    store
        .transition_run_with_events(
            run.id,
            RunStatus::Failure,
            Some("step fetch_data failed"),
            &[failure],
        )
        .await
        .unwrap();
    run.id
}

async fn alerts(store: &dyn RunStorage) -> Vec<orchestrator::domain::Alert> {
    store
        .list_alerts(&AlertFilter {
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn a_failed_run_posts_the_seeds_message_once(
    store: Arc<dyn RunStorage>,
    _: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    let run = failed_run(
        &*store,
        "job",
        "GET http://api/posts returned 503 (attempt 3 of 3)",
    )
    .await;
    let evaluated = evaluator(&store).tick_once().await.unwrap();
    assert_eq!((evaluated.changes, evaluated.alerts), (1, 1));
    let sender = sender(&store, &slack.url(), options());
    let turn = sender.tick_once(Utc::now()).await.unwrap();
    assert_eq!(
        turn,
        Turn::Posted {
            runs: vec![run],
            outcome: DeliveryOutcome::Delivered
        }
    );
    assert!(matches!(
        sender.tick_once(Utc::now()).await.unwrap(),
        Turn::Idle(None)
    ));

    let received = slack.received();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["blocks"][0]["text"]["text"], "Job failed");
    let text = body.to_string();
    for expected in [
        "job".to_owned(),
        run.to_string(),
        format!("{UI}/runs/{run}"),
        "fetch_data".to_owned(),
        "returned 503 (attempt 3 of 3)".to_owned(),
        Utc::now().format("%Y-%m-%d").to_string(),
    ] {
        assert!(text.contains(&expected), "{expected} missing from {body:#}");
    }
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("Job failed: job")
    );
    let alert = &alerts(&*store).await[0];
    assert_eq!(alert.state, AlertState::Delivered);
    assert_eq!(alert.attempts, 1);
    assert!(alert.delivered_at.is_some());
}

async fn a_sensor_that_is_off_or_watches_other_jobs_alerts_nothing(
    store: Arc<dyn RunStorage>,
    _: Arc<dyn RunStorage>,
) {
    failed_run(&*store, "other_job", "boom").await;
    assert_eq!(evaluator(&store).tick_once().await.unwrap().alerts, 0);
    store
        .switch_sensor(&SensorName::parse("on_failure").unwrap(), SensorSwitch::Off)
        .await
        .unwrap();
    failed_run(&*store, "job", "boom").await;
    let evaluated = evaluator(&store).tick_once().await.unwrap();
    assert_eq!((evaluated.changes, evaluated.alerts), (1, 0));
    assert!(alerts(&*store).await.is_empty());
}

async fn an_outage_is_retried_with_backoff_until_delivered_exactly_once(
    store: Arc<dyn RunStorage>,
    _: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    slack.script([Reply::status(503), Reply::status(503), Reply::status(502)]);
    let run = failed_run(&*store, "job", "boom").await;
    evaluator(&store).tick_once().await.unwrap();
    let shutdown = CancellationToken::new();
    let loop_ = tokio::spawn(sender(&store, &slack.url(), options()).run(shutdown.clone()));
    slack
        .wait_for(Duration::from_secs(10), |r| {
            r.iter().any(|r| r.status == 200)
        })
        .await;
    // Give a wrongly repeated send the time to show up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    shutdown.cancel();
    loop_.await.unwrap();

    let received = slack.received();
    let statuses: Vec<u16> = received.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 502, 200]);
    assert!(received.iter().all(|r| r.run_ids() == [run.to_string()]));
    // Backoff: each wait is at least half the doubled base (20, 40, 80 ms).
    for (i, pair) in received.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        let floor = Duration::from_millis(20 << i);
        assert!(
            gap >= floor,
            "retry {i} after {gap:?}, expected at least {floor:?}"
        );
    }
    let alert = &alerts(&*store).await[0];
    assert_eq!((alert.state, alert.attempts), (AlertState::Delivered, 4));
}

async fn a_429_is_retried_no_sooner_than_its_retry_after(
    store: Arc<dyn RunStorage>,
    _: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    slack.script([Reply::too_many("1")]);
    failed_run(&*store, "job", "boom").await;
    evaluator(&store).tick_once().await.unwrap();
    let shutdown = CancellationToken::new();
    let loop_ = tokio::spawn(sender(&store, &slack.url(), options()).run(shutdown.clone()));
    slack
        .wait_for(Duration::from_secs(10), |r| {
            r.iter().any(|r| r.status == 200)
        })
        .await;
    shutdown.cancel();
    loop_.await.unwrap();
    let received = slack.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?} despite Retry-After: 1"
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

async fn a_revoked_webhook_fails_the_alert_visibly_without_leaking_the_url(
    store: Arc<dyn RunStorage>,
    _: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    failed_run(&*store, "job", "boom").await;
    evaluator(&store).tick_once().await.unwrap();
    let revoked = slack.revoked_url();
    let turn = sender(&store, &revoked, options())
        .tick_once(Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(
            &turn,
            Turn::Posted {
                outcome: DeliveryOutcome::Failed { .. },
                ..
            }
        ),
        "{turn:?}"
    );
    let failed = store
        .list_alerts(&AlertFilter {
            state: Some(AlertState::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let error = failed[0].last_error.clone().unwrap();
    assert!(
        error.contains("404 Not Found") && error.contains("no_service"),
        "{error}"
    );
    assert!(
        !error.contains("revoked") && !error.contains("/services/"),
        "{error}"
    );
    // Not retried: the outbox has nothing due.
    assert!(matches!(
        sender(&store, &revoked, options())
            .tick_once(Utc::now())
            .await
            .unwrap(),
        Turn::Idle(None)
    ));
    assert_eq!(slack.received().len(), 1);

    // A webhook nobody answers: the connection error is retried and names no URL either.
    failed_run(&*store, "job", "boom").await;
    evaluator(&store).tick_once().await.unwrap();
    let closed = format!("http://127.0.0.1:9{SECRET_PATH}");
    let turn = sender(&store, &closed, options())
        .tick_once(Utc::now())
        .await
        .unwrap();
    let Turn::Posted {
        outcome: DeliveryOutcome::Retry { error, .. },
        ..
    } = turn
    else {
        panic!("expected a retry, got {turn:?}")
    };
    assert!(
        error.starts_with("POST to the Slack webhook failed"),
        "{error}"
    );
    assert!(
        !error.contains("s3cr3t") && !error.contains("/services/"),
        "{error}"
    );
}

async fn two_senders_deliver_each_alert_once(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    let mut runs = Vec::new();
    for _ in 0..30 {
        runs.push(failed_run(&*first, "job", "boom").await.to_string());
    }
    // Slow answers keep both senders busy at once.
    slack.script((0..30).map(|_| Reply::slow(Duration::from_millis(30))));
    evaluator(&first).tick_once().await.unwrap();
    let shutdown = CancellationToken::new();
    let small = AlertOptions {
        digest_max: 2,
        ..options()
    };
    let a = tokio::spawn(sender(&first, &slack.url(), small.clone()).run(shutdown.clone()));
    let b = tokio::spawn(sender(&second, &slack.url(), small).run(shutdown.clone()));
    until(
        "the alert is delivered",
        Duration::from_secs(20),
        async || {
            alerts(&*first)
                .await
                .iter()
                .all(|a| a.state == AlertState::Delivered)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    a.await.unwrap();
    b.await.unwrap();
    assert_delivered_once(&slack.delivered(), &runs);
}

async fn a_burst_of_1000_failures_is_alerted_in_paced_digests_none_twice(
    store: Arc<dyn RunStorage>,
    other: Arc<dyn RunStorage>,
) {
    let slack = SlackStandIn::start().await;
    let pace = Duration::from_millis(25);
    let shutdown = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    let paced = AlertOptions {
        min_interval: pace,
        ..options()
    };
    let eval = SensorEvaluator::new(store.clone(), vec![sensor()], wake.clone());
    let webhook = Webhook::parse(&Secret::new(slack.url())).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let send = AlertSender::new(other.clone(), webhook, paced, wake).unwrap();
    let loops = (
        tokio::spawn(eval.run(shutdown.clone())),
        tokio::spawn(send.run(shutdown.clone())),
    );
    // The runs fail while the loops run, as in production.
    let mut runs = Vec::new();
    for i in 0..1_000 {
        runs.push(
            failed_run(&*store, "job", &format!("failure {i}"))
                .await
                .to_string(),
        );
    }
    until(
        "the alerts are delivered",
        Duration::from_secs(120),
        async || {
            slack
                .delivered()
                .iter()
                .map(|r| r.run_ids().len())
                .sum::<usize>()
                >= runs.len()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    loops.0.await.unwrap();
    loops.1.await.unwrap();

    let delivered = slack.delivered();
    assert_delivered_once(&delivered, &runs);
    assert!(
        delivered.len() < runs.len(),
        "a backlog is grouped into digests"
    );
    assert!(delivered.iter().all(|r| r.run_ids().len() <= 40));
    // The pace holds at the claims; arrival times add the jitter of a loaded machine, bounded
    // over any run of messages.
    for (i, early) in delivered.iter().enumerate() {
        for (k, late) in delivered[i + 1..].iter().enumerate() {
            let floor = pace * (k as u32 + 1);
            let span = late.at - early.at;
            assert!(
                span + Duration::from_millis(40) >= floor,
                "{} messages within {span:?}",
                k + 2
            );
        }
    }
    assert!(
        alerts(&*store)
            .await
            .iter()
            .all(|a| a.state == AlertState::Delivered)
    );
    assert_eq!(store.count_status_changes().await.unwrap(), 0);
}

/// Every run of `runs` is in exactly one delivered message.
fn assert_delivered_once(delivered: &[orch_test_support::slack::Received], runs: &[String]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for message in delivered {
        for id in message.run_ids() {
            *seen.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alerted more than once: {twice:?}");
    let missing: Vec<_> = runs.iter().filter(|r| !seen.contains_key(*r)).collect();
    assert!(missing.is_empty(), "never alerted: {missing:?}");
    assert_eq!(seen.len(), runs.len());
}
