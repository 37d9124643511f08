//! Jobs, assets and schedules through the API.

use axum::http::StatusCode;
use orchestrator::domain::{AssetKey, CheckSeverity, EventKind, NewEvent, RunStatus, ScheduleName};
use serde_json::json;

use crate::support::{TestApp, api_tests};

api_tests!(
    jobs_list_their_assets_and_default_config,
    assets_show_latest_materialization_and_history,
    an_asset_shows_its_latest_check_verdict_per_partition,
    schedules_switch_on_and_off_persistently,
);

async fn jobs_list_their_assets_and_default_config(app: TestApp) {
    let list = app.get("/api/v1/jobs").await;
    list.assert_status(StatusCode::OK);
    assert_eq!(list.body["jobs"][0]["name"], "etl");

    let job = app.get("/api/v1/jobs/etl").await;
    job.assert_status(StatusCode::OK);
    assert_eq!(job.body["default_config"]["limit"], 10);
    assert_eq!(job.body["assets"][1]["key"], "load");
    assert_eq!(job.body["assets"][1]["upstream"], json!(["extract"]));

    app.get("/api/v1/jobs/nope")
        .await
        .assert_error(StatusCode::NOT_FOUND, "job 'nope' not found");
}

async fn assets_show_latest_materialization_and_history(app: TestApp) {
    let first = app.finished(RunStatus::Failure).await;
    let second = app.finished(RunStatus::Success).await;

    let list = app.get("/api/v1/assets").await;
    list.assert_status(StatusCode::OK);
    assert_eq!(list.body["assets"][0]["key"], "extract");
    assert_eq!(
        list.body["assets"][0]["latest"]["run_id"],
        second.id.to_string()
    );

    let page = app.get("/api/v1/assets/extract?limit=1").await;
    page.assert_status(StatusCode::OK);
    assert_eq!(page.body["latest"]["run_id"], second.id.to_string());
    assert_eq!(
        page.body["latest"]["metadata"]["uri"],
        "s3://bucket/extract.json"
    );
    let next = page.body["next"].as_i64().unwrap();
    let older = app
        .get(&format!("/api/v1/assets/extract?limit=1&before={next}"))
        .await;
    assert_eq!(older.body["history"][0]["run_id"], first.id.to_string());
    assert_eq!(older.body["latest"]["run_id"], second.id.to_string());

    // Defined but never materialized: known, empty.
    let load = app.get("/api/v1/assets/load").await;
    load.assert_status(StatusCode::OK);
    assert!(load.body["latest"].is_null());
    app.get("/api/v1/assets/nope")
        .await
        .assert_error(StatusCode::NOT_FOUND, "asset 'nope' not found");
}

async fn schedules_switch_on_and_off_persistently(app: TestApp) {
    let list = app.get("/api/v1/schedules").await;
    list.assert_status(StatusCode::OK);
    let nightly = &list.body["schedules"][0];
    assert_eq!(nightly["name"], "nightly");
    assert_eq!(nightly["timezone"], "Europe/Paris");
    assert_eq!(nightly["enabled"], false);
    assert!(nightly["next_tick"].is_null());

    let on = app.post("/api/v1/schedules/nightly/on", None).await;
    on.assert_status(StatusCode::OK);
    assert_eq!(on.body["enabled"], true);
    assert!(on.body["next_tick"].is_string(), "{}", on.body);
    let states = app.store.list_schedule_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].name, ScheduleName::parse("nightly").unwrap());
    assert!(states[0].enabled);

    let listed = app.get("/api/v1/schedules").await;
    assert_eq!(listed.body["schedules"][0]["enabled"], true);
    assert_eq!(listed.body["schedules"][0]["state"], "switched");

    app.post("/api/v1/schedules/nightly/off", None)
        .await
        .assert_status(StatusCode::OK);
    assert!(!app.store.list_schedule_states().await.unwrap()[0].enabled);

    app.post("/api/v1/schedules/nope/on", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "schedule 'nope' not found");
}

async fn an_asset_shows_its_latest_check_verdict_per_partition(app: TestApp) {
    let run = app.finished(RunStatus::Success).await;
    let key = AssetKey::parse("extract").unwrap();
    let verdict = |passed: bool, partition: &str| {
        NewEvent::step(
            &key,
            EventKind::AssetCheckEvaluation {
                asset: key.clone(),
                check: "has_rows".to_owned(),
                passed,
                severity: CheckSeverity::Error,
                metadata: Default::default(),
                partition: Some(partition.to_owned()),
            },
        )
    };
    app.store
        .append_events(
            run.id,
            &[verdict(false, "2026-03-01"), verdict(true, "2026-03-02")],
        )
        .await
        .unwrap();
    let page = app.get("/api/v1/assets/extract").await;
    page.assert_status(StatusCode::OK);
    let seen: Vec<_> = page.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["partition"].clone(),
                c["passed"].clone(),
                c["severity"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!("2026-03-02"), json!(true), json!("ERROR")),
            (json!("2026-03-01"), json!(false), json!("ERROR")),
        ]
    );
    assert_eq!(page.body["checks"][0]["run_id"], run.id.to_string());
}
