//! Sensors and the alert outbox through the API: the list with on/off state, the persisted
//! switch, ticks, and alerts filtered by state (a failed alert is visible with its reason).

use axum::http::StatusCode;
use orchestrator::domain::{
    DeliveryOutcome, NewSensorTick, RunStatus, SensorEvaluation, SensorState, StatusChange,
};
use orchestrator::storage::{Claim, ClaimRequest};

use crate::support::{TestApp, api_tests};

api_tests!(
    sensors_switch_on_and_off_persistently,
    ticks_and_alerts_are_listed_newest_first_with_failures_visible,
    bad_sensor_requests_are_refused_naming_the_problem,
);

async fn sensors_switch_on_and_off_persistently(app: TestApp) {
    let list = app.get("/api/v1/sensors").await;
    list.assert_status(StatusCode::OK);
    let sensor = &list.body["sensors"][0];
    assert_eq!(sensor["name"], "etl_failures");
    assert_eq!(sensor["statuses"], serde_json::json!(["FAILURE"]));
    assert_eq!(sensor["jobs"], serde_json::json!(["etl"]));
    assert_eq!(
        (&sensor["enabled"], &sensor["state"]),
        (&true.into(), &"default".into())
    );

    let off = app.post("/api/v1/sensors/etl_failures/off", None).await;
    off.assert_status(StatusCode::OK);
    assert_eq!(off.body["enabled"], false);
    let listed = app.get("/api/v1/sensors").await;
    assert_eq!(listed.body["sensors"][0]["enabled"], false);
    assert_eq!(listed.body["sensors"][0]["state"], "switched");
    let states = app.store.list_sensor_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert!(!states[0].enabled);
}

async fn ticks_and_alerts_are_listed_newest_first_with_failures_visible(app: TestApp) {
    let run = app.finished(RunStatus::Failure).await;
    let sensor = app.store.list_sensor_states().await.unwrap();
    assert!(sensor.is_empty());
    let all = |changes: &[StatusChange], _: &[SensorState]| SensorEvaluation {
        ticks: vec![NewSensorTick {
            sensor: orchestrator::domain::SensorName::parse("etl_failures").unwrap(),
            evaluated: changes.len() as u32,
            matched: changes.iter().map(|c| c.run_id).collect(),
            checks: None,
        }],
    };
    app.store.evaluate_status_changes(10, &all).await.unwrap();
    let Claim::Leased(leased) = app
        .store
        .claim_alerts(&ClaimRequest {
            owner: "t".into(),
            now: chrono::Utc::now(),
            lease: std::time::Duration::from_secs(30),
            max: 10,
            min_interval: std::time::Duration::ZERO,
        })
        .await
        .unwrap()
        .claim
    else {
        panic!("nothing to claim")
    };
    let failed = DeliveryOutcome::Failed {
        error: "the Slack webhook answered 404 Not Found: no_service".into(),
    };
    app.store
        .finish_alerts(&[leased[0].id], "t", &failed)
        .await
        .unwrap();

    let ticks = app.get("/api/v1/sensors/etl_failures/ticks").await;
    ticks.assert_status(StatusCode::OK);
    assert_eq!(ticks.body["ticks"][0]["status"], "SUCCESS");
    assert_eq!(ticks.body["ticks"][0]["run_ids"][0], run.id.to_string());
    assert_eq!(ticks.body["next"], serde_json::Value::Null);

    let alerts = app.get("/api/v1/alerts?state=failed").await;
    alerts.assert_status(StatusCode::OK);
    let alert = &alerts.body["alerts"][0];
    assert_eq!(alert["state"], "FAILED");
    assert_eq!(alert["run_id"], run.id.to_string());
    assert_eq!(alert["sensor"], "etl_failures");
    assert_eq!(alert["attempts"], 1);
    assert!(alert["last_error"].as_str().unwrap().contains("404"));
    let delivered = app.get("/api/v1/alerts?state=DELIVERED").await;
    assert_eq!(delivered.body["alerts"], serde_json::json!([]));
}

async fn bad_sensor_requests_are_refused_naming_the_problem(app: TestApp) {
    app.post("/api/v1/sensors/nope/on", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "sensor 'nope' not found");
    app.get("/api/v1/sensors/nope/ticks")
        .await
        .assert_error(StatusCode::NOT_FOUND, "sensor 'nope' not found");
    app.get("/api/v1/alerts?state=lost")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "'lost' is not an alert state");
    app.get("/api/v1/alerts?run=nope")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "is not a run id");
    app.get("/api/v1/alerts?limit=0")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "limit 0 is out of range");
}
