//! `POST /api/v1/jobs/{job}/launch`: a QUEUED run with the resolved config and the tags, or a
//! refusal that creates nothing.

use axum::http::StatusCode;
use orchestrator::domain::{RunId, RunStatus};
use serde_json::json;

use crate::support::{TestApp, api_tests};

api_tests!(
    launch_queues_a_run_with_resolved_config_and_tags,
    launch_without_body_uses_the_defaults,
    bad_config_is_refused_and_creates_no_run,
    unknown_job_is_404,
    malformed_body_is_400_and_creates_no_run,
    body_that_is_not_json_typed_is_415,
    bad_tag_key_is_400,
    a_selection_is_checked_and_recorded_as_the_step_selection,
);

async fn launch_queues_a_run_with_resolved_config_and_tags(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/jobs/etl/launch",
            Some(json!({"config": {"limit": 3}, "tags": {"team": "data"}})),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let id = RunId::parse(reply.body["id"].as_str().unwrap()).unwrap();
    let run = app.store.get_run(id).await.unwrap();
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.job.as_str(), "etl");
    assert_eq!(run.config, json!({"limit": 3, "source": "http://upstream"}));
    let tags: Vec<(String, String)> = run
        .tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(tags, vec![("team".to_owned(), "data".to_owned())]);

    let shown = app.get(&format!("/api/v1/runs/{id}")).await;
    shown.assert_status(StatusCode::OK);
    assert_eq!(shown.body["status"], "QUEUED");
    assert_eq!(shown.body["config"]["limit"], 3);
}

async fn launch_without_body_uses_the_defaults(app: TestApp) {
    let reply = app.post("/api/v1/jobs/etl/launch", None).await;
    reply.assert_status(StatusCode::CREATED);
    let runs = app.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].config,
        json!({"limit": 10, "source": "http://upstream"})
    );
}

async fn bad_config_is_refused_and_creates_no_run(app: TestApp) {
    app.post(
        "/api/v1/jobs/etl/launch",
        Some(json!({"config": {"limit": "many"}})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "'limit' must be a");
    app.post(
        "/api/v1/jobs/etl/launch",
        Some(json!({"config": {"nope": 1}})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "no config key 'nope'");
    assert!(app.runs().await.is_empty());
}

async fn unknown_job_is_404(app: TestApp) {
    app.post("/api/v1/jobs/nope/launch", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "job 'nope' not found");
    assert!(app.runs().await.is_empty());
}

async fn malformed_body_is_400_and_creates_no_run(app: TestApp) {
    app.post_raw(
        "/api/v1/jobs/etl/launch",
        "application/json",
        "{\"config\": {",
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "not valid JSON");
    // Valid JSON of the wrong shape, and unknown fields, are refused too.
    app.post("/api/v1/jobs/etl/launch", Some(json!({"config": [1, 2]})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not valid JSON");
    app.post("/api/v1/jobs/etl/launch", Some(json!({"confg": {}})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown field `confg`");
    assert!(app.runs().await.is_empty());
}

async fn body_that_is_not_json_typed_is_415(app: TestApp) {
    app.post_raw(
        "/api/v1/jobs/etl/launch",
        "application/x-www-form-urlencoded",
        "config=1",
    )
    .await
    .assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content-Type: application/json",
    );
    assert!(app.runs().await.is_empty());
}

async fn bad_tag_key_is_400(app: TestApp) {
    app.post(
        "/api/v1/jobs/etl/launch",
        Some(json!({"tags": {"<script>": "x"}})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "tags:");
    assert!(app.runs().await.is_empty());
}

async fn a_selection_is_checked_and_recorded_as_the_step_selection(app: TestApp) {
    // `load` needs `extract`'s output, which was never materialized.
    app.post("/api/v1/jobs/etl/launch", Some(json!({"select": "load"})))
        .await
        .assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the selection needs the outputs of extract, which were never materialized",
        );
    app.post("/api/v1/jobs/etl/launch", Some(json!({"select": "nope+"})))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown assets: nope");
    app.post("/api/v1/jobs/etl/launch", Some(json!({"select": ""})))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "selection is empty");
    assert!(app.runs().await.is_empty());

    let reply = app
        .post(
            "/api/v1/jobs/etl/launch",
            Some(json!({"select": "extract"})),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let id = RunId::parse(reply.body["id"].as_str().unwrap()).unwrap();
    let shown = app.get(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(shown.body["step_selection"], json!(["extract"]));
    // Every asset selected is a plain run of the whole job.
    let reply = app
        .post(
            "/api/v1/jobs/etl/launch",
            Some(json!({"select": "extract+"})),
        )
        .await;
    let id = RunId::parse(reply.body["id"].as_str().unwrap()).unwrap();
    assert_eq!(app.store.get_run(id).await.unwrap().step_selection, None);
}
