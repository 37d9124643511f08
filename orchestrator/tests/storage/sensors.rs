//! Sensor and alert storage: every terminal status change lands in the inbox with its run's
//! change, is evaluated exactly once (also by racing evaluators in two processes), queues one
//! alert per (sensor, run) with the failing step, and the outbox hands each alert to one sender
//! at a time, paced, with expired leases turned UNCERTAIN and never leased again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use orchestrator::domain::{
    AlertState, DeliveryOutcome, EventKind, NewEvent, NewSensorTick, RunId, RunStatus,
    SensorEvaluation, SensorName, SensorState, SensorSwitch, SensorTickStatus, StatusChange,
};
use orchestrator::storage::{AlertFilter, Claim, ClaimRequest, RunStorage};

use crate::support::{self, key, run_in};

support::storage_tests!(
    only_terminal_changes_enter_the_inbox,
    an_evaluation_queues_one_alert_per_sensor_and_run_with_the_failing_step,
    a_sensor_switch_persists_and_is_given_to_the_evaluation,
    claims_are_paced_and_leased_and_an_abandoned_send_becomes_uncertain,
    outcomes_are_recorded_only_by_the_lease_owner,
    sensor_ticks_and_finished_alerts_are_pruned_by_age_a_batch_at_a_time,
);

support::two_store_tests!(
    racing_evaluators_evaluate_each_change_exactly_once,
    racing_senders_never_lease_the_same_alert,
);

fn name(s: &str) -> SensorName {
    SensorName::parse(s).unwrap()
}

/// Every change matches the sensor `s`.
fn all_match(changes: &[StatusChange], _states: &[SensorState]) -> SensorEvaluation {
    SensorEvaluation {
        ticks: vec![NewSensorTick {
            sensor: name("s"),
            evaluated: changes.len() as u32,
            matched: changes.iter().map(|c| c.run_id).collect(),
            checks: None,
        }],
    }
}

fn claim(owner: &str, min_interval: Duration) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        now: Utc::now(),
        lease: Duration::from_secs(30),
        max: 10,
        min_interval,
    }
}

async fn failed_runs(store: &dyn RunStorage, n: usize) -> Vec<RunId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(run_in(store, RunStatus::Failure).await.id);
    }
    ids
}

async fn only_terminal_changes_enter_the_inbox(store: Arc<dyn RunStorage>) {
    run_in(&*store, RunStatus::Started).await;
    run_in(&*store, RunStatus::Canceling).await;
    assert_eq!(store.count_status_changes().await.unwrap(), 0);
    run_in(&*store, RunStatus::Success).await;
    run_in(&*store, RunStatus::Failure).await;
    run_in(&*store, RunStatus::Canceled).await;
    assert_eq!(store.count_status_changes().await.unwrap(), 3);

    let seen = std::sync::Mutex::new(Vec::new());
    let record = |changes: &[StatusChange], _: &[SensorState]| {
        seen.lock()
            .unwrap()
            .extend(changes.iter().map(|c| c.status));
        SensorEvaluation::default()
    };
    let batch = store.evaluate_status_changes(100, &record).await.unwrap();
    assert_eq!(batch.changes, 3);
    assert_eq!(batch.alerts, 0);
    let mut statuses = seen.lock().unwrap().clone();
    statuses.sort();
    assert_eq!(
        statuses,
        [RunStatus::Success, RunStatus::Failure, RunStatus::Canceled]
    );
    assert_eq!(store.count_status_changes().await.unwrap(), 0);
}

async fn an_evaluation_queues_one_alert_per_sensor_and_run_with_the_failing_step(
    store: Arc<dyn RunStorage>,
) {
    let run = run_in(&*store, RunStatus::Started).await;
    let failure = NewEvent {
        timestamp: Utc::now(),
        step: Some(key("fetch_data")),
        kind: EventKind::StepFailure {
            error: "GET http://x/posts returned 503".into(),
            attempt: 3,
        },
    };
    store.append_events(run.id, &[failure]).await.unwrap();
    store
        .transition_run(run.id, RunStatus::Failure, Some("step fetch_data failed"))
        .await
        .unwrap();
    let monitored = run_in(&*store, RunStatus::Started).await;
    store
        .transition_run(
            monitored.id,
            RunStatus::Failure,
            Some("worker did not start"),
        )
        .await
        .unwrap();

    let batch = store
        .evaluate_status_changes(100, &all_match)
        .await
        .unwrap();
    assert_eq!((batch.changes, batch.alerts), (2, 2));
    let alerts = store.list_alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(alerts.len(), 2);
    let by_step = alerts.iter().find(|a| a.run_id == run.id).unwrap();
    assert_eq!(by_step.step.as_deref(), Some("fetch_data"));
    assert_eq!(
        by_step.error.as_deref(),
        Some("GET http://x/posts returned 503")
    );
    assert_eq!(by_step.state, AlertState::Pending);
    assert_eq!(by_step.attempts, 0);
    assert_eq!(by_step.job.as_str(), "walk");
    let by_monitor = alerts.iter().find(|a| a.run_id == monitored.id).unwrap();
    assert_eq!(by_monitor.step, None);
    assert_eq!(by_monitor.error.as_deref(), Some("worker did not start"));

    let ticks = store.list_sensor_ticks(&name("s"), None, 10).await.unwrap();
    assert_eq!(ticks.len(), 1);
    assert_eq!(ticks[0].status, SensorTickStatus::Success);
    assert_eq!(ticks[0].evaluated, 2);
    assert_eq!(
        ticks[0].run_ids.iter().collect::<HashSet<_>>(),
        [run.id, monitored.id].iter().collect()
    );
    // Nothing left: a second evaluation sees no change and queues nothing.
    let again = store
        .evaluate_status_changes(100, &all_match)
        .await
        .unwrap();
    assert_eq!((again.changes, again.alerts), (0, 0));
}

async fn a_sensor_switch_persists_and_is_given_to_the_evaluation(store: Arc<dyn RunStorage>) {
    assert!(store.list_sensor_states().await.unwrap().is_empty());
    let off = store
        .switch_sensor(&name("s"), SensorSwitch::Off)
        .await
        .unwrap();
    assert!(!off.enabled);
    let on = store
        .switch_sensor(&name("s"), SensorSwitch::On)
        .await
        .unwrap();
    assert!(on.enabled && on.updated_at >= off.updated_at);
    failed_runs(&*store, 1).await;
    let given = std::sync::Mutex::new(Vec::new());
    let record = |_: &[StatusChange], states: &[SensorState]| {
        given.lock().unwrap().extend(states.iter().cloned());
        SensorEvaluation::default()
    };
    store.evaluate_status_changes(10, &record).await.unwrap();
    let given = given.lock().unwrap();
    assert_eq!(given.len(), 1);
    assert_eq!((given[0].name.as_str(), given[0].enabled), ("s", true));
}

async fn claims_are_paced_and_leased_and_an_abandoned_send_becomes_uncertain(
    store: Arc<dyn RunStorage>,
) {
    assert_eq!(
        store
            .claim_alerts(&claim("a", Duration::ZERO))
            .await
            .unwrap()
            .claim,
        Claim::Idle(None)
    );
    failed_runs(&*store, 3).await;
    store.evaluate_status_changes(10, &all_match).await.unwrap();

    let first = store
        .claim_alerts(&ClaimRequest {
            max: 2,
            lease: Duration::from_millis(1),
            ..claim("a", Duration::from_secs(60))
        })
        .await
        .unwrap();
    let Claim::Leased(leased) = first.claim else {
        panic!("expected a lease, got {:?}", first.claim)
    };
    assert_eq!(leased.len(), 2);
    assert!(
        leased
            .iter()
            .all(|a| a.attempts == 1 && a.state == AlertState::Sending)
    );
    // Paced: nobody may post for a minute, whatever is due. The 1 ms leases expire meanwhile:
    // the next claim, paced or not, marks them UNCERTAIN.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let paced = store
        .claim_alerts(&claim("b", Duration::ZERO))
        .await
        .unwrap();
    assert!(
        matches!(paced.claim, Claim::PacedUntil(t) if t > Utc::now() + TimeDelta::seconds(50)),
        "{paced:?}"
    );
    assert_eq!(paced.expired, 2);
    let uncertain = store
        .list_alerts(&AlertFilter {
            state: Some(AlertState::Uncertain),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(uncertain.len(), 2);
    assert!(
        uncertain[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("may or may not have reached Slack")
    );
    // A 429 pauses everyone until its Retry-After, and never shortens a pause.
    store
        .pause_alerts(Utc::now() + TimeDelta::seconds(5))
        .await
        .unwrap();
    let still = store
        .claim_alerts(&claim("b", Duration::ZERO))
        .await
        .unwrap();
    assert!(
        matches!(still.claim, Claim::PacedUntil(t) if t > Utc::now() + TimeDelta::seconds(50)),
        "{still:?}"
    );
    let counts = store.count_alerts().await.unwrap();
    assert_eq!(
        counts,
        [(AlertState::Pending, 1), (AlertState::Uncertain, 2)]
    );
}

async fn outcomes_are_recorded_only_by_the_lease_owner(store: Arc<dyn RunStorage>) {
    failed_runs(&*store, 1).await;
    store.evaluate_status_changes(10, &all_match).await.unwrap();
    let Claim::Leased(leased) = store
        .claim_alerts(&claim("owner", Duration::ZERO))
        .await
        .unwrap()
        .claim
    else {
        panic!("expected a lease")
    };
    let ids: Vec<i64> = leased.iter().map(|a| a.id).collect();
    let intruder = store
        .finish_alerts(&ids, "other", &DeliveryOutcome::Delivered)
        .await
        .unwrap();
    assert_eq!(intruder, 0);
    let retry_at = Utc::now() + TimeDelta::seconds(60);
    let retry = DeliveryOutcome::Retry {
        at: retry_at,
        error: "the Slack webhook answered 503 Service Unavailable".into(),
    };
    assert_eq!(store.finish_alerts(&ids, "owner", &retry).await.unwrap(), 1);
    // Pending again, but not due before its retry time.
    assert!(matches!(
        store.claim_alerts(&claim("owner", Duration::ZERO)).await.unwrap().claim,
        Claim::Idle(Some(t)) if (t - retry_at).num_milliseconds().abs() < 2
    ));
    let alert = &store.list_alerts(&AlertFilter::default()).await.unwrap()[0];
    assert_eq!(alert.state, AlertState::Pending);
    assert_eq!(alert.attempts, 1);
    assert!(alert.last_error.as_deref().unwrap().contains("503"));
    // Finishing again after the lease was given back changes nothing.
    assert_eq!(
        store
            .finish_alerts(&ids, "owner", &DeliveryOutcome::Delivered)
            .await
            .unwrap(),
        0
    );
}

async fn racing_evaluators_evaluate_each_change_exactly_once(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let runs = failed_runs(&*first, 120).await;
    let evaluate = |store: Arc<dyn RunStorage>| async move {
        let mut total = 0;
        loop {
            let batch = store.evaluate_status_changes(7, &all_match).await.unwrap();
            if batch.changes == 0 {
                return total;
            }
            total += batch.changes;
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(evaluate(first.clone())),
        tokio::spawn(evaluate(second.clone()))
    );
    assert_eq!(a.unwrap() + b.unwrap(), runs.len());
    let alerts = first
        .list_alerts(&AlertFilter {
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let alerted: HashSet<RunId> = alerts.iter().map(|a| a.run_id).collect();
    assert_eq!(alerts.len(), runs.len(), "one alert per run, none twice");
    assert_eq!(alerted, runs.into_iter().collect());
}

async fn racing_senders_never_lease_the_same_alert(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let runs = failed_runs(&*first, 60).await;
    first
        .evaluate_status_changes(1_000, &all_match)
        .await
        .unwrap();
    let send = |store: Arc<dyn RunStorage>, owner: &'static str| async move {
        let mut mine = Vec::new();
        loop {
            let request = ClaimRequest {
                max: 3,
                ..claim(owner, Duration::ZERO)
            };
            match store.claim_alerts(&request).await.unwrap().claim {
                Claim::Leased(alerts) => {
                    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
                    store
                        .finish_alerts(&ids, owner, &DeliveryOutcome::Delivered)
                        .await
                        .unwrap();
                    mine.extend(alerts.iter().map(|a| a.run_id));
                }
                Claim::PacedUntil(_) => tokio::task::yield_now().await,
                Claim::Idle(_) => return mine,
            }
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(send(first.clone(), "a")),
        tokio::spawn(send(second.clone(), "b"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let all: Vec<RunId> = a.iter().chain(&b).copied().collect();
    let unique: HashSet<RunId> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        runs.len(),
        "every alert sent once: {} + {}",
        a.len(),
        b.len()
    );
    assert_eq!(unique, runs.into_iter().collect());
}

async fn sensor_ticks_and_finished_alerts_are_pruned_by_age_a_batch_at_a_time(
    store: Arc<dyn RunStorage>,
) {
    for _ in 0..3 {
        failed_runs(&*store, 1).await;
        store.evaluate_status_changes(10, &all_match).await.unwrap();
    }
    let ticks = || async { store.list_sensor_ticks(&name("s"), None, 10).await.unwrap() };
    assert_eq!(ticks().await.len(), 3);
    let past = Utc::now() - TimeDelta::hours(1);
    assert_eq!(store.prune_sensor_ticks(past, 2).await.unwrap(), 0);
    let future = Utc::now() + TimeDelta::seconds(1);
    assert_eq!(store.prune_sensor_ticks(future, 2).await.unwrap(), 2);
    assert_eq!(store.prune_sensor_ticks(future, 2).await.unwrap(), 1);
    assert!(ticks().await.is_empty());

    // Of the three alerts, the delivered one goes; pending and leased ones stay.
    let mut leased = Vec::new();
    for _ in 0..2 {
        let request = ClaimRequest {
            max: 1,
            ..claim("o", Duration::ZERO)
        };
        let Claim::Leased(alerts) = store.claim_alerts(&request).await.unwrap().claim else {
            panic!("expected a lease")
        };
        leased.push(alerts[0].id);
    }
    store
        .finish_alerts(&leased[..1], "o", &DeliveryOutcome::Delivered)
        .await
        .unwrap();
    let future = Utc::now() + TimeDelta::seconds(1);
    assert_eq!(store.prune_alerts(future, 10).await.unwrap(), 1);
    let left: Vec<AlertState> = store
        .list_alerts(&AlertFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|a| a.state)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&AlertState::Delivered), "{left:?}");
}
