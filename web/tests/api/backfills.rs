//! Backfills through the API: a dry run creates nothing, a backfill is created with its
//! partitions, driven by the daemon's loop (its runs tagged and listed by `backfill`), canceled,
//! and refused when the job or keys are wrong.

use axum::http::StatusCode;
use orchestrator::daemon::BackfillDaemon;
use serde_json::json;

use crate::support::{TestApp, api_tests, definitions};

api_tests!(a_backfill_is_dry_run_created_driven_listed_and_canceled,);

async fn a_backfill_is_dry_run_created_driven_listed_and_canceled(app: TestApp) {
    let dry = app
        .post(
            "/api/v1/jobs/daily_etl/backfills",
            Some(
                json!({"from": "2026-01-01", "to": "2026-01-05", "dry_run": true, "reverse": true}),
            ),
        )
        .await;
    dry.assert_status(StatusCode::OK);
    assert_eq!(dry.body["partitions"], json!(5), "{}", dry.body);
    assert_eq!(dry.body["first"][0], json!("2026-01-05"));
    let listed = app.get("/api/v1/backfills").await;
    assert_eq!(
        listed.body["backfills"],
        json!([]),
        "a dry run creates nothing"
    );

    let created = app
        .post(
            "/api/v1/jobs/daily_etl/backfills",
            Some(json!({"from": "2026-01-01", "to": "2026-01-05", "max_concurrent": 2})),
        )
        .await;
    created.assert_status(StatusCode::CREATED);
    assert_eq!(created.body["status"], json!("REQUESTED"));
    assert_eq!(created.body["partitions"], json!(5));
    assert_eq!(created.body["counts"]["PENDING"], json!(5));
    let id = created.body["id"].as_str().unwrap().to_owned();

    let daemon = BackfillDaemon::new(app.store.clone(), definitions());
    assert_eq!(
        daemon.tick_once(chrono::Utc::now()).await.unwrap(),
        2,
        "its own limit"
    );
    assert_eq!(
        daemon.tick_once(chrono::Utc::now()).await.unwrap(),
        0,
        "no slot freed"
    );
    let shown = app.get(&format!("/api/v1/backfills/{id}")).await;
    assert_eq!(shown.body["status"], json!("RUNNING"), "{}", shown.body);
    assert_eq!(shown.body["counts"]["QUEUED"], json!(2));
    let runs = app.get(&format!("/api/v1/runs?backfill={id}")).await;
    let runs = runs.body["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["backfill_id"], json!(id));
    // The 2 queued partitions are in progress in the status index.
    let status = app
        .get("/api/v1/jobs/daily_etl/partitions?status=in_progress")
        .await;
    assert_eq!(
        status.body["summary"]["in_progress"],
        json!(2),
        "{}",
        status.body
    );

    let canceled = app
        .post(&format!("/api/v1/backfills/{id}/cancel"), None)
        .await;
    canceled.assert_status(StatusCode::OK);
    assert_eq!(canceled.body["status"], json!("CANCELING"));
    daemon.tick_once(chrono::Utc::now()).await.unwrap();
    daemon.tick_once(chrono::Utc::now()).await.unwrap();
    let shown = app.get(&format!("/api/v1/backfills/{id}")).await;
    assert_eq!(shown.body["status"], json!("CANCELED"), "{}", shown.body);
    assert_eq!(shown.body["counts"]["CANCELED"], json!(2));
    assert_eq!(shown.body["counts"]["PENDING"], json!(3));
    // The queued runs never started: their partitions are back to missing.
    let status = app.get("/api/v1/jobs/daily_etl/partitions").await;
    assert_eq!(
        status.body["summary"]["in_progress"],
        json!(0),
        "{}",
        status.body
    );

    let retried = app
        .post(&format!("/api/v1/backfills/{id}/retry"), None)
        .await;
    retried.assert_status(StatusCode::CREATED);
    assert_eq!(retried.body["partitions"], json!(2));
    assert_eq!(retried.body["parent_id"], json!(id));

    app.post(
        "/api/v1/jobs/etl/backfills",
        Some(json!({"from": "2026-01-01", "to": "2026-01-05"})),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.post(
        "/api/v1/jobs/daily_etl/backfills",
        Some(json!({"from": "2026-01-05", "to": "2026-01-01"})),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.get("/api/v1/backfills/nope")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}
