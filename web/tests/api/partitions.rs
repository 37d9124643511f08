//! Partitioned launches through the API: the key is checked against the job's partitions
//! before a run exists (422 naming the valid span), stored on the run with its tags, shown in
//! the run's JSON (`partition`, `partition_range`) and usable as a run-list filter.

use axum::http::StatusCode;
use orchestrator::domain::{PartitionRange, RunId};
use serde_json::json;

use crate::support::{TestApp, api_tests};

api_tests!(
    a_partition_key_is_stored_shown_and_filtered_on,
    a_range_is_stored_without_a_single_key,
    refused_partitions_are_422_naming_the_span_and_create_no_run,
    the_status_endpoint_summarises_lists_by_status_and_pages,
);

/// A launch makes its partition in progress; the status API counts it, lists it under its
/// status, pages with `after`, draws ranges, and refuses bad filters.
async fn the_status_endpoint_summarises_lists_by_status_and_pages(app: TestApp) {
    for key in ["2026-01-02", "2026-01-04"] {
        app.post(
            "/api/v1/jobs/daily_etl/launch",
            Some(json!({"partition": key})),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let status = app
        .get("/api/v1/jobs/daily_etl/partitions?status=in_progress&limit=1")
        .await;
    status.assert_status(StatusCode::OK);
    assert_eq!(
        status.body["summary"]["in_progress"],
        json!(2),
        "{}",
        status.body
    );
    assert_eq!(status.body["partitions"][0]["key"], json!("2026-01-02"));
    assert_eq!(status.body["partitions"][0]["status"], json!("in_progress"));
    assert_eq!(status.body["next"], json!("2026-01-02"));
    let ranges = status.body["ranges"].as_array().unwrap();
    assert_eq!(
        ranges[0],
        json!({"start": "2026-01-01", "end": "2026-01-01", "status": "missing", "count": 1})
    );
    assert_eq!(ranges[1]["status"], json!("in_progress"));
    let next = app
        .get("/api/v1/jobs/daily_etl/partitions?status=in_progress&limit=1&after=2026-01-02")
        .await;
    assert_eq!(
        next.body["partitions"][0]["key"],
        json!("2026-01-04"),
        "{}",
        next.body
    );
    assert_eq!(next.body["next"], json!(null));
    let total = status.body["summary"]["missing"].as_u64().unwrap() + 2;
    let missing = app
        .get("/api/v1/jobs/daily_etl/partitions?status=missing&limit=10000")
        .await;
    assert_eq!(
        missing.body["partitions"].as_array().unwrap().len() as u64,
        total - 2
    );

    app.get("/api/v1/jobs/daily_etl/partitions?status=done")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    app.get("/api/v1/jobs/daily_etl/partitions?asset=nope")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get("/api/v1/jobs/etl/partitions")
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_partition_key_is_stored_shown_and_filtered_on(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/jobs/daily_etl/launch",
            Some(json!({"partition": "2026-01-02"})),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let id = RunId::parse(reply.body["id"].as_str().unwrap()).unwrap();
    let run = app.store.get_run(id).await.unwrap();
    assert_eq!(run.partition, Some(PartitionRange::single("2026-01-02")));
    assert_eq!(
        run.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("orch/partition", "2026-01-02")]
    );
    let shown = app.get(&format!("/api/v1/runs/{id}")).await;
    shown.assert_status(StatusCode::OK);
    let run_json = shown.body.get("run").unwrap_or(&shown.body);
    assert_eq!(run_json["partition"], json!("2026-01-02"), "{}", shown.body);
    assert_eq!(
        run_json["partition_range"],
        json!({"start": "2026-01-02", "end": "2026-01-02"})
    );

    let other = app.queued(&[]).await;
    let listed = app.get("/api/v1/runs?partition=2026-01-02").await;
    listed.assert_status(StatusCode::OK);
    let ids: Vec<&str> = listed.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.to_string()]);
    let all = app.get("/api/v1/runs").await;
    let unpartitioned = all.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(other.id.to_string()))
        .unwrap();
    assert_eq!(unpartitioned["partition"], json!(null));
    assert_eq!(unpartitioned["partition_range"], json!(null));
}

async fn a_range_is_stored_without_a_single_key(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/jobs/daily_etl/launch",
            Some(json!({"partition_range": {"start": "2026-01-01", "end": "2026-01-03"}})),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let id = RunId::parse(reply.body["id"].as_str().unwrap()).unwrap();
    let run = app.store.get_run(id).await.unwrap();
    assert_eq!(run.partition_key(), None);
    assert_eq!(
        run.partition,
        Some(PartitionRange {
            start: "2026-01-01".to_owned(),
            end: "2026-01-03".to_owned()
        })
    );
}

async fn refused_partitions_are_422_naming_the_span_and_create_no_run(app: TestApp) {
    let launch = |body| {
        let app = app.clone();
        async move { app.post("/api/v1/jobs/daily_etl/launch", Some(body)).await }
    };
    launch(json!({"partition": "2025-12-31"}))
        .await
        .assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown partition key '2025-12-31'",
        );
    launch(json!({"partition": "2026-13-01"}))
        .await
        .assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "daily partitions in UTC: 2026-01-01 …",
        );
    launch(json!({"partition_range": {"start": "2026-01-03", "end": "2026-01-01"}}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "is reversed");
    launch(json!({}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "give a partition key");
    launch(json!({"partition": "2026-01-01", "partition_range": {"start": "a", "end": "b"}}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not both");
    app.post(
        "/api/v1/jobs/etl/launch",
        Some(json!({"partition": "2026-01-01"})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not partitioned");
    assert!(app.runs().await.is_empty());
}
